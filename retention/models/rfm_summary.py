"""The canonical per-customer summary that every buy-till-you-die model reads.

One row per customer: ``frequency`` x (repeat purchase *days*), ``recency`` t_x (first to last
purchase), ``T`` (first purchase to the end of the calibration period) and ``monetary_value``
(mean value of the repeat purchase days). The conventions are those of the published CDNOW
analyses (Fader, Hardie & Lee 2005; Fader & Hardie 2013), so the published parameters are
reproduced exactly:

- A purchase is a calendar day: orders of the same customer on the same day merge into one
  transaction whose value is their sum. Timestamps are floored to the day (time of day and
  time zone are ignored as given).
- ``calibration_end`` is the last day of the calibration period and is *inclusive*: orders on
  that day count. Durations are whole days between purchase dates, and T is measured to the
  start (00:00) of ``calibration_end``, so a purchase on the last day has t_x = T. On CDNOW
  (calibration 1997-01-01 to 1997-09-30) customer 1 bought on 1997-01-01, 01-18 and 08-02:
  x = 2, t_x = 213 days = 30.43 weeks and T = 272 days = 38.86 weeks, as published (measuring T
  to 1997-10-01 would give 39.00).
- x counts repeat days only (the first purchase day is excluded); ``monetary_value`` is the
  mean value over those x days, 0 when x = 0 (the first purchase is left out of the spend
  model, as in Fader & Hardie 2013).

References
----------
Fader, P. S., Hardie, B. G. S. & Lee, K. L. (2005). "Counting Your Customers the Easy Way: An
Alternative to the Pareto/NBD Model". Marketing Science 24(2), 275-284.
Fader, P. S. & Hardie, B. G. S. (2013). "The Gamma-Gamma Model of Monetary Value".
http://www.brucehardie.com/notes/025/
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

__all__ = [
    "SUMMARY_COLUMNS",
    "UNITS",
    "read_cdnow",
    "summary_from_transactions",
]

SUMMARY_COLUMNS: tuple[str, ...] = ("customer_id", "frequency", "recency", "T", "monetary_value")
UNITS: dict[str, float] = {"day": 1.0, "week": 7.0}


def _to_days(values: ArrayLike, name: str) -> pd.Series:
    days = pd.Series(pd.to_datetime(np.asarray(values)))
    if days.isna().any():
        raise ValueError(f"{name} has {int(days.isna().sum())} missing value(s)")
    if days.dt.tz is not None:
        days = days.dt.tz_localize(None)
    return days.dt.floor("D")


def _day(value: object, name: str) -> pd.Timestamp:
    day = pd.Timestamp(value)
    if day is pd.NaT:
        raise ValueError(f"{name} must be a date, got {value!r}")
    if day.tz is not None:
        day = day.tz_localize(None)
    return day.floor("D")


def _daily(customer_id: ArrayLike, timestamps: ArrayLike, monetary: ArrayLike) -> pd.DataFrame:
    """One row per (customer, day) with the day's summed value, sorted by customer and day."""
    ids = pd.Series(np.asarray(customer_id))
    values = pd.Series(np.asarray(monetary, dtype="float64"))
    if not len(ids) == len(values) == len(np.asarray(timestamps)):
        raise ValueError(
            "customer_id, timestamps and monetary must have the same length, got "
            f"{len(ids)}, {len(np.asarray(timestamps))} and {len(values)}"
        )
    if ids.isna().any():
        raise ValueError(f"customer_id has {int(ids.isna().sum())} missing value(s)")
    if not np.isfinite(values).all():
        raise ValueError(f"monetary has {int((~np.isfinite(values)).sum())} non-finite value(s)")
    frame = pd.DataFrame({"customer_id": ids, "day": _to_days(timestamps, "timestamps")})
    frame["value"] = values
    return frame.groupby(["customer_id", "day"], sort=True, as_index=False)["value"].sum()


def summary_from_transactions(
    customer_id: ArrayLike,
    timestamps: ArrayLike,
    monetary: ArrayLike,
    calibration_end: object,
    *,
    unit: Literal["week", "day"] = "week",
    first_day: object | None = None,
) -> pd.DataFrame:
    """Per-customer (frequency, recency, T, monetary_value) over the calibration period.

    Inputs are three equally long 1-D arrays, one entry per order line. Only orders on days in
    [``first_day``, ``calibration_end``] (both inclusive; no lower limit when ``first_day`` is
    None) are read; a customer with no order there is absent from the result.

    Returns one row per customer, sorted by ``customer_id``, with columns ``SUMMARY_COLUMNS``:

    - frequency x = (number of distinct purchase days) − 1, an int64;
    - recency t_x = (last purchase day − first purchase day) / u;
    - T = (calibration_end − first purchase day) / u;
    - monetary_value = (total value − value of the first day) / x, or 0 when x = 0;

    with u = 1 day (``unit="day"``) or 7 days (``unit="week"``). See the module docstring for
    why T is measured to the start of ``calibration_end``.
    """
    if unit not in UNITS:
        raise ValueError(f"unit must be one of {', '.join(UNITS)}, got {unit!r}")
    end = _day(calibration_end, "calibration_end")
    daily = _daily(customer_id, timestamps, monetary)
    keep = daily["day"] <= end
    if first_day is not None:
        start = _day(first_day, "first_day")
        if start > end:
            raise ValueError(f"first_day {start.date()} is after calibration_end {end.date()}")
        keep &= daily["day"] >= start
    daily = daily[keep]
    grouped = daily.groupby("customer_id", sort=True)
    first = grouped["day"].min()
    last = grouped["day"].max()
    days = grouped["day"].size()
    total = grouped["value"].sum()
    first_value = grouped["value"].first()  # rows are sorted by day within a customer
    frequency = (days - 1).astype("int64")
    repeat_value = (total - first_value).to_numpy()
    x = frequency.to_numpy()
    safe_x = np.maximum(x, 1)
    per_unit = np.timedelta64(1, "D") * UNITS[unit]
    return pd.DataFrame(
        {
            "customer_id": first.index.to_numpy(),
            "frequency": x,
            "recency": ((last - first) / per_unit).to_numpy(dtype="float64"),
            "T": ((end - first) / per_unit).to_numpy(dtype="float64"),
            "monetary_value": np.where(x > 0, repeat_value / safe_x, 0.0),
        }
    )


def read_cdnow(path: str | Path) -> pd.DataFrame:
    """Read the CDNOW sample file of Fader, Hardie & Lee (2005).

    The file is whitespace-separated without a header, one order line per row:
    ``master_customer_id sample_customer_id date(YYYYMMDD) number_of_cds dollar_value``.
    Returns columns ``customer_id`` (the sample id, int64, 1..2357), ``ordered_at``
    (datetime64), ``cds`` (int64) and ``revenue`` (float64), in file order.
    """
    raw = pd.read_csv(
        path,
        sep=r"\s+",
        header=None,
        names=["master_id", "customer_id", "date", "cds", "revenue"],
        dtype={"master_id": "int64", "customer_id": "int64", "date": str, "cds": "int64"},
    )
    return pd.DataFrame(
        {
            "customer_id": raw["customer_id"],
            "ordered_at": pd.to_datetime(raw["date"], format="%Y%m%d"),
            "cds": raw["cds"],
            "revenue": raw["revenue"].astype("float64"),
        }
    )
