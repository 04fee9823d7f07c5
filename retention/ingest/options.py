"""Reader options and the upload limit.

A :class:`ReadOptions` left at its defaults means "detect everything"; the reader returns the
resolved options (what it detected or was given) so the UI can show them and a re-run can pin
them.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["MAX_UPLOAD_BYTES", "MAX_FIELD_CHARS", "ReadOptions"]

MAX_UPLOAD_BYTES: int = 200 * 1024 * 1024
"""Largest file the app accepts; the CLI (``python -m retention import FILE``) has no limit."""

MAX_FIELD_CHARS: int = 10_000
"""A cell longer than this rejects its row (a runaway quote or pasted blob, not data)."""


@dataclass(frozen=True)
class ReadOptions:
    """How to read a file; ``None`` means detect it.

    ``date_format`` is a strftime format such as ``"%d.%m.%Y"``; a time part, when present in
    the values, is read whatever the format says about it.
    """

    delimiter: str | None = None
    decimal: str | None = None
    encoding: str | None = None
    date_format: str | None = None
    sheet: str | None = None
