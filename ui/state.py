"""Session-state keys: one constant each, set once with setdefault.

Sidebar keys are shared by every page; page-local keys carry the page name as prefix.
"""

from __future__ import annotations

FILTER_DATES = "filters.dates"
FILTER_CHANNELS = "filters.channels"
FILTER_COUNTRIES = "filters.countries"
FILTER_SEGMENT = "filters.segment"
FILTERS = "filters.value"  # the Filters object of this run, read by the pages
FILTERS_FROM_URL = "filters.loaded_from_url"
FRAME_RAN = "frame.ran"  # set by app.py each run, taken by the page

DATA_TABLE = "data.table"
DATA_UPLOAD = "data.upload"
DATA_UPLOAD_GENERATION = "data.upload_generation"
DATA_DELIMITER = "data.delimiter"
DATA_DECIMAL = "data.decimal"
DATA_ENCODING = "data.encoding"
DATA_DATE_FORMAT = "data.date_format"
DATA_MAPPING_PREFIX = "data.map."
DATA_IMPORT_BUTTON = "data.import"
DATA_LAST_REPORT = "data.last_report"
DATA_LAST_MODEL_MESSAGES = "data.last_model_messages"
DATA_VIEW = "data.view"
DATA_HEALTH_TABLE = "data.health_table"
DATA_REJECTED_IMPORT = "data.rejected_import"
