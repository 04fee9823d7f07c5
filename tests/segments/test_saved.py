"""Saved segments: save, preview, rename, duplicate, delete; members follow imports and refits."""

from __future__ import annotations

import pytest

from retention.ingest.load import load_frames
from retention.segments import saved
from retention.store import Store
from tests.conftest import frame
from tests.segments.test_rules import one, shop  # noqa: F401 (fixture)

LAPSED = one("recency_days", ">", 30)  # b (149 days) and d (60)


def test_save_computes_members(shop: Store) -> None:  # noqa: F811
    seg = saved.save_segment(shop, "  Lapsed  ", LAPSED, "Win-back list")
    assert seg.name == "Lapsed"  # trimmed
    assert seg.customers == 2 and seg.description == "Win-back list"
    ids = set(shop.query("SELECT customer_id FROM segment_members")["customer_id"])
    assert ids == {"b", "d"}
    assert [s.name for s in saved.list_segments(shop)] == ["Lapsed"]
    with pytest.raises(saved.SegmentError, match="exists already"):
        saved.save_segment(shop, "Lapsed", LAPSED)


def test_preview_by_hand(shop: Store) -> None:  # noqa: F811
    p = saved.preview(shop, LAPSED, sample=1)
    # b 40 + d 25 = 65 of 150 + 40 + 600 + 25 + 60 = 875.
    assert (p.customers, p.all_customers) == (2, 5)
    assert p.revenue == 65.0 and p.all_revenue == 875.0
    assert p.share == 0.4 and p.revenue_share == pytest.approx(65 / 875)
    assert p.sample["customer_id"].tolist() == ["b"]  # highest revenue first


def test_rename_duplicate_update_delete(shop: Store) -> None:  # noqa: F811
    saved.save_segment(shop, "Lapsed", LAPSED)
    copy = saved.duplicate_segment(shop, "Lapsed", "Lapsed (copy)")
    assert copy.customers == 2 and copy.segment_id != saved.get_segment(shop, "Lapsed").segment_id
    renamed = saved.update_segment(shop, "Lapsed (copy)", new_name="Very lapsed",
                                   rules=one("recency_days", ">", 100))  # fmt: skip
    assert renamed.customers == 1  # only b
    with pytest.raises(saved.SegmentError, match="exists already"):
        saved.update_segment(shop, "Very lapsed", new_name="Lapsed")
    saved.delete_segment(shop, "Very lapsed")
    assert [s.name for s in saved.list_segments(shop)] == ["Lapsed"]
    assert shop.scalar("SELECT count(DISTINCT segment_id) FROM segment_members") == 1
    with pytest.raises(saved.SegmentError, match="saved segments: Lapsed"):
        saved.get_segment(shop, "Very lapsed")


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("", "needs a name"),
        ("   ", "needs a name"),
        ("x" * 81, "at most 80"),
        ("a\x07b", "control"),
    ],
)
def test_bad_names(shop: Store, name: str, message: str) -> None:  # noqa: F811
    with pytest.raises(saved.SegmentError, match=message):
        saved.save_segment(shop, name, LAPSED)


def test_odd_unicode_names_round_trip(shop: Store) -> None:  # noqa: F811
    name = "Größte Kunden 🙂 '; DROP TABLE segments; --"
    saved.save_segment(shop, name, LAPSED)
    assert saved.get_segment(shop, name).customers == 2
    assert shop.row_count("segments") == 1


def test_members_follow_an_import(shop: Store) -> None:  # noqa: F811
    saved.save_segment(shop, "Lapsed", LAPSED)
    # b orders again on the last day: no longer lapsed.
    late = frame(
        "orders",
        [{"order_id": "o9", "customer_id": "b", "ordered_at": "2026-06-30", "revenue": 10.0}],
    )
    load_frames(shop, {"orders": late}, source_name="late", replace=False)
    assert saved.get_segment(shop, "Lapsed").customers == 1
    assert set(shop.query("SELECT customer_id FROM segment_members")["customer_id"]) == {"d"}
