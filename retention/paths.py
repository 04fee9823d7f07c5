"""Where the app finds its DuckDB file."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["PROJECT_ROOT", "SAMPLE_DB_PATH", "default_db_path"]

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SAMPLE_DB_PATH = PROJECT_ROOT / "sample_data" / "shop.duckdb"
"""The bundled sample shop, built on first start (git-ignored)."""


def default_db_path() -> Path:
    """``$RETENTION_DB`` when set, else the sample shop file."""
    env = os.environ.get("RETENTION_DB", "").strip()
    return Path(env).expanduser() if env else SAMPLE_DB_PATH
