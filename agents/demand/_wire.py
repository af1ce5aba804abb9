"""The demand agent's skill inputs and outputs."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import Field, model_validator

from agents._ids import Region, SkuId
from agents._wire import ProductSource, Record, SkillInput, SkillOutput

PUBLISHED_HORIZON_DAYS = 14
"""How far the published `demand.forecast` product reaches."""
MAX_HORIZON_DAYS = 56


class ForecastInput(SkillInput):
    sku_id: SkuId
    region: Region
    horizon_days: int = Field(default=PUBLISHED_HORIZON_DAYS, ge=1, le=MAX_HORIZON_DAYS)
    method: Literal["published", "recompute"] = Field(
        default="published",
        description=(
            "published: the demand.forecast product (14 days) and its back-test; recompute: Holt-Winters "
            "on the hourly demand history now, for any horizon up to 56 days"
        ),
    )

    @model_validator(mode="after")
    def _published_horizon(self) -> ForecastInput:
        if self.method == "published" and self.horizon_days > PUBLISHED_HORIZON_DAYS:
            raise ValueError(
                f"the published forecast covers {PUBLISHED_HORIZON_DAYS} days; "
                "use method 'recompute' for a longer horizon"
            )
        return self


class ForecastDay(Record):
    date: date
    units: float = Field(description="expected units that day")
    lower: float = Field(description="lower bound of the 95% interval")
    upper: float = Field(description="upper bound of the 95% interval")


class ForecastAccuracy(Record):
    """How well the same method forecast the last `holdout_days` days of history from the days before."""

    mape: float = Field(description="mean absolute percentage error, as a share (0.05 = 5%)")
    bias: float = Field(description="relative bias of the back-test (positive: over-forecast)")
    holdout_days: int
    evaluated_from: date
    evaluated_to: date


class Forecast(SkillOutput):
    sku_id: str
    region: str
    method: Literal["published", "recompute"]
    model: str = Field(description="the forecasting model and its parameters")
    as_of: datetime = Field(description="the demand domain's clock: forecasts start on this day")
    horizon_days: int
    days: list[ForecastDay]
    total_units: float
    mean_daily_units: float
    accuracy: ForecastAccuracy
    sources: list[ProductSource]

    def summary(self) -> str:
        return (
            f"{self.sku_id} in {self.region}: {self.total_units:,.0f} units over {self.horizon_days} days "
            f"({self.mean_daily_units:,.1f} a day, {self.method} {self.model.split('(')[0]}); "
            f"back-test MAPE {self.accuracy.mape:.1%}, bias {self.accuracy.bias:+.1%}"
        )
