"""Model quality: fit on a calibration period, compare with what customers did afterwards."""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
import streamlit as st

from retention.charts import models as charts
from retention.models.churn_risk import SCORERS
from retention.models.holdout import default_calibration_end
from retention.models.runs import NoOrdersError, data_range
from retention.models.settings import load_settings
from ui import format as fmt
from ui.access import can_edit, editor_only_note
from ui.components import Kpi, empty_state, kpi_row
from ui.context import page_context, stop_page
from ui.links import Param, link_widgets
from ui.models_view import cached_runs, run_check_with_progress
from ui.nav import data_page

CALIBRATION_KEY = "quality.calibration_end"
RUN_KEY = "quality.run"
PARAMETER_MEANINGS = {
    "r": "Purchase rates across customers: Gamma shape (mean rate r / alpha)",
    "alpha": "Purchase rates across customers: Gamma rate, per model time unit",
    "a": "Chance to drop out after a purchase: Beta a (mean a / (a + b))",
    "b": "Chance to drop out after a purchase: Beta b",
    "p": "Spend of one order around the customer's mean: Gamma shape",
    "q": "Mean spend across customers: Gamma shape (shop mean p · gamma / (q − 1))",
    "gamma": "Mean spend across customers: Gamma scale",
}

ctx = page_context()
st.title("Model quality")
st.caption(
    "Can you trust the predictions? The models are fitted on the orders up to a calibration "
    "end and asked to predict the days after it, which they did not see; here their "
    "predictions meet what customers actually did. Purchases are purchase days: several "
    "orders of one customer on one day count once, as in the model. The check covers every "
    "customer: the sidebar filters do not apply on this page."
)

try:
    first_day, last_day = data_range(ctx.store)
except NoOrdersError as error:
    empty_state(str(error))
    st.page_link(data_page(), label="Go to Data", icon=":material/upload:")
    stop_page()

link_widgets(
    Param("run", RUN_KEY, "int"),
    Param(
        "calibration_end",
        CALIBRATION_KEY,
        "date",
        check=lambda d: first_day <= d <= last_day - timedelta(days=1),
    ),
)
runs = cached_runs(ctx.store, ctx.db, ctx.data_version, "holdout")
default_end = runs[0].calibration_end if runs else default_calibration_end(first_day, last_day)
st.session_state.setdefault(CALIBRATION_KEY, default_end)

submitted = False
calibration_end = st.session_state[CALIBRATION_KEY]
if not can_edit():
    editor_only_note("run the check (it stores a new model run)")
else:
    with st.form("quality.form", border=True):
        left, right = st.columns([2, 1], vertical_alignment="bottom")
        calibration_end = left.date_input(
            "Calibration end",
            min_value=first_day,
            max_value=last_day - timedelta(days=1),
            key=CALIBRATION_KEY,
            help="The models see orders up to and including this day, and predict the rest. "
            "Default: three quarters of the way through your history "
            f"({first_day:%d %b %Y} to {last_day:%d %b %Y}).",
        )
        submitted = right.form_submit_button("Run the check", type="primary", width="stretch")
if submitted:
    run = run_check_with_progress(ctx.store, calibration_end, load_settings(ctx.store))
    if run is not None:
        st.session_state[RUN_KEY] = run.run_id
        st.rerun()

if not runs:
    empty_state(
        "No check has run on this data yet. Pick a calibration end and press **Run the check** "
        "(it takes a few seconds)."
    )
    stop_page()

by_id = {r.run_id: r for r in runs}
if st.session_state.get(RUN_KEY) not in by_id:
    st.session_state[RUN_KEY] = runs[0].run_id


def show_chosen_end() -> None:
    """The form's date follows the check chosen, so the two never disagree on screen."""
    st.session_state[CALIBRATION_KEY] = by_id[st.session_state[RUN_KEY]].calibration_end


if len(runs) > 1:
    st.selectbox(
        "Check to show",
        list(by_id),
        key=RUN_KEY,
        on_change=show_chosen_end,
        format_func=lambda i: (
            f"Calibration end {by_id[i].calibration_end:%d %b %Y} "
            f"(run {i}, {by_id[i].created_at:%d %b %Y %H:%M} UTC)"
        ),
    )
chosen = st.session_state[RUN_KEY]
run = by_id[chosen]
summary = run.summary
totals = summary.get("totals", {})

st.subheader("Verdict")
verdict = summary.get("verdict", [])
if verdict:
    st.info("\n\n".join(verdict), icon=":material/fact_check:")
for warning in run.warnings:
    st.warning(warning, icon=":material/warning:")
for note in run.summary.get("notes", []):
    st.caption(f"Note: {note}")

error = totals.get("purchases_error_pct")
revenue_error = totals.get("revenue_error_pct")
kpi_row(
    [
        Kpi(
            "Predicted purchases",
            fmt.count(round(totals.get("predicted_purchases", 0))),
            "Sum over the customers known at the calibration end of the expected purchases "
            "in the holdout, E[Y(t) | x, t_x, T] (Fader, Hardie & Lee 2005, eq. 10).",
        ),
        Kpi(
            "Actual purchases",
            fmt.count(round(totals.get("actual_purchases", 0))),
            "Purchase days of the same customers in the holdout, after the calibration end.",
        ),
        Kpi(
            "Error in total purchases",
            "–" if error is None else f"{error:+.1f}%",
            "(predicted − actual) / actual. Negative: the model expected fewer purchases "
            "than customers made.",
        ),
        Kpi(
            "Error in revenue",
            "–" if revenue_error is None else f"{revenue_error:+.1f}%",
            "Predicted holdout revenue (expected purchases × the spend model's expected value "
            "per purchase) against actual revenue of the same customers.",
        ),
    ]
)
first = pd.Timestamp(summary["first_day"]) if summary.get("first_day") else None
st.caption(
    f"Calibration: {first:%d %b %Y} to {run.calibration_end:%d %b %Y}; holdout: the "
    f"{int(totals.get('holdout_days', 0))} days to {run.holdout_end:%d %b %Y}; "
    f"{summary.get('customers', 0):,} customers known at the calibration end."
)

st.subheader(
    "Repeat purchases over time",
    help="Cumulative repeat purchases of the customers known at the calibration end. "
    "Predicted: Σ over first-purchase days b of n_b · E[X(t − b)], the model's expectation "
    "for a customer b days old (FHL 2005, eq. 9). Left of the line the model saw the data; "
    "right of it, it did not.",
)
tracking = pd.DataFrame(summary.get("tracking", []))
if tracking.empty:
    empty_state("No tracking data in this run.")
else:
    st.plotly_chart(
        charts.tracking_figure(tracking, run.calibration_end),
        width="stretch",
        key="quality.tracking",
    )

st.subheader(
    "Predicted vs actual, by orders in the calibration period",
    help="Customers grouped by their orders (purchase days) up to the calibration end, one "
    "order meaning no repeat purchase: the mean number of holdout purchases the model "
    "expected for each, against the mean they made (FHL 2005, Figure 3). Groups with few "
    "customers are noisy.",
)
by_frequency = pd.DataFrame(summary.get("by_frequency", []))
if not by_frequency.empty:
    st.plotly_chart(
        charts.by_frequency_figure(by_frequency), width="stretch", key="quality.by_frequency"
    )
    with st.expander("Table"):
        orders = [
            f"{int(b) + 1}{'+' if str(label).endswith('+') else ''}"
            for b, label in zip(by_frequency["bucket"], by_frequency["label"], strict=True)
        ]
        st.dataframe(
            by_frequency.drop(columns=["bucket"]).assign(label=orders),
            hide_index=True,
            column_config={
                "label": st.column_config.TextColumn("Orders in the calibration period"),
                "customers": st.column_config.NumberColumn("Customers", format="%d"),
                "predicted": st.column_config.NumberColumn("Predicted per customer", format="%.3f"),
                "actual": st.column_config.NumberColumn("Actual per customer", format="%.3f"),
            },
        )

st.subheader(
    "Churn risk: does the score rank and calibrate well?",
    help="The churn-risk model is trained on an earlier window and tested on customers as of "
    "the calibration end: the label is no order in the next N days. ROC AUC: the chance that "
    "a random customer who churned got a higher score than one who did not (0.5 = guessing).",
)
churn = run.churn_risk
if not churn:
    empty_state(
        "The churn-risk model was not evaluated for this calibration end (see the warnings "
        "above); choose an earlier calibration end so that enough days follow it."
    )
else:
    m = churn.get("metrics", {})

    def auc(key: str) -> str:
        value = m.get(key)
        return "–" if value is None else f"{value:.3f}"

    kpi_row(
        [
            Kpi("ROC AUC, churn model", auc("auc_model"), SCORERS["gradient_boosting"]),
            Kpi(
                "ROC AUC, recency",
                auc("auc_recency"),
                SCORERS["recency"] + ": the baseline every score should beat.",
            ),
            Kpi(
                "ROC AUC, BG/NBD no order",
                auc("auc_bgnbd_no_order"),
                SCORERS["bgnbd_no_order"] + ": 1 − P(alive) · (1 − ((α+T)/(α+T+N))^(r+x)), "
                "the purchase model's own probability of the label.",
            ),
            Kpi(
                "ROC AUC, 1 − P(alive)",
                auc("auc_p_alive"),
                SCORERS["p_alive"] + ". P(alive) is 1 for every one-order customer, so this "
                "baseline ranks them as safest; it answers a different question (has the "
                "customer left for good?) than the label.",
            ),
        ]
    )
    cutoff = m.get("test_cutoff")
    cutoff_text = f"{pd.Timestamp(cutoff):%d %b %Y}" if cutoff else "the test cutoff"
    st.caption(
        f"Tested on {m.get('n_test', 0):,} customers as of {cutoff_text}: "
        f"{fmt.share(m.get('base_rate'))} of them placed no order in the "
        f"{m.get('horizon_days')} days after it (the churn label). ROC AUC 0.5 is guessing, "
        "1.0 a perfect ranking."
    )
    left, right = st.columns(2)
    calibration = pd.DataFrame(churn.get("calibration", []))
    with left:
        st.markdown("**Calibration** (10 bins of equal size)")
        if not calibration.empty:
            names = {k: v for k, v in SCORERS.items() if k != "recency"}
            st.plotly_chart(
                charts.calibration_figure(calibration, names),
                width="stretch",
                key="quality.calibration",
            )
            st.caption(
                "A well-calibrated score lies on the diagonal: of the customers given 30%, "
                "30% churn. 1 − P(alive) is not the same quantity as no order in N days: "
                "customers who are still alive may not order either, so its points lie above "
                "the line (more churn than it says). The BG/NBD probability of no order in "
                "the horizon is that quantity, and should follow the line."
            )
    drivers = pd.DataFrame(churn.get("drivers", []))
    with right:
        st.markdown("**What drives the churn score** (permutation importance)")
        if not drivers.empty:
            st.plotly_chart(charts.drivers_figure(drivers), width="stretch",
                            key="quality.drivers")  # fmt: skip
            st.caption(
                "How much the test ROC AUC drops when one feature's values are shuffled "
                "across customers (bars: mean of repeats; whiskers: their standard deviation)."
            )

st.subheader("Fitted parameters")
rows = []
for model, record in (("BG/NBD (purchases)", run.bgnbd), ("Gamma-Gamma (spend)", run.gamma_gamma)):
    if not record:
        continue
    for name, value in record.get("params", {}).items():
        rows.append(
            {
                "model": model,
                "parameter": name,
                "meaning": PARAMETER_MEANINGS.get(name, ""),
                "estimate": value,
            }
        )
st.dataframe(
    pd.DataFrame(rows),
    hide_index=True,
    column_config={
        "model": st.column_config.TextColumn("Model"),
        "parameter": st.column_config.TextColumn("Parameter"),
        "meaning": st.column_config.TextColumn("What it describes", width="large"),
        "estimate": st.column_config.NumberColumn("Estimate", format="%.4g"),
    },
)
st.caption(
    f"BG/NBD log-likelihood {run.bgnbd.get('log_likelihood', float('nan')):,.1f} on "
    f"{int(run.bgnbd.get('customers', 0)):,} customers; alpha is per {run.settings.unit}. "
    f"Fitted by maximum likelihood in {run.seconds:.1f} s for the whole check."
)
