"""Metrics: the registry and one module per family.

Importing this package registers every metric; read them from ``REGISTRY``.
"""

from retention.metrics import (  # noqa: F401  (importing registers metrics and tables)
    churn,
    cohorts,
    conversion,
    kpis,
    value,
)
from retention.metrics.periods import Grain, Period, calendar_periods, trailing_periods
from retention.metrics.registry import REGISTRY, Metric, compute, full_sql, metric

__all__ = [
    "REGISTRY",
    "Metric",
    "metric",
    "compute",
    "full_sql",
    "Period",
    "Grain",
    "trailing_periods",
    "calendar_periods",
]
