"""Target lists: the members of a saved segment, ready for a campaign, with a random holdout.

A target list is one row per member of a saved segment (``segment_members`` joined to
``customer_attributes``), with the columns a user picks from :data:`TARGET_COLUMNS`. By default
only customers who accept marketing are on it. Every row carries ``group``: ``target`` (contact
them) or ``holdout`` (do not contact them; they measure the campaign's lift later, see
``retention.lift``). :func:`record_export` keeps the list (segment, rules at the time, date,
customers and groups) in ``exports`` and ``export_members``.

Reason and offer (documented tables, first match wins): :data:`REASON_RULES` maps a customer's
RFM segment, M score and churn risk to a short code (``AT_RISK_HIGH_VALUE`` ...), a sentence and
a suggested offer. "High value" means M score 4 or 5 (revenue to date in the top two quintiles);
a churn risk of at least 0.5 is "likely to stop buying" (the churn-risk model's probability of
no order in its horizon; empty when there is no model, and then those rules never match).

Holdout (deterministic): each customer gets the key ``blake2b(f"{seed}:{customer_id}")``
(8-byte digest, compared as bytes); members are sorted by (key, customer_id) and the first
``k = round_half_up(n · pct / 100)`` are the holdout, so the proportion is exact, the same seed
gives the same groups whatever the row order, and another seed gives another draw. Adding or
removing a customer moves no one else between groups except at the cut-off.

Files (:func:`write_target_file`): CSV (UTF-8, with a BOM by default so Excel reads accents;
``,`` or ``;``), Excel (.xlsx, openpyxl) and Parquet (pyarrow). Cells are neutralised in every
format (``retention.export.neutralise_formulas``, OWASP "CSV injection"): Parquet files are
read by tools, but they are often converted to a spreadsheet later, and one rule for all
formats means the same list has the same cells whichever file was chosen.

Safety: the SQL is a constant; columns are picked from the fetched frame by allow-listed names,
and values (segment id) are bound parameters.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from fractions import Fraction
from typing import Any, BinaryIO, Literal

import numpy as np
import pandas as pd

from retention.export import neutralise_formulas, to_csv_bytes, write_csv
from retention.models.rfm_sql import Queryable
from retention.segments.attributes import CUSTOMER_ATTRIBUTES_SQL
from retention.segments.saved import get_segment

__all__ = [
    "DEFAULT_COLUMNS",
    "DELIMITERS",
    "FILE_FORMATS",
    "GROUPS",
    "HIGH_CHURN_RISK",
    "HIGH_VALUE_M_SCORE",
    "MAX_SEED",
    "REASON_RULES",
    "TARGET_COLUMNS",
    "ExportNotFoundError",
    "ExportRecord",
    "ReasonRule",
    "TargetColumn",
    "TargetError",
    "TargetList",
    "TargetSettings",
    "assign_groups",
    "assign_reasons",
    "build_target_list",
    "check_columns",
    "default_file_name",
    "get_export",
    "holdout_size",
    "list_exports",
    "record_export",
    "write_target_file",
    "write_target_file_to",
]

FileFormat = Literal["csv", "xlsx", "parquet"]
FILE_FORMATS: tuple[str, ...] = ("csv", "xlsx", "parquet")
DELIMITERS: tuple[str, ...] = (",", ";")
GROUPS: tuple[str, ...] = ("target", "holdout")
MAX_SEED = 2**31 - 1
"""Seeds are stored in ``exports.seed`` (INTEGER), so 0 to 2^31 - 1."""

XLSX_MAX_ROWS = 1_048_575  # 1,048,576 rows per sheet, one of them the header


class TargetError(ValueError):
    """A target list that cannot be made as asked, with a message a user can act on."""


class ExportNotFoundError(LookupError):
    """No recorded export has the id asked for; the message lists the recorded ones."""


# --- columns ------------------------------------------------------------------------------


@dataclass(frozen=True)
class TargetColumn:
    """A column a target list can hold."""

    name: str
    label: str
    description: str


TARGET_COLUMNS: dict[str, TargetColumn] = {
    c.name: c
    for c in (
        TargetColumn("customer_id", "Customer ID", "Customer identifier."),
        TargetColumn("email", "Email", "Email address from the customers file."),
        TargetColumn("name", "Name", "Customer name from the customers file."),
        TargetColumn("country", "Country", "Country from the customers file."),
        TargetColumn("segment", "Segment", "Name of the saved segment exported."),
        TargetColumn("rfm_segment", "RFM segment",
                     "Named segment from the R and F scores (Champions, At Risk ...)."),
        TargetColumn("r_score", "R score", "Recency quintile, 5 = most recent."),
        TargetColumn("f_score", "F score", "Frequency quintile, 5 = most orders."),
        TargetColumn("m_score", "M score", "Monetary quintile, 5 = most revenue."),
        TargetColumn("predicted_cltv", "Predicted CLTV",
                     "Predicted CLTV over the model horizon (latest model run)."),
        TargetColumn("predicted_cltv_low", "Predicted CLTV (low)", "Lower end of the interval."),
        TargetColumn("predicted_cltv_high", "Predicted CLTV (high)",
                     "Upper end of the interval."),
        TargetColumn("p_alive", "P(alive)",
                     "Probability the customer is still active (BG/NBD), 0 to 1."),
        TargetColumn("churn_risk", "Churn risk",
                     "Chance of no order in the churn-risk horizon, 0 to 1."),
        TargetColumn("reason", "Reason code",
                     "Why the customer is on the list: a short code from REASON_RULES."),
        TargetColumn("reason_text", "Reason",
                     "The reason in words, with the segment's description."),
        TargetColumn("offer", "Suggested offer", "The offer REASON_RULES suggests."),
        TargetColumn("accepts_marketing", "Accepts marketing", "Consented to marketing email."),
        TargetColumn("group", "Group",
                     "target (contact) or holdout (do not contact; measures lift)."),
    )
}  # fmt: skip
"""Every column a target list can hold, in file order. ``group`` is always included."""

DEFAULT_COLUMNS: tuple[str, ...] = tuple(n for n in TARGET_COLUMNS if n != "accepts_marketing")


def check_columns(columns: Iterable[str]) -> tuple[str, ...]:
    """The columns as they go in the file: known names, no repeats, ``group`` last if absent.

    TargetError lists the allowed names when one is unknown."""
    out: list[str] = []
    for raw in columns:
        name = str(raw).strip()
        if name not in TARGET_COLUMNS:
            raise TargetError(f"unknown column {name!r}; choose from: {', '.join(TARGET_COLUMNS)}")
        if name not in out:
            out.append(name)
    if "group" not in out:
        out.append("group")
    return tuple(out)


# --- reasons and offers -------------------------------------------------------------------

HIGH_VALUE_M_SCORE = 4
"""M score from which a customer counts as high value (revenue in the top two quintiles)."""

HIGH_CHURN_RISK = 0.5
"""Churn risk from which a good customer counts as likely to stop buying."""


@dataclass(frozen=True)
class ReasonRule:
    """One row of the reason table: who matches, the code, the sentence and the offer.

    A customer matches when their RFM segment is one of ``rfm_segments`` and, where set,
    ``m_score >= min_m_score`` and ``churn_risk >= min_churn_risk`` (empty churn risk: no match).
    """

    code: str
    rfm_segments: tuple[str, ...]
    description: str
    offer: str
    min_m_score: int | None = None
    min_churn_risk: float | None = None


_GOOD = ("Champions", "Loyal", "Potential Loyalist")
_AT_RISK = ("At Risk", "Can't Lose")
_SLIPPING = ("Need Attention", "About to Sleep")
_LAPSED = ("Hibernating", "Lost")

REASON_RULES: tuple[ReasonRule, ...] = (
    ReasonRule("VALUED_CHURN_RISK", _GOOD,
               "A good recent customer the churn-risk model expects to stop buying "
               "(churn risk at least 50%).",
               "Personal thank-you with bonus loyalty points",
               min_churn_risk=HIGH_CHURN_RISK),
    ReasonRule("CHAMPION", ("Champions",), "Bought recently and buys often.",
               "Early access to new products and loyalty points"),
    ReasonRule("LOYAL", ("Loyal",), "Buys often, though not the most recently.",
               "Loyalty points bonus or referral reward"),
    ReasonRule("POTENTIAL_LOYALIST", ("Potential Loyalist",), "Recent, with a few orders.",
               "Invitation to the loyalty programme"),
    ReasonRule("NEW_CUSTOMER", ("New", "Promising"), "Recent first-time buyer.",
               "Second-order incentive: 10% off the next order"),
    ReasonRule("AT_RISK_HIGH_VALUE", _AT_RISK,
               "Used to buy often and spent much (M score 4-5), but not for a long time.",
               "Win-back: 20% discount with a personal message",
               min_m_score=HIGH_VALUE_M_SCORE),
    ReasonRule("AT_RISK", _AT_RISK, "Used to buy often, but not for a long time.",
               "Win-back: 15% discount"),
    ReasonRule("SLIPPING_HIGH_VALUE", _SLIPPING,
               "Spent much (M score 4-5); orders are slowing down.",
               "Personal recommendations with a time-limited 10% discount",
               min_m_score=HIGH_VALUE_M_SCORE),
    ReasonRule("SLIPPING", _SLIPPING, "Middling recency and frequency; slipping away.",
               "Reminder with personal recommendations"),
    ReasonRule("LAPSED_HIGH_VALUE", _LAPSED,
               "Spent much (M score 4-5), but has not bought for a long time.",
               "Reactivation: 20% discount",
               min_m_score=HIGH_VALUE_M_SCORE),
    ReasonRule("LAPSED", _LAPSED, "Few orders, long ago.", "Reactivation: 10% discount"),
)  # fmt: skip
"""The reason table, first match wins. Every RFM segment is covered, so the fallback
(:data:`FALLBACK_REASON`) only shows for a customer without scores."""

FALLBACK_REASON = ReasonRule(
    "IN_SEGMENT", (), "Member of the segment.", "No standard offer: choose one for the campaign"
)


def _reason_index(frame: pd.DataFrame) -> np.ndarray:
    """For each row, the position in :data:`REASON_RULES` of the first rule it matches, or
    ``len(REASON_RULES)`` (the fallback) when none does."""
    codes, names = pd.factorize(frame["rfm_segment"].astype(object).to_numpy())
    m_score = pd.to_numeric(frame["m_score"], errors="coerce").to_numpy(dtype=float)
    risk = pd.to_numeric(frame["churn_risk"], errors="coerce").to_numpy(dtype=float)
    index = np.full(len(frame), len(REASON_RULES), dtype=np.intp)
    free = np.ones(len(frame), dtype=bool)
    for position, rule in enumerate(REASON_RULES):
        wanted = [i for i, name in enumerate(names) if name in rule.rfm_segments]
        match = free & np.isin(codes, wanted)  # code -1 (no segment) is never wanted
        if rule.min_m_score is not None:
            match &= m_score >= rule.min_m_score  # NaN compares False: no match
        if rule.min_churn_risk is not None:
            match &= risk >= rule.min_churn_risk
        index[match] = position
        free &= ~match
    return index


def _rule_values(attribute: str, suffix: str = "") -> np.ndarray:
    """One object per rule (fallback last): ``attribute`` of the rule followed by ``suffix``;
    taking from it gives rows that share their strings instead of a copy each."""
    rules = (*REASON_RULES, FALLBACK_REASON)
    return np.array([getattr(r, attribute) + suffix for r in rules], dtype=object)


def assign_reasons(frame: pd.DataFrame) -> pd.DataFrame:
    """``reason``, ``reason_description`` and ``offer`` for each row of ``frame``.

    ``frame`` needs ``rfm_segment``, ``m_score`` and ``churn_risk``; the result has the same
    index. Rules of :data:`REASON_RULES` are tried in order; the first that matches wins."""
    index = _reason_index(frame)
    return pd.DataFrame(
        {
            "reason": _rule_values("code")[index],
            "reason_description": _rule_values("description")[index],
            "offer": _rule_values("offer")[index],
        },
        index=frame.index,
        dtype=object,
    )


# --- holdout ------------------------------------------------------------------------------


def holdout_size(customers: int, holdout_pct: float) -> int:
    """round_half_up(customers · holdout_pct / 100), in exact arithmetic.

    Half rounds up: 12.5% of 4 customers is 0.5, so 1 is held out (Python's round gives 0)."""
    exact = Fraction(customers) * Fraction(str(holdout_pct)) / 100
    return math.floor(exact + Fraction(1, 2))


def _check_holdout(holdout_pct: float, seed: int) -> tuple[float, int]:
    try:
        pct = float(holdout_pct)
    except (TypeError, ValueError):
        raise TargetError(f"the holdout share must be a number, not {holdout_pct!r}") from None
    if not math.isfinite(pct) or not 0 <= pct <= 100:
        raise TargetError(f"the holdout share is a percentage from 0 to 100, not {holdout_pct!r}")
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
        raise TargetError(f"the seed is a whole number from 0 to {MAX_SEED}, not {seed!r}")
    return pct, seed


def _key(seed: int, customer_id: str) -> bytes:
    return hashlib.blake2b(f"{seed}:{customer_id}".encode(), digest_size=8).digest()


def _keys(seed: int, ids: Sequence[str]) -> np.ndarray:
    """The :func:`_key` of each id as big-endian unsigned 64-bit integers, whose order is the
    digests' byte order (lexicographic order of 8 bytes = big-endian integer order)."""
    blake2b, prefix = hashlib.blake2b, f"{seed}:"
    digests = b"".join([blake2b((prefix + i).encode(), digest_size=8).digest() for i in ids])
    return np.frombuffer(digests, dtype=">u8").astype(np.uint64)


def _first_k(keys: np.ndarray, ids: Sequence[str], k: int) -> np.ndarray:
    """Boolean mask of the first ``k`` positions by (key, id), as ``sorted`` would rank them.

    The k-th smallest key is found by partition; every key below it is in, and only the ids
    that share that key (in practice one: keys are 64-bit) are ranked by id in Python."""
    n = len(keys)
    if k <= 0:
        return np.zeros(n, dtype=bool)
    if k >= n:
        return np.ones(n, dtype=bool)
    cut = np.partition(keys, k - 1)[k - 1]
    mask = keys < cut
    tied = np.flatnonzero(keys == cut)
    room = k - int(mask.sum())
    mask[sorted(tied.tolist(), key=lambda i: ids[i])[:room]] = True
    return mask


def _id_list(customer_ids: Sequence[str] | pd.Series) -> list[str]:
    """The ids as Python strings (``str`` of each; a text Series without gaps in one go)."""
    if (
        isinstance(customer_ids, pd.Series)
        and isinstance(customer_ids.dtype, pd.StringDtype)
        and not customer_ids.hasnans
    ):
        return customer_ids.tolist()
    return [str(c) for c in customer_ids]


def assign_groups(
    customer_ids: Sequence[str] | pd.Series, holdout_pct: float, seed: int
) -> pd.Series:
    """``target`` or ``holdout`` for each customer id (same order; a Series keeps its index).

    The holdout is the first :func:`holdout_size` customers by (blake2b(f"{seed}:{id}"), id):
    exact in size, and a function of the seed and the set of ids only, never of their order.
    (Keys are computed once and ranked in numpy: the same customers as sorting the ids with
    that key, see ``tests/test_targets.py``.)"""
    pct, seed = _check_holdout(holdout_pct, seed)
    ids = _id_list(customer_ids)
    if len(set(ids)) != len(ids):
        raise TargetError("customer ids must be unique to draw a holdout")
    k = holdout_size(len(ids), pct)
    held = _first_k(_keys(seed, ids), ids, k)
    groups = np.array(["target", "holdout"], dtype=object)[held.astype(np.intp)]
    index = customer_ids.index if isinstance(customer_ids, pd.Series) else None
    return pd.Series(groups, index=index, name="group", dtype=object)


# --- the list -----------------------------------------------------------------------------


@dataclass(frozen=True)
class TargetSettings:
    """How a list was made."""

    columns: tuple[str, ...]
    marketing_only: bool
    holdout_pct: float
    seed: int


@dataclass(frozen=True)
class TargetList:
    """A segment's target list.

    ``frame``: one row per exported customer (by customer_id), the chosen columns in order,
    ``group`` always included. ``members``: customer_id and group of the same rows (kept even
    when the file leaves customer_id out, so the export can be recorded).
    ``customers = target + holdout``; ``excluded_no_consent`` members were left out because
    they do not accept marketing (0 when ``marketing_only`` is off)."""

    segment_name: str
    segment_description: str
    rules: str
    rules_text: str
    data_last_day: date | None
    settings: TargetSettings
    frame: pd.DataFrame
    members: pd.DataFrame
    customers: int
    target: int
    holdout: int
    excluded_no_consent: int


_MEMBERS_SQL = (
    CUSTOMER_ATTRIBUTES_SQL
    + """
SELECT ca.customer_id, ca.email, ca.name, ca.country, ca.rfm_segment,
       ca.r_score, ca.f_score, ca.m_score,
       ca.predicted_cltv, ca.predicted_cltv_low, ca.predicted_cltv_high,
       ca.p_alive, ca.churn_risk, ca.accepts_marketing
FROM segment_members AS m
JOIN customer_attributes AS ca USING (customer_id)
WHERE m.segment_id = $segment_id
ORDER BY ca.customer_id
"""
)

_LAST_DAY_SQL = "SELECT max(order_date) FROM order_facts WHERE customer_id IS NOT NULL"


def _as_date(value: Any) -> date | None:
    if value is None or (not isinstance(value, date) and pd.isna(value)):
        return None
    return pd.Timestamp(value).date()


def build_target_list(
    db: Queryable,
    segment_name: str,
    columns: Iterable[str] = DEFAULT_COLUMNS,
    *,
    marketing_only: bool = True,
    holdout_pct: float = 10.0,
    seed: int = 0,
    offer: str | None = None,
) -> TargetList:
    """The target list of the saved segment ``segment_name``.

    ``offer``: one offer for every row (a scenario's discount or loyalty invitation) instead
    of the suggested offer per reason code.

    Members come from ``segment_members`` (refreshed on save, import and refit), one row per
    member, attributes from ``customer_attributes``; with ``marketing_only`` those who do not
    accept marketing are left out. The holdout is drawn among the customers that remain
    (:func:`assign_groups`). SegmentError when there is no such segment, TargetError for an
    unknown column or a holdout share outside 0-100."""
    chosen = check_columns(columns)
    pct, seed = _check_holdout(holdout_pct, seed)
    segment = get_segment(db, segment_name)
    rows = db.query(_MEMBERS_SQL, {"segment_id": segment.segment_id})
    data_last_day = _as_date(db.query(_LAST_DAY_SQL).iloc[0, 0])
    consent = rows["accepts_marketing"].fillna(False).astype(bool)
    excluded = int((~consent).sum()) if marketing_only else 0
    if marketing_only:
        rows = rows[consent.to_numpy()].reset_index(drop=True)
    rows["group"] = assign_groups(rows["customer_id"], pct, seed)
    rows["segment"] = segment.name
    reason = _reason_index(rows)
    description = segment.description or segment.rules.describe()
    in_segment = f" In segment '{segment.name}': {description}"
    rows["reason"] = pd.Series(_rule_values("code")[reason], dtype=object)
    # One string per rule, shared by its rows (not a copy of the sentence per row).
    rows["reason_text"] = pd.Series(_rule_values("description", in_segment)[reason], dtype=object)
    rows["offer"] = (
        pd.Series(_rule_values("offer")[reason], dtype=object)
        if offer is None
        else str(offer).strip()
    )
    frame = rows[list(chosen)].reset_index(drop=True)
    members = rows[["customer_id", "group"]].reset_index(drop=True)
    holdout = int((members["group"] == "holdout").sum())
    return TargetList(
        segment_name=segment.name,
        segment_description=segment.description,
        rules=segment.rules.to_json(),
        rules_text=segment.rules.describe(),
        data_last_day=data_last_day,
        settings=TargetSettings(chosen, bool(marketing_only), pct, seed),
        frame=frame,
        members=members,
        customers=len(members),
        target=len(members) - holdout,
        holdout=holdout,
        excluded_no_consent=excluded,
    )


# --- files --------------------------------------------------------------------------------


def _xlsx_text(frame: pd.DataFrame) -> pd.DataFrame:
    """Control characters Excel cannot store (openpyxl's ILLEGAL_CHARACTERS_RE) removed."""
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    out = frame.copy()
    for name in out.columns:
        column = out[name]
        if pd.api.types.is_object_dtype(column) or pd.api.types.is_string_dtype(column):
            out[name] = column.map(
                lambda v: ILLEGAL_CHARACTERS_RE.sub("", v) if isinstance(v, str) else v
            )
    return out


def write_target_file(
    frame: pd.DataFrame, fmt: str, *, delimiter: str = ",", bom: bool = True
) -> bytes:
    """The bytes of a target-list file, formula cells neutralised in every format.

    csv: UTF-8 (with a BOM unless ``bom`` is False), ``delimiter`` ``,`` or ``;``.
    xlsx: one sheet "Target list", header row, text cells stored as text (control characters
    Excel cannot hold are dropped). parquet: pyarrow, column types kept."""
    _check_file_settings(fmt, delimiter)
    if fmt == "csv":
        return to_csv_bytes(frame, delimiter=delimiter, bom=bom)
    safe = neutralise_formulas(frame)
    buffer = io.BytesIO()
    if fmt == "xlsx":
        if len(safe) > XLSX_MAX_ROWS:
            raise TargetError(
                f"an Excel sheet holds at most {XLSX_MAX_ROWS:,} rows; this list has "
                f"{len(safe):,}. Export CSV or Parquet instead."
            )
        _xlsx_text(safe).to_excel(buffer, index=False, sheet_name="Target list", engine="openpyxl")
    else:
        safe.to_parquet(buffer, index=False, engine="pyarrow")
    return buffer.getvalue()


def write_target_file_to(
    frame: pd.DataFrame,
    fmt: str,
    handle: BinaryIO,
    *,
    delimiter: str = ",",
    bom: bool = True,
) -> int:
    """Write the file :func:`write_target_file` makes to an open binary ``handle``; return
    the number of bytes written. CSV goes out block by block, so the whole file is never held
    in memory (for a command that writes to a path; a download button needs the bytes)."""
    _check_file_settings(fmt, delimiter)
    if fmt == "csv":
        return write_csv(frame, handle, delimiter=delimiter, bom=bom)
    return handle.write(write_target_file(frame, fmt, delimiter=delimiter, bom=bom))


def _check_file_settings(fmt: str, delimiter: str) -> None:
    if fmt not in FILE_FORMATS:
        raise TargetError(f"unknown format {fmt!r}; choose one of: {', '.join(FILE_FORMATS)}")
    if fmt == "csv" and delimiter not in DELIMITERS:
        raise TargetError(f"the CSV delimiter is ',' or ';', not {delimiter!r}")


def default_file_name(segment_name: str, fmt: str, day: date) -> str:
    """``<segment-slug>-<YYYY-MM-DD>.<ext>``: ASCII letters and digits joined by dashes."""
    text = unicodedata.normalize("NFKD", segment_name.replace("ß", "ss"))
    ascii_name = text.encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")[:60].strip("-")
    return f"{slug or 'segment'}-{day.isoformat()}.{fmt}"


# --- the record ---------------------------------------------------------------------------


def record_export(
    store: Any,
    target_list: TargetList,
    *,
    columns: Sequence[str] | None = None,
    file_format: str,
) -> int:
    """Keep the export in ``exports`` and its members with their groups in ``export_members``,
    in one transaction; return the new export id. ``columns`` default: the list's columns."""
    if file_format not in FILE_FORMATS:
        raise TargetError(
            f"unknown format {file_format!r}; choose one of: {', '.join(FILE_FORMATS)}"
        )
    shown = list(columns) if columns is not None else list(target_list.frame.columns)
    members = target_list.members[["customer_id", "group"]].copy()
    for name in ("customer_id", "group"):
        # Text as pandas' str (Arrow-backed), which DuckDB scans without a Python object per
        # cell; anything else as objects, as before.
        column = members[name]
        text = isinstance(column.dtype, pd.StringDtype) or (
            pd.api.types.is_object_dtype(column.dtype)
            and pd.api.types.infer_dtype(column, skipna=False) == "string"
        )
        members[name] = column.astype("str") if text else column.astype(object)
    settings = target_list.settings
    with store.transaction() as tx:
        export_id = int(tx.scalar("SELECT coalesce(max(export_id), 0) + 1 FROM exports"))
        tx.execute(
            "INSERT INTO exports VALUES ($id, $created_at, $segment_name, $rules, $columns, "
            "$file_format, $marketing_only, $holdout_pct, $seed, $customers, $target, "
            "$holdout, $data_last_day)",
            {
                "id": export_id,
                "created_at": datetime.now(UTC).replace(tzinfo=None),
                "segment_name": target_list.segment_name,
                "rules": target_list.rules,
                "columns": json.dumps(shown),
                "file_format": file_format,
                "marketing_only": settings.marketing_only,
                "holdout_pct": settings.holdout_pct,
                "seed": settings.seed,
                "customers": target_list.customers,
                "target": target_list.target,
                "holdout": target_list.holdout,
                "data_last_day": target_list.data_last_day,
            },
        )
        tx.register("new_export_members", members)
        tx.execute(
            'INSERT INTO export_members SELECT $id, customer_id, "group" FROM new_export_members',
            {"id": export_id},
        )
    return export_id


_EXPORTS_SQL = """
SELECT export_id, created_at, segment_name, rules, columns, file_format, marketing_only,
       holdout_pct, seed, customers, target_customers, holdout_customers, data_last_day
FROM exports
"""


def list_exports(db: Queryable) -> pd.DataFrame:
    """Every recorded export, oldest first (one row per export, the ``exports`` columns)."""
    return db.query(_EXPORTS_SQL + " ORDER BY export_id")


@dataclass(frozen=True)
class ExportRecord:
    """One row of ``exports``."""

    export_id: int
    created_at: datetime
    segment_name: str
    rules: str
    columns: tuple[str, ...]
    file_format: str
    marketing_only: bool
    holdout_pct: float
    seed: int
    customers: int
    target_customers: int
    holdout_customers: int
    data_last_day: date | None


def get_export(db: Queryable, export_id: int) -> ExportRecord:
    """The export ``export_id``; ExportNotFoundError lists the recorded ids when it is missing."""
    frame = db.query(_EXPORTS_SQL + " WHERE export_id = $id", {"id": int(export_id)})
    if frame.empty:
        ids = db.query("SELECT export_id FROM exports ORDER BY export_id DESC LIMIT 20")
        known = ", ".join(str(i) for i in sorted(ids["export_id"])) or "none recorded yet"
        raise ExportNotFoundError(f"no export has id {export_id}; recorded exports: {known}")
    row = frame.iloc[0]
    return ExportRecord(
        export_id=int(row["export_id"]),
        created_at=pd.Timestamp(row["created_at"]).to_pydatetime(),
        segment_name=str(row["segment_name"]),
        rules=str(row["rules"] or ""),
        columns=tuple(json.loads(row["columns"] or "[]")),
        file_format=str(row["file_format"] or ""),
        marketing_only=bool(row["marketing_only"]),
        holdout_pct=float(row["holdout_pct"]),
        seed=int(row["seed"]),
        customers=int(row["customers"]),
        target_customers=int(row["target_customers"]),
        holdout_customers=int(row["holdout_customers"]),
        data_last_day=_as_date(row["data_last_day"]),
    )
