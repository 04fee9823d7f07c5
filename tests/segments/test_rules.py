"""Segment rules → SQL: every operator on a tiny shop with the members typed out, RFM scores by
hand, RFM segments partition the customers, and injection fuzzing."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from retention.ingest.load import load_frames
from retention.segments.attributes import ATTRIBUTES, RFM_SEGMENT_ORDER, rfm_segment
from retention.segments.rules import RuleError, members_sql, parse_rules
from retention.store import Store
from tests.conftest import frame

# Data end: 2026-06-30 (c's last order).
#   customer  orders (day: revenue)                    country  channel  loyal coupon consent
#   a         01-10: 100 (WELCOME), 06-20: 50          US       email    yes   yes    yes
#   b         02-01: 40                                CA       social   no    no     no
#   c         03-15: 200, 04-15: 100, 06-30: 300       US       organic  no    no     yes
#   d         05-01: 25 (SAVE)                         (none)   (none)   no    yes    yes
#   e         06-01: 60                                DE       email    no    no     no
ORDERS = [
    ("o1", "a", "2026-01-10", 100.0, "email", "WELCOME"),
    ("o2", "a", "2026-06-20", 50.0, "email", None),
    ("o3", "b", "2026-02-01", 40.0, "social", None),
    ("o4", "c", "2026-03-15", 200.0, "organic", None),
    ("o5", "c", "2026-04-15", 100.0, "organic", None),
    ("o6", "c", "2026-06-30", 300.0, "organic", None),
    ("o7", "d", "2026-05-01", 25.0, None, "SAVE"),
    ("o8", "e", "2026-06-01", 60.0, "email", None),
]
CUSTOMERS = [
    ("a", "US", "email", True, True),
    ("b", "CA", "social", False, False),
    ("c", "US", "organic", False, True),
    ("d", None, None, False, True),
    ("e", "DE", "email", False, False),
]
# A stored model run's scores: predicted CLTV, P(alive), churn risk (d not scored).
SCORES = {
    "a": (80.0, 0.9, 0.2),
    "b": (5.0, 0.4, 0.8),
    "c": (300.0, 0.95, 0.1),
    "d": (10.0, 1.0, None),
    "e": (20.0, 1.0, 0.5),
}


@pytest.fixture
def shop(store: Store) -> Store:
    orders = frame(
        "orders",
        [
            {"order_id": o, "customer_id": c, "ordered_at": d, "revenue": r, "channel": ch,
             "coupon_code": cp}
            for o, c, d, r, ch, cp in ORDERS
        ],
    )  # fmt: skip
    customers = frame(
        "customers",
        [
            {"customer_id": c, "email": f"{c}@x.test", "country": co, "acquisition_channel": ch,
             "loyalty_member": loyal, "accepts_marketing": consent}
            for c, co, ch, loyal, consent in CUSTOMERS
        ],
    )  # fmt: skip
    load_frames(store, {"orders": orders, "customers": customers}, source_name="tiny")
    with store.transaction() as tx:
        for customer, (cltv, alive, risk) in SCORES.items():
            tx.execute(
                "INSERT INTO customer_scores (run_id, customer_id, predicted_cltv, p_alive, "
                "churn_risk) VALUES (1, $c, $v, $p, $r)",
                {"c": customer, "v": cltv, "p": alive, "r": risk},
            )
    return store


def members(store: Store, rules: dict[str, Any]) -> set[str]:
    sql, params = members_sql(parse_rules(rules))
    return set(store.query(sql, params)["customer_id"])


def one(attribute: str, operator: str, value: Any = None) -> dict[str, Any]:
    condition: dict[str, Any] = {"attribute": attribute, "operator": operator}
    if value is not None:
        condition["value"] = value
    return {"op": "and", "rules": [condition]}


@pytest.mark.parametrize(
    ("attribute", "operator", "value", "expected"),
    [
        # recency: days from the last order to 2026-06-30: a 10, b 149, c 0, d 60, e 29
        ("recency_days", ">", 30, {"b", "d"}),
        ("recency_days", "<=", 10, {"a", "c"}),
        ("orders", "=", 1, {"b", "d", "e"}),
        ("orders", "!=", 2, {"b", "c", "d", "e"}),
        ("revenue", "between", [40, 150], {"a", "b", "e"}),  # 150, 40, 60; c 600 and d 25 out
        ("aov", ">=", 75, {"a", "c"}),  # a 150/2 = 75, c 600/3 = 200
        ("aov", "<", 40, {"d"}),
        ("predicted_cltv", ">", 50, {"a", "c"}),
        ("p_alive", "<", 0.5, {"b"}),
        ("churn_risk", "is_empty", None, {"d"}),
        ("churn_risk", "is_not_empty", None, {"a", "b", "c", "e"}),
        ("country", "in", ["US"], {"a", "c"}),
        ("country", "not_in", ["US"], {"b", "d", "e"}),  # d has no country: not in US
        ("country", "is_empty", None, {"d"}),
        ("first_channel", "in", ["email", "social"], {"a", "b", "e"}),
        ("loyalty_member", "is_true", None, {"a"}),
        ("loyalty_member", "is_false", None, {"b", "c", "d", "e"}),
        ("coupon_user", "is_true", None, {"a", "d"}),
        ("accepts_marketing", "is_true", None, {"a", "c", "d"}),
        ("cohort_month", "on_or_after", "2026-03-01", {"c", "d", "e"}),
        ("cohort_month", "before", "2026-02-01", {"a"}),
        ("cohort_month", "between", ["2026-02-01", "2026-03-31"], {"b", "c"}),
        # RFM by hand (5 customers: percent_rank = (rank − 1) / 4, score = min(5, 1 + ⌊5·pr⌋)):
        # R by recency desc: b 1, d 2, e 3, a 4, c 5; F by orders: b d e 1, a 4, c 5;
        # M by revenue: d 1, b 2, e 3, a 4, c 5.
        ("r_score", ">=", 4, {"a", "c"}),
        ("f_score", "=", 1, {"b", "d", "e"}),
        ("m_score", "between", [2, 3], {"b", "e"}),
        # (R, F): b (1,1) Lost, d (2,1) Hibernating, e (3,1) About to Sleep, a (4,4) Loyal,
        # c (5,5) Champions.
        ("rfm_segment", "in", ["Lost", "Hibernating"], {"b", "d"}),
        ("rfm_segment", "in", ["Champions"], {"c"}),
        ("rfm_segment", "not_in", ["Loyal", "Champions"], {"b", "d", "e"}),
    ],
)
def test_every_operator(
    shop: Store, attribute: str, operator: str, value: Any, expected: set[str]
) -> None:
    assert members(shop, one(attribute, operator, value)) == expected


def test_groups_nest(shop: Store) -> None:
    us_and_loyal_or_frequent = {
        "op": "and",
        "rules": [
            {"attribute": "country", "operator": "in", "value": ["US"]},
            {"op": "or", "rules": [
                {"attribute": "loyalty_member", "operator": "is_true"},
                {"attribute": "orders", "operator": ">=", "value": 3},
            ]},
        ],
    }  # fmt: skip
    assert members(shop, us_and_loyal_or_frequent) == {"a", "c"}
    lapsed_or_anonymous_coupon = {
        "op": "or",
        "rules": [
            {"attribute": "recency_days", "operator": ">", "value": 100},
            {"op": "and", "rules": [
                {"attribute": "coupon_user", "operator": "is_true"},
                {"attribute": "country", "operator": "is_empty"},
            ]},
        ],
    }  # fmt: skip
    assert members(shop, lapsed_or_anonymous_coupon) == {"b", "d"}
    assert members(shop, {"op": "and", "rules": []}) == {"a", "b", "c", "d", "e"}


def test_describe_in_plain_words() -> None:
    rules = parse_rules(
        {"op": "and", "rules": [
            {"attribute": "recency_days", "operator": ">", "value": 90},
            {"op": "or", "rules": [
                {"attribute": "country", "operator": "in", "value": ["US", "CA"]},
                {"attribute": "loyalty_member", "operator": "is_true"},
            ]},
        ]}
    )  # fmt: skip
    assert rules.describe() == (
        "Days since last order is more than 90 and "
        "(Country is one of US, CA or Loyalty member is yes)"
    )
    assert parse_rules(rules.to_json()) == rules


@pytest.mark.parametrize(
    ("rules", "message"),
    [
        (one("email", "=", "x"), "unknown attribute 'email'"),
        (one("orders", "in", ["1"]), "allows the operators"),
        (one("orders", ">", "ten"), "not a number"),
        (one("orders", ">"), "enter a number"),
        (one("cohort_month", "before"), "pick a date"),
        (one("orders", ">", float("nan")), "finite"),
        (one("revenue", "between", [5]), "two values"),
        (one("revenue", "between", [9, 1]), "above the high end"),
        (one("cohort_month", "before", "31/01/2026"), "not a date"),
        (one("country", "in", []), "at least one value"),
        (one("country", "in", ["x" * 201]), "longer than 200"),
        ({"op": "xor", "rules": []}, "'and' or 'or'"),
        ('{"op": "and", "rules": [', "not valid JSON"),
        ({"op": "and", "rules": "country"}, "must be a list"),
    ],
)
def test_bad_rules_say_what_is_wrong(rules: Any, message: str) -> None:
    with pytest.raises(RuleError, match=message):
        parse_rules(rules)


def test_depth_and_size_are_limited() -> None:
    deep: dict[str, Any] = {"op": "and", "rules": []}
    for _ in range(5):
        deep = {"op": "and", "rules": [deep]}
    with pytest.raises(RuleError, match="nest at most"):
        parse_rules(deep)
    many = {"op": "or", "rules": [one("orders", "=", i)["rules"][0] for i in range(51)]}
    with pytest.raises(RuleError, match="at most 50 conditions"):
        parse_rules(many)


def test_rfm_segments_cover_every_score_pair_once() -> None:
    names = {rfm_segment(r, f) for r in range(1, 6) for f in range(1, 6)}
    assert names == set(RFM_SEGMENT_ORDER)  # all eleven are reachable
    assert rfm_segment(1, 1) == "Lost" and rfm_segment(2, 2) == "Hibernating"
    with pytest.raises(ValueError, match="1 to 5"):
        rfm_segment(0, 3)


def test_rfm_segments_partition_the_sample_shop(tmp_path: Any) -> None:
    from retention.sample import build_sample_db

    path = build_sample_db(tmp_path / "shop.duckdb", 1500, 2)
    with Store(path) as s:
        sql, params = members_sql(
            parse_rules({"rules": []}), "customer_id, r_score, f_score, rfm_segment"
        )
        rows = s.query(sql, params)
        assert len(rows) == s.row_count("customer_summary")
        assert rows["rfm_segment"].notna().all()
        assert set(rows["rfm_segment"]) <= set(RFM_SEGMENT_ORDER)
        # The SQL CASE and the Python rule agree for every customer.
        expected = [
            rfm_segment(r, f) for r, f in zip(rows["r_score"], rows["f_score"], strict=True)
        ]
        assert rows["rfm_segment"].tolist() == expected
        # Segments by rfm_segment partition the customers: sizes add up, no one twice.
        total = 0
        seen: set[str] = set()
        for name in RFM_SEGMENT_ORDER:
            sql, params = members_sql(parse_rules(one("rfm_segment", "in", [name])))
            ids = set(s.query(sql, params)["customer_id"])
            assert not ids & seen
            seen |= ids
            total += len(ids)
        assert total == len(rows)


# --- injection fuzzing ----------------------------------------------------------------------

NASTY = st.one_of(
    st.sampled_from(
        [
            "'; DROP TABLE orders; --",
            "US') OR 1=1 --",
            '" OR ""="',
            "$p0",
            "\\' OR \\'1\\'=\\'1",
            "); DELETE FROM customers; SELECT (",
            "Ω≈ç√∫˜µ≤≥÷",
            "🙂👍🏽",
            "\u202etxt.exe",
            "ゼロ",
        ]
    ),
    st.text(min_size=1, max_size=40).filter(lambda t: "\x00" not in t),
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    values=st.lists(NASTY, min_size=1, max_size=4),
    attribute=st.sampled_from([n for n, a in ATTRIBUTES.items() if a.kind == "category"]),
)
def test_injection_strings_are_only_values(shop: Store, values: list[str], attribute: str) -> None:
    before = shop.table_counts()
    got = members(shop, one(attribute, "in", values))
    # No customer has such a country, channel, category or segment name: nobody matches, and
    # nothing was executed.
    assert got <= {"a", "b", "c", "d", "e"}
    assert shop.table_counts().equals(before)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(name=st.text(min_size=1, max_size=30), operator=st.text(max_size=12))
def test_unknown_attributes_and_operators_never_reach_sql(name: str, operator: str) -> None:
    if name in ATTRIBUTES:
        return
    with pytest.raises(RuleError):
        parse_rules(json.dumps(one(name, operator, 1)))


def test_attributes_follow_every_load_and_the_latest_run(shop: Store) -> None:
    # segment_attributes is rebuilt by each load; the scores are joined from the latest run
    # when read, so neither a new order nor a new run can leave a rule on stale values.
    big = {"attribute": "revenue", "operator": ">=", "value": 150}
    assert members(shop, big) == {"a", "c"}
    more = frame(
        "orders",
        [{"order_id": "o9", "customer_id": "b", "ordered_at": "2026-07-01", "revenue": 500.0}],
    )
    load_frames(shop, {"orders": more}, source_name="more", replace=False)
    assert members(shop, big) == {"a", "b", "c"}
    rich = {"attribute": "predicted_cltv", "operator": ">", "value": 100}
    assert members(shop, rich) == {"c"}
    with shop.transaction() as tx:
        tx.execute(
            "INSERT INTO customer_scores (run_id, customer_id, predicted_cltv) "
            "VALUES (2, 'e', 150.0)"
        )
    assert members(shop, rich) == {"e"}  # run 2 is the latest; only e is scored in it
