"""Import wizard glue: cached reading and preparing of an uploaded file.

The uploaded bytes stay out of the cache key (leading underscore); their SHA-256 stands in.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

import streamlit as st

from retention.ingest.options import ReadOptions
from retention.ingest.prepare import PreparedImport, prepare_import
from retention.ingest.readers import SourceFrame, read_source

__all__ = ["sha256", "read_cached", "prepare_cached"]


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@st.cache_data(ttl=900, max_entries=4, show_spinner=False)
def read_cached(_data: bytes, digest: str, source_name: str, options: ReadOptions) -> SourceFrame:
    return read_source(_data, source_name, options)


@st.cache_data(ttl=900, max_entries=4, show_spinner=False)
def prepare_cached(
    _data: bytes,
    digest: str,
    source_name: str,
    table_name: str,
    options: ReadOptions,
    mapping: tuple[tuple[str, str], ...],
) -> PreparedImport:
    return prepare_import(_data, source_name, table_name, options=options, mapping=dict(mapping))


def mapping_key(mapping: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted(mapping.items()))
