"""Errors that stop an import as a whole. Each message says what was wrong and how to fix it."""

from __future__ import annotations

__all__ = [
    "IngestError",
    "AmbiguousDateFormat",
    "FileTooLarge",
    "UnsupportedFile",
    "EmptyFile",
    "NotTextFile",
    "CorruptFile",
    "MappingError",
]


class IngestError(ValueError):
    """The file cannot be imported as it is; the message is user-facing."""


class AmbiguousDateFormat(IngestError):
    """A date column fits more than one format (say dd/mm and mm/dd); the user must choose.

    ``candidates`` are strftime formats to offer; pass the chosen one as
    ``ReadOptions(date_format=...)``.
    """

    def __init__(self, column: str, candidates: tuple[str, ...], examples: tuple[str, ...] = ()):
        self.column = column
        self.candidates = candidates
        shown = ", ".join(repr(e) for e in examples[:3])
        message = (
            f"The dates in column {column!r} fit more than one format"
            + (f" (for example {shown})" if shown else "")
            + f": {' or '.join(candidates)}. Choose the date format and read the file again."
        )
        super().__init__(message)


class FileTooLarge(IngestError):
    """The file is over the upload limit."""


class UnsupportedFile(IngestError):
    """The file's extension is not one we read."""


class EmptyFile(IngestError):
    """The file has no data rows (empty, or a header only)."""


class NotTextFile(IngestError):
    """A file named .csv that is not text (binary, or an encoding we cannot decode)."""


class CorruptFile(IngestError):
    """A Parquet or Excel file that cannot be opened."""


class MappingError(IngestError):
    """The column mapping does not fit the file or the table."""
