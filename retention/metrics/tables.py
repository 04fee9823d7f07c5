"""Named tables: each page's main table as a plain DataFrame, for the CLI, exports and tests.

A family module registers its tables with :func:`register_table`; ``python -m retention table
NAME`` prints them. The function receives the store and a :class:`TableRequest`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pandas as pd

from retention.filters import Filters
from retention.metrics.periods import Grain

if TYPE_CHECKING:
    from retention.store import Store

__all__ = ["TableRequest", "TableSpec", "TABLE_REGISTRY", "register_table", "build_table"]


@dataclass(frozen=True)
class TableRequest:
    """What a table is asked for: the calendar grain, the filters and extra settings."""

    period: Grain = "month"
    filters: Filters = field(default_factory=Filters)
    params: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class TableSpec:
    name: str
    description: str
    build: Callable[[Store, TableRequest], pd.DataFrame]


TABLE_REGISTRY: dict[str, TableSpec] = {}


def register_table(
    name: str, description: str
) -> Callable[
    [Callable[[Store, TableRequest], pd.DataFrame]], Callable[[Store, TableRequest], pd.DataFrame]
]:
    """Decorator: ``@register_table("cohort-retention", "...")`` on ``fn(store, request)``."""

    def wrap(
        fn: Callable[[Store, TableRequest], pd.DataFrame],
    ) -> Callable[[Store, TableRequest], pd.DataFrame]:
        if name in TABLE_REGISTRY:
            raise ValueError(f"table {name!r} is registered twice")
        TABLE_REGISTRY[name] = TableSpec(name, description, fn)
        return fn

    return wrap


def build_table(store: Store, name: str, request: TableRequest) -> pd.DataFrame:
    try:
        spec = TABLE_REGISTRY[name]
    except KeyError:
        raise KeyError(
            f"unknown table {name!r}; known tables: {', '.join(sorted(TABLE_REGISTRY))}"
        ) from None
    return spec.build(store, request)
