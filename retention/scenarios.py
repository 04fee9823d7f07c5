"""What-if scenarios over a segment's predicted orders: a discount campaign and a loyalty
programme, each against the baseline the fitted model expects, with Monte Carlo intervals.

Pure functions over a :class:`SegmentBaseline` (the segment's expected orders and revenue over a
horizon, at the parameter estimate and under each parameter draw of the stored model run); the
only database work is loading that baseline (:func:`segment_baseline`) and the evidence for a
loyalty uplift (:func:`loyalty_evidence`). The page, the CLI and the tests share these.

Notation (everything over the horizon of H days, at list prices, undiscounted):

- N customers in the segment; O = Σ E[Y_i(H)] their expected orders and R = Σ E[Y_i(H)]·E[Z_i]
  their expected revenue (BG/NBD × Gamma-Gamma, ``retention.models.cltv`` with margin 1 and
  no discounting); a = R / O the average order value the model expects (0 when O = 0).
- u the uplift, m the gross margin (share of list price kept after the cost of goods).

**Discount campaign** (:class:`DiscountScenario`): every customer of the segment is contacted
at ``cost_per_contact`` c; a share ``reach`` ρ sees the offer and gets ``discount`` d off every
order they place within the horizon (so pick the horizon as the offer's validity window).

    reached baseline:   O_r = ρ·O,  R_r = ρ·R
    extra orders:       ΔO = u·O_r          (uplift_mode "relative": u = relative increase in
                                             the reached customers' purchase rate)
                        ΔO = u·ρ·N          (uplift_mode "reactivation": u = extra share of
                                             reached customers who place one order)
    list revenue:       G = R_r + a·ΔO      (extra orders at the model's average order value)
    discount cost:      d·G, of which d·R_r is cannibalised (orders expected anyway)
    incremental revenue (net of the discount, as the orders table records it):
                        G·(1 − d) − R_r = (1 − d)·a·ΔO − d·R_r
    incremental gross profit:  m·a·ΔO − d·G
    programme cost:     N·c                 (contact cost)
    net profit:         incremental gross profit − N·c
    ROI:                net profit / (d·G + N·c)   (NaN when both costs are 0)

**Loyalty programme** (:class:`LoyaltyScenario`): a share ``enrolment`` e joins; members earn
``points_per_unit`` p points per currency unit spent, worth ``point_value`` v each; a share
``redemption`` ρ of points is redeemed (breakage 1 − ρ costs nothing).

    member baseline:    O_m = e·O,  R_m = e·R
    extra orders:       ΔO = u·O_m          (u = relative frequency uplift of members)
    extra revenue:      ΔR = a·ΔO
    points cost:        (R_m + ΔR)·p·v·ρ    (points on orders expected anyway, R_m·p·v·ρ, are
                                             the cannibalised part)
    incremental revenue (net of redeemed points): ΔR − points cost
    incremental gross profit:  m·ΔR − points cost
    programme cost:     fixed_cost + cost_per_member·e·N
    net profit:         incremental gross profit − programme cost
    ROI:                net profit / (points cost + programme cost)

Points are costed when earned, at their redeemed value, inside the horizon (accrual; the
timing of redemption is ignored). With ``tiers`` (thresholds on a customer's expected revenue
over the horizon at the estimate, each with its own points rate; below the lowest threshold
the base ``points_per_unit``), p is the revenue-weighted average rate over the segment,
p = Σ_i p_i·R_i / Σ_i R_i. Members are a random share e of the segment, so their expected
revenue-weighted rate is the segment's. Tiers are assigned on baseline revenue (the uplift
does not move anyone up a tier) and p is held fixed across parameter draws, which keeps the
economics linear in u.

**Change in predicted CLTV** = incremental gross profit (before contact, fixed and per-member
costs, which are marketing costs and not part of a customer's value), total and per customer
(÷ N), over the horizon, undiscounted; it is not the app's discounted CLTV.

**Distribution** (:func:`simulate`): draw i (0-based) takes the baseline's parameter draw
k = i mod S (O_k, R_k, so a_k = R_k/O_k) and an uplift u_i ~ Uniform(uplift_low,
uplift_high) from ``numpy.random.default_rng(seed)``, and evaluates the formulas above. The
spread therefore mixes the uncertainty of the uplift (the user's range, read as "anything in
between is equally likely") with the model's parameter uncertainty (the draws of
``retention.models.cltv``); it leaves out the randomness of individual purchases. The summary
gives each outcome's value at the estimate (mid uplift, parameter estimate), mean, median and a
central interval (default 80 %) over the draws, and ``p_loss`` = share of draws with net
profit < 0. The same seed gives the same draws.

**Break-even uplift**: every outcome is linear in u at fixed inputs, net(u) = slope·u − fixed,
with (discount) slope = (m − d)·a·B, B = O_r (relative) or ρ·N (reactivation), fixed =
d·R_r + N·c; (loyalty) slope = (m − p·v·ρ)·a·O_m, fixed = p·v·ρ·R_m + fixed_cost +
cost_per_member·e·N. The break-even uplift is u* = fixed / slope at the parameter estimate: 0
when there is no fixed cost; None when slope ≤ 0 < fixed (each extra order loses money, e.g.
a discount above the margin, so no uplift pays) or u* is beyond the largest uplift allowed
(:data:`MAX_RELATIVE_UPLIFT`, or 1 for a reactivation share).

**Sensitivity** (:func:`tornado`): net profit at the estimate with one input at a time moved
to its low and its high value: the uplift to the ends of its range, the model's baseline to
the ends of the parameter interval of its revenue (orders scaled alike), every other input by
± ``swing`` (25 % by default) of its value, clipped to its valid range.

References
----------
Fader, P. S., Hardie, B. G. S. & Lee, K. L. (2005). "Counting Your Customers the Easy Way: An
Alternative to the Pareto/NBD Model". Marketing Science 24(2), 275-284 (expected orders).
Fader, P. S. & Hardie, B. G. S. (2013). "The Gamma-Gamma Model of Monetary Value".
http://www.brucehardie.com/notes/025/ (expected spend).
Blattberg, R. C., Kim, B.-D. & Neslin, S. A. (2008). Database Marketing, ch. 23 and 28
(cannibalisation of promotions; loyalty programme economics, breakage).
Breslow, N. E. & Day, N. E. (1987). Statistical Methods in Cancer Research, vol. II, ch. 2
(indirect standardisation, used by :func:`loyalty_evidence`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, fields, replace
from numbers import Integral, Real
from typing import Any, Literal

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from retention.models.cltv import MAX_HORIZON_DAYS, predict_customers
from retention.models.rfm_sql import Queryable
from retention.models.runs import cltv_settings, latest_run, scores_are_stale
from retention.segments.attributes import CUSTOMER_ATTRIBUTES_SQL, RFM_SEGMENT_ORDER
from retention.segments.compare import MEMBER_SCORES_SQL, fits_from_run

__all__ = [
    "DEFAULT_DRAWS",
    "DEFAULT_INTERVAL",
    "DEFAULT_SWING",
    "EVIDENCE_COLUMNS",
    "MAX_DRAWS",
    "MAX_RELATIVE_UPLIFT",
    "MIN_RELATIVE_UPLIFT",
    "OUTCOMES",
    "SELF_SELECTION_WARNING",
    "SUMMARY_COLUMNS",
    "TORNADO_COLUMNS",
    "UPLIFT_MODES",
    "DiscountScenario",
    "LoyaltyEvidence",
    "LoyaltyScenario",
    "Scenario",
    "ScenarioResult",
    "SegmentBaseline",
    "break_even_uplift",
    "evaluate",
    "loyalty_evidence",
    "scenario_from_dict",
    "segment_baseline",
    "simulate",
    "tornado",
]

UpliftMode = Literal["relative", "reactivation"]
UPLIFT_MODES: tuple[str, ...] = ("relative", "reactivation")
MIN_RELATIVE_UPLIFT = -1.0
"""A relative uplift of −1 means the reached customers stop buying altogether."""
MAX_RELATIVE_UPLIFT = 5.0
"""+500 %: beyond that a "relative uplift" is a different business, not a campaign."""
DEFAULT_DRAWS = 2000
MAX_DRAWS = 100_000
DEFAULT_INTERVAL = 0.80
DEFAULT_SWING = 0.25
DAYS_PER_YEAR = 365.25

OUTCOMES: tuple[str, ...] = (
    "incremental_orders",
    "incremental_revenue",
    "incremental_gross_profit",
    "incentive_cost",
    "cannibalised_cost",
    "programme_cost",
    "total_cost",
    "net_profit",
    "roi",
    "cltv_change",
    "cltv_change_per_customer",
)
"""Per-draw outcomes of :func:`simulate`, in money of the orders table except orders and ROI:

- ``incremental_orders``: ΔO, extra orders over the horizon.
- ``incremental_revenue``: extra revenue net of the discount or the redeemed points.
- ``incremental_gross_profit``: extra gross margin after the discount or points cost.
- ``incentive_cost``: discount given (d·G) or points redeemed ((R_m + ΔR)·p·v·ρ).
- ``cannibalised_cost``: the part of ``incentive_cost`` on orders expected anyway.
- ``programme_cost``: contact cost (discount) or fixed + per-member cost (loyalty).
- ``total_cost``: incentive + programme cost.
- ``net_profit``: incremental gross profit − programme cost.
- ``roi``: net profit / total cost (NaN when the total cost is 0).
- ``cltv_change``, ``cltv_change_per_customer``: incremental gross profit, total and ÷ N.
"""
_INCREMENTAL = tuple(o for o in OUTCOMES if o != "roi")
SUMMARY_COLUMNS: tuple[str, ...] = ("estimate", "mean", "median", "low", "high")
TORNADO_COLUMNS: tuple[str, ...] = (
    "input",
    "label",
    "value",
    "low_value",
    "high_value",
    "net_profit_low",
    "net_profit_high",
    "spread",
)
EVIDENCE_COLUMNS: tuple[str, ...] = (
    "rfm_segment",
    "members",
    "non_members",
    "member_repeat_orders",
    "member_tenure_years",
    "non_member_repeat_orders",
    "non_member_tenure_years",
    "member_rate",
    "non_member_rate",
    "rate_difference",
)

Array = NDArray[np.float64]


# --- checks -------------------------------------------------------------------------------


def _is_int(value: object) -> bool:
    return isinstance(value, Integral) and not isinstance(value, bool)


def _real(name: str, value: object, low: float, high: float = math.inf) -> float:
    """``value`` as a float within [low, high]; ValueError naming the input otherwise."""
    if not isinstance(value, Real) or isinstance(value, bool) or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    if not low <= float(value) <= high:
        bounds = f"at least {low:g}" if math.isinf(high) else f"from {low:g} to {high:g}"
        raise ValueError(f"{name} must be {bounds}, got {value!r}")
    return float(value)


def _uplift_range(low: object, high: object, floor: float, ceiling: float, what: str) -> None:
    _real(f"uplift_low ({what})", low, floor, ceiling)
    _real(f"uplift_high ({what})", high, floor, ceiling)
    if float(low) > float(high):  # type: ignore[arg-type]
        raise ValueError(f"uplift_low must not exceed uplift_high, got {low!r} > {high!r}")


def _json_number(value: float) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None


# --- the baseline -------------------------------------------------------------------------


def _as_draws(name: str, values: ArrayLike | None, estimate: float) -> Array:
    if values is None:
        return np.array([estimate], dtype="float64")
    out = np.array(values, dtype="float64").ravel()
    if len(out) == 0:
        raise ValueError(f"{name} needs at least one draw")
    if not (np.isfinite(out).all() and (out >= 0).all()):
        raise ValueError(f"{name} must be finite and ≥ 0")
    return out


@dataclass(frozen=True, eq=False)
class SegmentBaseline:
    """What the model expects of a segment over a horizon, before any scenario.

    - ``customers``: N, the segment's customers with scores (≥ 1).
    - ``horizon_days``: H.
    - ``expected_orders`` O and ``expected_revenue`` R: sums over the customers of E[Y(H)] and
      E[Y(H)]·E[Z] at the parameter estimate (undiscounted revenue at list price, margin 1).
    - ``orders_draws``, ``revenue_draws``: the same sums under each of the S parameter draws,
      shape (S,), paired by position; a single entry equal to the estimate means no parameter
      uncertainty.
    - ``customer_revenue``: each customer's expected revenue at the estimate, shape (N,), or
      None (needed only for loyalty tiers).
    - ``segment_id``, ``segment_name``, ``run_id``: where it came from (None for hand cases).
    - ``warnings``: plain sentences (stale scores, unscored members, missing intervals).

    Every figure must be finite and ≥ 0, and revenue needs orders (R > 0 only with O > 0 and
    a finite R/O), at the estimate and in every draw; ValueError otherwise.
    """

    customers: int
    horizon_days: int
    expected_orders: float
    expected_revenue: float
    orders_draws: Array
    revenue_draws: Array
    customer_revenue: Array | None = None
    segment_id: int | None = None
    segment_name: str | None = None
    run_id: int | None = None
    warnings: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not _is_int(self.customers) or self.customers < 1:
            raise ValueError(f"a baseline needs at least one customer, got {self.customers!r}")
        if not _is_int(self.horizon_days) or not 1 <= self.horizon_days <= MAX_HORIZON_DAYS:
            raise ValueError(
                f"horizon_days must be a whole number from 1 to {MAX_HORIZON_DAYS}, "
                f"got {self.horizon_days!r}"
            )
        _real("expected_orders", self.expected_orders, 0.0)
        _real("expected_revenue", self.expected_revenue, 0.0)
        orders = _as_draws("orders_draws", self.orders_draws, self.expected_orders)
        revenue = _as_draws("revenue_draws", self.revenue_draws, self.expected_revenue)
        if len(orders) != len(revenue):
            raise ValueError(
                f"orders_draws and revenue_draws must pair up: got {len(orders)} and "
                f"{len(revenue)} draws"
            )
        for where, o, r in (
            ("the estimate", np.array([self.expected_orders]), np.array([self.expected_revenue])),
            ("a parameter draw", orders, revenue),
        ):
            with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
                aov = r / np.where(o > 0, o, 1.0)
            if ((r > 0) & ~((o > 0) & np.isfinite(aov))).any():
                raise ValueError(
                    f"expected revenue without expected orders (or an infinite average order "
                    f"value) at {where}; revenue needs orders"
                )
        object.__setattr__(self, "expected_orders", float(self.expected_orders))
        object.__setattr__(self, "expected_revenue", float(self.expected_revenue))
        for name, values in (("orders_draws", orders), ("revenue_draws", revenue)):
            values.setflags(write=False)
            object.__setattr__(self, name, values)
        if self.customer_revenue is not None:
            per = np.array(self.customer_revenue, dtype="float64").ravel()
            if len(per) != self.customers:
                raise ValueError(
                    f"customer_revenue must have one entry per customer: got {len(per)} for "
                    f"{self.customers}"
                )
            if not (np.isfinite(per).all() and (per >= 0).all()):
                raise ValueError("customer_revenue must be finite and ≥ 0")
            per.setflags(write=False)
            object.__setattr__(self, "customer_revenue", per)
        object.__setattr__(self, "warnings", tuple(self.warnings))

    @classmethod
    def from_arrays(
        cls,
        customers: int,
        expected_orders: float,
        expected_revenue: float,
        *,
        horizon_days: int = 365,
        orders_draws: ArrayLike | None = None,
        revenue_draws: ArrayLike | None = None,
        customer_revenue: ArrayLike | None = None,
    ) -> SegmentBaseline:
        """A baseline from plain numbers (hand cases, tests). Without draws there is one draw
        equal to the estimate, i.e. no parameter uncertainty."""
        return cls(
            customers=customers,
            horizon_days=horizon_days,
            expected_orders=expected_orders,
            expected_revenue=expected_revenue,
            orders_draws=orders_draws,  # type: ignore[arg-type]  (converted in __post_init__)
            revenue_draws=revenue_draws,  # type: ignore[arg-type]
            customer_revenue=customer_revenue,  # type: ignore[arg-type]
        )

    @property
    def aov(self) -> float:
        """a = R / O, the average order value the model expects (0 when O = 0)."""
        return _aov(self.expected_orders, self.expected_revenue)

    @property
    def draws(self) -> int:
        """S, the number of parameter draws."""
        return len(self.orders_draws)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (lists for arrays)."""
        return {
            "customers": self.customers,
            "horizon_days": self.horizon_days,
            "expected_orders": self.expected_orders,
            "expected_revenue": self.expected_revenue,
            "orders_draws": self.orders_draws.tolist(),
            "revenue_draws": self.revenue_draws.tolist(),
            "customer_revenue": None
            if self.customer_revenue is None
            else self.customer_revenue.tolist(),
            "segment_id": self.segment_id,
            "segment_name": self.segment_name,
            "run_id": self.run_id,
            "warnings": list(self.warnings),
        }

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> SegmentBaseline:
        """The inverse of :meth:`to_dict`."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"unknown baseline fields {unknown}; known: {sorted(known)}")
        return cls(**{**values, "warnings": tuple(values.get("warnings", ()))})


def _aov(orders: Any, revenue: Any) -> Any:
    """R / O elementwise, 0 where O = 0."""
    o = np.asarray(orders, dtype="float64")
    r = np.asarray(revenue, dtype="float64")
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(o > 0, r / np.where(o > 0, o, 1.0), 0.0)
    return float(out) if out.ndim == 0 else out


def segment_baseline(
    db: Queryable, segment_id: int, *, horizon_days: int | None = None
) -> SegmentBaseline:
    """The baseline of a saved segment from the latest scores run (no refit).

    Members come from ``segment_members`` (those with a counted order), their (frequency,
    recency, T, monetary_value) from the run's ``customer_scores``; the fits are rebuilt with
    ``retention.segments.compare.fits_from_run`` and ``predict_customers`` runs with the
    run's settings (seed and draws, so the parameter draws are the run's) but margin 1, no
    discounting and a horizon of ``horizon_days`` (default: the run's). So O is the sum of the
    members' stored ``expected_orders`` when the horizon is the run's.

    Raises ValueError when there is no scores run, the segment is not saved, or it has no
    customer with scores. Members without scores (first order after the run's calibration
    end) are left out, and ``warnings`` says how many.
    """
    if not _is_int(segment_id):
        raise ValueError(f"segment_id must be a whole number, got {segment_id!r}")
    run = latest_run(db, "scores")
    if run is None:
        raise ValueError(
            "No model run is stored yet, so there is no baseline to simulate against; fit the "
            "models first (`python -m retention fit`, or refit on the Customer value page)."
        )
    names = db.query("SELECT name FROM segments WHERE segment_id = $id", {"id": int(segment_id)})
    if names.empty:
        saved = db.query("SELECT segment_id, name FROM segments ORDER BY segment_id")
        listed = ", ".join(f"{i} ({n})" for i, n in saved.itertuples(index=False))
        raise ValueError(
            f"no saved segment has id {segment_id}; saved segments: {listed or 'none yet'}"
        )
    name = str(names["name"].iloc[0])
    settings = replace(
        cltv_settings(run.settings),
        horizon_days=run.settings.horizon_days if horizon_days is None else horizon_days,
        margin=1.0,
        annual_discount_rate=0.0,
    )  # CltvSettings validates the horizon
    members = db.query(MEMBER_SCORES_SQL, {"ids": [int(segment_id)], "run_id": run.run_id})
    scored = members.dropna(subset=["frequency", "recency", "T"])
    if scored.empty:
        raise ValueError(
            f'Segment "{name}" has no customers with scores in model run {run.run_id} '
            f"({len(members):,} members), so there is nothing to simulate; choose another "
            "segment or refit the models."
        )
    notes: list[str] = []
    if scores_are_stale(db, run):
        notes.append(
            f"Data were imported after model run {run.run_id}; the baseline is from that run. "
            "Refit to include the new orders."
        )
    if len(scored) < len(members):
        notes.append(
            f"{len(members) - len(scored):,} member(s) have no score in model run "
            f"{run.run_id} (they first ordered after its calibration end) and are left out."
        )
    bgnbd, gamma_gamma = fits_from_run(run)
    prediction = predict_customers(
        bgnbd,
        gamma_gamma,
        scored["frequency"].to_numpy(dtype="float64"),
        scored["recency"].to_numpy(dtype="float64"),
        scored["T"].to_numpy(dtype="float64"),
        scored["monetary_value"].to_numpy(dtype="float64", na_value=0.0),
        settings,
    )
    notes.extend(prediction.warnings)
    per_customer = prediction.customers
    orders = float(per_customer["expected_orders"].sum())
    revenue = float(per_customer["predicted_cltv"].sum())  # margin 1, no discounting
    orders_draws = prediction.total_draws["expected_orders"].to_numpy(dtype="float64")
    revenue_draws = prediction.total_draws["predicted_cltv"].to_numpy(dtype="float64")
    if not (np.isfinite(orders_draws).all() and np.isfinite(revenue_draws).all()):
        notes.append(
            "The model's parameter draws are not available for this run, so the scenario's "
            "interval reflects only the uplift range, not the model's uncertainty."
        )
        orders_draws, revenue_draws = np.array([orders]), np.array([revenue])
    return SegmentBaseline(
        customers=len(scored),
        horizon_days=settings.horizon_days,
        expected_orders=orders,
        expected_revenue=revenue,
        orders_draws=orders_draws,
        revenue_draws=revenue_draws,
        customer_revenue=per_customer["predicted_cltv"].to_numpy(dtype="float64"),
        segment_id=int(segment_id),
        segment_name=name,
        run_id=run.run_id,
        warnings=tuple(notes),
    )


# --- scenarios ----------------------------------------------------------------------------


@dataclass(frozen=True)
class DiscountScenario:
    """A discount campaign on a segment (formulas in the module docstring).

    - ``discount``: d, share off the list price of every order of a reached customer within
      the horizon, 0..1.
    - ``reach``: ρ, share of the contacted (all the segment's) customers who see the offer.
    - ``uplift_low``, ``uplift_high``: the range of u. With ``uplift_mode`` "relative" it is
      the relative increase in reached customers' expected orders (0.05 = +5 %), from
      :data:`MIN_RELATIVE_UPLIFT` to :data:`MAX_RELATIVE_UPLIFT`; with "reactivation" it is the
      extra share of reached customers who place one order at the average order value, 0..1.
    - ``margin``: m, gross margin as a share of list price, 0..1.
    - ``cost_per_contact``: c, cost of contacting one customer of the segment, ≥ 0.
    """

    discount: float = 0.10
    reach: float = 0.5
    uplift_low: float = 0.05
    uplift_high: float = 0.15
    margin: float = 0.4
    cost_per_contact: float = 0.0
    uplift_mode: UpliftMode = "relative"

    kind: Literal["discount"] = field(default="discount", init=False)

    def __post_init__(self) -> None:
        if self.uplift_mode not in UPLIFT_MODES:
            raise ValueError(
                f"uplift_mode must be one of {', '.join(UPLIFT_MODES)}, got {self.uplift_mode!r}"
            )
        for name, high in (("discount", 1.0), ("reach", 1.0), ("margin", 1.0)):
            object.__setattr__(self, name, _real(name, getattr(self, name), 0.0, high))
        object.__setattr__(
            self, "cost_per_contact", _real("cost_per_contact", self.cost_per_contact, 0.0)
        )
        floor, ceiling = self.uplift_bounds
        _uplift_range(self.uplift_low, self.uplift_high, floor, ceiling, self.uplift_mode)
        object.__setattr__(self, "uplift_low", float(self.uplift_low))
        object.__setattr__(self, "uplift_high", float(self.uplift_high))

    @property
    def uplift_bounds(self) -> tuple[float, float]:
        """The allowed range of the uplift in this mode."""
        if self.uplift_mode == "reactivation":
            return 0.0, 1.0
        return MIN_RELATIVE_UPLIFT, MAX_RELATIVE_UPLIFT

    def to_dict(self) -> dict[str, Any]:
        """The inputs as JSON-ready values, with ``kind``; :func:`scenario_from_dict` reads it."""
        return {
            "kind": self.kind,
            **{f.name: getattr(self, f.name) for f in fields(self) if f.init},
        }


Tier = tuple[float, float]


@dataclass(frozen=True)
class LoyaltyScenario:
    """A loyalty programme for a segment (formulas in the module docstring).

    - ``enrolment``: e, share of the segment's customers who join, 0..1.
    - ``points_per_unit``: p, points earned per currency unit spent, ≥ 0.
    - ``point_value``: v, what one redeemed point costs the shop, ≥ 0.
    - ``redemption``: ρ, share of points redeemed, 0..1 (breakage = 1 − ρ).
    - ``uplift_low``, ``uplift_high``: range of the relative increase in members' expected
      orders (0.05 = +5 %).
    - ``margin``: m, gross margin as a share of list price, 0..1.
    - ``fixed_cost``: cost of running the programme over the horizon, ≥ 0.
    - ``cost_per_member``: cost per enrolled member over the horizon (cards, mailings), ≥ 0.
    - ``tiers``: optional ((min_expected_revenue_per_customer, points_per_unit), ...) with
      strictly increasing thresholds; a customer earns the rate of the highest threshold their
      expected revenue over the horizon reaches, else ``points_per_unit``.
    """

    enrolment: float = 0.3
    points_per_unit: float = 1.0
    point_value: float = 0.01
    redemption: float = 0.7
    uplift_low: float = 0.02
    uplift_high: float = 0.10
    margin: float = 0.4
    fixed_cost: float = 0.0
    cost_per_member: float = 0.0
    tiers: tuple[Tier, ...] = ()

    kind: Literal["loyalty"] = field(default="loyalty", init=False)

    def __post_init__(self) -> None:
        for name, high in (("enrolment", 1.0), ("redemption", 1.0), ("margin", 1.0)):
            object.__setattr__(self, name, _real(name, getattr(self, name), 0.0, high))
        for name in ("points_per_unit", "point_value", "fixed_cost", "cost_per_member"):
            object.__setattr__(self, name, _real(name, getattr(self, name), 0.0))
        _uplift_range(
            self.uplift_low, self.uplift_high, MIN_RELATIVE_UPLIFT, MAX_RELATIVE_UPLIFT, "relative"
        )
        object.__setattr__(self, "uplift_low", float(self.uplift_low))
        object.__setattr__(self, "uplift_high", float(self.uplift_high))
        tiers: list[Tier] = []
        for position, tier in enumerate(self.tiers):
            if not isinstance(tier, Sequence) or isinstance(tier, str) or len(tier) != 2:
                raise ValueError(
                    f"each tier is (min_expected_revenue_per_customer, points_per_unit), got "
                    f"{tier!r}"
                )
            threshold = _real(f"tier {position + 1} threshold", tier[0], 0.0)
            rate = _real(f"tier {position + 1} points_per_unit", tier[1], 0.0)
            if tiers and threshold <= tiers[-1][0]:
                raise ValueError(
                    f"tier thresholds must increase strictly, got {tiers[-1][0]:g} then "
                    f"{threshold:g}"
                )
            tiers.append((threshold, rate))
        object.__setattr__(self, "tiers", tuple(tiers))

    @property
    def uplift_bounds(self) -> tuple[float, float]:
        return MIN_RELATIVE_UPLIFT, MAX_RELATIVE_UPLIFT

    def points_rate(self, customer_revenue: ArrayLike | None) -> float:
        """p, the revenue-weighted points rate over the customers (``points_per_unit``
        without tiers, or when the customers' expected revenue sums to 0).

        p = Σ_i p_i·R_i / Σ_i R_i, p_i the rate of customer i's tier by R_i."""
        if not self.tiers:
            return self.points_per_unit
        if customer_revenue is None:
            raise ValueError(
                "loyalty tiers need each customer's expected revenue; the baseline has none "
                "(pass customer_revenue to SegmentBaseline.from_arrays)"
            )
        revenue = np.asarray(customer_revenue, dtype="float64")
        total = float(revenue.sum())
        if total <= 0.0:
            return self.points_per_unit
        thresholds = np.array([t for t, _ in self.tiers])
        rates = np.array([self.points_per_unit, *(r for _, r in self.tiers)])
        tier_of = np.searchsorted(thresholds, revenue, side="right")  # 0 = below all tiers
        return float((rates[tier_of] * revenue).sum() / total)

    def to_dict(self) -> dict[str, Any]:
        """The inputs as JSON-ready values, with ``kind``; :func:`scenario_from_dict` reads it."""
        out: dict[str, Any] = {"kind": self.kind}
        for f in fields(self):
            if f.init:
                out[f.name] = getattr(self, f.name)
        out["tiers"] = [list(t) for t in self.tiers]
        return out


Scenario = DiscountScenario | LoyaltyScenario


def scenario_from_dict(values: dict[str, Any]) -> Scenario:
    """A scenario from its :meth:`to_dict` (``kind`` says which); unknown keys are an error."""
    values = dict(values)
    kind = values.pop("kind", None)
    classes: dict[str, type[DiscountScenario] | type[LoyaltyScenario]] = {
        "discount": DiscountScenario,
        "loyalty": LoyaltyScenario,
    }
    if kind not in classes:
        raise ValueError(f"kind must be one of {', '.join(classes)}, got {kind!r}")
    cls = classes[kind]
    known = {f.name for f in fields(cls) if f.init}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ValueError(f"unknown {kind} scenario inputs {unknown}; known: {sorted(known)}")
    if "tiers" in values:
        values["tiers"] = tuple(tuple(t) for t in values["tiers"])
    return cls(**values)


# --- the economics ------------------------------------------------------------------------


def evaluate(
    baseline: SegmentBaseline,
    scenario: Scenario,
    uplift: ArrayLike,
    *,
    orders: ArrayLike | None = None,
    revenue: ArrayLike | None = None,
    points_rate: float | None = None,
) -> dict[str, Array]:
    """Every outcome of :data:`OUTCOMES` for uplifts ``uplift`` (broadcast with ``orders``
    and ``revenue``, the baseline's O and R, by default its estimate), by the formulas of
    the module docstring. ``points_rate`` overrides the loyalty p (default: from the tiers).
    Returns float arrays of the broadcast shape."""
    u = np.asarray(uplift, dtype="float64")
    o = np.asarray(baseline.expected_orders if orders is None else orders, dtype="float64")
    r = np.asarray(baseline.expected_revenue if revenue is None else revenue, dtype="float64")
    u, o, r = np.broadcast_arrays(u, o, r)
    a = _aov(o, r)
    n = float(baseline.customers)
    if isinstance(scenario, DiscountScenario):
        d, m = scenario.discount, scenario.margin
        reached_orders, reached_revenue = scenario.reach * o, scenario.reach * r
        if scenario.uplift_mode == "relative":
            extra = u * reached_orders
            extra_list_revenue = u * reached_revenue  # a·ΔO = (R/O)·u·O_r = u·R_r
        else:
            extra = u * (scenario.reach * n)
            extra_list_revenue = a * extra
        gross = reached_revenue + extra_list_revenue
        incentive = d * gross
        cannibalised = d * reached_revenue
        revenue_change = (1.0 - d) * extra_list_revenue - cannibalised
        gross_profit = m * extra_list_revenue - incentive
        programme = np.full_like(u, n * scenario.cost_per_contact)
    elif isinstance(scenario, LoyaltyScenario):
        p = scenario.points_rate(baseline.customer_revenue) if points_rate is None else points_rate
        k = p * scenario.point_value * scenario.redemption
        member_orders, member_revenue = scenario.enrolment * o, scenario.enrolment * r
        extra = u * member_orders
        extra_list_revenue = u * member_revenue  # ΔR = a·ΔO = u·R_m
        incentive = (member_revenue + extra_list_revenue) * k
        cannibalised = member_revenue * k
        revenue_change = extra_list_revenue - incentive
        gross_profit = scenario.margin * extra_list_revenue - incentive
        programme = np.full_like(
            u, scenario.fixed_cost + scenario.cost_per_member * scenario.enrolment * n
        )
    else:
        raise TypeError(
            f"scenario must be a DiscountScenario or LoyaltyScenario, got {type(scenario).__name__}"
        )
    total_cost = incentive + programme
    net = gross_profit - programme
    with np.errstate(divide="ignore", invalid="ignore"):
        roi = np.where(total_cost > 0, net / np.where(total_cost > 0, total_cost, 1.0), np.nan)
    return {
        "incremental_orders": extra * 1.0,
        "incremental_revenue": revenue_change,
        "incremental_gross_profit": gross_profit,
        "incentive_cost": incentive,
        "cannibalised_cost": cannibalised,
        "programme_cost": programme,
        "total_cost": total_cost,
        "net_profit": net,
        "roi": roi,
        "cltv_change": gross_profit * 1.0,
        "cltv_change_per_customer": gross_profit / n,
    }


def _linear_net(baseline: SegmentBaseline, scenario: Scenario) -> tuple[float, float]:
    """(slope, fixed) with net profit = slope·u − fixed at the parameter estimate."""
    r, n = baseline.expected_revenue, float(baseline.customers)
    if isinstance(scenario, DiscountScenario):
        d, reach = scenario.discount, scenario.reach
        # a·B = R_r (relative) or a·ρ·N (reactivation)
        per_uplift = reach * r if scenario.uplift_mode == "relative" else baseline.aov * reach * n
        slope = (scenario.margin - d) * per_uplift
        fixed = d * reach * r + n * scenario.cost_per_contact
    else:
        k = scenario.points_rate(baseline.customer_revenue) * scenario.point_value
        k *= scenario.redemption
        e = scenario.enrolment
        slope = (scenario.margin - k) * e * r  # (m − k)·a·O_m
        fixed = k * e * r + scenario.fixed_cost + scenario.cost_per_member * e * n
    return slope, fixed


def break_even_uplift(baseline: SegmentBaseline, scenario: Scenario) -> float | None:
    """The uplift u* at which net profit is 0 at the parameter estimate: u* = fixed / slope
    (module docstring); 0.0 when there are no fixed costs; None when no uplift from 0 to the
    largest allowed makes the scenario break even."""
    slope, fixed = _linear_net(baseline, scenario)
    if fixed <= 0.0:
        return 0.0
    if slope <= 0.0:
        return None
    value = fixed / slope
    return value if value <= scenario.uplift_bounds[1] else None


# --- Monte Carlo --------------------------------------------------------------------------


def _check_interval(interval: object) -> float:
    if not isinstance(interval, Real) or isinstance(interval, bool) or not 0 < interval < 1:
        raise ValueError(f"interval must be strictly between 0 and 1, got {interval!r}")
    return float(interval)


@dataclass(frozen=True, eq=False)
class ScenarioResult:
    """A scenario against its baseline over the horizon.

    - ``draws``: one row per Monte Carlo draw: ``uplift`` (u_i), ``parameter_draw`` (k),
      then :data:`OUTCOMES`.
    - ``summary``: one row per outcome (index :data:`OUTCOMES`), columns
      :data:`SUMMARY_COLUMNS`: ``estimate`` at the mid uplift and the parameter estimate,
      then mean, median and the central ``interval`` (``low``, ``high``) over the draws (ROI
      over the draws where it is defined).
    - ``p_loss``: share of draws with net profit < 0.
    - ``break_even_uplift``: :func:`break_even_uplift`.
    - ``points_rate``: the loyalty p used (None for a discount).
    """

    scenario: Scenario
    customers: int
    horizon_days: int
    draws: pd.DataFrame
    summary: pd.DataFrame
    p_loss: float
    break_even_uplift: float | None
    interval: float
    seed: int
    points_rate: float | None
    warnings: tuple[str, ...]

    @property
    def estimate(self) -> dict[str, float]:
        """Each outcome at the mid uplift and the parameter estimate."""
        return {k: float(v) for k, v in self.summary["estimate"].items()}

    def to_dict(self, *, include_draws: bool = False) -> dict[str, Any]:
        """JSON-ready: inputs, the summary (NaN as None), p_loss, break-even, warnings, and
        with ``include_draws`` every draw's outcomes as lists."""
        summary = {
            outcome: {c: _json_number(v) for c, v in row.items()}
            for outcome, row in self.summary.to_dict(orient="index").items()
        }
        out: dict[str, Any] = {
            "scenario": self.scenario.to_dict(),
            "customers": self.customers,
            "horizon_days": self.horizon_days,
            "summary": summary,
            "p_loss": self.p_loss,
            "break_even_uplift": self.break_even_uplift,
            "interval": self.interval,
            "seed": self.seed,
            "draw_count": len(self.draws),
            "points_rate": self.points_rate,
            "warnings": list(self.warnings),
        }
        if include_draws:
            out["draws"] = {
                c: [_json_number(v) for v in self.draws[c].to_numpy(dtype="float64")]
                for c in self.draws.columns
            }
        return out


def _summarise(values: Array, interval: float) -> tuple[float, float, float, float]:
    finite = values[np.isfinite(values)]
    if len(finite) == 0:
        return (math.nan,) * 4
    low, median, high = np.quantile(finite, [(1 - interval) / 2, 0.5, (1 + interval) / 2])
    return float(finite.mean()), float(median), float(low), float(high)


def simulate(
    baseline: SegmentBaseline,
    scenario: Scenario,
    *,
    draws: int = DEFAULT_DRAWS,
    seed: int = 0,
    interval: float = DEFAULT_INTERVAL,
) -> ScenarioResult:
    """The scenario's outcomes over ``draws`` Monte Carlo draws (module docstring): draw i
    pairs parameter draw k = i mod S with u_i ~ Uniform(uplift_low, uplift_high) from
    ``numpy.random.default_rng(seed)``. The same inputs and seed give identical draws."""
    if not isinstance(baseline, SegmentBaseline):
        raise TypeError(f"baseline must be a SegmentBaseline, got {type(baseline).__name__}")
    if not isinstance(scenario, DiscountScenario | LoyaltyScenario):
        raise TypeError(
            f"scenario must be a DiscountScenario or LoyaltyScenario, got {type(scenario).__name__}"
        )
    if not _is_int(draws) or not 1 <= draws <= MAX_DRAWS:
        raise ValueError(f"draws must be a whole number from 1 to {MAX_DRAWS}, got {draws!r}")
    if not _is_int(seed) or seed < 0:
        raise ValueError(f"seed must be a whole number ≥ 0, got {seed!r}")
    interval = _check_interval(interval)
    rate = (
        scenario.points_rate(baseline.customer_revenue)
        if isinstance(scenario, LoyaltyScenario)
        else None
    )
    rng = np.random.default_rng(seed)
    uplift = rng.uniform(scenario.uplift_low, scenario.uplift_high, size=draws)
    k = np.arange(draws, dtype="int64") % baseline.draws
    outcomes = evaluate(
        baseline,
        scenario,
        uplift,
        orders=baseline.orders_draws[k],
        revenue=baseline.revenue_draws[k],
        points_rate=rate,
    )
    mid = (scenario.uplift_low + scenario.uplift_high) / 2.0
    at_estimate = evaluate(baseline, scenario, mid, points_rate=rate)
    frame = pd.DataFrame({"uplift": uplift, "parameter_draw": k, **outcomes})
    rows = {}
    for name in OUTCOMES:
        rows[name] = (float(at_estimate[name]), *_summarise(outcomes[name], interval))
    summary = pd.DataFrame.from_dict(rows, orient="index", columns=list(SUMMARY_COLUMNS))
    notes = list(baseline.warnings)
    if baseline.draws == 1:
        notes.append(
            "The baseline has no parameter draws, so the interval reflects only the uplift "
            "range, not the model's uncertainty."
        )
    return ScenarioResult(
        scenario=scenario,
        customers=baseline.customers,
        horizon_days=baseline.horizon_days,
        draws=frame,
        summary=summary,
        p_loss=float((outcomes["net_profit"] < 0).mean()),
        break_even_uplift=break_even_uplift(baseline, scenario),
        interval=interval,
        seed=seed,
        points_rate=rate,
        warnings=tuple(dict.fromkeys(notes)),
    )


# --- sensitivity --------------------------------------------------------------------------

_LABELS: dict[str, str] = {
    "uplift": "Uplift (your range)",
    "baseline": "Baseline revenue (model interval)",
    "discount": "Discount",
    "reach": "Reach",
    "margin": "Gross margin",
    "cost_per_contact": "Cost per contact",
    "enrolment": "Enrolment",
    "points_per_unit": "Points per currency unit",
    "point_value": "Value of a point",
    "redemption": "Redemption rate",
    "fixed_cost": "Fixed cost",
    "cost_per_member": "Cost per member",
}
_SHARES = frozenset({"discount", "reach", "margin", "enrolment", "redemption"})
_SWUNG: dict[str, tuple[str, ...]] = {
    "discount": ("discount", "reach", "margin", "cost_per_contact"),
    "loyalty": (
        "enrolment",
        "points_per_unit",
        "point_value",
        "redemption",
        "margin",
        "fixed_cost",
        "cost_per_member",
    ),
}


def _net_at(
    baseline: SegmentBaseline,
    scenario: Scenario,
    uplift: float,
    *,
    scale: float = 1.0,
) -> float:
    values = evaluate(
        baseline,
        scenario,
        uplift,
        orders=baseline.expected_orders * scale,
        revenue=baseline.expected_revenue * scale,
    )
    return float(values["net_profit"])


def _swung(scenario: Scenario, name: str, factor: float) -> tuple[Scenario, float]:
    """The scenario with input ``name`` times ``factor`` (clipped), and the new value."""
    value = float(getattr(scenario, name)) * factor
    if name in _SHARES:
        value = min(max(value, 0.0), 1.0)
    changes: dict[str, Any] = {name: max(value, 0.0)}
    if name == "points_per_unit" and isinstance(scenario, LoyaltyScenario):
        changes["tiers"] = tuple((t, r * factor) for t, r in scenario.tiers)
    return replace(scenario, **changes), changes[name]


def tornado(
    baseline: SegmentBaseline,
    scenario: Scenario,
    *,
    swing: float = DEFAULT_SWING,
    interval: float = DEFAULT_INTERVAL,
) -> pd.DataFrame:
    """Net profit at the estimate with one input at a time at its low and high value.

    One row per input, columns :data:`TORNADO_COLUMNS`, sorted by ``spread`` =
    |net_profit_high − net_profit_low|, largest first (ties keep the input order). The
    uplift goes to the ends of its range (others at the mid uplift); ``baseline`` scales
    the segment's expected orders and revenue to the central ``interval`` of the parameter
    draws' revenue (only with more than one draw); every other input is multiplied by
    1 ∓ ``swing`` and clipped to its valid range (with tiers, ``points_per_unit`` scales every
    tier's rate too). ``frame.attrs["net_profit"]`` is the net profit at the estimate.
    """
    _real("swing", swing, 0.0, 1.0)
    interval = _check_interval(interval)
    mid = (scenario.uplift_low + scenario.uplift_high) / 2.0
    rows: list[dict[str, Any]] = []

    def row(
        name: str, value: float, low: float, high: float, net_low: float, net_high: float
    ) -> None:
        rows.append(
            {
                "input": name,
                "label": _LABELS[name],
                "value": value,
                "low_value": low,
                "high_value": high,
                "net_profit_low": net_low,
                "net_profit_high": net_high,
                "spread": abs(net_high - net_low),
            }
        )

    row(
        "uplift",
        mid,
        scenario.uplift_low,
        scenario.uplift_high,
        _net_at(baseline, scenario, scenario.uplift_low),
        _net_at(baseline, scenario, scenario.uplift_high),
    )
    if baseline.draws > 1 and baseline.expected_revenue > 0:
        low, high = np.quantile(baseline.revenue_draws, [(1 - interval) / 2, (1 + interval) / 2])
        scale_low = float(low) / baseline.expected_revenue
        scale_high = float(high) / baseline.expected_revenue
        row(
            "baseline",
            baseline.expected_revenue,
            float(low),
            float(high),
            _net_at(baseline, scenario, mid, scale=scale_low),
            _net_at(baseline, scenario, mid, scale=scale_high),
        )
    for name in _SWUNG[scenario.kind]:
        low_scenario, low_value = _swung(scenario, name, 1.0 - swing)
        high_scenario, high_value = _swung(scenario, name, 1.0 + swing)
        row(
            name,
            float(getattr(scenario, name)),
            low_value,
            high_value,
            _net_at(baseline, low_scenario, mid),
            _net_at(baseline, high_scenario, mid),
        )
    frame = pd.DataFrame(rows, columns=list(TORNADO_COLUMNS))
    frame = frame.sort_values("spread", ascending=False, kind="stable").reset_index(drop=True)
    frame.attrs["net_profit"] = _net_at(baseline, scenario, mid)
    return frame


# --- evidence for a loyalty uplift --------------------------------------------------------

_EVIDENCE_SQL = (
    CUSTOMER_ATTRIBUTES_SQL  # noqa: S608 (constant text; the only value is bound)
    + """
SELECT rfm_segment,
       loyalty_member AS member,
       count(*) AS customers,
       sum(orders - 1)::DOUBLE AS repeat_orders,
       sum(date_diff('day', CAST(first_order_at AS DATE), (SELECT day FROM last_day)))::DOUBLE
           / $days_per_year AS tenure_years
FROM customer_attributes
GROUP BY ALL
ORDER BY rfm_segment, member
"""
)

SELF_SELECTION_WARNING = (
    "Members chose to join, and keen customers join more often, so this difference is an upper "
    "bound on what the programme itself causes, not a measured effect; use a smaller uplift "
    "range unless a controlled test says otherwise."
)


@dataclass(frozen=True, eq=False)
class LoyaltyEvidence:
    """Loyalty members' observed purchase rate against non-members in the same RFM segment.

    Rate = repeat orders per customer-year: Σ (orders − 1) / Σ tenure years, tenure = days
    from the customer's first counted order to the last order day in the file, ÷ 365.25 (the
    first order is how a customer arrives, so it is left out; a customer who arrived on the
    last day adds nothing to either sum).

    - ``by_segment``: one row per RFM segment with members or non-members, in the segment
      map's order, columns :data:`EVIDENCE_COLUMNS`; ``rate_difference`` = member rate /
      non-member rate − 1 (NaN where a side has no tenure).
    - ``uplift``: members' rate against what they would have shown at the non-members' rate
      of their segment (indirect standardisation): Σ member repeat orders / Σ_s (member tenure
      years_s × non-member rate_s) − 1, over segments with both; None when that is not
      possible.
    - ``crude_uplift``: members' rate / non-members' rate − 1 over everyone, unstratified.
    - ``members``, ``non_members``: customers on each side (all segments).
    - ``warning``: the self-selection sentence, or why there is no evidence.
    - ``notes``: members who bought again but are left out of ``uplift`` (their segment has
      no non-member who bought again to compare with).

    RFM segments are built from order counts and recency, so stratifying on them removes
    part of any real difference as well as part of the selection: read ``uplift`` as a
    rough, optimistic guide to the range, never as the effect. Orders placed before a
    member joined count as member orders.
    """

    by_segment: pd.DataFrame
    members: int
    non_members: int
    uplift: float | None
    crude_uplift: float | None
    warning: str
    notes: tuple[str, ...]

    @property
    def available(self) -> bool:
        return self.uplift is not None

    def to_dict(self) -> dict[str, Any]:
        records = [
            {k: (_json_number(v) if isinstance(v, float) else v) for k, v in r.items()}
            for r in self.by_segment.astype(object).to_dict(orient="records")
        ]
        return {
            "by_segment": records,
            "members": self.members,
            "non_members": self.non_members,
            "uplift": self.uplift,
            "crude_uplift": self.crude_uplift,
            "warning": self.warning,
            "notes": list(self.notes),
        }


def _ratio(numerator: float, denominator: float) -> float:
    return numerator / denominator if denominator > 0 else math.nan


def loyalty_evidence(db: Queryable) -> LoyaltyEvidence:
    """Members' against non-members' repeat purchase rate per RFM segment (see
    :class:`LoyaltyEvidence`), aggregated in DuckDB."""
    raw = db.query(_EVIDENCE_SQL, {"days_per_year": DAYS_PER_YEAR})
    raw["member"] = raw["member"].astype(bool)
    sides = {}
    for member, prefix in ((True, "member"), (False, "non_member")):
        part = raw[raw["member"] == member].set_index("rfm_segment")
        sides[prefix] = part.rename(
            columns={
                "customers": f"{prefix}s",
                "repeat_orders": f"{prefix}_repeat_orders",
                "tenure_years": f"{prefix}_tenure_years",
            }
        ).drop(columns="member")
    present = [s for s in RFM_SEGMENT_ORDER if s in set(raw["rfm_segment"])]
    table = pd.DataFrame(index=pd.Index(present, name="rfm_segment"))
    table = table.join(sides["member"]).join(sides["non_member"])
    for prefix in ("members", "non_members"):
        table[prefix] = table[prefix].fillna(0).astype("int64")
    for column in (
        "member_repeat_orders",
        "member_tenure_years",
        "non_member_repeat_orders",
        "non_member_tenure_years",
    ):
        table[column] = table[column].fillna(0.0).astype("float64")
    table["member_rate"] = [
        _ratio(o, t)
        for o, t in zip(table["member_repeat_orders"], table["member_tenure_years"], strict=True)
    ]
    table["non_member_rate"] = [
        _ratio(o, t)
        for o, t in zip(
            table["non_member_repeat_orders"], table["non_member_tenure_years"], strict=True
        )
    ]
    with np.errstate(divide="ignore", invalid="ignore"):
        table["rate_difference"] = np.where(
            table["non_member_rate"] > 0,
            table["member_rate"] / table["non_member_rate"] - 1.0,
            np.nan,
        )
    table = table.reset_index()[list(EVIDENCE_COLUMNS)]
    members, non_members = int(table["members"].sum()), int(table["non_members"].sum())
    notes: list[str] = []
    if members == 0 or non_members == 0:
        missing = "loyalty members" if members == 0 else "customers outside the programme"
        return LoyaltyEvidence(
            by_segment=table,
            members=members,
            non_members=non_members,
            uplift=None,
            crude_uplift=None,
            warning=(
                f"There are no {missing} in the data, so the file cannot show how members buy "
                "compared with similar non-members; choose the uplift range from a test or "
                "experience."
            ),
            notes=(),
        )
    usable = (table["non_member_rate"] > 0) & (table["member_tenure_years"] > 0)
    expected = float(
        (table.loc[usable, "member_tenure_years"] * table.loc[usable, "non_member_rate"]).sum()
    )
    observed = float(table.loc[usable, "member_repeat_orders"].sum())
    # Members of a segment with nothing to compare with matter only when they bought again
    # (in one-order segments nobody did, and they would add 0 to both sums).
    missed = ~usable & (table["member_repeat_orders"] > 0)
    left_out = int(table.loc[missed, "members"].sum())
    if left_out:
        notes.append(
            f"{left_out:,} member(s) are in RFM segments where no non-member bought again (or "
            "there are no non-members), so there is nothing to compare them with; they are "
            "left out of the overall figure."
        )
    crude_members = _ratio(
        float(table["member_repeat_orders"].sum()), float(table["member_tenure_years"].sum())
    )
    crude_others = _ratio(
        float(table["non_member_repeat_orders"].sum()),
        float(table["non_member_tenure_years"].sum()),
    )
    crude = crude_members / crude_others - 1.0 if crude_others > 0 else math.nan
    uplift = observed / expected - 1.0 if expected > 0 else None
    if uplift is None:
        warning = (
            "No RFM segment has both members and non-members with purchase history, so the "
            "file cannot compare them like for like; choose the uplift range from a test or "
            "experience."
        )
    else:
        warning = SELF_SELECTION_WARNING
    return LoyaltyEvidence(
        by_segment=table,
        members=members,
        non_members=non_members,
        uplift=uplift,
        crude_uplift=None if not math.isfinite(crude) else crude,
        warning=warning,
        notes=tuple(notes),
    )
