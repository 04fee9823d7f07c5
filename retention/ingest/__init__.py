"""Importing files: read (CSV, Parquet, Excel), map columns, validate rows, load.

The reading-to-validation half lives in ``readers``, ``dates``, ``mapping``, ``validate`` and
``prepare``; ``prepare_import`` is the entry point. Loading into the database is ``load``.
"""

from __future__ import annotations

from retention.ingest.errors import (
    AmbiguousDateFormat,
    CorruptFile,
    EmptyFile,
    FileTooLarge,
    IngestError,
    MappingError,
    NotTextFile,
    UnsupportedFile,
)
from retention.ingest.load import ImportReport, LoadError, load_frames, load_prepared
from retention.ingest.mapping import (
    SHOPIFY_ORDERS_MAPPING,
    is_shopify_orders_export,
    suggest_mapping,
    suggest_table,
)
from retention.ingest.options import MAX_UPLOAD_BYTES, ReadOptions
from retention.ingest.prepare import PreparedImport, prepare_import
from retention.ingest.readers import SourceFrame, read_source

__all__ = [
    # prepare (read, map, validate)
    "AmbiguousDateFormat",
    "CorruptFile",
    "EmptyFile",
    "FileTooLarge",
    "IngestError",
    "MappingError",
    "NotTextFile",
    "UnsupportedFile",
    "SHOPIFY_ORDERS_MAPPING",
    "is_shopify_orders_export",
    "suggest_mapping",
    "suggest_table",
    "MAX_UPLOAD_BYTES",
    "ReadOptions",
    "PreparedImport",
    "prepare_import",
    "SourceFrame",
    "read_source",
    # load (one transaction per import)
    "ImportReport",
    "LoadError",
    "load_frames",
    "load_prepared",
]
