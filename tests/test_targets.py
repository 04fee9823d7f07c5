"""Target lists: columns, consent, reasons and offers, holdout draw, files, the export record."""

from __future__ import annotations

import io
import json
import random
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest

from retention import targets
from retention.export import neutralise_formulas
from retention.ingest.load import load_frames
from retention.segments.saved import SegmentError, save_segment
from retention.store import Store
from retention.targets import (
    REASON_RULES,
    TARGET_COLUMNS,
    ExportNotFoundError,
    TargetError,
    assign_groups,
    assign_reasons,
    build_target_list,
    check_columns,
    holdout_size,
    record_export,
    write_target_file,
)
from tests.conftest import frame

# --- a tiny shop --------------------------------------------------------------------------
# Seven customers with one or more orders; c04, c06 and c07 do not accept marketing (c07 has no
# customers row at all, so consent defaults to no). c02's email and c05's name start with
# characters a spreadsheet would run as a formula.
SHOP_CUSTOMERS = [
    {"customer_id": "c01", "email": "ann@example.com", "name": "Ann Lee", "country": "DE",
     "accepts_marketing": True},
    {"customer_id": "c02", "email": "=cmd|' /C calc'!A0", "name": "Eve Hacker", "country": "US",
     "accepts_marketing": True},
    {"customer_id": "c03", "email": "zoe@example.com", "name": "Zoë Müller", "country": "FR",
     "accepts_marketing": True},
    {"customer_id": "c04", "email": "bob@example.com", "name": "Bob Stone", "country": "DE",
     "accepts_marketing": False},
    {"customer_id": "c05", "email": "mia@example.com", "name": "@Mia; \"quoted\", name",
     "country": "ES", "accepts_marketing": True},
    {"customer_id": "c06", "email": "tom@example.com", "name": "Tom Ford", "country": "US",
     "accepts_marketing": False},
]  # fmt: skip
SHOP_ORDERS = [
    {"order_id": "o01", "customer_id": "c01", "ordered_at": "2024-01-05", "revenue": 100.0},
    {"order_id": "o02", "customer_id": "c01", "ordered_at": "2024-02-05", "revenue": 80.0},
    {"order_id": "o03", "customer_id": "c01", "ordered_at": "2024-03-25", "revenue": 120.0},
    {"order_id": "o04", "customer_id": "c02", "ordered_at": "2024-01-10", "revenue": 40.0},
    {"order_id": "o05", "customer_id": "c03", "ordered_at": "2024-03-20", "revenue": 60.0},
    {"order_id": "o06", "customer_id": "c03", "ordered_at": "2024-03-28", "revenue": 30.0},
    {"order_id": "o07", "customer_id": "c04", "ordered_at": "2024-02-01", "revenue": 25.0},
    {"order_id": "o08", "customer_id": "c05", "ordered_at": "2024-03-31", "revenue": 15.0},
    {"order_id": "o09", "customer_id": "c06", "ordered_at": "2024-01-02", "revenue": 300.0},
    {"order_id": "o10", "customer_id": "c07", "ordered_at": "2024-02-14", "revenue": 55.0},
]
# Scores of a (pretend) model run, so the CLTV columns have values to check.
SHOP_SCORES = [
    # customer, p_alive, predicted_cltv, low, high, churn_risk
    ("c01", 0.95, 210.0, 150.0, 280.0, 0.10),
    ("c02", 0.40, 12.5, 5.0, 20.0, 0.80),
    ("c03", 0.90, 75.0, 50.0, 110.0, None),
]
ALL = {"op": "and", "rules": []}


def build_shop(store: Store) -> Store:
    """Load the tiny shop, its scores and two segments: All (everyone) and Big (revenue > 100)."""
    load_frames(
        store,
        {
            "orders": frame("orders", SHOP_ORDERS),
            "customers": frame("customers", SHOP_CUSTOMERS),
        },
        source_name="tiny",
    )
    with store.transaction() as tx:
        for cid, p_alive, cltv, low, high, risk in SHOP_SCORES:
            tx.execute(
                "INSERT INTO customer_scores (run_id, customer_id, p_alive, predicted_cltv, "
                "predicted_cltv_low, predicted_cltv_high, churn_risk) "
                "VALUES (1, $c, $p, $v, $lo, $hi, $r)",
                {"c": cid, "p": p_alive, "v": cltv, "lo": low, "hi": high, "r": risk},
            )
    save_segment(store, "All", ALL, "Everyone who ever bought")
    save_segment(
        store, "Big", {"attribute": "revenue", "operator": ">", "value": 100}, "Big spenders"
    )
    return store


@pytest.fixture
def shop(store: Store) -> Store:
    return build_shop(store)


# --- columns ------------------------------------------------------------------------------


def test_columns_are_checked_and_group_is_always_there() -> None:
    assert check_columns(["email", "email", " name "]) == ("email", "name", "group")
    assert check_columns(["group", "email"]) == ("group", "email")
    with pytest.raises(TargetError, match="unknown column 'phone'; choose from: customer_id"):
        check_columns(["email", "phone"])
    assert set(targets.DEFAULT_COLUMNS) == set(TARGET_COLUMNS) - {"accepts_marketing"}


# --- the list -----------------------------------------------------------------------------


def test_only_consenting_members_by_default(shop: Store) -> None:
    tl = build_target_list(shop, "All", holdout_pct=0)
    # c04 and c06 said no; c07 has no customers row, so no consent either.
    assert tl.frame["customer_id"].tolist() == ["c01", "c02", "c03", "c05"]
    assert (tl.customers, tl.target, tl.holdout, tl.excluded_no_consent) == (4, 4, 0, 3)
    assert tl.data_last_day == date(2024, 3, 31)  # c05's order, the last one in the file
    assert tl.rules == json.dumps(ALL, sort_keys=True) and tl.rules_text == "All customers"
    assert tuple(tl.frame.columns) == targets.DEFAULT_COLUMNS
    row = tl.frame.set_index("customer_id").loc["c01"]
    assert (row["email"], row["name"], row["country"], row["segment"]) == (
        "ann@example.com", "Ann Lee", "DE", "All",
    )  # fmt: skip
    # The scores inserted above, as they are.
    assert (row["p_alive"], row["predicted_cltv"], row["predicted_cltv_low"]) == (0.95, 210, 150)
    assert (row["predicted_cltv_high"], row["churn_risk"]) == (280.0, 0.10)
    # c05 has no scores: empty, not zero.
    assert tl.frame.set_index("customer_id").loc["c05", ["p_alive", "predicted_cltv"]].isna().all()
    assert row["reason_text"].endswith("In segment 'All': Everyone who ever bought")

    everyone = build_target_list(shop, "All", marketing_only=False, holdout_pct=0)
    assert everyone.frame["customer_id"].tolist() == [f"c0{i}" for i in range(1, 8)]
    assert (everyone.customers, everyone.excluded_no_consent) == (7, 0)


def test_segment_membership_and_chosen_columns(shop: Store) -> None:
    # Revenue > 100: c01 (300, consents), c06 (300, does not).
    tl = build_target_list(shop, "Big", ["email", "offer"], holdout_pct=0)
    assert tl.frame.columns.tolist() == ["email", "offer", "group"]
    assert tl.frame["email"].tolist() == ["ann@example.com"]
    assert tl.members["customer_id"].tolist() == ["c01"]  # kept for the record
    assert tl.excluded_no_consent == 1
    with pytest.raises(SegmentError, match="saved segments: All, Big"):
        build_target_list(shop, "Nope")
    with pytest.raises(TargetError, match="0 to 100"):
        build_target_list(shop, "All", holdout_pct=120)


def _first_match(segment: str, m_score: float, risk: float | None) -> str:
    """The reason table read in plain Python: the oracle for the vectorised assign_reasons."""
    for rule in REASON_RULES:
        if segment not in rule.rfm_segments:
            continue
        if rule.min_m_score is not None and not m_score >= rule.min_m_score:
            continue
        if rule.min_churn_risk is not None and (risk is None or not risk >= rule.min_churn_risk):
            continue
        return rule.code
    return "IN_SEGMENT"


def test_reasons_follow_the_table_in_the_shop(shop: Store) -> None:
    tl = build_target_list(
        shop, "All", ["rfm_segment", "m_score", "churn_risk", "reason", "reason_text", "offer"],
        marketing_only=False,
    )  # fmt: skip
    offers = {r.code: r.offer for r in REASON_RULES}
    sentences = {r.code: r.description for r in REASON_RULES}
    for row in tl.frame.itertuples(index=False):
        risk = None if pd.isna(row.churn_risk) else row.churn_risk
        assert row.reason == _first_match(row.rfm_segment, row.m_score, risk)
        assert row.offer == offers[row.reason]
        in_segment = " In segment 'All': Everyone who ever bought"
        assert row.reason_text == sentences[row.reason] + in_segment


def test_reason_table_by_hand() -> None:
    cases = pd.DataFrame(
        [
            # rfm_segment, m_score, churn_risk -> expected code (why)
            ("Champions", 5, 0.1, "CHAMPION"),  # good, low risk
            ("Champions", 5, 0.6, "VALUED_CHURN_RISK"),  # good but risk >= 0.5 comes first
            ("Loyal", 3, None, "LOYAL"),  # no model: risk rules never match
            ("Potential Loyalist", 2, 0.5, "VALUED_CHURN_RISK"),  # 0.5 is "at least 0.5"
            ("New", 1, 0.9, "NEW_CUSTOMER"),  # risk only matters for good customers
            ("Promising", 4, None, "NEW_CUSTOMER"),
            ("At Risk", 4, None, "AT_RISK_HIGH_VALUE"),  # M 4-5 is high value
            ("Can't Lose", 3, 0.9, "AT_RISK"),
            ("Need Attention", 5, None, "SLIPPING_HIGH_VALUE"),
            ("About to Sleep", 2, None, "SLIPPING"),
            ("Hibernating", 4, 0.2, "LAPSED_HIGH_VALUE"),
            ("Lost", 1, None, "LAPSED"),
            (None, 5, None, "IN_SEGMENT"),  # no scores: the fallback
        ],
        columns=["rfm_segment", "m_score", "churn_risk", "expected"],
    )
    out = assign_reasons(cases)
    assert out["reason"].tolist() == cases["expected"].tolist()
    assert out.loc[6, "offer"] == "Win-back: 20% discount with a personal message"
    assert out.loc[4, "offer"] == "Second-order incentive: 10% off the next order"
    assert out.loc[0, "offer"] == "Early access to new products and loyalty points"
    assert out.loc[11, "offer"] == "Reactivation: 10% discount"
    # Every named RFM segment has a rule without extra conditions, so only unscored rows fall
    # through to IN_SEGMENT.
    from retention.segments.attributes import RFM_SEGMENT_ORDER

    plain = {s for r in REASON_RULES if r.min_m_score is None and r.min_churn_risk is None
             for s in r.rfm_segments}  # fmt: skip
    assert plain == set(RFM_SEGMENT_ORDER)


# --- holdout ------------------------------------------------------------------------------

IDS = [f"C{i:06d}" for i in range(1, 1001)]


@pytest.mark.parametrize(
    ("n", "pct", "k"),
    [
        (1000, 10, 100),
        (1000, 12.5, 125),
        (7, 50, 4),  # 3.5 rounds half up
        (4, 12.5, 1),  # 0.5 rounds half up (Python's round would give 0)
        (3, 10, 0),  # 0.3
        (0, 10, 0),
        (5, 0, 0),
        (5, 100, 5),
    ],
)
def test_holdout_size_is_exact(n: int, pct: float, k: int) -> None:
    assert holdout_size(n, pct) == k
    groups = assign_groups(IDS[:n], pct, 0)
    assert (groups == "holdout").sum() == k and (groups == "target").sum() == n - k


def test_holdout_by_hand() -> None:
    # blake2b(f"0:{id}", digest_size=8) in hex: e 0a85.., c 4d0e.., f 5b80.., b 6209..,
    # a bde1.., d eb07..; the three smallest (50% of 6) are e, c and f.
    assert assign_groups(list("abcdef"), 50, 0).tolist() == [
        "target", "target", "holdout", "target", "holdout", "holdout",
    ]  # fmt: skip


def test_holdout_is_deterministic_and_order_free() -> None:
    first = dict(zip(IDS, assign_groups(IDS, 10, 7), strict=True))
    shuffled = IDS.copy()
    random.Random(3).shuffle(shuffled)
    again = dict(zip(shuffled, assign_groups(shuffled, 10, 7), strict=True))
    assert first == again
    # A Series keeps its index.
    series = pd.Series(shuffled, index=range(100, 1100))
    assert assign_groups(series, 10, 7).index.tolist() == list(range(100, 1100))
    other = dict(zip(IDS, assign_groups(IDS, 10, 8), strict=True))
    held = {c for c, g in first.items() if g == "holdout"}
    held_other = {c for c, g in other.items() if g == "holdout"}
    assert len(held) == len(held_other) == 100 and held != held_other
    # Two independent 10% draws share about 10 customers (hypergeometric mean 10, sd 2.8).
    assert len(held & held_other) < 30


def _sorted_holdout(ids: list[str], pct: float, seed: int) -> list[str]:
    """The draw as first written: a Python sort of the ids by (blake2b key, id)."""
    k = holdout_size(len(ids), pct)
    order = sorted(range(len(ids)), key=lambda i: (targets._key(seed, ids[i]), ids[i]))
    groups = ["target"] * len(ids)
    for i in order[:k]:
        groups[i] = "holdout"
    return groups


def test_vectorised_holdout_matches_the_sorted_draw_on_many_ids() -> None:
    rng = random.Random(11)
    ids = [f"C{i:07d}" for i in range(30_000)]
    ids += [str(i) for i in range(1, 5_000)]  # numeric-looking ids
    ids += ["Zoë-" + str(i) for i in range(2_000)] + ["日本" + str(i) for i in range(500)]
    ids += ["", " ", "a:b", "1:2", "😀", "x" * 300]
    rng.shuffle(ids)
    for pct, seed in [(10, 0), (12.5, 7), (50, 2**31 - 1), (0.01, 123), (99.9, 42), (100, 5)]:
        assert assign_groups(ids, pct, seed).tolist() == _sorted_holdout(ids, pct, seed)
    series = pd.Series(ids, dtype="str", index=range(7, 7 + len(ids)))
    assert assign_groups(series, 10, 3).tolist() == _sorted_holdout(ids, 10, 3)
    # Non-text ids are drawn by their str(), as before.
    numbers = list(range(2_000))
    assert assign_groups(numbers, 10, 1).tolist() == _sorted_holdout(
        [str(n) for n in numbers], 10, 1
    )


def test_keys_in_numpy_order_like_the_digests() -> None:
    ids = [f"c{i}" for i in range(5_000)]
    keys = targets._keys(9, ids)
    digests = [targets._key(9, i) for i in ids]
    assert [int(k).to_bytes(8, "big") for k in keys] == digests
    assert sorted(range(len(ids)), key=lambda i: digests[i]) == keys.argsort(kind="stable").tolist()


def test_ties_at_the_cut_off_are_ranked_by_id() -> None:
    # 64-bit keys never tie in practice; forced ties check the rule (key, id) all the same.
    rng = random.Random(4)
    for _ in range(200):
        n = rng.randint(1, 40)
        ids = rng.sample([f"id{i}" for i in range(100)], n)
        keys = [rng.randint(0, 3) for _ in ids]
        for k in range(n + 1):
            mask = targets._first_k(np.array(keys, dtype=np.uint64), ids, k)
            first = sorted(range(n), key=lambda i: (keys[i], ids[i]))[:k]
            assert sorted(np.flatnonzero(mask).tolist()) == sorted(first)


def test_holdout_edges_and_bad_settings() -> None:
    assert set(assign_groups(IDS[:50], 0, 1)) == {"target"}
    assert set(assign_groups(IDS[:50], 100, 1)) == {"holdout"}
    assert assign_groups([], 10, 0).tolist() == []
    for pct in (-1, 100.5, float("nan")):
        with pytest.raises(TargetError, match="0 to 100"):
            assign_groups(IDS, pct, 0)
    with pytest.raises(TargetError, match="seed"):
        assign_groups(IDS, 10, -1)
    with pytest.raises(TargetError, match="unique"):
        assign_groups(["a", "a"], 10, 0)


def test_the_lists_holdout_is_drawn_among_the_exported(shop: Store) -> None:
    tl = build_target_list(shop, "All", marketing_only=False, holdout_pct=50, seed=4)
    # 50% of 7 = 3.5 -> 4 held out.
    assert (tl.target, tl.holdout) == (3, 4)
    expected = assign_groups(tl.frame["customer_id"], 50, 4)
    assert tl.frame["group"].tolist() == expected.tolist()
    assert tl.members["group"].tolist() == expected.tolist()


# --- files --------------------------------------------------------------------------------


def _read_back(data: bytes, fmt: str, delimiter: str = ",", bom: bool = True) -> pd.DataFrame:
    if fmt == "csv":
        return pd.read_csv(
            io.BytesIO(data), sep=delimiter, encoding="utf-8-sig" if bom else "utf-8"
        )
    if fmt == "xlsx":
        return pd.read_excel(io.BytesIO(data), engine="openpyxl")
    return pd.read_parquet(io.BytesIO(data))


def _same(back: pd.DataFrame, expected: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(
        back.astype(object).where(back.notna(), None),
        expected.astype(object).where(expected.notna(), None),
        check_dtype=False,
    )


@pytest.mark.parametrize(
    ("fmt", "delimiter", "bom"),
    [("csv", ",", True), ("csv", ";", False), ("xlsx", ",", True), ("parquet", ",", True)],
)
def test_files_parse_back_to_the_selection(
    shop: Store, fmt: str, delimiter: str, bom: bool
) -> None:
    tl = build_target_list(shop, "All", marketing_only=False, holdout_pct=30, seed=2)
    data = write_target_file(tl.frame, fmt, delimiter=delimiter, bom=bom)
    back = _read_back(data, fmt, delimiter, bom)
    # What was selected, with formula cells neutralised (in every format: one rule).
    _same(back, neutralise_formulas(tl.frame))
    by_id = back.set_index("customer_id")
    assert by_id.loc["c02", "email"] == "'=cmd|' /C calc'!A0"
    assert by_id.loc["c05", "name"] == '\'@Mia; "quoted", name'
    assert by_id.loc["c03", "name"] == "Zoë Müller"
    assert by_id.loc["c01", "predicted_cltv"] == 210.0
    if fmt == "csv":
        assert data.startswith(b"\xef\xbb\xbf") == bom
        assert data.decode("utf-8-sig").splitlines()[0].startswith(f"customer_id{delimiter}email")


@pytest.mark.parametrize(
    ("fmt", "delimiter", "bom"),
    [("csv", ",", True), ("csv", ";", False), ("xlsx", ",", True), ("parquet", ",", True)],
)
def test_writing_to_a_file_gives_the_same_bytes(
    shop: Store, tmp_path: Path, fmt: str, delimiter: str, bom: bool
) -> None:
    tl = build_target_list(shop, "All", marketing_only=False, holdout_pct=30, seed=2)
    path = tmp_path / f"list.{fmt}"
    with path.open("wb") as handle:
        size = targets.write_target_file_to(tl.frame, fmt, handle, delimiter=delimiter, bom=bom)
    data = path.read_bytes()
    assert size == len(data)
    if fmt == "xlsx":  # the zip records the time it was written: compare the cells
        _same(_read_back(data, fmt), neutralise_formulas(tl.frame))
    else:
        assert data == write_target_file(tl.frame, fmt, delimiter=delimiter, bom=bom)
    with pytest.raises(TargetError, match="delimiter"):
        targets.write_target_file_to(tl.frame, "csv", io.BytesIO(), delimiter="|")


def test_xlsx_holds_no_formula_and_survives_control_characters() -> None:
    df = pd.DataFrame(
        {"name": ["=1+2", "bell\x07here", "+x", "ok"], "value": [-1.5, 2.0, 3.0, None]}
    )
    data = write_target_file(df, "xlsx")
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    assert sheet.title == "Target list"
    cells = [c for row in sheet.iter_rows() for c in row]
    assert all(c.data_type != "f" for c in cells)  # no formula anywhere
    assert [c.value for c in sheet["A"]] == ["name", "'=1+2", "bellhere", "'+x", "ok"]
    assert [c.value for c in sheet["B"]][:3] == ["value", -1.5, 2.0]  # numbers stay numbers


def test_bad_format_and_delimiter() -> None:
    df = pd.DataFrame({"a": [1]})
    with pytest.raises(TargetError, match="choose one of: csv, xlsx, parquet"):
        write_target_file(df, "xls")
    with pytest.raises(TargetError, match="delimiter"):
        write_target_file(df, "csv", delimiter="\t")


def test_default_file_name() -> None:
    day = date(2026, 1, 2)
    assert targets.default_file_name("Win-back: Größte Kunden!", "csv", day) == (
        "win-back-grosste-kunden-2026-01-02.csv"
    )
    assert targets.default_file_name("🙂", "xlsx", day) == "segment-2026-01-02.xlsx"


# --- the record ---------------------------------------------------------------------------


def test_record_export_writes_one_row_and_its_members(shop: Store) -> None:
    before = shop.data_version()
    tl = build_target_list(shop, "All", ["email"], marketing_only=False, holdout_pct=50, seed=4)
    export_id = record_export(shop, tl, file_format="xlsx")
    assert export_id == 1 and shop.data_version() == before + 1
    rows = targets.list_exports(shop)
    assert len(rows) == 1
    row = rows.iloc[0]
    assert (row["segment_name"], row["file_format"], row["seed"]) == ("All", "xlsx", 4)
    assert (row["customers"], row["target_customers"], row["holdout_customers"]) == (7, 3, 4)
    assert bool(row["marketing_only"]) is False and row["holdout_pct"] == 50.0
    assert json.loads(row["columns"]) == ["email", "group"]
    assert json.loads(row["rules"]) == ALL
    members = shop.query(
        'SELECT customer_id, "group" FROM export_members WHERE export_id = 1 ORDER BY 1'
    )
    assert members["customer_id"].tolist() == [f"c0{i}" for i in range(1, 8)]
    assert members["group"].tolist() == tl.members["group"].tolist()

    record = targets.get_export(shop, export_id)
    assert record.data_last_day == date(2024, 3, 31) and record.columns == ("email", "group")
    assert record_export(shop, tl, file_format="csv") == 2
    with pytest.raises(ExportNotFoundError, match="no export has id 9; recorded exports: 1, 2"):
        targets.get_export(shop, 9)


def test_a_failed_record_changes_nothing(shop: Store) -> None:
    tl = build_target_list(shop, "All", holdout_pct=10)
    bad = pd.DataFrame({"customer_id": ["c01"], "group": ["maybe"]})  # not target or holdout
    broken = targets.TargetList(**{**tl.__dict__, "members": bad})
    with pytest.raises(Exception, match="(?i)constraint"):
        record_export(shop, broken, file_format="csv")
    assert shop.row_count("exports") == 0 and shop.row_count("export_members") == 0


# --- on the sample shop with fitted models ------------------------------------------------


@pytest.fixture(scope="module")
def fitted(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    from retention.models.runs import refresh_models
    from retention.sample import build_sample_db

    path = Path(tmp_path_factory.mktemp("targets")) / "shop.duckdb"
    build_sample_db(path, 300, 5)
    with Store(path) as s:
        refresh_models(s)
        yield s


def test_sample_shop_list(fitted: Store) -> None:
    rules = {"attribute": "rfm_segment", "operator": "in", "value": ["At Risk", "Can't Lose"]}
    save_segment(fitted, "Win back", rules)
    tl = build_target_list(fitted, "Win back", holdout_pct=20, seed=11)
    members = fitted.query(
        "SELECT count(*) AS n FROM segment_members JOIN segments USING (segment_id) "
        "WHERE name = 'Win back'"
    )["n"].iloc[0]
    assert tl.customers + tl.excluded_no_consent == members > 10
    consent = fitted.query("SELECT customer_id, accepts_marketing FROM customers")
    ok = consent.set_index("customer_id").loc[tl.frame["customer_id"], "accepts_marketing"]
    assert ok.all()
    assert tl.holdout == holdout_size(tl.customers, 20)
    assert set(tl.frame["reason"]) <= {"AT_RISK", "AT_RISK_HIGH_VALUE"}
    f = tl.frame
    assert f["predicted_cltv"].notna().all() and f["p_alive"].between(0, 1).all()
    assert (f["predicted_cltv_low"] <= f["predicted_cltv"] + 1e-9).all()
    assert (f["predicted_cltv"] <= f["predicted_cltv_high"] + 1e-9).all()
    assert f["customer_id"].is_unique and f["customer_id"].is_monotonic_increasing


def test_one_offer_for_everyone_replaces_the_suggestions(shop: Store) -> None:
    tl = build_target_list(shop, "All", ["customer_id", "offer"], offer="15% off, 14 days")
    assert set(tl.frame["offer"]) == {"15% off, 14 days"}
    assert len(tl.frame) == 4  # the same consenting members as without an offer
