"""Export: target lists for a saved segment with a random holdout, and the lift of past exports."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
import streamlit as st

from retention.lift import export_lift
from retention.segments.saved import SegmentError
from retention.targets import (
    DEFAULT_COLUMNS,
    TARGET_COLUMNS,
    TargetError,
    build_target_list,
    default_file_name,
    list_exports,
    record_export,
    write_target_file,
)
from ui import cache
from ui import format as fmt
from ui.components import Kpi, empty_state, kpi_row
from ui.context import page_context, stop_page
from ui.links import Param, link_widgets
from ui.nav import data_page

SEGMENT_KEY = "export.segment"
COLUMNS_KEY = "export.columns"
FORMAT_KEY = "export.format"
DELIMITER_KEY = "export.delimiter"
BOM_KEY = "export.bom"
ALL_KEY = "export.all_customers"
HOLDOUT_KEY = "export.holdout_pct"
SEED_KEY = "export.seed"
READY_KEY = "export.ready"  # (file name, bytes, mime, export id) of the prepared file
LIFT_KEY = "export.lift_export"

MIME = {
    "csv": "text/csv",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "parquet": "application/vnd.apache.parquet",
}

FORMATS = ("csv", "xlsx", "parquet")
FORM_DEFAULTS = {
    FORMAT_KEY: "csv",
    COLUMNS_KEY: list(DEFAULT_COLUMNS),
    HOLDOUT_KEY: 10.0,
    SEED_KEY: 0,
    BOM_KEY: True,
    ALL_KEY: False,
}

ctx = page_context()
st.title("Export")
st.caption(
    "Download the customers of a saved segment for an email or ads tool. A random holdout "
    "group is kept out of the campaign, so that comparing its later orders with those of the "
    "contacted customers shows what the campaign really added (the lift, below)."
)

counts = cache.headline_counts(ctx.store, ctx.db, ctx.data_version, ctx.filters)
if counts.customers == 0 and counts.orders == 0:
    empty_state("There are no orders yet. Import orders on the Data page first.")
    st.page_link(data_page(), label="Go to Data", icon=":material/upload:")
    stop_page()

segments = cache.segment_sizes(ctx.store, ctx.db, ctx.data_version)
st.subheader("Target list")
if not segments:
    empty_state(
        "No segment is saved yet. Build one on the **Segments** page (for example the RFM "
        "segment *At Risk*) and save it; it can then be exported here."
    )
else:
    link_widgets(
        Param("segment_name", SEGMENT_KEY, choices=list(segments)),
        Param("format", FORMAT_KEY, choices=FORMATS),
        Param("columns", COLUMNS_KEY, "list", choices=list(TARGET_COLUMNS)),
        Param("holdout_pct", HOLDOUT_KEY, "float", low=0.0, high=50.0),
        Param("seed", SEED_KEY, "int", low=0, high=2**31 - 1),
        Param("delimiter", DELIMITER_KEY, choices=(",", ";")),
        Param("bom", BOM_KEY, "bool"),
        Param("everyone", ALL_KEY, "bool"),
    )
    for key, default in FORM_DEFAULTS.items():
        st.session_state.setdefault(key, default)
    with st.form("export.form"):
        left, right = st.columns(2)
        segment = left.selectbox(
            "Segment",
            list(segments),
            key=SEGMENT_KEY,
            format_func=lambda n: f"{n} ({segments[n]:,} customers)",
        )
        file_format = right.segmented_control(
            "Format",
            list(FORMATS),
            key=FORMAT_KEY,
            format_func={"csv": "CSV", "xlsx": "Excel", "parquet": "Parquet"}.get,
        )
        columns = st.multiselect(
            "Columns",
            list(TARGET_COLUMNS),
            key=COLUMNS_KEY,
            format_func=lambda c: TARGET_COLUMNS[c].label,
            help="The group column (target or holdout) is always included.",
        )
        a, b, c, d = st.columns(4)
        holdout_pct = a.number_input(
            "Holdout, % of customers",
            min_value=0.0,
            max_value=50.0,
            step=1.0,
            key=HOLDOUT_KEY,
            help="Customers drawn at random (by a keyed hash of the seed and the customer id) "
            "and flagged holdout: do not contact them. The same seed always draws the same "
            "customers.",
        )
        seed = b.number_input("Seed", min_value=0, max_value=2**31 - 1, key=SEED_KEY)
        delimiter = c.selectbox(
            "CSV delimiter",
            [",", ";"],
            key=DELIMITER_KEY,
            help="Semicolon for spreadsheets set to a comma decimal mark.",
        )
        bom = d.checkbox(
            "UTF-8 with BOM (Excel)",
            key=BOM_KEY,
            help="Excel reads accents correctly only with the byte-order mark.",
        )
        everyone = st.checkbox(
            "Include customers who have not accepted marketing",
            key=ALL_KEY,
            help="Off by default: only customers who consented to marketing are exported.",
        )
        submitted = st.form_submit_button("Prepare the file", type="primary")
    if everyone:
        st.warning(
            "The list will include customers who have not consented to marketing. Use it only "
            "for purposes that do not need consent.",
            icon=":material/gpp_maybe:",
        )
    if submitted:
        try:
            target_list = build_target_list(
                ctx.store,
                segment,
                columns or DEFAULT_COLUMNS,
                marketing_only=not everyone,
                holdout_pct=float(holdout_pct),
                seed=int(seed),
            )
            if target_list.customers == 0:
                raise TargetError(
                    "No customer of this segment can be exported"
                    + (
                        f": all {target_list.excluded_no_consent:,} have not accepted "
                        "marketing. Tick the box above only if consent is not needed."
                        if target_list.excluded_no_consent
                        else "; the segment is empty."
                    )
                )
            fmt_name = file_format or "csv"
            data = write_target_file(target_list.frame, fmt_name, delimiter=delimiter, bom=bom)
            export_id = record_export(
                ctx.store, target_list, columns=tuple(target_list.frame.columns),
                file_format=fmt_name,
            )  # fmt: skip
            name = default_file_name(segment, fmt_name, datetime.now(UTC).date())
            st.session_state[READY_KEY] = (name, data, MIME[fmt_name], export_id, target_list)
        except (TargetError, SegmentError, ValueError) as error:
            st.error(str(error), icon=":material/error:")
    ready = st.session_state.get(READY_KEY)
    if ready:
        name, data, mime, export_id, target_list = ready
        kpi_row(
            [
                Kpi("Customers in the file", fmt.count(target_list.customers),
                    "Members of the segment who are exported (both groups)."),
                Kpi("To contact (target)", fmt.count(target_list.target),
                    "Rows with group = target."),
                Kpi("Held out", fmt.count(target_list.holdout),
                    "Rows with group = holdout: leave them out of the campaign."),
                Kpi("Left out: no consent", fmt.count(target_list.excluded_no_consent),
                    "Members who have not accepted marketing."),
            ]
        )  # fmt: skip
        st.download_button(
            f"Download {name}",
            data=data,
            file_name=name,
            mime=mime,
            type="primary",
            icon=":material/download:",
            key="export.download",
        )
        st.caption(
            f"Recorded as export {export_id}: {target_list.rules_text}. Cells that a "
            "spreadsheet would run as a formula (starting with =, +, -, @) start with an "
            "apostrophe."
        )
        with st.expander("First rows of the file"):
            st.dataframe(target_list.frame.head(20), hide_index=True)

st.subheader(
    "Past exports and their lift",
    help="For an export, the customers of each group who ordered after the export day: "
    "the share who bought (repeat-purchase rate) and revenue per customer, target minus "
    "holdout, with 95% intervals (Newcomb for the rate, Welch for revenue).",
)
exports = list_exports(ctx.store)
if exports.empty:
    empty_state("No list has been exported yet. Prepare one above.")
    stop_page()
exports = exports.sort_values("export_id", ascending=False)
shown = exports[
    ["export_id", "created_at", "segment_name", "customers", "target_customers",
     "holdout_customers", "holdout_pct", "file_format", "data_last_day"]
]  # fmt: skip
st.dataframe(
    shown,
    hide_index=True,
    column_config={
        "export_id": st.column_config.NumberColumn("Export", format="%d"),
        "created_at": st.column_config.DatetimeColumn("Made (UTC)", format="YYYY-MM-DD HH:mm"),
        "segment_name": st.column_config.TextColumn("Segment"),
        "customers": st.column_config.NumberColumn("Customers", format="%d"),
        "target_customers": st.column_config.NumberColumn("Target", format="%d"),
        "holdout_customers": st.column_config.NumberColumn("Holdout", format="%d"),
        "holdout_pct": st.column_config.NumberColumn("Holdout %", format="%.1f"),
        "file_format": st.column_config.TextColumn("Format"),
        "data_last_day": st.column_config.DateColumn("Data up to", format="YYYY-MM-DD"),
    },
)
ids = exports["export_id"].astype(int).tolist()
link_widgets(Param("lift_export", LIFT_KEY, "int", choices=ids))
picked = st.selectbox(
    "Measure the lift of export",
    ids,
    key=LIFT_KEY,
    format_func=lambda i: f"{i}: {exports.set_index('export_id').loc[i, 'segment_name']}",
)
lift = export_lift(ctx.store, int(picked))
for warning in lift.warnings:
    st.warning(warning, icon=":material/warning:")


def _share(value: float | None) -> str:
    return "–" if value is None or pd.isna(value) else f"{value:.1%}"


def _pp(value: float | None) -> str:
    return "–" if value is None or pd.isna(value) else f"{100 * value:+.1f} pp"


def _money(value: float | None) -> str:
    return "–" if value is None or pd.isna(value) else fmt.money(value, counts.currency)


rate, revenue = lift.repeat_purchase_rate, lift.revenue_per_customer
if lift.days <= 0:
    stop_page()  # the warning above says why there is nothing to measure yet
kpi_row(
    [
        Kpi("Bought again, target", _share(rate.target),
            f"Share of the {lift.target.customers:,} contacted customers with a counted order "
            f"after {lift.data_last_day}."),
        Kpi("Bought again, holdout", _share(rate.holdout),
            f"The same share among the {lift.holdout.customers:,} held-out customers."),
        Kpi("Lift in repeat-purchase rate", _pp(rate.difference),
            "Target minus holdout, in percentage points; below it the 95% interval.",
            delta=None if rate.low is None else f"95%: {_pp(rate.low)} to {_pp(rate.high)}",
            delta_color="off", delta_arrow="off"),
        Kpi("Lift in revenue per customer", _money(revenue.difference),
            "Target minus holdout revenue per customer (non-buyers count as 0); below it the "
            "95% interval.",
            delta=None if revenue.low is None
            else f"95%: {_money(revenue.low)} to {_money(revenue.high)}",
            delta_color="off", delta_arrow="off"),
    ]
)  # fmt: skip
p_rate = "–" if rate.p_value is None else f"{rate.p_value:.3f}"
p_revenue = "–" if revenue.p_value is None else f"{revenue.p_value:.3f}"
st.caption(
    f"Orders from {lift.start} to {lift.end} ({lift.days} days). p-values: {p_rate} for the "
    f"rate ({rate.method}), {p_revenue} for revenue ({revenue.method}). A p-value under 0.05 "
    "with an interval that excludes 0 means the campaign most likely made a difference."
)
