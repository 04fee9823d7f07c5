"""The Data page's import wizard: upload, detect, map, validate, preview, import."""

from __future__ import annotations

import streamlit as st

from retention.ingest.errors import AmbiguousDateFormat, IngestError
from retention.ingest.history import rejected_rows_csv
from retention.ingest.load import LoadError, load_prepared
from retention.ingest.mapping import suggest_mapping, suggest_table
from retention.ingest.options import MAX_UPLOAD_BYTES, ReadOptions
from retention.schema import IMPORTABLE_TABLES, TABLES
from retention.store import StoreError
from ui import format as fmt
from ui import state
from ui.components import REJECTED_COLUMNS, contract_column_config, empty_state
from ui.context import PageContext
from ui.importing import mapping_key, prepare_cached, read_cached, sha256

__all__ = ["import_view"]

NOT_MAPPED = "— not mapped —"
DELIMITERS = {"Detect": None, "Comma ,": ",", "Semicolon ;": ";", "Tab": "\t", "Pipe |": "|"}
DECIMALS = {"Detect": None, "Point 12.50": ".", "Comma 12,50": ","}
ENCODINGS = {
    "Detect": None,
    "UTF-8": "utf-8",
    "UTF-8 with BOM": "utf-8-sig",
    "Windows-1251 (Cyrillic)": "cp1251",
    "Latin-1": "latin-1",
}
DATE_FORMATS = {
    "Detect": None,
    "2024-01-31 (ISO)": "%Y-%m-%d",
    "31.01.2024": "%d.%m.%Y",
    "31/01/2024 (day first)": "%d/%m/%Y",
    "01/31/2024 (month first)": "%m/%d/%Y",
}


def _show_report() -> None:
    report = st.session_state.get(state.DATA_LAST_REPORT)
    if report is not None:
        if report.already_imported_as is not None:
            st.info(report.summary(), icon=":material/content_copy:")
        else:
            more = " Rejected rows are in **History**." if report.rows_rejected else ""
            st.success(report.summary() + more, icon=":material/check_circle:")
            messages = st.session_state.get(state.DATA_LAST_MODEL_MESSAGES) or []
            if messages:
                st.caption("Models: " + "; ".join(messages) + ".")


def _use_date_format(label: str) -> None:
    st.session_state[state.DATA_DATE_FORMAT] = label


def ask_date_format(exc: AmbiguousDateFormat) -> None:
    """The dates fit more than one format: ask which one the file uses."""
    st.warning(str(exc), icon=":material/help:")
    labels = {v: k for k, v in DATE_FORMATS.items() if v}
    with st.container(horizontal=True):
        for fmt_code in exc.candidates:
            label = labels.get(fmt_code, fmt_code)
            if fmt_code not in labels:
                continue
            st.button(
                f"Dates are {label}",
                key=f"data.date_choice.{fmt_code}",
                on_click=_use_date_format,
                args=(label,),
            )


def import_view(ctx: PageContext) -> None:
    """Upload, detect, map, validate, preview, import."""
    _show_report()
    st.markdown(
        "Import orders (required) and, optionally, customers, order items, daily traffic and "
        "marketing spend. CSV, Excel (.xlsx) and Parquet are read; a Shopify orders export is "
        "recognised as it is. Re-importing a file or overlapping rows adds nothing: rows are "
        "matched by their key and replaced."
    )
    generation = st.session_state.setdefault(state.DATA_UPLOAD_GENERATION, 0)
    upload = st.file_uploader(
        "File to import",
        type=["csv", "tsv", "txt", "xlsx", "parquet"],
        key=f"{state.DATA_UPLOAD}.{generation}",
        help=f"Up to {fmt.bytes_size(MAX_UPLOAD_BYTES)}. Larger files: "
        "`python -m retention import FILE`.",
    )
    if upload is None:
        empty_state("Choose a file to see how it will be read, map its columns and preview it.")
        return
    data = upload.getvalue()
    digest = sha256(data)

    with st.expander("Reading options (detected automatically)", expanded=False):
        cols = st.columns(4)
        delimiter = cols[0].selectbox("Delimiter", list(DELIMITERS), key=state.DATA_DELIMITER)
        decimal = cols[1].selectbox("Decimal mark", list(DECIMALS), key=state.DATA_DECIMAL)
        encoding = cols[2].selectbox("Encoding", list(ENCODINGS), key=state.DATA_ENCODING)
        date_format = cols[3].selectbox(
            "Date format", list(DATE_FORMATS), key=state.DATA_DATE_FORMAT
        )
    options = ReadOptions(
        delimiter=DELIMITERS[delimiter],
        decimal=DECIMALS[decimal],
        encoding=ENCODINGS[encoding],
        date_format=DATE_FORMATS[date_format],
    )
    try:
        with st.spinner("Reading the file…"):
            source = read_cached(data, digest, upload.name, options)
    except IngestError as exc:
        st.error(str(exc), icon=":material/error:")
        return
    columns = [str(c) for c in source.frame.columns]
    detected = source.options
    st.caption(
        f"Read **{upload.name}** ({fmt.bytes_size(len(data))}) as {source.source_format.upper()}"
        + (
            f" · encoding {detected.encoding} · delimiter "
            f"{'tab' if detected.delimiter == chr(9) else repr(detected.delimiter)}"
            f" · decimal {detected.decimal!r}"
            if source.source_format == "csv"
            else ""
        )
        + f" · {len(source.frame):,} rows · {len(columns)} columns"
    )

    suggested_table = suggest_table(columns)
    st.session_state.setdefault(state.DATA_TABLE, suggested_table)
    table_name = st.selectbox(
        "Import into table",
        IMPORTABLE_TABLES,
        key=state.DATA_TABLE,
        format_func=lambda n: f"{TABLES[n].label} ({n})",
        help=f"Suggested from the file's columns: {suggested_table}.",
    )
    contract = TABLES[table_name]
    st.caption(contract.description)

    st.markdown("**Map the file's columns** (required columns are marked *)")
    suggested = suggest_mapping(columns, table_name)
    by_target = {dst: src for src, dst in suggested.items()}
    choices = [NOT_MAPPED, *columns]
    mapping: dict[str, str] = {}
    grid = st.columns(3)
    for i, column in enumerate(contract.columns):
        key = f"{state.DATA_MAPPING_PREFIX}{digest[:12]}.{table_name}.{column.name}"
        default = by_target.get(column.name, NOT_MAPPED)
        st.session_state.setdefault(key, default if default in choices else NOT_MAPPED)
        picked = grid[i % 3].selectbox(
            f"{column.name}{' *' if column.required else ''}",
            choices,
            key=key,
            help=column.description,
        )
        if picked != NOT_MAPPED:
            if picked in mapping:
                st.error(
                    f"File column **{picked}** is mapped to both `{mapping[picked]}` and "
                    f"`{column.name}`. Map each file column once.",
                    icon=":material/error:",
                )
                return
            mapping[picked] = column.name

    try:
        with st.spinner("Checking every row…"):
            prepared = prepare_cached(
                data, digest, upload.name, table_name, options, mapping_key(mapping)
            )
    except AmbiguousDateFormat as exc:
        ask_date_format(exc)
        return
    except IngestError as exc:
        st.error(str(exc), icon=":material/error:")
        return

    st.markdown("**Validation**")
    with st.container(horizontal=True):
        st.metric("Rows read", fmt.count(prepared.rows_read), border=True)
        st.metric("Will be loaded", fmt.count(len(prepared.valid)), border=True)
        st.metric(
            "Rejected",
            fmt.count(len(prepared.rejected)),
            border=True,
            help="Rows that fail a check are not loaded; each keeps its reason.",
        )
    if prepared.is_shopify:
        extra = ", ".join(f"{name} ({len(f):,} rows)" for name, f in prepared.related.items())
        st.info(
            f"Recognised a Shopify orders export. Also loads: {extra}.",
            icon=":material/storefront:",
        )
    for warning in prepared.warnings:
        st.warning(warning, icon=":material/warning:")
    shown = [c for c in prepared.valid.columns if prepared.valid[c].head(20).notna().any()]
    st.dataframe(
        prepared.valid[shown].head(20),
        hide_index=True,
        width="stretch",
        column_config=contract_column_config(table_name),
    )
    st.caption("The first 20 rows as they will be stored (empty columns left out).")
    if not prepared.rejected.empty:
        st.markdown(f"**Rejected rows** ({len(prepared.rejected):,})")
        st.dataframe(
            prepared.rejected[["line_number", "reason", "raw"]].head(200),
            hide_index=True,
            width="stretch",
            column_config=REJECTED_COLUMNS,
        )
        st.download_button(
            "Download rejected rows (CSV)",
            rejected_rows_csv(prepared.rejected),
            file_name=f"rejected-{upload.name.rsplit('.', 1)[0]}.csv",
            mime="text/csv",
            key="data.download_rejected_preview",
        )

    if st.button(
        "Import", type="primary", key=state.DATA_IMPORT_BUTTON, disabled=prepared.valid.empty
    ):
        bar = st.progress(0.0, text="Importing…")
        try:
            report = load_prepared(
                ctx.store,
                prepared,
                progress=lambda f, m: bar.progress(min(max(f, 0.0), 1.0), text=m),
            )
        except (LoadError, StoreError) as exc:
            bar.empty()
            st.error(f"{exc} Nothing was changed.", icon=":material/error:")
            return
        bar.empty()
        if report.already_imported_as is None:
            from ui.models_view import refresh_after_import

            st.session_state[state.DATA_LAST_MODEL_MESSAGES] = refresh_after_import(ctx.store)
        st.session_state[state.DATA_LAST_REPORT] = report
        st.session_state[state.DATA_UPLOAD_GENERATION] = generation + 1  # empties the uploader
        st.rerun()
    if prepared.valid.empty:
        st.caption("Nothing can be imported: no row passed validation.")
