"""Compare two to four saved segments side by side, with tests of their differences.

Segments may overlap (a customer can be in two), so every segment is its own group: its
members are the rows of ``segment_members`` with its id, whoever else they belong to. Each
function returns plain frames, one row per segment in the order the ids were given (the
headless twin of the comparison view: the page, the CLI and the tests share it).

What is compared (DESIGN.md, "Definitions"; the same definitions as everywhere else):

- **Size**: members with at least one counted order (rows of ``customer_summary``); share =
  members / all customers.
- **Revenue**: the members' revenue to date (counted orders, net of refunds); share = that /
  the revenue of all customers (guest orders are not in it, as in the segment preview).
- **AOV** = revenue / orders over the members' counted orders. Its standard error is the
  order-level s / √n_orders, with s² the sample variance of the order values.
- **Repeat rate** = members with two or more counted orders / members; standard error
  √(p(1 − p)/n).
- **Retention curve** (:func:`retention_curves`): the Cohorts page's customer retention per
  member instead of per cohort (see there).
- **Predicted CLTV** (:func:`predicted_cltv_by_segment`): from the latest stored model run,
  with an interval from parameter uncertainty (see there).

Tests (:func:`compare`): each segment against the first one (or a chosen baseline).

- Repeat rate: the difference p₁ − p₀ with the Agresti-Caffo test (a Wald test after adding
  one success and one failure to each group) and Newcomb's hybrid score interval (from the
  two Wilson intervals), both from ``statsmodels.stats.proportion``
  (``test_proportions_2indep`` and ``confint_proportions_2indep``, their defaults for a
  difference). Both stay usable when a rate is 0 % or 100 % and for small groups.
- AOV: Welch's t-test on the order values from each group's n, mean and variance (computed in
  DuckDB, so no order rows reach pandas):

      d = m₁ − m₀,  se = √(v₁/n₁ + v₀/n₀),  t = d / se,
      ν = (v₁/n₁ + v₀/n₀)² / ((v₁/n₁)²/(n₁ − 1) + (v₀/n₀)²/(n₀ − 1))   (Welch-Satterthwaite),
      p = 2 · P(T_ν > |t|),  interval d ± t_{ν, 1−α/2} · se.

  The test treats orders as independent. Orders of one customer are alike, so when a few
  customers place many orders the p-value is somewhat too small; read it as a guide.
- Several tests at once: ``p_value_holm`` adjusts the p-values of all the comparison's tests
  with Holm's step-down method, and ``significant`` is ``p_value_holm < alpha``. The
  intervals are not adjusted.
- Too small to tell: the smallest difference in repeat rate that a test at 5 % (two-sided)
  would find with 80 % power, roughly

      D = (z_{0.975} + z_{0.80}) · √(p̃(1 − p̃) · (1/n₁ + 1/n₀)),  p̃ = (c₁ + c₀ + 1)/(n₁ + n₀ + 2),

  (the normal-approximation sample-size formula solved for the difference, with the pooled
  rate, nudged away from 0 and 1 so that D stays positive). When D is above
  ``detectable_difference`` (10 percentage points by default), the smaller segment of the pair
  gets a warning that says D.
- Overlap: shared customers count in both segments, which pulls their numbers together and
  makes the two estimates positively correlated, so Var(p̂₁ − p̂₀) = V₁ + V₀ − 2·Cov is
  smaller than the V₁ + V₀ the tests assume: for overlapping segments the tests are too
  cautious (p-values too large). A pair sharing at least ``OVERLAP_WARNING_SHARE`` of the
  smaller segment gets a warning.

References
----------
Agresti, A. & Caffo, B. (2000). "Simple and effective confidence intervals for proportions
and differences of proportions result from adding two successes and two failures". The
American Statistician 54(4), 280-288.
Newcomb, R. G. (1998). "Interval estimation for the difference between independent
proportions: comparison of eleven methods". Statistics in Medicine 17(8), 873-890.
Welch, B. L. (1947). "The generalization of 'Student's' problem when several different
population variances are involved". Biometrika 34(1-2), 28-35.
Satterthwaite, F. E. (1946). "An approximate distribution of estimates of variance
components". Biometrics Bulletin 2(6), 110-114.
Holm, S. (1979). "A simple sequentially rejective multiple test procedure". Scandinavian
Journal of Statistics 6(2), 65-70.
Fleiss, J. L., Levin, B. & Paik, M. C. (2003). Statistical Methods for Rates and Proportions,
3rd ed., ch. 4 (sample size for comparing two proportions).
"""

from __future__ import annotations

import math
import warnings as python_warnings
from collections.abc import Sequence
from dataclasses import dataclass, replace
from numbers import Integral
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import confint_proportions_2indep, test_proportions_2indep

from retention.metrics.periods import GRAINS, Grain
from retention.models.bgnbd import BgNbdFit, BgNbdParams
from retention.models.cltv import predict_group_totals
from retention.models.gamma_gamma import GammaGammaFit, GammaGammaParams
from retention.models.rfm_sql import Queryable
from retention.models.runs import ModelRun, cltv_settings, latest_run, scores_are_stale

__all__ = [
    "CLTV_COLUMNS",
    "CURVE_COLUMNS",
    "MAX_SEGMENTS",
    "MEMBER_SCORES_SQL",
    "MIN_SEGMENTS",
    "OVERLAP_COLUMNS",
    "OVERLAP_WARNING_SHARE",
    "STATS_COLUMNS",
    "TEST_COLUMNS",
    "Comparison",
    "WelchResult",
    "compare",
    "fits_from_run",
    "minimum_detectable_difference",
    "predicted_cltv_by_segment",
    "retention_curves",
    "segment_overlap",
    "segment_stats",
    "welch_test",
]

MIN_SEGMENTS = 2
MAX_SEGMENTS = 4
MAX_PERIODS = 520
OVERLAP_WARNING_SHARE = 0.5
"""A pair of segments sharing at least this share of the smaller one gets a warning."""
DETECTABLE_DIFFERENCE = 0.10
"""Default: warn when a test could only find repeat-rate differences above 10 points."""
MDD_ALPHA = 0.05
MDD_POWER = 0.80

STATS_COLUMNS: tuple[str, ...] = (
    "segment_id",
    "name",
    "customers",
    "customer_share",
    "revenue",
    "revenue_share",
    "revenue_per_customer",
    "revenue_per_customer_se",
    "orders",
    "aov",
    "aov_se",
    "order_value_variance",
    "repeat_customers",
    "repeat_rate",
    "repeat_rate_se",
)
CURVE_COLUMNS: tuple[str, ...] = (
    "segment_id",
    "name",
    "period_index",
    "eligible_customers",
    "active_customers",
    "retention_rate",
    "retention_rate_se",
)
CLTV_COLUMNS: tuple[str, ...] = (
    "segment_id",
    "name",
    "customers",
    "scored_customers",
    "expected_orders",
    "expected_orders_low",
    "expected_orders_high",
    "predicted_cltv",
    "predicted_cltv_low",
    "predicted_cltv_high",
    "predicted_cltv_per_customer",
    "predicted_cltv_per_customer_low",
    "predicted_cltv_per_customer_high",
)
TEST_COLUMNS: tuple[str, ...] = (
    "segment_id",
    "name",
    "baseline_id",
    "baseline_name",
    "metric",
    "value",
    "baseline_value",
    "difference",
    "ci_low",
    "ci_high",
    "statistic",
    "df",
    "p_value",
    "p_value_holm",
    "significant",
    "method",
)
OVERLAP_COLUMNS: tuple[str, ...] = (
    "segment_a",
    "name_a",
    "segment_b",
    "name_b",
    "shared_customers",
    "share_of_a",
    "share_of_b",
)

REPEAT_TEST_METHOD = "agresti-caffo"
REPEAT_INTERVAL_METHOD = "newcomb"


# --- which segments -----------------------------------------------------------------------


def _segment_names(db: Queryable, segment_ids: Sequence[int]) -> pd.DataFrame:
    """``segment_id``, ``name`` of the requested segments, in the requested order.

    Raises ValueError on an empty list, a repeated id, a non-integer or an unknown id (the
    message lists the saved segments)."""
    ids = list(segment_ids)
    if not ids:
        raise ValueError("Choose at least one segment.")
    for value in ids:
        if not isinstance(value, Integral) or isinstance(value, bool):
            raise ValueError(f"segment ids are whole numbers, got {value!r}")
    ids = [int(v) for v in ids]
    if len(set(ids)) != len(ids):
        raise ValueError(f"each segment can be chosen once, got {ids}")
    saved = db.query("SELECT segment_id, name FROM segments ORDER BY segment_id")
    known = dict(zip(saved["segment_id"].astype("int64"), saved["name"].astype(str), strict=True))
    missing = [v for v in ids if v not in known]
    if missing:
        listed = ", ".join(f"{k} ({n})" for k, n in known.items()) or "none saved yet"
        raise ValueError(f"no saved segment has id {missing}; saved segments: {listed}")
    return pd.DataFrame(
        {"segment_id": pd.Series(ids, dtype="int64"), "name": [known[v] for v in ids]}
    )


def _in_order(frame: pd.DataFrame, names: pd.DataFrame) -> pd.DataFrame:
    """``frame`` (keyed by segment_id) reindexed to the requested order, with names."""
    out = names.merge(frame, on="segment_id", how="left", validate="one_to_many")
    return out.reset_index(drop=True)


# --- size, revenue, AOV, repeat rate ------------------------------------------------------

STATS_SQL = """
WITH totals AS (
    SELECT count(*) AS all_customers, coalesce(sum(revenue), 0)::DOUBLE AS all_revenue
    FROM customer_summary
),
members AS (
    SELECT m.segment_id, c.customer_id, c.orders, c.revenue::DOUBLE AS revenue
    FROM segment_members AS m
    JOIN customer_summary AS c USING (customer_id)
    WHERE list_contains($ids, m.segment_id)
),
per_segment AS (
    SELECT segment_id,
           count(*) AS customers,
           sum(revenue) AS revenue,
           var_samp(revenue) AS customer_revenue_variance,
           sum(orders) AS orders,
           count(*) FILTER (WHERE orders >= 2) AS repeat_customers
    FROM members
    GROUP BY segment_id
),
order_values AS (
    SELECT m.segment_id,
           count(*) AS order_count,
           avg(f.revenue::DOUBLE) AS order_value_mean,
           var_samp(f.revenue::DOUBLE) AS order_value_variance
    FROM members AS m
    JOIN order_facts AS f USING (customer_id)
    GROUP BY m.segment_id
)
SELECT s.segment_id,
       coalesce(p.customers, 0) AS customers,
       coalesce(p.customers, 0) / nullif(t.all_customers, 0) AS customer_share,
       coalesce(p.revenue, 0) AS revenue,
       coalesce(p.revenue, 0) / nullif(t.all_revenue, 0) AS revenue_share,
       p.revenue / nullif(p.customers, 0) AS revenue_per_customer,
       sqrt(p.customer_revenue_variance / p.customers) AS revenue_per_customer_se,
       coalesce(p.orders, 0) AS orders,
       p.revenue / nullif(p.orders, 0) AS aov,
       sqrt(o.order_value_variance / o.order_count) AS aov_se,
       o.order_value_variance,
       coalesce(p.repeat_customers, 0) AS repeat_customers,
       p.repeat_customers / nullif(p.customers, 0) AS repeat_rate,
       sqrt(p.repeat_customers / p.customers * (1 - p.repeat_customers / p.customers)
            / p.customers) AS repeat_rate_se
FROM segments AS s
CROSS JOIN totals AS t
LEFT JOIN per_segment AS p USING (segment_id)
LEFT JOIN order_values AS o USING (segment_id)
WHERE list_contains($ids, s.segment_id)
ORDER BY s.segment_id
"""
"""One row per chosen segment (``$ids``): the columns of :data:`STATS_COLUMNS` but the name."""

_INT_STATS = ("customers", "orders", "repeat_customers")


def segment_stats(db: Queryable, segment_ids: Sequence[int]) -> pd.DataFrame:
    """Size, revenue, AOV and repeat rate of each segment, with standard errors.

    One row per segment, in the order of ``segment_ids``; columns :data:`STATS_COLUMNS`:

    - ``customers`` (members with a counted order) and ``customer_share`` = customers / all
      customers;
    - ``revenue`` (counted orders, net of refunds) and ``revenue_share`` = revenue / revenue
      of all customers; ``revenue_per_customer`` with ``revenue_per_customer_se`` = s/√n over
      the members' revenue;
    - ``orders``, ``aov`` = revenue / orders, ``aov_se`` = s/√n_orders and
      ``order_value_variance`` = s² over the members' order values (sample variance);
    - ``repeat_customers`` (two or more counted orders), ``repeat_rate`` = repeat customers /
      customers, ``repeat_rate_se`` = √(p(1 − p)/n).

    A segment with no members has 0 customers, revenue and orders and NaN rates. Raises
    ValueError for an unknown or repeated id.
    """
    names = _segment_names(db, segment_ids)
    raw = db.query(STATS_SQL, {"ids": names["segment_id"].tolist()})
    out = _in_order(raw, names)
    for column in _INT_STATS:
        out[column] = out[column].astype("int64")
    for column in STATS_COLUMNS:
        if column not in ("segment_id", "name", *_INT_STATS):
            out[column] = pd.to_numeric(out[column], errors="coerce").astype("float64")
    return out[list(STATS_COLUMNS)]


# --- retention curves ---------------------------------------------------------------------

CURVES_SQL = """
WITH bounds AS (
    SELECT CAST(max(ordered_at) AS DATE) AS last_day FROM order_facts
),
members AS (
    SELECT m.segment_id, m.customer_id, m.cohort_start,
           date_diff($grain, m.cohort_start,
                     CAST(date_trunc($grain, b.last_day + 1) AS DATE)) AS complete_periods
    FROM (
        SELECT sm.segment_id, c.customer_id,
               CAST(date_trunc($grain, c.first_order_at) AS DATE) AS cohort_start
        FROM segment_members AS sm
        JOIN customer_summary AS c USING (customer_id)
        WHERE list_contains($ids, sm.segment_id)
    ) AS m
    CROSS JOIN bounds AS b
),
by_history AS (
    SELECT segment_id, complete_periods, count(*) AS customers
    FROM members
    GROUP BY ALL
),
indexes AS (
    SELECT unnest(generate_series(0, $periods)) AS period_index
),
eligible AS (
    SELECT h.segment_id, k.period_index, sum(h.customers) AS eligible_customers
    FROM by_history AS h
    JOIN indexes AS k ON k.period_index < h.complete_periods
    GROUP BY ALL
),
activity AS (
    SELECT segment_id, period_index, count(DISTINCT customer_id) AS active_customers
    FROM (
        SELECT m.segment_id, m.customer_id, m.complete_periods,
               date_diff($grain, m.cohort_start,
                         CAST(date_trunc($grain, f.ordered_at) AS DATE)) AS period_index
        FROM members AS m
        JOIN order_facts AS f USING (customer_id)
    )
    WHERE period_index <= $periods AND period_index < complete_periods
    GROUP BY ALL
)
SELECT s.segment_id,
       k.period_index,
       coalesce(e.eligible_customers, 0) AS eligible_customers,
       coalesce(a.active_customers, 0) AS active_customers,
       coalesce(a.active_customers, 0) / nullif(e.eligible_customers, 0) AS retention_rate
FROM segments AS s
CROSS JOIN indexes AS k
LEFT JOIN eligible AS e ON e.segment_id = s.segment_id AND e.period_index = k.period_index
LEFT JOIN activity AS a ON a.segment_id = s.segment_id AND a.period_index = k.period_index
WHERE list_contains($ids, s.segment_id)
ORDER BY s.segment_id, k.period_index
"""
"""Per chosen segment (``$ids``) and period index 0..``$periods`` (``$grain``: week, month or
quarter): eligible members, members with an order in the period, and their ratio."""


def retention_curves(
    db: Queryable, segment_ids: Sequence[int], period: Grain = "month", periods: int = 12
) -> pd.DataFrame:
    """Customer retention per segment and period index k = 0, 1, …, ``periods``.

    The Cohorts page's customer retention (``retention.metrics.cohorts``), counted per member
    instead of per cohort: a member's cohort is the ``period`` (week, month or quarter) of their
    first counted order, and period k is the k-th calendar period after it. A member is
    *eligible* at k once their period k has ended by the data's last day (the last order day
    of the whole file), and *active* at k with a counted order in it:

        retention_rate(k) = active(k) / eligible(k),  retention_rate_se = √(p(1 − p)/eligible).

    Members not yet observed through period k are left out of the denominator, so the curve
    equals the Cohorts page's size-weighted average over complete cells restricted to the
    segment (and is 1 at k = 0). One row per (segment, k), segments in the order given, k
    ascending; ``retention_rate`` is NaN where nobody is eligible. Columns
    :data:`CURVE_COLUMNS`.
    """
    if period not in GRAINS:
        raise ValueError(f"unknown period {period!r}; use one of {', '.join(GRAINS)}")
    if not isinstance(periods, Integral) or isinstance(periods, bool):
        raise ValueError(f"periods must be a whole number, got {periods!r}")
    if not 0 <= int(periods) <= MAX_PERIODS:
        raise ValueError(f"periods must be 0 to {MAX_PERIODS}, got {periods}")
    names = _segment_names(db, segment_ids)
    raw = db.query(
        CURVES_SQL,
        {"ids": names["segment_id"].tolist(), "grain": period, "periods": int(periods)},
    )
    out = _in_order(raw, names)
    for column in ("period_index", "eligible_customers", "active_customers"):
        out[column] = out[column].astype("int64")
    rate = pd.to_numeric(out["retention_rate"], errors="coerce").astype("float64")
    out["retention_rate"] = rate
    out["retention_rate_se"] = np.sqrt(rate * (1.0 - rate) / out["eligible_customers"])
    return out[list(CURVE_COLUMNS)]


# --- predicted CLTV -----------------------------------------------------------------------


def _covariance(record: dict[str, Any], size: int) -> np.ndarray:
    """The stored covariance of the log-parameters; None entries (not identified) → NaN."""
    stored = record.get("covariance_log_params")
    if stored is None:
        return np.full((size, size), np.nan)
    return np.array(
        [[np.nan if v is None else float(v) for v in row] for row in stored], dtype="float64"
    )


def fits_from_run(run: ModelRun) -> tuple[BgNbdFit, GammaGammaFit]:
    """The BG/NBD and Gamma-Gamma fits of a stored run, rebuilt from ``model_runs``.

    Parameters, covariance of the log-parameters (``covariance_log_params``; a ``None`` entry
    means the fit was not identified, and becomes NaN so intervals come out NaN), convergence
    and message are as stored. The Hessian is not stored, so it is NaN; predictions do not use
    it. Raises ValueError when the run has no Gamma-Gamma fit.
    """
    if not run.gamma_gamma:
        raise ValueError(f"model run {run.run_id} has no spend model (Gamma-Gamma) stored")
    bg, gg = run.bgnbd, run.gamma_gamma
    bg_params = BgNbdParams(**{k: float(bg["params"][k]) for k in ("r", "alpha", "a", "b")})
    gg_params = GammaGammaParams(**{k: float(gg["params"][k]) for k in ("p", "q", "gamma")})
    nan4, nan3 = np.full((4, 4), np.nan), np.full((3, 3), np.nan)
    bgnbd = BgNbdFit(
        params=bg_params,
        log_likelihood=float(bg.get("log_likelihood") or np.nan),
        n_customers=float(bg.get("customers") or 0),
        n_unique_rows=int(bg.get("unique_rows") or 0),
        converged=bool(bg.get("converged", True)),
        iterations=int(bg.get("iterations") or 0),
        hessian=nan4,
        covariance=_covariance(bg, 4),
        message=str(bg.get("message") or ""),
    )
    gamma_gamma = GammaGammaFit(
        params=gg_params,
        log_likelihood=float(gg.get("log_likelihood") or np.nan),
        n_customers=float(gg.get("customers") or 0),
        converged=bool(gg.get("converged", True)),
        iterations=int(gg.get("iterations") or 0),
        hessian=nan3,
        covariance=_covariance(gg, 3),
        message=str(gg.get("message") or ""),
    )
    return bgnbd, gamma_gamma


MEMBER_SCORES_SQL = """
SELECT m.segment_id, m.customer_id, s.frequency, s.recency, s."T", s.monetary_value
FROM segment_members AS m
JOIN customer_summary AS c USING (customer_id)
LEFT JOIN customer_scores AS s ON s.customer_id = m.customer_id AND s.run_id = $run_id
WHERE list_contains($ids, m.segment_id)
ORDER BY m.segment_id, m.customer_id
"""
"""Each member of the chosen segments with their model inputs from run ``$run_id`` (NULL
when the run has no scores for them)."""

MEMBER_COUNT_SQL = """
SELECT m.segment_id, count(*) AS customers
FROM segment_members AS m
JOIN customer_summary AS c USING (customer_id)
WHERE list_contains($ids, m.segment_id)
GROUP BY m.segment_id
ORDER BY m.segment_id
"""

_CLTV_VALUES = CLTV_COLUMNS[4:]


def _empty_cltv(names: pd.DataFrame, customers: pd.Series, scored: pd.Series) -> pd.DataFrame:
    out = names.copy()
    out["customers"] = customers.to_numpy(dtype="int64")
    out["scored_customers"] = scored.to_numpy(dtype="int64")
    for column in _CLTV_VALUES:
        out[column] = np.nan
    return out[list(CLTV_COLUMNS)]


def predicted_cltv_by_segment(
    db: Queryable, segment_ids: Sequence[int], *, interval: float | None = None
) -> pd.DataFrame:
    """Predicted CLTV (and expected orders) of each segment, total and per customer, with an
    interval from parameter uncertainty.

    Prediction from stored parameters, not a refit: the BG/NBD and Gamma-Gamma fits of the
    latest scores run are rebuilt with :func:`fits_from_run`, each member's (frequency,
    recency, T, monetary_value) is read from ``customer_scores``, and
    ``retention.models.cltv.predict_group_totals`` runs once per segment with every member in
    one group and the run's settings (:func:`cltv_settings`). The same seed and number of
    draws give the same parameter draws as the stored run, so a segment holding every
    customer reproduces the run's stored totals, and a segment's estimate is the sum of its
    members' stored ``predicted_cltv``. The interval of a total is the central ``interval``
    (default: the run's) of its per-draw sums; per customer = total / scored customers (the
    same draws, divided).

    One row per segment in the order given, columns :data:`CLTV_COLUMNS`: ``customers``
    (members), ``scored_customers`` (members the run has scores for), then the totals and per
    customer values. ``frame.attrs`` holds ``run_id`` (None without a run), ``interval`` and
    ``warnings`` (a tuple of plain sentences). Without a stored scores run every value is NaN
    and ``warnings`` says so; intervals are NaN when the run's covariance is not finite (the
    fit was not identified).
    """
    names = _segment_names(db, segment_ids)
    ids = names["segment_id"].tolist()
    run = latest_run(db, "scores")
    counts = _in_order(db.query(MEMBER_COUNT_SQL, {"ids": ids}), names)
    customers = counts["customers"].fillna(0).astype("int64")
    notes: list[str] = []
    if run is None:
        notes.append(
            "No model run is stored yet, so predicted CLTV is not available; fit the models "
            "(`python -m retention fit`, or refit on the Customer value page)."
        )
        out = _empty_cltv(names, customers, pd.Series(0, index=customers.index))
        out.attrs.update(run_id=None, interval=interval, warnings=tuple(notes))
        return out

    settings = cltv_settings(run.settings)
    if interval is not None:
        settings = replace(settings, interval=interval)  # validated by CltvSettings
    members = db.query(MEMBER_SCORES_SQL, {"ids": ids, "run_id": run.run_id})
    scored_rows = members.dropna(subset=["frequency", "recency", "T"])
    scored = scored_rows.groupby("segment_id").size().reindex(ids, fill_value=0)
    out = _empty_cltv(names, customers, scored.reset_index(drop=True))
    out.attrs.update(run_id=run.run_id, interval=settings.interval)
    if scores_are_stale(db, run):
        notes.append(
            f"Data were imported after model run {run.run_id}; predictions are from that run. "
            "Refit to include the new orders."
        )
    unscored = int((out["customers"] - out["scored_customers"]).sum())
    if unscored:
        notes.append(
            f"{unscored:,} member(s) have no score in model run {run.run_id} (they first "
            "ordered after its calibration end, or were imported since); their predicted CLTV "
            "is left out."
        )
    try:
        bgnbd, gamma_gamma = fits_from_run(run)
    except ValueError as error:
        out.attrs["warnings"] = (*notes, f"Predicted CLTV is not available: {error}.")
        return out
    for position, segment_id in enumerate(ids):
        rows = scored_rows[scored_rows["segment_id"] == segment_id]
        if rows.empty:
            continue
        try:
            prediction = predict_group_totals(
                bgnbd,
                gamma_gamma,
                rows["frequency"].to_numpy(dtype="float64"),
                rows["recency"].to_numpy(dtype="float64"),
                rows["T"].to_numpy(dtype="float64"),
                rows["monetary_value"].to_numpy(dtype="float64", na_value=0.0),
                settings,
                groups=np.zeros(len(rows), dtype="int64"),
            )
        except ValueError as error:
            notes.append(f"Predicted CLTV is not available: {error}.")
            break
        notes.extend(w for w in prediction.warnings if w not in notes)
        group = prediction.groups.iloc[0]
        n = float(len(rows))
        for column in _CLTV_VALUES:
            if column.startswith("predicted_cltv_per_customer"):
                source = column.replace("_per_customer", "")
                out.loc[position, column] = float(group[source]) / n
            else:
                out.loc[position, column] = float(group[column])
    out.attrs["warnings"] = tuple(notes)
    return out


# --- tests --------------------------------------------------------------------------------


@dataclass(frozen=True)
class WelchResult:
    """Welch's t-test of m₁ − m₀ (see the module docstring for the formulas)."""

    difference: float
    se: float
    statistic: float
    df: float
    p_value: float
    ci_low: float
    ci_high: float


def welch_test(
    mean1: float,
    var1: float,
    n1: int,
    mean0: float,
    var0: float,
    n0: int,
    *,
    alpha: float = 0.05,
) -> WelchResult:
    """Welch's unequal-variance t-test of mean1 − mean0 from summary statistics.

    ``var1``/``var0`` are sample variances (n − 1 in the denominator). Every field is NaN
    (the difference excepted, when both means exist) when a group has fewer than two values,
    a variance is missing, or both variances are 0. Agrees with
    ``scipy.stats.ttest_ind_from_stats(..., equal_var=False)``.
    """
    difference = float(mean1) - float(mean0)
    nan = float("nan")
    values = (var1, var0)
    if (
        n1 < 2
        or n0 < 2
        or any(v is None or not math.isfinite(float(v)) for v in values)
        or not math.isfinite(difference)
    ):
        return WelchResult(difference, nan, nan, nan, nan, nan, nan)
    a, b = float(var1) / n1, float(var0) / n0
    se = math.sqrt(a + b)
    if se == 0.0:
        return WelchResult(difference, 0.0, nan, nan, nan, nan, nan)
    statistic = difference / se
    df = (a + b) ** 2 / (a**2 / (n1 - 1) + b**2 / (n0 - 1))
    p_value = float(2.0 * stats.t.sf(abs(statistic), df))
    half = float(stats.t.ppf(1.0 - alpha / 2.0, df)) * se
    return WelchResult(difference, se, statistic, df, p_value, difference - half, difference + half)


def minimum_detectable_difference(
    repeat1: int,
    n1: int,
    repeat0: int,
    n0: int,
    *,
    alpha: float = MDD_ALPHA,
    power: float = MDD_POWER,
) -> float:
    """The smallest repeat-rate difference a two-sided test at ``alpha`` finds with ``power``:
    (z_{1−α/2} + z_{power}) · √(p̃(1 − p̃)(1/n₁ + 1/n₀)), p̃ = (c₁ + c₀ + 1)/(n₁ + n₀ + 2).
    A rough guide (normal approximation, pooled rate); NaN when a group is empty."""
    if n1 <= 0 or n0 <= 0:
        return float("nan")
    pooled = (repeat1 + repeat0 + 1) / (n1 + n0 + 2)
    z = stats.norm.ppf(1.0 - alpha / 2.0) + stats.norm.ppf(power)
    return float(z * math.sqrt(pooled * (1.0 - pooled) * (1.0 / n1 + 1.0 / n0)))


def _repeat_test(row: pd.Series, base: pd.Series, alpha: float) -> dict[str, Any]:
    c1, n1 = int(row["repeat_customers"]), int(row["customers"])
    c0, n0 = int(base["repeat_customers"]), int(base["customers"])
    result: dict[str, Any] = {
        "metric": "repeat_rate",
        "value": row["repeat_rate"],
        "baseline_value": base["repeat_rate"],
        "difference": row["repeat_rate"] - base["repeat_rate"],
        "df": np.nan,
        "method": "Agresti-Caffo test, Newcomb interval",
    }
    if n1 == 0 or n0 == 0:
        missing = dict.fromkeys(("ci_low", "ci_high", "statistic", "p_value"), np.nan)
        return {**result, **missing}
    with python_warnings.catch_warnings():
        python_warnings.simplefilter("ignore", RuntimeWarning)
        test = test_proportions_2indep(
            c1, n1, c0, n0, method=REPEAT_TEST_METHOD, compare="diff", alternative="two-sided"
        )
        low, high = confint_proportions_2indep(
            c1, n1, c0, n0, method=REPEAT_INTERVAL_METHOD, compare="diff", alpha=alpha
        )
    return {
        **result,
        "ci_low": float(low),
        "ci_high": float(high),
        "statistic": float(test.statistic),
        "p_value": float(test.pvalue),
    }


def _aov_test(row: pd.Series, base: pd.Series, alpha: float) -> dict[str, Any]:
    welch = welch_test(
        row["aov"],
        row["order_value_variance"],
        int(row["orders"]),
        base["aov"],
        base["order_value_variance"],
        int(base["orders"]),
        alpha=alpha,
    )
    return {
        "metric": "aov",
        "value": row["aov"],
        "baseline_value": base["aov"],
        "difference": welch.difference,
        "ci_low": welch.ci_low,
        "ci_high": welch.ci_high,
        "statistic": welch.statistic,
        "df": welch.df,
        "p_value": welch.p_value,
        "method": "Welch t-test on order values",
    }


# --- overlap ------------------------------------------------------------------------------

OVERLAP_SQL = """
WITH members AS (
    SELECT m.segment_id, m.customer_id
    FROM segment_members AS m
    SEMI JOIN customer_summary AS c ON c.customer_id = m.customer_id
    WHERE list_contains($ids, m.segment_id)
)
SELECT a.segment_id AS segment_a, b.segment_id AS segment_b, count(*) AS shared_customers
FROM members AS a
JOIN members AS b ON a.customer_id = b.customer_id AND a.segment_id < b.segment_id
GROUP BY ALL
ORDER BY segment_a, segment_b
"""


def segment_overlap(db: Queryable, segment_ids: Sequence[int]) -> pd.DataFrame:
    """Customers shared by each pair of segments (pairs in the order given).

    Columns :data:`OVERLAP_COLUMNS`: ``shared_customers`` and the share of each segment they
    make up (NaN for an empty segment). Pairs sharing nobody have a row with 0."""
    names = _segment_names(db, segment_ids)
    ids = names["segment_id"].tolist()
    shared = db.query(OVERLAP_SQL, {"ids": ids})
    lookup = {
        (int(a), int(b)): int(n)
        for a, b, n in shared[["segment_a", "segment_b", "shared_customers"]].itertuples(
            index=False
        )
    }
    sizes = _in_order(db.query(MEMBER_COUNT_SQL, {"ids": ids}), names)
    size = dict(zip(ids, sizes["customers"].fillna(0).astype("int64"), strict=True))
    name = dict(zip(ids, names["name"], strict=True))
    rows = []
    for i, a in enumerate(ids):
        for b in ids[i + 1 :]:
            n = lookup.get((min(a, b), max(a, b)), 0)
            rows.append(
                {
                    "segment_a": a,
                    "name_a": name[a],
                    "segment_b": b,
                    "name_b": name[b],
                    "shared_customers": n,
                    "share_of_a": n / size[a] if size[a] else np.nan,
                    "share_of_b": n / size[b] if size[b] else np.nan,
                }
            )
    out = pd.DataFrame(rows, columns=list(OVERLAP_COLUMNS))
    return out.astype({"segment_a": "int64", "segment_b": "int64", "shared_customers": "int64"})


# --- the comparison -----------------------------------------------------------------------


@dataclass(frozen=True)
class Comparison:
    """Segments side by side, each tested against the baseline.

    - ``stats``: :func:`segment_stats` of the segments, in the order given.
    - ``tests``: one row per (other segment, metric) with metric ``repeat_rate`` or ``aov``;
      columns :data:`TEST_COLUMNS` (``difference`` = segment − baseline, its interval at
      1 − ``alpha``, ``df`` for Welch only, ``p_value``, ``p_value_holm`` over all the rows,
      ``significant`` = ``p_value_holm < alpha``).
    - ``overlap``: :func:`segment_overlap` of the segments.
    - ``warnings``: plain sentences: empty segments, groups too small to tell a difference,
      heavy overlap.
    """

    segment_ids: tuple[int, ...]
    baseline: int
    alpha: float
    stats: pd.DataFrame
    tests: pd.DataFrame
    overlap: pd.DataFrame
    warnings: tuple[str, ...]


def _points(difference: float) -> str:
    points = 100.0 * difference
    return f"{points:.0f}" if points >= 1.5 else f"{points:.1f}"


def _size_warnings(
    stats_frame: pd.DataFrame, baseline: int, detectable_difference: float
) -> list[str]:
    """One sentence per segment too small to tell a repeat-rate difference (largest D)."""
    rows = stats_frame.set_index("segment_id")
    base = rows.loc[baseline]
    worst: dict[int, float] = {}
    for segment_id, row in rows.iterrows():
        if segment_id == baseline or row["customers"] == 0 or base["customers"] == 0:
            continue
        d = minimum_detectable_difference(
            int(row["repeat_customers"]),
            int(row["customers"]),
            int(base["repeat_customers"]),
            int(base["customers"]),
        )
        if d > detectable_difference:
            smaller = segment_id if row["customers"] <= base["customers"] else baseline
            worst[smaller] = max(worst.get(smaller, 0.0), d)
    return [
        f'Segment "{rows.loc[s, "name"]}" has only {int(rows.loc[s, "customers"]):,} '
        f"customers: too few to tell a difference in repeat rate of less than about "
        f"{_points(d)} percentage points."
        for s, d in sorted(worst.items(), key=lambda item: list(rows.index).index(item[0]))
    ]


def _overlap_warnings(overlap: pd.DataFrame) -> list[str]:
    out = []
    for row in overlap.itertuples(index=False):
        shares = [(row.share_of_a, row.name_a), (row.share_of_b, row.name_b)]
        shares = [(s, n) for s, n in shares if not pd.isna(s)]
        if not shares:
            continue
        share, smaller = max(shares)
        if share < OVERLAP_WARNING_SHARE:
            continue
        other = row.name_b if smaller == row.name_a else row.name_a
        if share >= 1.0:
            shared = f'Every customer of "{smaller}" is also in "{other}"'
        else:
            shared = (
                f'Segments "{row.name_a}" and "{row.name_b}" share '
                f'{row.shared_customers:,} customers ({share:.0%} of "{smaller}")'
            )
        out.append(
            f"{shared}. Shared customers count in both, which pulls the two sets of numbers "
            "together, and the tests assume separate groups, so for this pair they are too "
            "cautious; for a clean test, compare with a segment that leaves the shared "
            "customers out."
        )
    return out


def compare(
    db: Queryable,
    segment_ids: Sequence[int],
    *,
    baseline: int | None = None,
    alpha: float = 0.05,
    detectable_difference: float = DETECTABLE_DIFFERENCE,
) -> Comparison:
    """Compare 2 to 4 segments: their stats, and each one tested against the baseline.

    ``baseline`` (default: the first of ``segment_ids``) must be one of them. Repeat rate is
    tested with the Agresti-Caffo test and a Newcomb interval, AOV with Welch's t-test on the
    order values; p-values are also Holm-adjusted over the comparison's tests. Warnings name
    empty segments, segments too small to tell a repeat-rate difference below
    ``detectable_difference`` (at 80 % power, 5 % two-sided) and heavily overlapping pairs.
    Formulas and references are in the module docstring.
    """
    ids = list(segment_ids)
    if not MIN_SEGMENTS <= len(ids) <= MAX_SEGMENTS:
        raise ValueError(
            f"compare {MIN_SEGMENTS} to {MAX_SEGMENTS} segments at a time, got {len(ids)}"
        )
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must be strictly between 0 and 1, got {alpha!r}")
    if not 0.0 < detectable_difference < 1.0:
        raise ValueError(
            f"detectable_difference must be a share between 0 and 1, got {detectable_difference!r}"
        )
    stats_frame = segment_stats(db, ids)
    ids = stats_frame["segment_id"].astype("int64").tolist()
    if baseline is None:
        baseline = ids[0]
    elif baseline not in ids:
        raise ValueError(f"the baseline must be one of the compared segments {ids}, got {baseline}")
    baseline = int(baseline)
    by_id = stats_frame.set_index("segment_id", drop=False)
    base = by_id.loc[baseline]

    rows: list[dict[str, Any]] = []
    for segment_id in ids:
        if segment_id == baseline:
            continue
        row = by_id.loc[segment_id]
        identity = {
            "segment_id": segment_id,
            "name": row["name"],
            "baseline_id": baseline,
            "baseline_name": base["name"],
        }
        rows.append({**identity, **_repeat_test(row, base, alpha)})
        rows.append({**identity, **_aov_test(row, base, alpha)})
    tests = pd.DataFrame(rows)
    p_values = tests["p_value"].to_numpy(dtype="float64")
    adjusted = np.full_like(p_values, np.nan)
    finite = np.isfinite(p_values)
    if finite.any():
        adjusted[finite] = multipletests(p_values[finite], method="holm")[1]
    tests["p_value_holm"] = adjusted
    tests["significant"] = adjusted < alpha
    for column in ("segment_id", "baseline_id"):
        tests[column] = tests[column].astype("int64")
    tests = tests[list(TEST_COLUMNS)]

    notes: list[str] = []
    for row in stats_frame.itertuples(index=False):
        if row.customers == 0:
            notes.append(
                f'Segment "{row.name}" has no customers (its rules match nobody now), so '
                "there is nothing to compare it with."
            )
        elif row.orders < 2:
            notes.append(
                f'Segment "{row.name}" has fewer than two orders, so its average order value '
                "cannot be tested."
            )
    notes.extend(_size_warnings(stats_frame, baseline, detectable_difference))
    overlap = segment_overlap(db, ids)
    notes.extend(_overlap_warnings(overlap))
    return Comparison(
        segment_ids=tuple(ids),
        baseline=baseline,
        alpha=alpha,
        stats=stats_frame,
        tests=tests.reset_index(drop=True),
        overlap=overlap,
        warnings=tuple(notes),
    )
