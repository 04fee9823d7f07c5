"""Seeded generator of a realistic sample online shop, any size.

Everything is vectorised numpy (loops only over days, months, products or digit positions), so
a million orders take seconds. The same ``(customers, seed, start, end)`` always gives the same
frames: the only source of randomness is ``numpy.random.default_rng(seed)`` and the calendar is
fixed by ``start`` and ``end`` (never today's date).

The generative process, per customer i (time t in days since ``start``):

- First order day d0_i ~ Categorical(w_d), w_d = exp(g * years_d) * season(month_d)
  * weekday_d * BlackFriday_d * month_noise (acquisition grows, peaks in Nov-Dec); the
  time of day follows an hourly profile with lunch and evening peaks.
- Acquisition channel c_i ~ Categorical(mix(t)) drifting from the start to the end mix;
  country ~ Categorical; first category k_i ~ Categorical; first-order coupon ~
  Bernoulli(coupon_c + Black Friday boost).
- Purchase rate per year lambda_i = min(Gamma(r, 1/alpha) * m_lambda(channel, category,
  coupon), 40); dropout p_i = min(Beta(a, b) * m_p(channel, category, coupon), 0.97), where the
  multipliers m favour email/referral/organic, replenishment categories (coffee, skincare, pet
  food) and first orders without a coupon. Repeat purchases are a
  Poisson process with rate lambda_i * s(t) (s: mild seasonal index with mean 1, Nov-Dec high)
  from the day after the first order; after every purchase, the first one included, the
  customer drops out with probability p_i (an MBG/NBD-like buy-till-you-die process), so the
  number of repeat purchases allowed is J_i = Geometric(p_i) - 1.
- Loyalty programme from ``LOYALTY_LAUNCH``: at each order on or after the launch a
  non-member joins with probability q; after joining, a member buys at rate
  lambda_i * LOYALTY_UPLIFT until dropout.
- Spend (Gamma-Gamma): gross order value z_ij ~ Gamma(p_gg, 1/nu_i), nu_i ~ Gamma(q_gg, 1/gamma)
  scaled by the price level of the customer's first category. A coupon takes its rate off z;
  revenue = z - discount, net of refunds (refund rate by category, about half of them full).
- Guest orders (no customer_id) are ~2.5% of orders; a few percent of repeat orders are
  cancelled (first orders never are).
- Order channel: the first order's is the acquisition channel; a repeat order keeps it with
  probability 0.3, else comes mostly through email, organic or "direct" (a traffic channel
  with no acquisitions and no spend).

Order items split an order's revenue before refunds over 1-5 distinct products (first line from
the order's main category), so ``sum(line_revenue) == revenue`` for every order that was not
refunded. Traffic per (day, channel, device) is built around the orders: sessions ~ Poisson
(smoothed orders / conversion(channel, device)), funnel steps are binomial thinnings, and
checkouts are never below the orders of that day, channel and device. Monthly marketing spend
is new customers x CAC(channel) x noise (Nov-Dec auctions cost more).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from retention.schema import TABLES

__all__ = [
    "SampleShop",
    "DEFAULT_CUSTOMERS",
    "DEFAULT_SEED",
    "DEFAULT_START",
    "DEFAULT_END",
    "LOYALTY_LAUNCH",
    "CHANNELS",
    "ORDER_CHANNELS",
    "DEVICES",
    "CATEGORIES",
    "REPLENISHMENT_CATEGORIES",
    "generate_sample",
    "build_sample_db",
]

Progress = Callable[[float, str], None]

DEFAULT_CUSTOMERS = 20_000
DEFAULT_SEED = 42
DEFAULT_START = date(2023, 11, 1)
DEFAULT_END = date(2026, 10, 31)
LOYALTY_LAUNCH = date(2025, 3, 1)
CURRENCY = "USD"

# --- channels -----------------------------------------------------------------------------


class _Channel(NamedTuple):
    mix_start: float  # share of new customers at the start of the window
    mix_end: float  # ... and at its end (linear drift in between)
    lam: float  # purchase-rate multiplier
    p: float  # dropout-probability multiplier
    coupon: float  # share of first orders with a coupon
    cac: float  # marketing spend per new customer
    conversion: float  # conversion multiplier (orders / sessions)


_CHANNEL_PARAMS: dict[str, _Channel] = {
    "organic": _Channel(0.30, 0.26, 1.05, 0.85, 0.12, 2.0, 1.10),
    "paid_search": _Channel(0.25, 0.21, 0.90, 1.10, 0.25, 38.0, 0.90),
    "social": _Channel(0.10, 0.18, 0.75, 1.40, 0.30, 48.0, 0.55),
    "email": _Channel(0.09, 0.08, 1.25, 0.70, 0.25, 5.0, 1.80),
    "referral": _Channel(0.11, 0.11, 1.15, 0.75, 0.25, 9.0, 1.30),
    "marketplace": _Channel(0.15, 0.16, 0.70, 1.50, 0.05, 22.0, 1.50),
}
CHANNELS: tuple[str, ...] = tuple(_CHANNEL_PARAMS)
ORDER_CHANNELS: tuple[str, ...] = (*CHANNELS, "direct")
_DIRECT_CONVERSION = 1.40
# Channel of a repeat order: the acquisition channel with this probability, else this mix.
_REPEAT_SAME_CHANNEL = 0.30
_REPEAT_CHANNEL_MIX = {
    "organic": 0.24,
    "paid_search": 0.08,
    "social": 0.05,
    "email": 0.33,
    "referral": 0.02,
    "marketplace": 0.03,
    "direct": 0.25,
}
_CAC_PEAK = 1.25  # Nov-Dec cost per new customer multiplier

DEVICES: tuple[str, ...] = ("desktop", "mobile", "tablet")
_DEVICE_SESSION_SHARE = np.array([0.38, 0.55, 0.07])
_DEVICE_CONVERSION = np.array([0.034, 0.0175, 0.026])  # orders / sessions before channel effect
_DEVICE_VIEW_RATE = np.array([0.64, 0.55, 0.60])  # sessions that view a product
_CART_TO_CHECKOUT = 0.48
_CHECKOUT_TO_ORDER = 0.62

# --- countries -----------------------------------------------------------------------------
_COUNTRIES = {
    "US": 0.40,
    "GB": 0.12,
    "DE": 0.10,
    "CA": 0.08,
    "FR": 0.07,
    "AU": 0.06,
    "NL": 0.05,
    "SE": 0.03,
    "ES": 0.03,
    "IT": 0.02,
    "IE": 0.02,
    "DK": 0.01,
    "NZ": 0.01,
}

# --- categories and products ---------------------------------------------------------------


class _Category(NamedTuple):
    share: float  # share of first orders
    price: float  # median unit price
    products: int
    replenish: bool  # bought again every few weeks: raises repeat purchases
    refund: float  # refund rate of orders whose main category this is


_CATEGORY_PARAMS: dict[str, _Category] = {
    "Coffee & Tea": _Category(0.14, 17.0, 40, True, 0.015),
    "Skincare": _Category(0.13, 26.0, 40, True, 0.03),
    "Pet Food": _Category(0.10, 34.0, 35, True, 0.015),
    "Apparel": _Category(0.18, 42.0, 45, False, 0.085),
    "Home & Kitchen": _Category(0.16, 38.0, 40, False, 0.035),
    "Electronics": _Category(0.10, 85.0, 35, False, 0.055),
    "Books": _Category(0.10, 16.0, 40, False, 0.015),
    "Toys & Games": _Category(0.09, 29.0, 35, False, 0.03),
}
# Product names are '<adjective> <noun>' with nouns from here, comma separated.
_PRODUCT_NOUNS: dict[str, str] = {
    "Coffee & Tea": (
        "Espresso Beans, Filter Roast, Decaf Blend, Green Tea, Chai Mix, Matcha, Cold Brew Pack, "
        "Earl Grey, Single Origin Beans"
    ),
    "Skincare": (
        "Face Cream, Serum, Cleanser, Sunscreen SPF50, Night Balm, Toner, Eye Cream, Body Lotion, "
        "Lip Balm"
    ),
    "Pet Food": (
        "Dry Dog Food, Cat Kibble, Wet Cat Food, Puppy Formula, Dog Treats, Senior Dog Food, "
        "Grain-Free Kibble, Cat Treats"
    ),
    "Apparel": "T-Shirt, Hoodie, Jeans, Sneakers, Rain Jacket, Wool Socks, Chinos, Sweater, Cap",
    "Home & Kitchen": (
        "Chef Knife, Cast Iron Pan, Linen Towels, Ceramic Mug Set, Cutting Board, Candle, Throw "
        "Blanket, Storage Jars, French Press"
    ),
    "Electronics": (
        "Wireless Earbuds, Phone Charger, Bluetooth Speaker, Smart Plug, USB-C Hub, Power Bank, "
        "Desk Lamp, Webcam"
    ),
    "Books": "Cookbook, Novel, Travel Guide, Notebook, Photo Book, Kids Book, Field Guide, Planner",
    "Toys & Games": (
        "Board Game, Puzzle, Building Set, Plush Toy, Card Game, Craft Kit, Wooden Train, Science "
        "Kit"
    ),
}
CATEGORIES: tuple[str, ...] = tuple(_CATEGORY_PARAMS)
REPLENISHMENT_CATEGORIES: tuple[str, ...] = tuple(
    name for name, c in _CATEGORY_PARAMS.items() if c.replenish
)
_ADJECTIVES = "Classic Organic Premium Everyday Nordic Studio Essential Deluxe Urban Heritage Pure"


def _channel_param(field: str) -> np.ndarray:
    """One parameter of every acquisition channel, in CHANNELS order."""
    return np.array([getattr(c, field) for c in _CHANNEL_PARAMS.values()])


def _category_param(field: str) -> np.ndarray:
    """One parameter of every category, in CATEGORIES order."""
    return np.array([getattr(c, field) for c in _CATEGORY_PARAMS.values()])


# --- purchase process ----------------------------------------------------------------------
_R, _ALPHA = 0.5, 0.08  # lambda ~ Gamma(r, scale=1/alpha) repeat purchases per year
_MAX_LAMBDA = 40.0  # cap on the scaled rate (a reseller at most)
_BETA_A, _BETA_B = 0.9, 0.8  # p ~ Beta(a, b), dropout probability after each purchase
_REPLENISH_LAMBDA, _REPLENISH_P = 1.9, 0.65
_COUPON_LAMBDA, _COUPON_P = 0.80, 1.40
_MAX_P = 0.97
_HOME_CATEGORY = 0.70  # a repeat order's main category is the first order's with this prob.
_LOYALTY_JOIN = 0.20  # chance to join at an order on or after the launch
_LOYALTY_UPLIFT = 1.7  # purchase rate multiplier after joining
_GG_P, _GG_Q, _GG_GAMMA = 6.0, 4.0, 30.0  # Gamma-Gamma spend: mean p*gamma/(q-1) = 60
_GUEST_SHARE = 0.025
_CANCEL_REPEAT = 0.028
_FULL_REFUND = 0.55
_ACCEPTS_MARKETING = 0.58

# Month (1..12) indexes: acquisition season and repeat-purchase season.
_ACQ_SEASON = np.array([0.85, 0.78, 0.90, 0.92, 0.95, 0.88, 0.85, 0.88, 0.95, 1.0, 1.55, 1.75])
_REPEAT_SEASON = np.array([0.9, 0.85, 0.95, 0.95, 1.0, 0.95, 0.9, 0.9, 1.0, 1.0, 1.25, 1.4])
_WEEKDAY = np.array([1.05, 1.02, 1.0, 1.0, 0.98, 0.92, 1.03])  # Monday .. Sunday
_GROWTH = np.log(2.3) / 3.0  # acquisition x2.3 over three years
_BLACK_FRIDAY_BOOST = 2.4
# Relative order volume by hour of day, 00:00 .. 23:00: lunch and evening peaks.
_HOUR_PROFILE = np.array(
    [
        [0.6, 0.35, 0.2, 0.15, 0.15, 0.25, 0.5, 1.0],
        [1.5, 1.8, 2.0, 2.2, 2.6, 2.5, 2.2, 2.1],
        [2.1, 2.3, 2.8, 3.2, 3.4, 3.1, 2.3, 1.3],
    ]
).ravel()

# Coupon codes and their discount rates.
_COUPONS: dict[str, float] = {
    "WELCOME10": 0.10,
    "REFER15": 0.15,
    "XMAS15": 0.15,
    "SPRING15": 0.15,
    "SUMMER20": 0.20,
    "COMEBACK15": 0.15,
    "MEMBER10": 0.10,
    "BF2023": 0.25,
    "BF2024": 0.25,
    "BF2025": 0.25,
    "BF2026": 0.25,
}
_REPEAT_COUPON, _REPEAT_COUPON_BF, _MEMBER_COUPON = 0.08, 0.35, 0.12
_FIRST_COUPON_BF_BOOST = 0.35

_FIRST_NAMES = (
    "Emma, Liam, Olivia, Noah, Ava, Lucas, Mia, Elias, Sophie, Leon, Chloe, Jack, Hannah, Oscar, "
    "Lea, Hugo, Nora, Finn, Clara, Max, Isla, Louis, Freya, Theo, Alice, Jonas, Maya, Ethan, Zoe, "
    "Felix"
)
_LAST_NAMES = (
    "Smith, Johnson, Brown, Miller, Davis, Wilson, Taylor, Clark, Lewis, Walker, Müller, Schmidt, "
    "Fischer, Weber, Martin, Bernard, Dubois, Moreau, Jansen, de Vries, Bakker, Andersson, "
    "Nilsson, García, Rossi, Murphy, Kelly, Evans, Thomas, Roberts"
)


@dataclass(frozen=True)
class SampleShop:
    """The generated tables, each with exactly its contract's columns."""

    orders: pd.DataFrame
    customers: pd.DataFrame
    order_items: pd.DataFrame
    traffic_daily: pd.DataFrame
    marketing_spend: pd.DataFrame

    def frames(self) -> dict[str, pd.DataFrame]:
        """Table name -> frame, in load order."""
        return {
            "orders": self.orders,
            "customers": self.customers,
            "order_items": self.order_items,
            "traffic_daily": self.traffic_daily,
            "marketing_spend": self.marketing_spend,
        }


# --- helpers -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Calendar:
    """Day-level facts about the window [start, end]."""

    start: np.datetime64  # datetime64[D]
    days: np.ndarray  # datetime64[D], one per day
    month: np.ndarray  # 1..12
    month_index: np.ndarray  # 0.. months since the start month
    year: np.ndarray
    weekday: np.ndarray  # 0 = Monday
    black_friday: np.ndarray  # bool: Black Friday .. Cyber Monday

    @property
    def n(self) -> int:
        return len(self.days)


def _calendar(start: date, end: date) -> _Calendar:
    days = np.arange(np.datetime64(start, "D"), np.datetime64(end, "D") + 1)
    months = days.astype("datetime64[M]")
    years = days.astype("datetime64[Y]").astype(np.int64) + 1970
    month = months.astype(np.int64) % 12 + 1
    weekday = (days.astype(np.int64) + 3) % 7  # 1970-01-01 was a Thursday
    bf = np.zeros(len(days), dtype=bool)
    for y in np.unique(years):  # loop over a few years
        nov1 = np.datetime64(f"{y}-11-01")
        first_thu = nov1 + (3 - (nov1.astype(np.int64) + 3) % 7) % 7
        friday = first_thu + 22  # fourth Thursday + 1 day
        bf |= (days >= friday) & (days <= friday + 3)
    return _Calendar(
        start=days[0],
        days=days,
        month=month,
        month_index=(months - months[0]).astype(np.int64),
        year=years,
        weekday=weekday,
        black_friday=bf,
    )


def _categorical(rng: np.random.Generator, weights: np.ndarray, size: int) -> np.ndarray:
    """Indexes drawn with probability proportional to ``weights`` (1-D)."""
    cum = np.cumsum(weights, dtype=np.float64)
    return np.searchsorted(cum, rng.random(size) * cum[-1], side="right").clip(0, len(cum) - 1)


def _row_categorical(rng: np.random.Generator, weights: np.ndarray) -> np.ndarray:
    """One index per row of a 2-D weight matrix, proportional to that row's weights."""
    cum = np.cumsum(weights, axis=1)
    u = rng.random(len(weights)) * cum[:, -1]
    return (cum < u[:, None]).sum(axis=1).clip(0, weights.shape[1] - 1)


def _time_of_day(rng: np.random.Generator, size: int) -> np.ndarray:
    """Fraction of a day following the hourly order profile."""
    hour = _categorical(rng, _HOUR_PROFILE, size)
    return (hour + rng.random(size)) / 24.0


def _format_ids(prefix: str, numbers: np.ndarray, width: int, suffix: str = "") -> pa.Array:
    """``prefix + zero-padded number + suffix`` as an Arrow string array, without a per-row loop.

    The fixed-width bytes are built digit by digit and handed to Arrow as one buffer.
    """
    n = np.asarray(numbers, dtype=np.int64)
    pre, suf = prefix.encode("ascii"), suffix.encode("ascii")
    size = len(pre) + width + len(suf)
    raw = np.empty((len(n), size), dtype=np.uint8)
    raw[:, : len(pre)] = np.frombuffer(pre, dtype=np.uint8)
    for k in range(width):  # loop over digit positions
        raw[:, len(pre) + width - 1 - k] = (n // 10**k) % 10 + 48
    if suf:
        raw[:, len(pre) + width :] = np.frombuffer(suf, dtype=np.uint8)
    offsets = np.arange(0, len(n) * size + 1, size, dtype=np.int64)
    buffers = [None, pa.py_buffer(offsets), pa.py_buffer(raw.reshape(-1))]
    return pa.Array.from_buffers(pa.large_string(), len(n), buffers)


def _take(strings: Sequence[str] | pa.Array, index: np.ndarray) -> pd.api.extensions.ExtensionArray:
    """A pandas ``str`` column of ``strings[index]``; index -1 gives a missing value.

    Built in Arrow: much faster than object arrays of Python strings for millions of rows.
    """
    values = strings if isinstance(strings, pa.Array) else pa.array(list(strings), pa.string())
    picked = pc.take(values, pa.array(np.asarray(index), mask=np.asarray(index) < 0))
    return pd.array(picked, dtype="str")


def _group_order(group: np.ndarray, value: np.ndarray) -> np.ndarray:
    """Permutation sorting by ``group`` (int >= 0), then by ``value`` (float) within a group.

    One argsort of ``group * span + value`` instead of a (much slower) ``np.lexsort``.
    """
    if len(value) == 0:
        return np.arange(0)
    lo, hi = float(value.min()), float(value.max())
    scaled = (value - lo) / ((hi - lo) * 1.000001 + 1e-12)  # in [0, 1)
    return np.argsort(group.astype(np.float64) + scaled)


def _group_starts(counts: np.ndarray) -> np.ndarray:
    starts = np.zeros(len(counts), dtype=np.int64)
    np.cumsum(counts[:-1], out=starts[1:])
    return starts


def _rank_in_group(counts: np.ndarray) -> np.ndarray:
    """0, 1, ... within each consecutive group of the given sizes."""
    total = int(counts.sum())
    return np.arange(total, dtype=np.int64) - np.repeat(_group_starts(counts), counts)


def _timestamps(start: np.datetime64, t: np.ndarray) -> np.ndarray:
    """Days since ``start`` (float) -> datetime64[ns], to the second."""
    seconds = np.floor(t * 86_400.0).astype(np.int64)
    return (start.astype("datetime64[s]") + seconds.astype("timedelta64[s]")).astype(
        "datetime64[ns]"
    )


# --- products ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Products:
    ids: pa.Array
    names: list[str]
    category: np.ndarray  # category index, products grouped by category
    price: np.ndarray
    search_key: np.ndarray  # category index + cumulative popularity within the category


def _products(rng: np.random.Generator) -> _Products:
    cats, names, prices, keys = [], [], [], []
    for k, (name, spec) in enumerate(_CATEGORY_PARAMS.items()):  # loop over 8 categories
        median, count = spec.price, spec.products
        nouns = _PRODUCT_NOUNS[name].split(", ")
        combos = [f"{adj} {noun}" for noun in nouns for adj in _ADJECTIVES.split()]
        picked = rng.choice(len(combos), size=count, replace=False)
        names.extend(combos[i] for i in picked)
        prices.append(np.round(median * rng.lognormal(0.0, 0.45, count), 2))
        popularity = 1.0 / np.arange(1, count + 1) ** 0.9  # Zipf-like
        popularity = popularity[rng.permutation(count)]
        cum = np.cumsum(popularity) / popularity.sum()
        cum[-1] = 1.0
        keys.append(k + cum)
        cats.append(np.full(count, k))
    n = sum(len(c) for c in cats)
    return _Products(
        ids=_format_ids("P", np.arange(1, n + 1), 4),
        names=names,
        category=np.concatenate(cats),
        price=np.concatenate(prices),
        search_key=np.concatenate(keys),
    )


def _pick_products(rng: np.random.Generator, products: _Products, cat: np.ndarray) -> np.ndarray:
    """A product of each given category, by popularity."""
    u = cat + rng.random(len(cat)) * (1.0 - 1e-12)
    idx = np.searchsorted(products.search_key, u, side="right")
    return idx.clip(0, len(products.ids) - 1)


# --- customers -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Customers:
    t0: np.ndarray  # first order time, days since start (sorted)
    channel: np.ndarray
    country: np.ndarray
    category: np.ndarray
    coupon: np.ndarray  # bool: first order used a coupon
    lam: np.ndarray  # repeat purchases per year
    p: np.ndarray  # dropout probability after each purchase
    nu: np.ndarray  # Gamma-Gamma rate of the customer's order values


def _acquisition_weights(rng: np.random.Generator, cal: _Calendar) -> np.ndarray:
    years = np.arange(cal.n) / 365.25
    month_noise = rng.lognormal(0.0, 0.06, cal.month_index.max() + 1)[cal.month_index]
    return (
        np.exp(_GROWTH * years)
        * _ACQ_SEASON[cal.month - 1]
        * _WEEKDAY[cal.weekday]
        * np.where(cal.black_friday, _BLACK_FRIDAY_BOOST, 1.0)
        * month_noise
    )


def _customers(rng: np.random.Generator, n: int, cal: _Calendar) -> _Customers:
    day = _categorical(rng, _acquisition_weights(rng, cal), n)
    t0 = np.sort(day + _time_of_day(rng, n))
    day = t0.astype(np.int64)
    frac = (t0 / cal.n)[:, None]
    mix = _channel_param("mix_start")[None, :] * (1 - frac) + _channel_param("mix_end") * frac
    channel = _row_categorical(rng, mix)
    country = _categorical(rng, np.array(list(_COUNTRIES.values())), n)
    category = _categorical(rng, _category_param("share"), n)
    coupon_rate = _channel_param("coupon")[channel] + np.where(
        cal.black_friday[day], _FIRST_COUPON_BF_BOOST, 0
    )
    coupon = rng.random(n) < coupon_rate
    replenish = _category_param("replenish")[category]
    lam_mult = (
        _channel_param("lam")[channel]
        * np.where(replenish, _REPLENISH_LAMBDA, 1.0)
        * np.where(coupon, _COUPON_LAMBDA, 1.0)
    )
    p_mult = (
        _channel_param("p")[channel]
        * np.where(replenish, _REPLENISH_P, 1.0)
        * np.where(coupon, _COUPON_P, 1.0)
    )
    lam = np.minimum(rng.gamma(_R, 1.0 / _ALPHA, n) * lam_mult, _MAX_LAMBDA)
    p = np.minimum(rng.beta(_BETA_A, _BETA_B, n) * p_mult, _MAX_P)
    price_level = _category_param("price")[category]
    nu = rng.gamma(_GG_Q, 1.0 / _GG_GAMMA, n) / (price_level / 35.0) ** 0.4
    return _Customers(t0, channel, country, category, coupon, lam, p, nu)


# --- purchases -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Purchases:
    """Orders of registered customers, grouped by customer and sorted by time."""

    customer: np.ndarray
    t: np.ndarray
    is_first: np.ndarray
    after_join: np.ndarray  # bool: placed after the customer joined the loyalty programme
    joined: np.ndarray  # per customer: join time (days) or nan


def _operational_time(cal: _Calendar) -> np.ndarray:
    """Cumulative repeat intensity S(d) in years at day boundaries 0..n (mean 1 per year)."""
    s = _REPEAT_SEASON[cal.month - 1] * _WEEKDAY[cal.weekday]
    s = s / s.mean()
    return np.concatenate([[0.0], np.cumsum(s)]) / 365.25


def _poisson_times(
    rng: np.random.Generator,
    owner: np.ndarray,
    rate: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
    op: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Events of Poisson processes with intensity rate * s(t) on [lo, hi) (days).

    Counts are Poisson(rate * (S(hi) - S(lo))); times are uniform in operational time S and
    mapped back through S^-1. Days are then floored and given a time of day.
    """
    grid = np.arange(len(op), dtype=np.float64)
    s_lo, s_hi = np.interp(lo, grid, op), np.interp(hi, grid, op)
    counts = rng.poisson(np.maximum(rate * (s_hi - s_lo), 0.0))
    who = np.repeat(owner, counts)
    target = np.repeat(s_lo, counts) + rng.random(len(who)) * np.repeat(s_hi - s_lo, counts)
    day = np.minimum(np.floor(np.interp(target, op, grid)), len(op) - 2)
    return who, day + _time_of_day(rng, len(who))


def _purchases(
    rng: np.random.Generator, cust: _Customers, cal: _Calendar, launch_day: float
) -> _Purchases:
    n = len(cust.t0)
    op = _operational_time(cal)
    ids = np.arange(n)
    first_day = np.floor(cust.t0)
    who, t = _poisson_times(rng, ids, cust.lam, first_day + 1, np.full(n, float(cal.n)), op)
    order = _group_order(who, t)
    who, t = who[order], t[order]
    counts = np.bincount(who, minlength=n)
    rank = _rank_in_group(counts)
    allowed = rng.geometric(cust.p) - 1  # repeat purchases before dropout
    keep = rank < allowed[who]
    # Dropout time: right after the last allowed purchase, if the candidates went beyond it.
    died = counts > allowed
    death = np.full(n, np.inf)
    last = _group_starts(counts) + allowed - 1
    death[died & (allowed == 0)] = cust.t0[died & (allowed == 0)]
    has_last = died & (allowed > 0)
    death[has_last] = t[last[has_last]]
    who, t = who[keep], t[keep]

    # Loyalty: join at an order on or after the launch, with probability q per order.
    cand_who = np.concatenate([ids, who])
    cand_t = np.concatenate([cust.t0, t])
    order = _group_order(cand_who, cand_t)
    cand_who, cand_t = cand_who[order], cand_t[order]
    hit = (cand_t >= launch_day) & (rng.random(len(cand_t)) < _LOYALTY_JOIN)
    members, first_hit = np.unique(cand_who[hit], return_index=True)
    joined = np.full(n, np.nan)
    joined[members] = np.minimum(
        cand_t[hit][first_hit] + rng.uniform(2, 30, len(members)) / 1440.0, cal.n - 1e-5
    )

    # Extra purchases of members after joining (the day after) until dropout.
    hi = np.minimum(death[members], float(cal.n))
    lo = np.floor(joined[members]) + 1
    ok = hi > lo
    x_who, x_t = _poisson_times(
        rng, members[ok], cust.lam[members[ok]] * (_LOYALTY_UPLIFT - 1), lo[ok], hi[ok], op
    )
    alive = x_t < death[x_who]
    x_who, x_t = x_who[alive], x_t[alive]

    all_who = np.concatenate([ids, who, x_who])
    all_t = np.concatenate([cust.t0, t, x_t])
    is_first = np.zeros(len(all_who), dtype=bool)
    is_first[:n] = True
    order = _group_order(all_who, all_t)
    all_who, all_t, is_first = all_who[order], all_t[order], is_first[order]
    after_join = all_t > np.nan_to_num(joined, nan=np.inf)[all_who]
    return _Purchases(all_who, all_t, is_first, after_join, joined)


# --- orders --------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Orders:
    customer: np.ndarray  # customer index, -1 for guests
    t: np.ndarray
    channel: np.ndarray  # index into ORDER_CHANNELS
    category: np.ndarray  # main category index
    coupon: np.ndarray  # index into _COUPONS, -1 for none
    gross: np.ndarray  # before discount
    discount: np.ndarray
    sold: np.ndarray  # gross - discount: what the items add up to
    revenue: np.ndarray  # sold net of refunds
    status: np.ndarray  # index into ORDER_STATUSES


def _season_coupon(cal: _Calendar, day: np.ndarray, fallback: str) -> np.ndarray:
    """Coupon code index offered on each day: Black Friday, Christmas, spring, summer or else."""
    codes = list(_COUPONS)
    month = cal.month[day]
    out = np.full(len(day), codes.index(fallback))
    out[(month == 3) | (month == 4)] = codes.index("SPRING15")
    out[(month == 6) | (month == 7)] = codes.index("SUMMER20")
    dom = (cal.days[day] - cal.days[day].astype("datetime64[M]")).astype(np.int64) + 1
    out[(month == 12) & (dom <= 24)] = codes.index("XMAS15")
    bf = cal.black_friday[day]
    bf_codes = np.array(
        [
            codes.index(f"BF{y}") if f"BF{y}" in _COUPONS else -1
            for y in range(int(cal.year.min()), int(cal.year.max()) + 1)
        ]
    )
    year_code = bf_codes[cal.year[day] - cal.year.min()]
    use = bf & (year_code >= 0)
    out[use] = year_code[use]
    return out


def _orders(
    rng: np.random.Generator, cust: _Customers, buys: _Purchases, cal: _Calendar
) -> _Orders:
    n_guest = int(round(len(buys.t) * _GUEST_SHARE / (1 - _GUEST_SHARE)))
    guest_t = rng.choice(buys.t, size=n_guest) if n_guest else np.empty(0)
    guest_t = np.floor(guest_t) + _time_of_day(rng, n_guest)
    who = np.concatenate([buys.customer, np.full(n_guest, -1)])
    t = np.concatenate([buys.t, guest_t])
    first = np.concatenate([buys.is_first, np.zeros(n_guest, dtype=bool)])
    member = np.concatenate([buys.after_join, np.zeros(n_guest, dtype=bool)])
    m = len(t)
    day = np.minimum(t.astype(np.int64), cal.n - 1)
    reg = who >= 0
    cw = np.where(reg, who, 0)

    # Channel: acquisition channel on the first order; repeat and guest orders from mixes.
    acq_mix = np.append(_channel_param("mix_end"), 0.15)  # + direct
    channel = _categorical(rng, np.array(list(_REPEAT_CHANNEL_MIX.values())), m)
    same = reg & (rng.random(m) < _REPEAT_SAME_CHANNEL)
    channel[same] = cust.channel[cw[same]]
    channel[first] = cust.channel[cw[first]]
    channel[~reg] = _categorical(rng, acq_mix, n_guest)

    # Main category: the first order's category, mostly the same later.
    category = _categorical(rng, _category_param("share"), m)
    home = reg & (first | (rng.random(m) < _HOME_CATEGORY))
    category[home] = cust.category[cw[home]]

    # Coupons.
    coupon = np.full(m, -1)
    codes = list(_COUPONS)
    fc = first & cust.coupon[cw]
    welcome = _season_coupon(cal, day[fc], "WELCOME10")
    plain = welcome == codes.index("WELCOME10")
    referral = cust.channel[cw[fc]] == CHANNELS.index("referral")
    welcome[plain & referral] = codes.index("REFER15")
    coupon[fc] = welcome
    later = ~first
    rate = np.where(cal.black_friday[day], _REPEAT_COUPON_BF, _REPEAT_COUPON)
    rc = later & (rng.random(m) < rate)
    coupon[rc] = _season_coupon(cal, day[rc], "COMEBACK15")
    mc = later & ~rc & member & (rng.random(m) < _MEMBER_COUPON)
    coupon[mc] = codes.index("MEMBER10")

    # Spend: Gamma-Gamma for customers, a fresh nu per guest order.
    nu = np.where(reg, cust.nu[cw], rng.gamma(_GG_Q, 1.0 / _GG_GAMMA, m))
    gross = np.round(np.maximum(rng.gamma(_GG_P, 1.0, m) / nu, 3.0), 2)
    rates = np.append(np.array(list(_COUPONS.values())), 0.0)[coupon]  # -1 -> 0.0
    discount = np.round(gross * rates, 2)
    sold = np.round(gross - discount, 2)

    # Status: cancellations on later and guest orders, refunds by category.
    refund_rate = _category_param("refund")[category]
    u = rng.random(m)
    cancelled = ~first & (u < _CANCEL_REPEAT)
    refunded = ~cancelled & (rng.random(m) < refund_rate)
    status = np.where(cancelled, 2, np.where(refunded, 1, 0))
    full = rng.random(m) < _FULL_REFUND
    kept_share = np.where(full, 0.0, rng.uniform(0.2, 0.8, m))
    revenue = np.where(refunded, np.round(sold * kept_share, 2), sold)

    # Order ids follow time.
    order = np.argsort(t, kind="stable")
    return _Orders(
        customer=who[order],
        t=t[order],
        channel=channel[order],
        category=category[order],
        coupon=coupon[order],
        gross=gross[order],
        discount=discount[order],
        sold=sold[order],
        revenue=revenue[order],
        status=status[order],
    )


# --- order items ---------------------------------------------------------------------------


def _order_items(rng: np.random.Generator, orders: _Orders, products: _Products) -> pd.DataFrame:
    """1-5 distinct products per order; line revenue splits the order's sold value."""
    m = len(orders.t)
    lines = 1 + np.minimum(rng.poisson(0.6, m), 4)
    owner = np.repeat(np.arange(m), lines)
    rank = _rank_in_group(lines)
    cat = _categorical(rng, _category_param("share"), len(owner))
    same = (rank == 0) | (rng.random(len(owner)) < 0.4)
    cat[same] = orders.category[owner[same]]
    prod = _pick_products(rng, products, cat)
    dup = pd.Series(owner * len(products.ids) + prod).duplicated().to_numpy()
    owner, prod = owner[~dup], prod[~dup]
    replenish = _category_param("replenish")[products.category[prod]]
    extra = np.where(replenish, rng.poisson(0.5, len(prod)), rng.random(len(prod)) < 0.08)
    quantity = 1 + extra.astype(np.int64)
    weight = products.price[prod] * quantity
    # Largest line last, so it absorbs the rounding and never goes negative.
    order = _group_order(owner, weight)
    owner, prod, quantity, weight = owner[order], prod[order], quantity[order], weight[order]
    total = np.bincount(owner, weights=weight, minlength=m)
    line = np.round(orders.sold[owner] * weight / total[owner], 2)
    counts = np.bincount(owner, minlength=m)
    last = _group_starts(counts) + counts - 1
    line[last] = 0.0
    line[last] = np.round(orders.sold - np.bincount(owner, weights=line, minlength=m), 2)
    return pd.DataFrame(
        {
            "order_id": owner,  # order index: the caller puts the string ids in
            "product_id": _take(products.ids, prod),
            "product_name": _take(products.names, prod),
            "category": _take(CATEGORIES, products.category[prod]),
            "quantity": quantity,
            "line_revenue": line,
        }
    )


# --- traffic and spend ---------------------------------------------------------------------


def _traffic(rng: np.random.Generator, orders: _Orders, cal: _Calendar) -> pd.DataFrame:
    """Sessions and funnel per (day, channel, device), consistent with the orders."""
    n_ch, n_dev = len(ORDER_CHANNELS), len(DEVICES)
    day = np.minimum(orders.t.astype(np.int64), cal.n - 1)
    actual = np.bincount(day * n_ch + orders.channel, minlength=cal.n * n_ch)
    actual = actual.reshape(cal.n, n_ch)
    kernel = np.ones(7) / 7.0
    smooth = np.column_stack(
        [np.convolve(np.pad(actual[:, c], 3, mode="edge"), kernel, "valid") for c in range(n_ch)]
    )
    ch_conv = np.append(_channel_param("conversion"), _DIRECT_CONVERSION)
    conv = ch_conv[None, :, None] * _DEVICE_CONVERSION[None, None, :]  # (1, ch, dev)
    order_share = _DEVICE_SESSION_SHARE * _DEVICE_CONVERSION
    order_share = order_share / order_share.sum()
    # Orders split over devices; sessions from the smoothed expected orders.
    dev_orders = rng.multinomial(actual.ravel(), order_share).reshape(cal.n, n_ch, n_dev)
    expected = (smooth + 0.3)[:, :, None] * order_share[None, None, :]
    noise = rng.lognormal(0.0, 0.08, (cal.n, n_ch, 1))
    sessions = rng.poisson(expected / conv * noise)
    views = rng.binomial(sessions, np.broadcast_to(_DEVICE_VIEW_RATE, sessions.shape))
    cart_rate = np.clip(conv / (_CHECKOUT_TO_ORDER * _CART_TO_CHECKOUT * _DEVICE_VIEW_RATE), 0, 1)
    carts = rng.binomial(views, np.broadcast_to(cart_rate, sessions.shape))
    checkouts = np.maximum(rng.binomial(carts, _CART_TO_CHECKOUT), dev_orders)
    carts = np.maximum(carts, checkouts)
    views = np.maximum(views, carts)
    sessions = np.maximum(sessions, views)
    size = cal.n * n_ch * n_dev
    return pd.DataFrame(
        {
            "date": np.repeat(cal.days, n_ch * n_dev).astype("datetime64[ns]"),
            "channel": _take(ORDER_CHANNELS, np.tile(np.repeat(np.arange(n_ch), n_dev), cal.n)),
            "device": _take(DEVICES, np.tile(np.arange(n_dev), cal.n * n_ch)),
            "sessions": sessions.reshape(size).astype(np.int64),
            "product_views": views.reshape(size).astype(np.int64),
            "add_to_carts": carts.reshape(size).astype(np.int64),
            "checkouts": checkouts.reshape(size).astype(np.int64),
        }
    )


def _marketing_spend(rng: np.random.Generator, cust: _Customers, cal: _Calendar) -> pd.DataFrame:
    """Monthly spend = new customers x CAC(channel) x Nov-Dec premium x noise."""
    n_months = int(cal.month_index.max()) + 1
    n_ch = len(CHANNELS)
    month = cal.month_index[cust.t0.astype(np.int64)]
    new = np.bincount(month * n_ch + cust.channel, minlength=n_months * n_ch)
    new = new.reshape(n_months, n_ch)
    first_days = cal.days[np.searchsorted(cal.month_index, np.arange(n_months))]
    first_days = first_days.astype("datetime64[M]").astype("datetime64[D]")
    cal_month = first_days.astype("datetime64[M]").astype(np.int64) % 12 + 1
    peak = np.where(cal_month >= 11, _CAC_PEAK, 1.0)
    cac = _channel_param("cac")
    spend = new * cac[None, :] * peak[:, None] * rng.lognormal(0.0, 0.12, (n_months, n_ch))
    return pd.DataFrame(
        {
            "date": np.repeat(first_days, n_ch).astype("datetime64[ns]"),
            "channel": _take(CHANNELS, np.tile(np.arange(n_ch), n_months)),
            "spend": np.round(spend.ravel(), 2),
        }
    )


# --- frames --------------------------------------------------------------------------------


def _customer_frame(
    rng: np.random.Generator, cust: _Customers, buys: _Purchases, cal: _Calendar, ids: pa.Array
) -> pd.DataFrame:
    n = len(cust.t0)
    ahead = np.where(rng.random(n) < 0.35, rng.exponential(3.0, n), rng.uniform(1, 15, n) / 1440.0)
    signup = np.maximum(cust.t0 - ahead, 0.0)
    names = [f"{a} {b}" for a in _FIRST_NAMES.split(", ") for b in _LAST_NAMES.split(", ")]
    email_channel = cust.channel == CHANNELS.index("email")
    accepts = rng.random(n) < np.where(email_channel, 0.92, _ACCEPTS_MARKETING)
    member = ~np.isnan(buys.joined)
    joined = np.full(n, np.datetime64("NaT"), dtype="datetime64[ns]")
    joined[member] = _timestamps(cal.start, buys.joined[member])
    return pd.DataFrame(
        {
            "customer_id": pd.array(ids, dtype="str"),
            "email": pd.array(
                _format_ids("c", np.arange(1, n + 1), _ids_width(n), "@example.com"), dtype="str"
            ),
            "name": _take(names, rng.integers(0, len(names), n)),
            "country": _take(list(_COUNTRIES), cust.country),
            "acquisition_channel": _take(CHANNELS, cust.channel),
            "signup_at": _timestamps(cal.start, signup),
            "accepts_marketing": accepts,
            "loyalty_member": member,
            "loyalty_joined_at": joined,
        }
    )


def _ids_width(n: int, minimum: int = 6) -> int:
    """Digits of zero-padded ids for ``n`` rows (at least ``minimum``)."""
    return max(minimum, len(str(max(n, 1))))


def _order_frame(
    orders: _Orders, cal: _Calendar, order_ids: pa.Array, customer_ids: pa.Array
) -> pd.DataFrame:
    m = len(orders.t)
    return pd.DataFrame(
        {
            "order_id": pd.array(order_ids, dtype="str"),
            "customer_id": _take(customer_ids, orders.customer),
            "ordered_at": _timestamps(cal.start, orders.t),
            "revenue": orders.revenue,
            "discount_amount": orders.discount,
            "status": _take(TABLES["orders"].column("status").allowed, orders.status),
            "channel": _take(ORDER_CHANNELS, orders.channel),
            "coupon_code": _take(list(_COUPONS), orders.coupon),
            "currency": _take([CURRENCY], np.zeros(m, dtype=np.int64)),
        }
    )


def generate_sample(
    customers: int = DEFAULT_CUSTOMERS,
    seed: int = DEFAULT_SEED,
    *,
    start: date = DEFAULT_START,
    end: date = DEFAULT_END,
    progress: Progress | None = None,
) -> SampleShop:
    """Generate a sample shop with ``customers`` registered customers (see the module docstring).

    Orders come to roughly 2.5-3 per customer plus ~2.5% guest orders. The same arguments
    always give identical frames.
    """
    if customers < 1:
        raise ValueError(f"customers must be at least 1, got {customers}")
    if end <= start:
        raise ValueError(f"end ({end}) must be after start ({start})")
    note = progress or (lambda _f, _m: None)
    rng = np.random.default_rng(seed)
    cal = _calendar(start, end)
    launch_day = float((np.datetime64(LOYALTY_LAUNCH, "D") - cal.start).astype(np.int64))

    note(0.0, "Creating products and customers")
    products = _products(rng)
    cust = _customers(rng, customers, cal)
    note(0.15, "Simulating purchases")
    buys = _purchases(rng, cust, cal, launch_day)
    note(0.35, "Pricing orders")
    orders = _orders(rng, cust, buys, cal)
    customer_ids = _format_ids("C", np.arange(1, customers + 1), _ids_width(customers))
    order_ids = _format_ids("O", np.arange(1, len(orders.t) + 1), _ids_width(len(orders.t), 7))
    order_frame = _order_frame(orders, cal, order_ids, customer_ids)
    note(0.55, "Filling baskets")
    items = _order_items(rng, orders, products)
    items["order_id"] = _take(order_ids, items["order_id"].to_numpy())
    note(0.75, "Building traffic and marketing spend")
    traffic = _traffic(rng, orders, cal)
    spend = _marketing_spend(rng, cust, cal)
    customer_frame = _customer_frame(rng, cust, buys, cal, customer_ids)
    note(1.0, "Sample shop generated")
    return SampleShop(
        orders=order_frame[list(TABLES["orders"].column_names)],
        customers=customer_frame[list(TABLES["customers"].column_names)],
        order_items=items[list(TABLES["order_items"].column_names)],
        traffic_daily=traffic[list(TABLES["traffic_daily"].column_names)],
        marketing_spend=spend[list(TABLES["marketing_spend"].column_names)],
    )


def build_sample_db(
    path: str | Path,
    customers: int = DEFAULT_CUSTOMERS,
    seed: int = DEFAULT_SEED,
    *,
    progress: Progress | None = None,
) -> Path:
    """Generate the sample shop and write it to a fresh DuckDB file at ``path``.

    The file is built under a temporary name next to ``path`` and renamed into place at the
    end, so a half-built file never appears under the real name. Returns ``path``.
    """
    from retention.ingest.load import load_frames
    from retention.store import Store

    note = progress or (lambda _f, _m: None)
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.building")
    for stale in (tmp, Path(f"{tmp}.wal")):
        stale.unlink(missing_ok=True)
    shop = generate_sample(customers, seed, progress=lambda f, m: note(0.6 * f, m))
    try:
        store = Store(tmp)
        try:
            load_frames(
                store,
                shop.frames(),
                source_name=f"sample shop ({customers:,} customers, seed {seed})",
                source_format="sample",
                replace=True,
                progress=lambda f, m: note(0.6 + 0.38 * f, m),
            )
            store.checkpoint()
        finally:
            store.close()
        Path(f"{target}.wal").unlink(missing_ok=True)
        os.replace(tmp, target)
    finally:
        for leftover in (tmp, Path(f"{tmp}.wal")):
            leftover.unlink(missing_ok=True)
    note(1.0, "Sample database ready")
    return target
