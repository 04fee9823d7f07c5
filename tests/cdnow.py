"""CDNOW (tests/data/cdnow, copied from ../shared/data/cdnow) as an orders CSV, imported through
the same path as a user's upload (prepare_import + load_prepared)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from retention.ingest.load import load_prepared
from retention.ingest.prepare import prepare_import
from retention.models.rfm_summary import read_cdnow
from retention.store import Store

CDNOW_TXT = Path(__file__).resolve().parent / "data" / "cdnow" / "CDNOW_sample.txt"
CALIBRATION_END = date(1997, 9, 30)
HOLDOUT_END = date(1998, 6, 30)


def cdnow_orders_csv() -> bytes:
    """One order per line of the CDNOW file: order id, customer id, date, dollar value."""
    orders = read_cdnow(CDNOW_TXT)
    lines = ["order_id,customer_id,ordered_at,revenue"]
    for i, row in enumerate(orders.itertuples(index=False), start=1):
        lines.append(f"o{i},c{row.customer_id:04d},{row.ordered_at:%Y-%m-%d},{row.revenue:.2f}")
    return ("\n".join(lines) + "\n").encode()


def import_cdnow(store: Store) -> None:
    """Import CDNOW's orders into ``store`` as an uploaded CSV would be."""
    prepared = prepare_import(
        cdnow_orders_csv(), "cdnow_orders.csv", "orders", today=date(2000, 1, 1)
    )
    assert len(prepared.rejected) == 0, prepared.rejected.head()
    load_prepared(store, prepared)
