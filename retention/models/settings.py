"""The model settings a shop chooses (margin, discount rate, horizon ...), kept in the DuckDB file.

They live in ``meta`` under the key ``model_settings`` as JSON, so every page, the CLI and the
refit after an import use the same values. Missing keys take the defaults below.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields, replace
from typing import Any, Literal

from retention.models.rfm_sql import Queryable

__all__ = ["SETTINGS_KEY", "ModelSettings", "load_settings", "save_settings"]

SETTINGS_KEY = "model_settings"


@dataclass(frozen=True)
class ModelSettings:
    """Settings of the predictive models.

    - ``unit``: the time unit the purchase model is fitted in (its alpha is per unit).
    - ``horizon_days``: how far ahead expected orders and predicted CLTV reach.
    - ``margin``: gross margin as a share of revenue; 1.0 means CLTV is revenue.
    - ``annual_discount_rate``: money next year is worth 1/(1 + rate) today; applied monthly.
    - ``interval``: the coverage of every interval (0.8 = 10th to 90th percentile).
    - ``draws``: parameter draws behind the intervals.
    - ``churn_horizon_days``: churn risk is the chance of no order within this many days.
    - ``seed``: random seed of the draws and of the churn-risk model.
    """

    unit: Literal["week", "day"] = "week"
    horizon_days: int = 365
    margin: float = 1.0
    annual_discount_rate: float = 0.10
    interval: float = 0.80
    draws: int = 200
    churn_horizon_days: int = 90
    seed: int = 0

    def __post_init__(self) -> None:
        problems = []
        if self.unit not in ("week", "day"):
            problems.append(f"unit must be week or day, not {self.unit!r}")
        if not 1 <= self.horizon_days <= 3650:
            problems.append(f"horizon must be 1 to 3,650 days, not {self.horizon_days}")
        if not 0 < self.margin <= 1:
            problems.append(f"margin must be above 0% and at most 100%, not {self.margin:.0%}")
        if not 0 <= self.annual_discount_rate < 1:
            problems.append(
                f"annual discount rate must be 0% to 99%, not {self.annual_discount_rate:.0%}"
            )
        if not 0.5 <= self.interval < 1:
            problems.append(f"interval must be 50% to 99%, not {self.interval:.0%}")
        if not 20 <= self.draws <= 5000:
            problems.append(f"draws must be 20 to 5,000, not {self.draws}")
        if not 7 <= self.churn_horizon_days <= 730:
            problems.append(f"churn horizon must be 7 to 730 days, not {self.churn_horizon_days}")
        if problems:
            raise ValueError("Invalid model settings: " + "; ".join(problems) + ".")

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> ModelSettings:
        """Known keys only (a file written by a newer version keeps working)."""
        known = {f.name for f in fields(cls)}
        return replace(cls(), **{k: v for k, v in values.items() if k in known})


def load_settings(db: Queryable) -> ModelSettings:
    """The file's settings, or the defaults when none were saved."""
    frame = db.query("SELECT value FROM meta WHERE key = $key", {"key": SETTINGS_KEY})
    if frame.empty or frame["value"].iloc[0] is None:
        return ModelSettings()
    return ModelSettings.from_dict(json.loads(frame["value"].iloc[0]))


def save_settings(store: Any, settings: ModelSettings) -> None:
    """Write the settings (one transaction; bumps the data version like any write)."""
    with store.transaction() as tx:
        tx.execute(
            "INSERT OR REPLACE INTO meta VALUES ($key, $value)",
            {"key": SETTINGS_KEY, "value": settings.to_json()},
        )
