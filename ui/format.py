"""Number and date formatting for the UI: one place, so every page reads the same."""

from __future__ import annotations

from datetime import date, datetime

__all__ = ["money", "count", "share", "day", "bytes_size"]


def money(value: float | None, currency: str | None = None) -> str:
    """1,234.56 below ten thousand, then 12.3k and 1.23M; the currency code in front if known."""
    if value is None:
        return "–"
    prefix = f"{currency} " if currency else ""
    if abs(value) >= 1e6:
        return f"{prefix}{value / 1e6:,.2f}M"
    if abs(value) >= 1e4:
        return f"{prefix}{value / 1e3:,.1f}k"
    return f"{prefix}{value:,.2f}"


def count(value: int | None) -> str:
    return "–" if value is None else f"{value:,}"


def share(value: float | None, digits: int = 1) -> str:
    return "–" if value is None else f"{value:.{digits}%}"


def day(value: date | datetime | None) -> str:
    if value is None:
        return "–"
    if isinstance(value, datetime):
        value = value.date()
    return value.isoformat()


def bytes_size(value: int | None) -> str:
    if value is None:
        return "–"
    size = float(value)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:,.0f} {unit}" if unit == "B" else f"{size:,.1f} {unit}"
        size /= 1024
    return f"{size:,.1f} GB"
