"""Kaplan–Meier survival curves and the log-rank test on aggregated (weighted) counts.

Input everywhere is a small *count table*, never one row per customer: columns ``group``,
``duration`` (whole days), ``events`` (how many observations ended with the event at that
duration) and ``censored`` (how many were still waiting at that duration). The database
aggregates to this shape (see ``retention.metrics.churn``), a few thousand rows at most.

- Kaplan–Meier: S(t) = Π_{t_i ≤ t} (1 − d_i / n_i), with n_i the number at risk just before
  t_i (duration ≥ t_i: a censored observation is at risk at its own time) and d_i the events
  at t_i. Estimated with statsmodels' ``SurvfuncRight(time, status, freq_weights=...)``.
- Standard error: Greenwood, Var S(t) = S(t)² Σ d_i / (n_i (n_i − d_i)). We compute it from
  the weighted n_i and d_i ourselves: with ``freq_weights`` statsmodels switches to Tsiatis'
  formula, which is not the Greenwood error the unweighted (expanded) data would give.
- Pointwise 95% band: log-log transformed, S^exp(±z·se/(S·|log S|)) (Kalbfleisch & Prentice);
  it stays inside [0, 1].
- Log-rank (Mantel–Haenszel): at each event time, the expected events of group g are
  E_g = d · n_g / n, with hypergeometric covariance V_gh = d (n − d)/(n − 1) · (n_g/n)
  (δ_gh − n_h/n); χ² = (O − E)ᵀ V⁻¹ (O − E) over all groups but the first, with k − 1 df.

References: Kaplan & Meier (1958), JASA 53:457–481; Greenwood (1926), Reports on Public
Health and Medical Subjects 33; Mantel (1966), Cancer Chemotherapy Reports 50:163–170;
Kalbfleisch & Prentice (2002), The Statistical Analysis of Failure Time Data, §1.3.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.duration.survfunc import SurvfuncRight

__all__ = [
    "COUNT_COLUMNS",
    "CURVE_COLUMNS",
    "LogRank",
    "kaplan_meier",
    "kaplan_meier_by_group",
    "greenwood_se",
    "loglog_band",
    "logrank",
    "p_value_text",
]

COUNT_COLUMNS: tuple[str, ...] = ("group", "duration", "events", "censored")
CURVE_COLUMNS: tuple[str, ...] = (
    "group",
    "days",
    "at_risk",
    "events",
    "censored",
    "survival",
    "ci_lower",
    "ci_upper",
)


def _check(counts: pd.DataFrame) -> None:
    missing = [c for c in COUNT_COLUMNS if c not in counts.columns]
    if missing:
        raise ValueError(
            f"count table lacks column(s) {', '.join(missing)}; expected {', '.join(COUNT_COLUMNS)}"
        )
    if (counts["duration"] < 0).any():
        raise ValueError("durations must be 0 or more days")
    if (counts["events"] < 0).any() or (counts["censored"] < 0).any():
        raise ValueError("event and censored counts must be 0 or more")


def _by_time(counts: pd.DataFrame) -> pd.DataFrame:
    """One row per distinct duration: events, censored and the number at risk (duration ≥ t)."""
    t = (
        counts.groupby("duration", sort=True)[["events", "censored"]]
        .sum()
        .astype("float64")
        .reset_index()
    )
    leaving = (t["events"] + t["censored"]).to_numpy()
    t["at_risk"] = np.cumsum(leaving[::-1])[::-1]
    return t


def greenwood_se(survival: np.ndarray, at_risk: np.ndarray, events: np.ndarray) -> np.ndarray:
    """Greenwood: se S(t) = S(t) √Σ_{t_i ≤ t} d_i / (n_i (n_i − d_i)); NaN once n_i = d_i."""
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(events > 0, events / (at_risk * (at_risk - events)), 0.0)
        return survival * np.sqrt(np.cumsum(terms))


def loglog_band(
    survival: np.ndarray, se: np.ndarray, level: float = 0.95
) -> tuple[np.ndarray, np.ndarray]:
    """Pointwise band on log(−log S): S^exp(±z·se / (S |log S|)). S = 1 gives (1, 1); where
    the variance is undefined (S = 0, or everyone left had the event) the band is NaN."""
    z = stats.norm.ppf(0.5 + level / 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        theta_se = se / (survival * np.abs(np.log(survival)))
        lower = survival ** np.exp(z * theta_se)
        upper = survival ** np.exp(-z * theta_se)
    one = survival >= 1.0
    lower = np.where(one, 1.0, lower)
    upper = np.where(one, 1.0, upper)
    return lower, upper


def kaplan_meier(counts: pd.DataFrame, level: float = 0.95) -> pd.DataFrame:
    """The KM curve of one group's count table, one row per distinct duration.

    Columns: days, at_risk, events, censored, survival (after the events at ``days``),
    ci_lower, ci_upper. Empty in, empty out.
    """
    _check(counts)
    counts = counts[(counts["events"] + counts["censored"]) > 0]
    cols = [c for c in CURVE_COLUMNS if c != "group"]
    if counts.empty:
        return pd.DataFrame({c: pd.Series(dtype="float64") for c in cols})
    table = _by_time(counts)
    survival = np.ones(len(table))
    if table["events"].sum() > 0:
        time = np.concatenate([counts["duration"], counts["duration"]]).astype("float64")
        status = np.concatenate([np.ones(len(counts)), np.zeros(len(counts))])
        weights = np.concatenate([counts["events"], counts["censored"]]).astype("float64")
        keep = weights > 0
        fit = SurvfuncRight(time[keep], status[keep], freq_weights=weights[keep])
        # The step function at every distinct duration: S at the last event time ≤ t.
        pos = np.searchsorted(fit.surv_times, table["duration"].to_numpy(), side="right") - 1
        survival = np.where(pos >= 0, fit.surv_prob[np.clip(pos, 0, None)], 1.0)
    se = greenwood_se(survival, table["at_risk"].to_numpy(), table["events"].to_numpy())
    lower, upper = loglog_band(survival, se, level)
    return pd.DataFrame(
        {
            "days": table["duration"].astype("int64"),
            "at_risk": table["at_risk"].astype("int64"),
            "events": table["events"].astype("int64"),
            "censored": table["censored"].astype("int64"),
            "survival": survival,
            "ci_lower": lower,
            "ci_upper": upper,
        }
    )


def kaplan_meier_by_group(counts: pd.DataFrame, level: float = 0.95) -> pd.DataFrame:
    """:func:`kaplan_meier` per group, stacked; columns :data:`CURVE_COLUMNS`, ordered by
    group then days."""
    _check(counts)
    parts = []
    for group, part in counts.groupby("group", sort=True):
        curve = kaplan_meier(part, level)
        curve.insert(0, "group", group)
        parts.append(curve)
    if not parts:
        return pd.DataFrame({c: pd.Series(dtype="float64") for c in CURVE_COLUMNS})
    return pd.concat(parts, ignore_index=True)[list(CURVE_COLUMNS)]


@dataclass(frozen=True)
class LogRank:
    """The log-rank test across ``groups``: χ² with ``df`` = k − 1 degrees of freedom."""

    chisq: float
    df: int
    p_value: float
    groups: tuple[str, ...]
    observed: tuple[float, ...]
    expected: tuple[float, ...]


def logrank(counts: pd.DataFrame) -> LogRank | None:
    """Mantel's log-rank test on a weighted count table; None with fewer than two groups or
    no events. Agrees with ``statsmodels.duration.survfunc.survdiff`` on the expanded data."""
    _check(counts)
    counts = counts[(counts["events"] + counts["censored"]) > 0]
    groups = tuple(sorted(str(g) for g in counts["group"].unique()))
    if len(groups) < 2 or counts["events"].sum() == 0:
        return None
    times = np.sort(counts["duration"].unique())
    k, m = len(groups), len(times)
    n_risk = np.zeros((k, m))
    d = np.zeros((k, m))
    for j, g in enumerate(groups):
        part = counts[counts["group"].astype(str) == g]
        t = _by_time(part)
        idx = np.searchsorted(times, t["duration"].to_numpy())
        d[j, idx] = t["events"].to_numpy()
        # at risk at every common time: all of the group's observations with duration ≥ t
        leaving = np.zeros(m)
        leaving[idx] = (t["events"] + t["censored"]).to_numpy()
        n_risk[j] = np.cumsum(leaving[::-1])[::-1]
    n_tot, d_tot = n_risk.sum(axis=0), d.sum(axis=0)
    live = (d_tot > 0) & (n_tot > 0)
    n_risk, d, n_tot, d_tot = n_risk[:, live], d[:, live], n_tot[live], d_tot[live]
    share = n_risk / n_tot
    expected = (share * d_tot).sum(axis=1)
    observed = d.sum(axis=1)
    scale = d_tot * (n_tot - d_tot) / np.clip(n_tot - 1, 1e-10, None)
    var = np.einsum("t,gt,ht->gh", scale, share, -share)
    var[np.diag_indices(k)] += (scale * share).sum(axis=1)
    oe = (observed - expected)[1:]
    v = var[1:, 1:]
    chisq = float(oe @ np.linalg.lstsq(v, oe, rcond=None)[0])
    df = k - 1
    return LogRank(
        chisq=chisq,
        df=df,
        p_value=float(stats.chi2.sf(chisq, df)),
        groups=groups,
        observed=tuple(float(x) for x in observed),
        expected=tuple(float(x) for x in expected),
    )


def p_value_text(p: float) -> str:
    """'p < 0.001' below a thousandth, else 'p = 0.034' (three decimals)."""
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"
