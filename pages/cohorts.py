"""Cohorts: retention, revenue retention, LTV curves and orders per customer by cohort."""

from __future__ import annotations

import streamlit as st

from retention.charts import cohorts as charts
from retention.metrics import cohorts as coh
from ui import cache
from ui.cohorts_view import (
    EXCLUDE_SMALL_KEY,
    FILTER_BY_KEY,
    MIN_SIZE_KEY,
    PERIOD_KEY,
    PERIOD_WORDS,
    PERIODS,
    SPLIT_KEY,
    SQL_METRIC_KEY,
    VALUE_KEY,
    VIEW_KEY,
    VIEWS,
    cached_cells,
    cached_dimension_values,
    cached_kpis,
    curves_frames,
    filter_values_key,
    heatmap_frame,
    kpi_tiles,
    wide_table,
)
from ui.components import empty_state, kpi_row, metric_definitions, show_sql
from ui.context import page_context, stop_page
from ui.links import Param, link_widgets
from ui.nav import data_page

ctx = page_context()
link_widgets(
    Param("period", PERIOD_KEY, choices=tuple(PERIODS)),
    Param("show", VALUE_KEY, choices=tuple(coh.VALUES)),
    Param("split", SPLIT_KEY, choices=tuple(coh.DIMENSIONS)),
    Param("filter", FILTER_BY_KEY, choices=tuple(coh.DIMENSIONS)),
    Param("min_size", MIN_SIZE_KEY, "int", low=1, high=100_000),
    Param("exclude_small", EXCLUDE_SMALL_KEY, "bool"),
    Param("view", VIEW_KEY, choices=VIEWS),
)
st.title("Cohorts")

options = cache.filter_options(ctx.store, ctx.db, ctx.data_version)
if options.first_day is None or options.last_day is None:
    empty_state(
        "There are no orders yet, so there are no cohorts. Open the **Data** page and import "
        "an orders file (CSV, Excel or Parquet; a Shopify orders export works as it is)."
    )
    st.page_link(data_page(), label="Go to Data", icon=":material/upload:")
    stop_page()

st.caption(
    "A cohort is the customers whose first counted order fell in the same week, month or "
    "quarter. Period k counts calendar periods since that one (k = 0 is the cohort's own). "
    "The sidebar's dates pick cohorts by their start; every later order of theirs counts."
)

st.session_state.setdefault(PERIOD_KEY, "month")
st.session_state.setdefault(VALUE_KEY, "retention_rate")
st.session_state.setdefault(SPLIT_KEY, coh.NO_SPLIT)
st.session_state.setdefault(FILTER_BY_KEY, coh.NO_SPLIT)
st.session_state.setdefault(MIN_SIZE_KEY, coh.DEFAULT_MIN_COHORT_SIZE)
st.session_state.setdefault(EXCLUDE_SMALL_KEY, False)
st.session_state.setdefault(VIEW_KEY, VIEWS[0])

with st.container(border=True):
    left, middle, right = st.columns([1.1, 1.4, 1.5])
    grain = (
        left.segmented_control(
            "Cohort period",
            list(PERIODS),
            format_func=PERIODS.get,
            key=PERIOD_KEY,
            help="Customers are grouped by the week (Monday start), month or quarter of their "
            "first counted order.",
        )
        or "month"
    )
    value_name = middle.selectbox(
        "Show",
        list(coh.VALUES),
        format_func=lambda v: coh.VALUES[v].label,
        key=VALUE_KEY,
        help="\n\n".join(f"**{v.label}**: {v.definition}" for v in coh.VALUES.values()),
    )
    split_by = right.selectbox(
        "Split by",
        list(coh.DIMENSIONS),
        format_func=coh.DIMENSIONS.get,
        key=SPLIT_KEY,
        help="Draw one weighted-average curve per group instead of one line per cohort.",
    )
    left, middle, right = st.columns([1.1, 1.4, 1.5])
    filter_by = left.selectbox(
        "Filter to",
        list(coh.DIMENSIONS),
        format_func=lambda d: "No filter" if d == coh.NO_SPLIT else coh.DIMENSIONS[d],
        key=FILTER_BY_KEY,
        help="Keep only the customers with the chosen values (acquisition channel, country, "
        "category of the first order, or whether the first order used a coupon).",
    )
    filter_values: tuple[str, ...] = ()
    if filter_by != coh.NO_SPLIT:
        choices = cached_dimension_values(
            ctx.store, ctx.db, ctx.data_version, ctx.filters, filter_by
        )
        link_widgets(Param("values", filter_values_key(filter_by), "list", choices=choices))
        filter_values = tuple(
            middle.multiselect(
                coh.DIMENSIONS[filter_by],
                choices,
                key=filter_values_key(filter_by),
                placeholder="All",
            )
        )
    min_size = int(
        right.number_input(
            "Small-cohort threshold (customers)",
            min_value=1,
            max_value=100_000,
            step=5,
            key=MIN_SIZE_KEY,
            help="Cohorts with fewer customers are flagged: greyed in the heatmap, dotted in "
            "the curves. Their rates swing by chance.",
        )
    )
    exclude_small = right.checkbox(
        "Leave small cohorts out of averages",
        key=EXCLUDE_SMALL_KEY,
        help="Ticked: cohorts below the threshold are left out of the weighted averages and "
        "the headline numbers above. Unticked (default): they count, and are only flagged.",
    )

query = coh.CohortQuery(
    grain=grain,
    filters=ctx.filters,
    split_by=split_by,
    filter_by=filter_by,
    filter_values=filter_values,
)
cells = cached_cells(ctx.store, ctx.db, ctx.data_version, query)
if cells.empty:
    empty_state(
        "No customer had a first order in a cohort that starts in the chosen dates with these "
        "filters. Widen the dates in the sidebar, or clear the channel, country or "
        "**Filter to** choices.",
        icon=":material/filter_alt_off:",
    )
    stop_page()

counts = cache.headline_counts(ctx.store, ctx.db, ctx.data_version, ctx.filters)
currency = counts.currency or ""
kpis = cached_kpis(
    ctx.store,
    ctx.db,
    ctx.data_version,
    ctx.filters,
    filter_by,
    filter_values,
    min_size if exclude_small else 0,
    options.first_day,
    options.last_day,
)
kpi_row(kpi_tiles(kpis, counts.currency))

value = coh.VALUES[value_name]
word = PERIOD_WORDS[grain]
split = split_by != coh.NO_SPLIT
averages = coh.average_curves(cells, min_size, exclude_small)
first_cells = cells[cells["period_index"] == 0]
n_customers = int(first_cells["cohort_size"].sum())
n_cohorts = first_cells["cohort"].nunique()
n_small = int((first_cells["cohort_size"] < min_size).sum())
small_what = (
    f"{n_small:,} of {len(first_cells):,} cohort-and-group cells have"
    if split
    else f"{n_small:,} cohort{' has' if n_small == 1 else 's have'}"
)
st.caption(
    f"**{n_cohorts:,} {word.lower()}ly cohorts, {n_customers:,} customers**"
    + (f" in {first_cells['segment'].nunique()} groups" if split else "")
    + f". {small_what} fewer than {min_size:,} customers "
    + ("(left out of the averages)." if exclude_small else "(flagged, still averaged).")
    + " Averages are weighted by cohort size and use complete periods only."
)

view = st.segmented_control("View", VIEWS, key=VIEW_KEY, label_visibility="collapsed") or VIEWS[0]
st.subheader(f"{value.label} by {word.lower()} since the first order", help=value.definition)

if view == "Heatmap":
    rows = heatmap_frame(cells, averages, grain=grain, split=split, min_size=min_size)
    if rows.empty:
        empty_state("No complete periods yet for these groups.")
    else:
        st.plotly_chart(
            charts.heatmap_figure(
                rows,
                value=value.column,
                unit=value.unit,
                value_label=value.label,
                period_word=word,
                currency=currency,
            ),
            width="stretch",
            key="cohorts.heatmap",
        )
        st.caption(
            "One row per group: the cohort-size-weighted average over its cohorts."
            if split
            else "One row per cohort, n = cohort size; grey rows are small cohorts. "
            "\\* = the period has not ended yet (partial)."
        )
elif view == "Curves":
    lines, average = curves_frames(cells, averages, grain=grain, split=split, min_size=min_size)
    if lines.empty:
        empty_state("No complete periods yet: the curves need at least one finished period.")
    else:
        st.plotly_chart(
            charts.curves_figure(
                lines,
                value=value.column,
                unit=value.unit,
                value_label=value.label,
                period_word=word,
                average=average,
                currency=currency,
            ),
            width="stretch",
            key="cohorts.curves",
        )
        st.caption(
            "One line per group (weighted average of its cohorts)."
            if split
            else "Thin lines: cohorts (dotted grey = small); bold: the cohort-size-weighted "
            "average. Only complete periods are drawn."
        )
else:
    rows = heatmap_frame(cells, averages, grain=grain, split=split, min_size=min_size)
    if rows.empty:
        empty_state(
            "No complete periods yet for these groups"
            + (" (every group is below the small-cohort threshold)." if exclude_small else ".")
        )
        stop_page()
    table, config = wide_table(
        rows, value.column, grain, value.unit, row_title="Group" if split else "Cohort"
    )
    if split:
        table = table.drop(columns=["small"])
    st.dataframe(table, column_config=config, hide_index=True, width="stretch", key="cohorts.table")
    st.caption(
        "Full tidy table (every value, one row per cohort and period): "
        "`python -m retention table cohort-retention`."
    )

show_sql(coh.COHORT_SQL, label="SQL of the cohort grid")
metric_definitions(coh.COHORT_KPIS, key=SQL_METRIC_KEY)
