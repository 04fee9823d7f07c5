"""The shared sidebar: data source and filters, kept in session state and in the URL.

On a session's first run the filters are read from ``st.query_params`` (so a shared link
opens with the sender's filters); after every run the URL is rewritten from the widgets.
"""

from __future__ import annotations

from datetime import date

import streamlit as st

from retention.data_summary import FilterOptions
from retention.filters import Filters
from retention.store import Store
from ui import cache, state
from ui import format as fmt

__all__ = ["render_sidebar"]

_FILTER_PARAMS = ("start", "end", "channel", "country", "segment")
ALL_CUSTOMERS = "All customers"

FILTER_HELP = (
    "Dates select orders by order date (both ends included). Channel and country select "
    "customers by their acquisition channel and country, and a segment selects the members of "
    "a saved segment (Segments page); with any of them set, guest orders are left out because "
    "they have none of these."
)


def _seed_from_url(options: FilterOptions, segments: dict[str, int]) -> None:
    """Fill the filter widgets' state from the URL once per session."""
    if st.session_state.get(state.FILTERS_FROM_URL):
        return
    st.session_state[state.FILTERS_FROM_URL] = True
    url = Filters.from_query_params({k: st.query_params.get(k, "") for k in _FILTER_PARAMS})
    lo, hi = options.first_day, options.last_day
    if lo and hi:
        start = min(max(url.start or lo, lo), hi)
        end = max(min(url.end or hi, hi), lo)
        st.session_state.setdefault(state.FILTER_DATES, (start, end))
    st.session_state.setdefault(
        state.FILTER_CHANNELS, [c for c in url.channels if c in options.channels]
    )
    st.session_state.setdefault(
        state.FILTER_COUNTRIES, [c for c in url.countries if c in options.countries]
    )
    st.session_state.setdefault(
        state.FILTER_SEGMENT, url.segment if url.segment in segments else ALL_CUSTOMERS
    )


def _clamp_dates(options: FilterOptions) -> None:
    """Keep the stored range inside the data's span (an import may have changed it)."""
    lo, hi = options.first_day, options.last_day
    if lo is None or hi is None:
        return
    value = st.session_state.get(state.FILTER_DATES)
    if not isinstance(value, tuple | list) or not value:
        st.session_state[state.FILTER_DATES] = (lo, hi)
        return
    clamped = tuple(min(max(d, lo), hi) for d in value)
    if clamped != tuple(value):
        st.session_state[state.FILTER_DATES] = clamped


def _dates_from_widget(value: object, options: FilterOptions) -> tuple[date | None, date | None]:
    if isinstance(value, tuple | list) and len(value) == 2:
        start, end = value
    elif isinstance(value, tuple | list) and len(value) == 1:  # second date not picked yet
        start, end = value[0], options.last_day
    else:
        return None, None
    # The full span means "no date filter", so links stay short and new data is included.
    return (
        None if start == options.first_day else start,
        None if end == options.last_day else end,
    )


def render_sidebar(store: Store, db: str) -> Filters:
    """Draw the data source and the filters; return the Filters and keep them in state."""
    version = store.data_version()
    options = cache.filter_options(store, db, version)
    segments = cache.segment_sizes(store, db, version)
    _seed_from_url(options, segments)
    if st.session_state.get(state.FILTER_SEGMENT) not in (ALL_CUSTOMERS, *segments):
        st.session_state[state.FILTER_SEGMENT] = ALL_CUSTOMERS  # deleted meanwhile
    _clamp_dates(options)
    with st.sidebar:
        st.caption(
            f"Data source: `{db.rsplit('/', 1)[-1]}`",
            help=f"{db}\n\nData version {version}: changes with every import.",
        )
        if options.first_day is None:
            st.caption("No orders yet: import them on the Data page.")
            filters = Filters()
        else:
            st.subheader("Filters", help=FILTER_HELP)
            dates = st.date_input(
                "Order dates",
                min_value=options.first_day,
                max_value=options.last_day,
                key=state.FILTER_DATES,
                format="YYYY-MM-DD",
            )
            channels = st.multiselect(
                "Acquisition channel",
                options.channels,
                key=state.FILTER_CHANNELS,
                placeholder="All channels",
            )
            countries = st.multiselect(
                "Country",
                options.countries,
                key=state.FILTER_COUNTRIES,
                placeholder="All countries",
            )
            segment = None
            if segments:
                picked = st.selectbox(
                    "Segment",
                    [ALL_CUSTOMERS, *segments],
                    key=state.FILTER_SEGMENT,
                    format_func=lambda n: (
                        n if n == ALL_CUSTOMERS else f"{n} ({segments[n]:,} customers)"
                    ),
                    help="Members of a saved segment (build and save segments on the Segments "
                    "page). Membership is recomputed after every import and refit.",
                )
                segment = None if picked == ALL_CUSTOMERS else picked
            start, end = _dates_from_widget(dates, options)
            filters = Filters(
                start=start,
                end=end,
                channels=tuple(channels),
                countries=tuple(countries),
                segment=segment,
            )
            st.caption(f"Orders span {fmt.day(options.first_day)} – {fmt.day(options.last_day)}")
    st.session_state[state.FILTERS] = filters
    _write_url(filters)
    return filters


def _write_url(filters: Filters) -> None:
    wanted = filters.to_query_params()
    for key in _FILTER_PARAMS:
        if key in wanted:
            if st.query_params.get(key) != wanted[key]:
                st.query_params[key] = wanted[key]
        elif key in st.query_params:
            del st.query_params[key]
