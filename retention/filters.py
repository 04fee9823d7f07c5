"""The Filters value object and the one place it becomes SQL.

Semantics (shown in the sidebar's help):
- the date range selects orders by ``ordered_at`` (both ends inclusive, whole days);
- channel and country select *customers* by their acquisition channel and country
  (``customer_summary.first_channel`` and ``.country``), and a segment selects the members of
  a saved segment (``segment_members``); with any of them set, guest orders (no customer) are
  left out, since they have no acquisition channel, country or segment.
Missing values are matched by the label :data:`UNKNOWN`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

__all__ = [
    "Filters",
    "UNKNOWN",
    "CUSTOMER_FILTER_SQL",
    "ORDER_FILTER_SQL",
    "DATE_FILTER_SQL",
]

CUSTOMER_FILTER_SQL = (
    "(len($channels) = 0 OR list_contains($channels, coalesce({alias}.first_channel, $unknown)))"
    " AND (len($countries) = 0 OR list_contains($countries, coalesce({alias}.country, $unknown)))"
    " AND ($segment IS NULL OR {alias}.customer_id IN (SELECT sm.customer_id"
    " FROM segment_members AS sm JOIN segments AS sg USING (segment_id) WHERE sg.name = $segment))"
)
"""Named-parameter form of the customer condition, for a row of customer_summary or
order_facts aliased ``{alias}`` (both carry first_channel and country)."""

ORDER_FILTER_SQL = (
    "(NOT $narrows_customers OR (NOT {alias}.is_guest AND " + CUSTOMER_FILTER_SQL + "))"
)
"""Named-parameter form for a row of order_facts: guests drop out when customers are narrowed."""

DATE_FILTER_SQL = (
    "($start IS NULL OR {alias}.ordered_at >= $start)"
    " AND ($end IS NULL OR {alias}.ordered_at < $end)"
)
"""The date range on an order's timestamp; ``$end`` is the day after the last day."""

UNKNOWN = "(unknown)"


@dataclass(frozen=True)
class Filters:
    """What the user narrowed the data to. Empty tuples and None mean "all"."""

    start: date | None = None
    end: date | None = None
    channels: tuple[str, ...] = ()
    countries: tuple[str, ...] = ()
    segment: str | None = None
    """The name of a saved segment, or None for all customers."""

    def __post_init__(self) -> None:
        if self.start and self.end and self.start > self.end:
            raise ValueError(f"start {self.start} is after end {self.end}; swap them")
        object.__setattr__(self, "channels", tuple(sorted(set(self.channels))))
        object.__setattr__(self, "countries", tuple(sorted(set(self.countries))))

    @property
    def narrows_customers(self) -> bool:
        return bool(self.channels or self.countries or self.segment)

    def named_params(self) -> dict[str, Any]:
        """Values for :data:`CUSTOMER_FILTER_SQL`, :data:`ORDER_FILTER_SQL` and
        :data:`DATE_FILTER_SQL` (the only place filters become SQL parameters)."""
        return {
            "start": self.start,
            "end": self.end + timedelta(days=1) if self.end else None,
            "channels": list(self.channels),
            "countries": list(self.countries),
            "segment": self.segment,
            "unknown": UNKNOWN,
            "narrows_customers": self.narrows_customers,
        }

    def to_query_params(self) -> dict[str, str]:
        """The filters as URL query parameters (empty ones left out)."""
        out: dict[str, str] = {}
        if self.start:
            out["start"] = self.start.isoformat()
        if self.end:
            out["end"] = self.end.isoformat()
        if self.channels:
            out["channel"] = ",".join(self.channels)
        if self.countries:
            out["country"] = ",".join(self.countries)
        if self.segment:
            out["segment"] = self.segment
        return out

    @classmethod
    def from_query_params(cls, params: dict[str, str]) -> Filters:
        """Inverse of :meth:`to_query_params`; malformed values are ignored, not fatal."""

        def day(value: str | None) -> date | None:
            try:
                return date.fromisoformat(value) if value else None
            except ValueError:
                return None

        def items(value: str | None) -> tuple[str, ...]:
            return tuple(v for v in (value or "").split(",") if v)

        start, end = day(params.get("start")), day(params.get("end"))
        if start and end and start > end:
            start, end = end, start
        return cls(
            start=start,
            end=end,
            channels=items(params.get("channel")),
            countries=items(params.get("country")),
            segment=(params.get("segment") or "").strip() or None,
        )
