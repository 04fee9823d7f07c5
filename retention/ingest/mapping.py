"""Column mapping: suggest which file column feeds which canonical column, and read Shopify.

Header names are compared after folding case and dropping everything but letters and digits,
so "Order ID", "order_id" and "ORDER-ID" are one name. Each canonical column has a ranked list
of synonyms; the best-ranked file column wins, and a file column feeds one canonical column.

Shopify's orders export (Admin > Orders > Export, "CSV for Excel") is recognised by its
columns. One order spans several rows there, one per line item; order-level fields are filled
on the first row only. Its mapping to ``orders``:

- order_id = ``Name`` ("#1001"); customer_id = ``Email``, lower-cased (empty: a guest);
- ordered_at = ``Created at`` (converted to UTC);
- revenue = ``Subtotal`` - ``Refunded Amount``. Shopify's Subtotal is after discounts and before
  shipping and taxes, which is what ``orders.revenue`` means; refunds are taken off;
- discount_amount = ``Discount Amount``; coupon_code = ``Discount Code``; channel = ``Source``;
  currency = ``Currency``;
- status = cancelled when ``Cancelled at`` is set or ``Financial Status`` is voided; refunded
  when Financial Status is refunded or partially_refunded; completed otherwise.

The same file also gives ``order_items`` (product_id = ``Lineitem sku``, else ``Lineitem
name``; line_revenue = quantity x ``Lineitem price`` - ``Lineitem discount``; repeated products
within an order are summed) and ``customers`` (email, ``Billing Name``, ``Billing Country``,
``Accepts Marketing``; the newest order's values win).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
import pandas as pd

from retention.schema import IMPORTABLE_TABLES, table

__all__ = [
    "SYNONYMS",
    "SHOPIFY_ORDERS_MAPPING",
    "normalise_header",
    "is_shopify_orders_export",
    "shopify_orders_mapping",
    "suggest_mapping",
    "suggest_table",
    "collapse_shopify_orders",
    "shopify_status",
]

_NON_WORD = re.compile(r"[\W_]+")


def normalise_header(name: str) -> str:
    """Case-folded letters and digits only: 'Order ID' -> 'orderid'."""
    return _NON_WORD.sub("", str(name).casefold())


def _n(names: str) -> tuple[str, ...]:
    """Normalised header names from a '|'-separated list."""
    return tuple(normalise_header(n) for n in names.split("|"))


SYNONYMS: dict[str, dict[str, tuple[str, ...]]] = {
    "orders": {
        "order_id": _n(
            "order_id|order id|order number|order_number|order no|order|order #|"
            "order ref|transaction id|invoice id|invoice number|invoice|id"
        ),
        "customer_id": _n(
            "customer_id|customer id|customer|customer number|client id|client|"
            "user id|user|buyer id|buyer|customer email|email|e-mail|email address"
        ),
        "ordered_at": _n(
            "ordered_at|order date|order datetime|order time|created at|created_at|"
            "created|date|purchase date|purchased at|placed at|processed at|paid at|"
            "invoice date|timestamp|datetime|time|day"
        ),
        "revenue": _n(
            "revenue|net revenue|net sales|net|sales|total|order total|total amount|"
            "amount|order value|value|grand total|total price|subtotal|price"
        ),
        "discount_amount": _n(
            "discount_amount|discount amount|discount|discounts|total discount|"
            "total discounts|discount value"
        ),
        "status": _n("status|order status|financial status|payment status|state"),
        "channel": _n(
            "channel|source|utm_source|utm source|source name|marketing channel|"
            "acquisition channel|medium|utm_medium|referrer"
        ),
        "coupon_code": _n(
            "coupon_code|coupon code|coupon|discount code|promo code|promo|voucher|voucher code"
        ),
        "currency": _n("currency|currency code|cur"),
    },
    "customers": {
        "customer_id": _n(
            "customer_id|customer id|customer|customer number|client id|client|"
            "user id|user|id|email|e-mail|email address"
        ),
        "email": _n("email|e-mail|email address|customer email|mail"),
        "name": _n("name|customer name|full name|billing name|client name|first name"),
        "country": _n("country|billing country|shipping country|country code"),
        "acquisition_channel": _n(
            "acquisition_channel|acquisition channel|first channel|channel|source|"
            "utm_source|utm source"
        ),
        "signup_at": _n(
            "signup_at|signup date|signed up|sign up date|registered at|"
            "registration date|created at|created_at|created|first seen|date"
        ),
        "accepts_marketing": _n(
            "accepts_marketing|accepts marketing|accepts email marketing|"
            "marketing opt in|opt in|email opt in|newsletter|subscribed"
        ),
        "loyalty_member": _n("loyalty_member|loyalty member|loyalty|member"),
        "loyalty_joined_at": _n(
            "loyalty_joined_at|loyalty joined at|loyalty since|member since|joined loyalty"
        ),
    },
    "order_items": {
        "order_id": _n("order_id|order id|order number|order_number|order no|order|name"),
        "product_id": _n(
            "product_id|product id|sku|lineitem sku|product code|item id|variant id|article|product"
        ),
        "product_name": _n(
            "product_name|product name|lineitem name|item name|title|product title|description"
        ),
        "category": _n("category|product category|product type|type"),
        "quantity": _n("quantity|qty|lineitem quantity|units|count"),
        "line_revenue": _n(
            "line_revenue|line revenue|line total|revenue|net sales|sales|amount|total|value"
        ),
    },
    "traffic_daily": {
        "date": _n("date|day|session date"),
        "channel": _n(
            "channel|session default channel group|default channel group|"
            "channel group|source|utm_source|session source|medium"
        ),
        "device": _n("device|device category|platform"),
        "sessions": _n("sessions|visits|total sessions"),
        "product_views": _n(
            "product_views|product views|sessions with product views|item views|views"
        ),
        "add_to_carts": _n(
            "add_to_carts|add to carts|add to cart|added to cart|sessions with add to cart|carts"
        ),
        "checkouts": _n(
            "checkouts|checkout|begin checkout|reached checkout|"
            "sessions with checkout|checkouts initiated"
        ),
    },
    "marketing_spend": {
        "date": _n("date|day|month|period|week"),
        "channel": _n("channel|source|platform|network|campaign source|medium"),
        "spend": _n("spend|cost|costs|amount spent|ad spend|amount|budget"),
    },
}
"""Per table and canonical column: normalised header names, best first."""

SHOPIFY_ORDERS_MAPPING: dict[str, str] = {
    "Name": "order_id",
    "Email": "customer_id",
    "Created at": "ordered_at",
    "Subtotal": "revenue",
    "Discount Amount": "discount_amount",
    "Financial Status": "status",
    "Discount Code": "coupon_code",
    "Source": "channel",
    "Currency": "currency",
}
"""Shopify orders export column -> orders column (revenue and status get Shopify's rules)."""

_SHOPIFY_MARKERS = _n("Name|Financial Status|Created at|Subtotal|Lineitem name|Lineitem quantity")


def _by_norm(columns: Sequence[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for column in columns:
        out.setdefault(normalise_header(column), column)
    return out


def is_shopify_orders_export(columns: Sequence[str]) -> bool:
    """True when the columns are those of Shopify's orders export."""
    present = set(_by_norm(columns))
    return all(marker in present for marker in _SHOPIFY_MARKERS)


def shopify_orders_mapping(columns: Sequence[str]) -> dict[str, str]:
    """SHOPIFY_ORDERS_MAPPING with the file's own spelling of each header."""
    norm = _by_norm(columns)
    return {
        norm[normalise_header(src)]: dst
        for src, dst in SHOPIFY_ORDERS_MAPPING.items()
        if normalise_header(src) in norm
    }


def suggest_mapping(columns: Sequence[str], table: str) -> dict[str, str]:
    """Source column -> canonical column of ``table``, from header names.

    A Shopify orders export mapped to ``orders`` gets SHOPIFY_ORDERS_MAPPING.
    """
    if table == "orders" and is_shopify_orders_export(columns):
        return shopify_orders_mapping(columns)
    synonyms = SYNONYMS.get(table, {})
    norm = _by_norm(columns)
    used: set[str] = set()
    mapping: dict[str, str] = {}
    for target, names in synonyms.items():
        for name in names:
            source = norm.get(name)
            if source is not None and source not in used:
                mapping[source] = target
                used.add(source)
                break
    return {c: mapping[c] for c in columns if c in mapping}


def suggest_table(columns: Sequence[str]) -> str:
    """The canonical table the columns fit best: all required columns found, then most found."""
    if is_shopify_orders_export(columns):
        return "orders"
    best, best_score = "orders", (False, 0.0, 0)
    for name in IMPORTABLE_TABLES:
        contract = table(name)
        mapped = set(suggest_mapping(columns, name).values())
        complete = all(c in mapped for c in contract.required_columns)
        score = (complete, len(mapped) / len(contract.columns), len(mapped))
        if score > best_score:
            best, best_score = name, score
    return best


# -- Shopify orders export ------------------------------------------------------------------


def _column(frame: pd.DataFrame, header: str) -> str | None:
    return _by_norm(list(frame.columns)).get(normalise_header(header))


def _blank_to_na(values: pd.Series) -> pd.Series:
    text = values.astype("str").str.strip()
    return text.where(text != "")


def collapse_shopify_orders(
    frame: pd.DataFrame, lines: np.ndarray, order_column: str
) -> tuple[pd.DataFrame, np.ndarray]:
    """One row per order: each column's first non-empty value among the order's rows.

    The line number is the order's first row. Rows without an order name stay as they are
    (they are rejected later as missing an order id). Order of rows within an order does not
    matter unless they disagree.
    """
    key = _blank_to_na(frame[order_column])
    has_key = key.notna().to_numpy()
    cleaned = frame.apply(_blank_to_na)
    keyed = cleaned[has_key].assign(_line=lines[has_key], _key=key[has_key])
    grouped = keyed.groupby("_key", sort=False)
    firsts = grouped.first()
    firsts["_line"] = grouped["_line"].min()
    loose = cleaned[~has_key].assign(_line=lines[~has_key])
    out = pd.concat([firsts.reset_index(drop=True), loose], ignore_index=True)
    out = out.sort_values("_line", kind="stable", ignore_index=True)
    new_lines = out.pop("_line").to_numpy(dtype=np.int64)
    out = out[list(frame.columns)].astype("str")
    return out, new_lines


def shopify_status(collapsed: pd.DataFrame) -> pd.Series | None:
    """Canonical status from Financial Status and Cancelled at; None without Financial Status."""
    financial = _column(collapsed, "Financial Status")
    if financial is None:
        return None
    fin = collapsed[financial].astype("str").str.strip().str.lower()
    cancelled_col = _column(collapsed, "Cancelled at")
    cancelled = fin == "voided"
    if cancelled_col is not None:
        cancelled |= _blank_to_na(collapsed[cancelled_col]).notna()
    refunded = fin.isin(["refunded", "partially_refunded"])
    status = np.where(cancelled, "cancelled", np.where(refunded, "refunded", "completed"))
    return pd.Series(status, index=collapsed.index, dtype="str")


def shopify_column(frame: pd.DataFrame, header: str) -> pd.Series | None:
    """A Shopify column by its documented header (any case), as stripped text with NA."""
    name = _column(frame, header)
    return None if name is None else _blank_to_na(frame[name])
