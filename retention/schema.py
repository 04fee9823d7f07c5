"""Canonical tables and their column contracts.

The names here are a contract shared by the importer, the metrics, the CLI and the exports
(see DESIGN.md, "Data model"). Identifiers that end up in SQL come only from this module.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

__all__ = [
    "ORDER_STATUSES",
    "COUNTED_STATUSES",
    "Column",
    "Table",
    "TABLES",
    "CANONICAL_TABLES",
    "IMPORTABLE_TABLES",
    "MIGRATIONS",
    "REFRESH_DERIVED",
    "SCHEMA_VERSION",
    "table",
    "quote_ident",
]

ColumnKind = Literal[
    "id", "text", "timestamp", "date", "money", "count", "bool", "json", "int", "float", "floats"
]

ORDER_STATUSES: tuple[str, ...] = ("completed", "refunded", "cancelled")
"""Allowed values of ``orders.status``."""

COUNTED_STATUSES: tuple[str, ...] = ("completed", "refunded")
"""A counted order is completed or refunded (its revenue is net of refunds); cancelled is out."""

_SQL_TYPES: dict[str, str] = {
    "id": "VARCHAR",
    "text": "VARCHAR",
    "timestamp": "TIMESTAMP",
    "date": "DATE",
    "money": "DECIMAL(18,4)",
    "count": "BIGINT",
    "int": "INTEGER",
    "bool": "BOOLEAN",
    "json": "VARCHAR",
    "float": "DOUBLE",
    "floats": "DOUBLE[]",
}


@dataclass(frozen=True)
class Column:
    """One column of a canonical table.

    ``required`` means an import must map it; ``nullable`` means a row may leave it empty.
    """

    name: str
    kind: ColumnKind
    description: str
    required: bool = False
    nullable: bool = True
    allowed: tuple[str, ...] = ()
    default: str | None = None  # SQL literal used when the column is not mapped

    @property
    def sql_type(self) -> str:
        return _SQL_TYPES[self.kind]


@dataclass(frozen=True)
class Table:
    """A table of the DuckDB file: its columns, its key and what kind of table it is."""

    name: str
    label: str
    description: str
    columns: tuple[Column, ...]
    key: tuple[str, ...] = ()
    kind: Literal["canonical", "derived", "state"] = "canonical"
    optional: bool = True
    checks: tuple[str, ...] = field(default=())

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    @property
    def required_columns(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.required)

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(
            f"table {self.name!r} has no column {name!r}; columns: {', '.join(self.column_names)}"
        )

    def ddl(self) -> str:
        """CREATE TABLE statement built from the contract (identifiers only from this module)."""
        lines = []
        for c in self.columns:
            line = f"    {quote_ident(c.name)} {c.sql_type}"
            if not c.nullable:
                line += " NOT NULL"
            if c.default is not None:
                line += f" DEFAULT {c.default}"
            if c.allowed:
                values = ", ".join("'" + v.replace("'", "''") + "'" for v in c.allowed)
                line += f" CHECK ({quote_ident(c.name)} IN ({values}))"
            lines.append(line)
        lines.extend(f"    CHECK ({check})" for check in self.checks)
        if self.key and self.kind == "state":
            lines.append(f"    PRIMARY KEY ({', '.join(quote_ident(k) for k in self.key)})")
        body = ",\n".join(lines)
        return f"CREATE TABLE IF NOT EXISTS {quote_ident(self.name)} (\n{body}\n)"


def quote_ident(name: str) -> str:
    """Double-quote an SQL identifier. Only names from this module's contracts pass through here."""
    if not name.replace("_", "").isalnum() or not name.isascii():
        raise ValueError(f"not a safe identifier: {name!r}")
    return '"' + name + '"'


ORDERS = Table(
    name="orders",
    label="Orders",
    description="One row per order. Required: everything else can be derived from it.",
    optional=False,
    key=("order_id",),
    columns=(
        Column("order_id", "id", "Unique order identifier.", required=True, nullable=False),
        Column("customer_id", "id", "Customer identifier; empty for guest checkouts."),
        Column(
            "ordered_at", "timestamp", "When the order was placed.", required=True, nullable=False
        ),
        Column(
            "revenue",
            "money",
            "Net of discounts and refunds, before tax and shipping.",
            required=True,
            nullable=False,
        ),
        Column(
            "discount_amount", "money", "Discount given on the order.", nullable=False, default="0"
        ),
        Column(
            "status",
            "text",
            "completed, refunded or cancelled.",
            nullable=False,
            allowed=ORDER_STATUSES,
            default="'completed'",
        ),
        Column("channel", "text", "Marketing channel the order came from."),
        Column("coupon_code", "text", "Coupon used on the order, if any."),
        Column("currency", "text", "ISO 4217 currency code."),
    ),
    checks=("discount_amount >= 0", "revenue >= 0 OR status = 'refunded'"),
)

CUSTOMERS = Table(
    name="customers",
    label="Customers",
    description="Customer attributes. Optional: customers are derived from orders when absent.",
    key=("customer_id",),
    columns=(
        Column("customer_id", "id", "Customer identifier.", required=True, nullable=False),
        Column("email", "text", "Email address."),
        Column("name", "text", "Customer name."),
        Column("country", "text", "Country (ISO 3166 alpha-2 code where known)."),
        Column("acquisition_channel", "text", "Channel that brought the customer."),
        Column("signup_at", "timestamp", "When the account was created."),
        Column(
            "accepts_marketing",
            "bool",
            "Consented to marketing email.",
            nullable=False,
            default="false",
        ),
        Column(
            "loyalty_member",
            "bool",
            "Member of the loyalty programme.",
            nullable=False,
            default="false",
        ),
        Column("loyalty_joined_at", "timestamp", "When the customer joined the programme."),
    ),
)

ORDER_ITEMS = Table(
    name="order_items",
    label="Order items",
    description="Line items of orders: products and categories.",
    key=("order_id", "product_id"),
    columns=(
        Column("order_id", "id", "Order the line belongs to.", required=True, nullable=False),
        Column("product_id", "id", "Product or SKU identifier.", required=True, nullable=False),
        Column("product_name", "text", "Product name."),
        Column("category", "text", "Product category."),
        Column("quantity", "count", "Units bought.", nullable=False, default="1"),
        Column(
            "line_revenue",
            "money",
            "Revenue of the line, net of discounts.",
            required=True,
            nullable=False,
        ),
    ),
    checks=("quantity >= 0",),
)

TRAFFIC_DAILY = Table(
    name="traffic_daily",
    label="Traffic (daily)",
    description="Sessions and funnel steps per day, channel and device. Needed for conversion.",
    key=("date", "channel", "device"),
    columns=(
        Column("date", "date", "Day.", required=True, nullable=False),
        Column("channel", "text", "Marketing channel.", nullable=False, default="'all'"),
        Column("device", "text", "desktop, mobile, tablet ...", nullable=False, default="'all'"),
        Column("sessions", "count", "Sessions started.", required=True, nullable=False),
        Column("product_views", "count", "Sessions that viewed a product."),
        Column("add_to_carts", "count", "Sessions that added to cart."),
        Column("checkouts", "count", "Sessions that reached checkout."),
    ),
    checks=("sessions >= 0",),
)

MARKETING_SPEND = Table(
    name="marketing_spend",
    label="Marketing spend",
    description="Spend per channel per day or month (a month is stored as its first day).",
    key=("date", "channel"),
    columns=(
        Column(
            "date",
            "date",
            "Day, or first day of the month for monthly spend.",
            required=True,
            nullable=False,
        ),
        Column("channel", "text", "Marketing channel.", required=True, nullable=False),
        Column("spend", "money", "Amount spent.", required=True, nullable=False),
    ),
    checks=("spend >= 0",),
)

CUSTOMER_SUMMARY = Table(
    name="customer_summary",
    label="Customer summary",
    description="One row per customer with a counted order; rebuilt with every load.",
    kind="derived",
    key=("customer_id",),
    columns=(
        Column("customer_id", "id", "Customer identifier.", nullable=False),
        Column("first_order_at", "timestamp", "First counted order."),
        Column("last_order_at", "timestamp", "Last counted order."),
        Column("second_order_at", "timestamp", "Second counted order (empty with one order)."),
        Column("orders", "count", "Counted orders (completed or refunded)."),
        Column("revenue", "money", "Revenue of counted orders, net of refunds."),
        Column("discount_amount", "money", "Discounts on counted orders."),
        Column("refunded_orders", "count", "Orders with status refunded."),
        Column("cancelled_orders", "count", "Orders with status cancelled."),
        Column("first_order_revenue", "money", "Revenue of the first counted order."),
        Column("first_coupon_code", "text", "Coupon on the first order, if any."),
        Column(
            "first_channel",
            "text",
            "Acquisition channel: customers.acquisition_channel, else the first order's.",
        ),
        Column("first_category", "text", "Category with most revenue in the first order."),
        Column("country", "text", "Country from customers."),
        Column("email", "text", "Email from customers."),
        Column("accepts_marketing", "bool", "Consented to marketing email."),
        Column("loyalty_member", "bool", "Loyalty programme member."),
        Column("cohort_week", "date", "Monday of the first order's week."),
        Column("cohort_month", "date", "First day of the first order's month."),
        Column("cohort_quarter", "date", "First day of the first order's quarter."),
    ),
)

ORDER_FACTS = Table(
    name="order_facts",
    label="Order facts",
    description="One row per counted order with the customer's cohort keys; rebuilt every load.",
    kind="derived",
    key=("order_id",),
    columns=(
        Column("order_id", "id", "Order identifier.", nullable=False),
        Column("customer_id", "id", "Customer; empty for guest orders."),
        Column("ordered_at", "timestamp", "When the order was placed."),
        Column("order_date", "date", "Day of the order."),
        Column("revenue", "money", "Revenue, net of discounts and refunds."),
        Column("discount_amount", "money", "Discount on the order."),
        Column("status", "text", "completed or refunded."),
        Column("channel", "text", "The order's channel."),
        Column("coupon_code", "text", "Coupon on the order."),
        Column("currency", "text", "The order's currency code."),
        Column("is_guest", "bool", "No customer id."),
        Column("order_number", "count", "1 for the customer's first counted order, then 2, 3 ..."),
        Column("days_since_previous", "count", "Days since the customer's previous order."),
        Column("first_order_at", "timestamp", "The customer's first counted order."),
        Column("first_channel", "text", "The customer's acquisition channel."),
        Column("country", "text", "The customer's country."),
        Column("first_category", "text", "Main category of the customer's first order."),
        Column("first_order_coupon", "bool", "The customer's first order used a coupon."),
        Column("cohort_week", "date", "Monday of the first order's week."),
        Column("cohort_month", "date", "First day of the first order's month."),
        Column("cohort_quarter", "date", "First day of the first order's quarter."),
    ),
)

COHORT_ACTIVITY = Table(
    name="cohort_activity",
    label="Cohort activity",
    description="One row per customer, cohort grain and period with an order; rebuilt every load.",
    kind="derived",
    key=("customer_id", "grain", "period_index"),
    columns=(
        Column("customer_id", "id", "Customer.", nullable=False),
        Column("grain", "text", "week, month or quarter.", nullable=False),
        Column("cohort_start", "date", "First day of the first counted order's period."),
        Column("period_index", "count", "Periods since the cohort's (0 = the cohort's own)."),
        Column("orders", "count", "Counted orders of the customer in the period."),
        Column("revenue", "money", "Their revenue."),
        Column("first_channel", "text", "The customer's acquisition channel."),
        Column("country", "text", "The customer's country."),
        Column("first_category", "text", "Main category of the customer's first order."),
        Column("first_order_coupon", "bool", "The customer's first order used a coupon."),
    ),
)

SEGMENT_ATTRIBUTES = Table(
    name="segment_attributes",
    label="Segment attributes",
    description="One row per customer with every attribute a segment rule can test except "
    "the model scores (joined from the latest run when read); rebuilt every load.",
    kind="derived",
    key=("customer_id",),
    columns=(
        Column("customer_id", "id", "Customer.", nullable=False),
        Column("email", "text", "Email."),
        Column("name", "text", "Name."),
        Column("country", "text", "Country."),
        Column("first_channel", "text", "Acquisition channel."),
        Column("first_category", "text", "Main category of the first order."),
        Column("cohort_month", "date", "First day of the first order's month."),
        Column("first_order_at", "timestamp", "First counted order."),
        Column("last_order_at", "timestamp", "Last counted order."),
        Column("orders", "count", "Counted orders."),
        Column("revenue", "float", "Revenue of counted orders."),
        Column("aov", "float", "Revenue / orders."),
        Column("recency_days", "count", "Days from the last order to the file's last order day."),
        Column("loyalty_member", "bool", "Loyalty member."),
        Column("coupon_user", "bool", "Used a coupon on a counted order."),
        Column("accepts_marketing", "bool", "Consented to marketing email."),
        Column("r_score", "int", "Recency quintile."),
        Column("f_score", "int", "Frequency quintile."),
        Column("m_score", "int", "Monetary quintile."),
        Column("rfm_segment", "text", "Named RFM segment."),
    ),
)

SPEND_DAILY = Table(
    name="spend_daily",
    label="Spend per day",
    description="Marketing spend per day and channel; monthly rows spread over their days.",
    kind="derived",
    key=("date", "channel"),
    columns=(
        Column("date", "date", "Day.", nullable=False),
        Column("channel", "text", "Marketing channel.", nullable=False),
        Column("spend", "money", "Spend attributed to the day."),
    ),
)

IMPORTS = Table(
    name="imports",
    label="Imports",
    description="One row per import: file, checksum, counts.",
    kind="state",
    key=("import_id",),
    columns=(
        Column("import_id", "int", "Import number.", nullable=False),
        Column("imported_at", "timestamp", "When the import ran (UTC).", nullable=False),
        Column("table_name", "text", "Target table.", nullable=False),
        Column("source_name", "text", "File name as given."),
        Column("file_sha256", "text", "SHA-256 of the file's bytes."),
        Column("file_bytes", "count", "Size of the file."),
        Column("source_format", "text", "csv, parquet, xlsx or sample."),
        Column("rows_read", "count", "Data rows read from the file."),
        Column("rows_loaded", "count", "Rows that passed validation."),
        Column("rows_inserted", "count", "Rows new to the table."),
        Column("rows_updated", "count", "Rows that replaced a row with the same key."),
        Column("rows_rejected", "count", "Rows rejected, with reasons in rejected_rows."),
        Column("options", "json", "Reader options and column mapping (JSON)."),
    ),
)

REJECTED_ROWS = Table(
    name="rejected_rows",
    label="Rejected rows",
    description="Rows an import rejected, with the reason.",
    kind="state",
    columns=(
        Column("import_id", "int", "Import that rejected the row.", nullable=False),
        Column(
            "line_number",
            "count",
            "Line (CSV) or row (Excel, Parquet) in the file.",
            nullable=False,
        ),
        Column("raw", "text", "The row as read, JSON of column to text."),
        Column("reason", "text", "Why the row was rejected.", nullable=False),
    ),
)

META = Table(
    name="meta",
    label="Meta",
    description="Schema version and data version.",
    kind="state",
    key=("key",),
    columns=(
        Column("key", "text", "Setting name.", nullable=False),
        Column("value", "text", "Setting value."),
    ),
)

MODEL_RUNS = Table(
    name="model_runs",
    label="Model runs",
    description="One row per model fit: settings, parameters, diagnostics (JSON).",
    kind="state",
    key=("run_id",),
    columns=(
        Column("run_id", "int", "Run number.", nullable=False),
        Column("created_at", "timestamp", "When the fit finished (UTC).", nullable=False),
        Column(
            "purpose",
            "text",
            "scores: predictions for every customer; holdout: a check against later orders.",
            nullable=False,
            allowed=("scores", "holdout"),
        ),
        Column("last_import_id", "int", "Latest import when the run started (0: none)."),
        Column("calibration_end", "date", "Orders up to this day (inclusive) were fitted."),
        Column("holdout_end", "date", "Last day of the holdout period (holdout runs)."),
        Column("settings", "json", "Unit, horizon, margin, discount rate, interval (JSON)."),
        Column("bgnbd", "json", "BG/NBD parameters, covariance and fit diagnostics (JSON)."),
        Column("gamma_gamma", "json", "Gamma-Gamma parameters and diagnostics (JSON)."),
        Column("churn_risk", "json", "Churn-risk classifier metrics and drivers (JSON)."),
        Column("summary", "json", "Totals with intervals and per-group figures (JSON)."),
        Column("warnings", "json", "Plain-language warnings about the fit (JSON list)."),
        Column("seconds", "float", "Wall time of the run."),
    ),
)

CUSTOMER_SCORES = Table(
    name="customer_scores",
    label="Customer scores",
    description="Per-customer predictions of a model run (P(alive), CLTV with interval, risk).",
    kind="state",
    key=("run_id", "customer_id"),
    columns=(
        Column("run_id", "int", "Model run.", nullable=False),
        Column("customer_id", "id", "Customer identifier.", nullable=False),
        Column("frequency", "count", "Repeat purchase days in the calibration period (x)."),
        Column("recency", "float", "First to last purchase, in the run's time unit (t_x)."),
        Column("T", "float", "First purchase to calibration end, in the run's time unit."),
        Column("monetary_value", "float", "Mean value of the repeat purchase days."),
        Column("p_alive", "float", "Probability the customer is still active (BG/NBD)."),
        Column("p_alive_low", "float", "Lower end of the interval."),
        Column("p_alive_high", "float", "Upper end of the interval."),
        Column("expected_orders", "float", "Expected orders over the horizon."),
        Column("expected_orders_low", "float", "Lower end of the interval."),
        Column("expected_orders_high", "float", "Upper end of the interval."),
        Column("expected_spend", "float", "Expected value per order (Gamma-Gamma)."),
        Column("expected_spend_low", "float", "Lower end of the interval."),
        Column("expected_spend_high", "float", "Upper end of the interval."),
        Column("predicted_cltv", "float", "Discounted margin over the horizon."),
        Column("predicted_cltv_low", "float", "Lower end of the interval."),
        Column("predicted_cltv_high", "float", "Upper end of the interval."),
        Column("churn_risk", "float", "Probability of no order in the churn horizon."),
    ),
)

SCORE_CELLS = Table(
    name="score_cells",
    label="Score cells",
    description=(
        "A model run's predictions summed per cohort month, channel and country, per parameter "
        "draw, so that any filtered total gets an exact interval."
    ),
    kind="state",
    key=("run_id", "cohort_month", "first_channel", "country"),
    columns=(
        Column("run_id", "int", "Model run.", nullable=False),
        Column("cohort_month", "date", "First day of the first order's month.", nullable=False),
        Column(
            "first_channel", "text", "Acquisition channel ('(unknown)' if none).", nullable=False
        ),
        Column("country", "text", "Country ('(unknown)' if none).", nullable=False),
        Column("customers", "count", "Customers in the cell."),
        Column("historical_revenue", "float", "Their revenue to date."),
        Column("expected_orders", "float", "Sum of expected orders (at the estimate)."),
        Column("predicted_cltv", "float", "Sum of predicted CLTV (at the estimate)."),
        Column("expected_orders_draws", "floats", "Sum of expected orders per parameter draw."),
        Column("predicted_cltv_draws", "floats", "Sum of predicted CLTV per parameter draw."),
    ),
)

SEGMENTS = Table(
    name="segments",
    label="Segments",
    description="Saved segments: a name, a description and the rules (JSON).",
    kind="state",
    key=("segment_id",),
    columns=(
        Column("segment_id", "int", "Segment number.", nullable=False),
        Column("name", "text", "Unique name.", nullable=False),
        Column("description", "text", "What the segment is for."),
        Column("rules", "json", "The rules: AND/OR groups of conditions (JSON).", nullable=False),
        Column("created_at", "timestamp", "When it was saved first (UTC).", nullable=False),
        Column("updated_at", "timestamp", "When it was last changed (UTC).", nullable=False),
    ),
)

SEGMENT_MEMBERS = Table(
    name="segment_members",
    label="Segment members",
    description="Customers of each saved segment, refreshed on save, import and refit.",
    kind="state",
    key=("segment_id", "customer_id"),
    columns=(
        Column("segment_id", "int", "Segment.", nullable=False),
        Column("customer_id", "id", "Customer.", nullable=False),
    ),
)

EXPORTS = Table(
    name="exports",
    label="Exports",
    description="Target lists downloaded: segment, rules at the time, holdout, counts.",
    kind="state",
    key=("export_id",),
    columns=(
        Column("export_id", "int", "Export number.", nullable=False),
        Column("created_at", "timestamp", "When the list was made (UTC).", nullable=False),
        Column("segment_name", "text", "Segment exported.", nullable=False),
        Column("rules", "json", "The segment's rules at the time (JSON)."),
        Column("columns", "json", "Columns in the file (JSON list)."),
        Column("file_format", "text", "csv, xlsx or parquet."),
        Column("marketing_only", "bool", "Only customers who accept marketing."),
        Column("holdout_pct", "float", "Share of customers held out, in %."),
        Column("seed", "int", "Seed of the holdout draw."),
        Column("customers", "count", "Customers in the export (both groups)."),
        Column("target_customers", "count", "Customers to contact."),
        Column("holdout_customers", "count", "Customers held out (not contacted)."),
        Column("data_last_day", "date", "Last order day when the list was made."),
    ),
)

EXPORT_MEMBERS = Table(
    name="export_members",
    label="Export members",
    description="Who was in an export, and in which group (for measuring lift later).",
    kind="state",
    key=("export_id", "customer_id"),
    columns=(
        Column("export_id", "int", "Export.", nullable=False),
        Column("customer_id", "id", "Customer.", nullable=False),
        Column(
            "group",
            "text",
            "target (contacted) or holdout (not contacted).",
            nullable=False,
            allowed=("target", "holdout"),
        ),
    ),
)

SCENARIOS = Table(
    name="scenarios",
    label="Scenarios",
    description="Saved what-if scenarios: kind, segment, inputs and the result summary (JSON).",
    kind="state",
    key=("scenario_id",),
    columns=(
        Column("scenario_id", "int", "Scenario number.", nullable=False),
        Column("name", "text", "Unique name.", nullable=False),
        Column(
            "kind", "text", "discount or loyalty.", nullable=False, allowed=("discount", "loyalty")
        ),
        Column("segment_name", "text", "Segment the scenario targets.", nullable=False),
        Column("inputs", "json", "The scenario's inputs (JSON).", nullable=False),
        Column("result", "json", "Summary of the simulated result when saved (JSON)."),
        Column("created_at", "timestamp", "When it was saved first (UTC).", nullable=False),
        Column("updated_at", "timestamp", "When it was last changed (UTC).", nullable=False),
    ),
)

TABLES: dict[str, Table] = {
    t.name: t
    for t in (
        ORDERS,
        CUSTOMERS,
        ORDER_ITEMS,
        TRAFFIC_DAILY,
        MARKETING_SPEND,
        CUSTOMER_SUMMARY,
        ORDER_FACTS,
        COHORT_ACTIVITY,
        SEGMENT_ATTRIBUTES,
        SPEND_DAILY,
        IMPORTS,
        REJECTED_ROWS,
        META,
        MODEL_RUNS,
        CUSTOMER_SCORES,
        SCORE_CELLS,
        SEGMENTS,
        SEGMENT_MEMBERS,
        EXPORTS,
        EXPORT_MEMBERS,
        SCENARIOS,
    )
}
CANONICAL_TABLES: tuple[str, ...] = tuple(n for n, t in TABLES.items() if t.kind == "canonical")
IMPORTABLE_TABLES = CANONICAL_TABLES


def table(name: str) -> Table:
    """The contract of a table; the error lists the known names."""
    try:
        return TABLES[name]
    except KeyError:
        raise KeyError(f"unknown table {name!r}; known tables: {', '.join(TABLES)}") from None


REFRESH_DERIVED = "@refresh_derived"
"""A migration step that rebuilds the derived tables instead of running SQL."""


@dataclass(frozen=True)
class Migration:
    version: int
    description: str
    statements: tuple[str, ...]


_V1_TABLES = (
    "orders",
    "customers",
    "order_items",
    "traffic_daily",
    "marketing_spend",
    "customer_summary",
    "imports",
    "rejected_rows",
    "meta",
)

MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "canonical, derived and state tables", tuple(TABLES[n].ddl() for n in _V1_TABLES)),
    # Derived tables are rebuilt by every load; a new one is created here and filled from the
    # canonical tables at once, so existing files get it without a re-import.
    Migration(
        2,
        "order_facts and spend_daily",
        (TABLES["order_facts"].ddl(), TABLES["spend_daily"].ddl(), REFRESH_DERIVED),
    ),
    Migration(
        3,
        "model_runs, customer_scores and score_cells",
        (
            TABLES["model_runs"].ddl(),
            TABLES["customer_scores"].ddl(),
            TABLES["score_cells"].ddl(),
        ),
    ),
    Migration(
        4,
        "segments, segment_members, exports and export_members",
        (
            TABLES["segments"].ddl(),
            "CREATE UNIQUE INDEX IF NOT EXISTS segments_name ON segments (name)",
            TABLES["segment_members"].ddl(),
            TABLES["exports"].ddl(),
            TABLES["export_members"].ddl(),
        ),
    ),
    Migration(
        5,
        "scenarios",
        (
            TABLES["scenarios"].ddl(),
            "CREATE UNIQUE INDEX IF NOT EXISTS scenarios_name ON scenarios (name)",
        ),
    ),
    Migration(6, "cohort_activity", (TABLES["cohort_activity"].ddl(), REFRESH_DERIVED)),
    Migration(
        7,
        "segment_attributes and order_facts.currency",
        (TABLES["segment_attributes"].ddl(), REFRESH_DERIVED),
    ),
)
SCHEMA_VERSION: int = MIGRATIONS[-1].version
