"""The demand agent's logic: forecasts from the demand domain's products, or recomputed from its
hourly history with the domain's own Holt-Winters (`mcp_servers.demand._forecast`, the same code
the domain publishes its forecast with; imported when a recompute needs it, since agents start
without the domain servers' package, see `agents._ids`)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import date, timedelta
from typing import Any

from agents._errors import SkillFailed
from agents._mcp import ToolSession
from agents._skills import Skill
from agents.demand._wire import Forecast, ForecastAccuracy, ForecastDay, ForecastInput

HOLDOUT_DAYS = 7
"""Days the recomputed forecast is back-tested on, as the domain's `forecast_accuracy` product."""
QUERY_LIMIT = 5000


def daily_totals(hourly: Iterable[Mapping[str, Any]]) -> list[tuple[date, float]]:
    """Hourly rows (`ts`, `units`) summed per UTC day, oldest first."""
    totals: dict[str, float] = defaultdict(float)
    for row in hourly:
        totals[str(row["ts"])[:10]] += float(row["units"])
    return [(date.fromisoformat(day), totals[day]) for day in sorted(totals)]


def recomputed(
    request: ForecastInput, history: list[tuple[date, float]], first_day: date
) -> tuple[list[ForecastDay], ForecastAccuracy, str]:
    """Holt-Winters over the daily history, its back-test over the last `HOLDOUT_DAYS` days, and
    the model's name with its parameters."""
    from mcp_servers.demand._forecast import METHOD, SEASON, backtest, holt_winters

    series = [units for _, units in history]
    if len(series) < 2 * SEASON + HOLDOUT_DAYS:
        raise SkillFailed(
            f"{request.sku_id} in {request.region} has {len(series)} days of history; "
            f"recomputing needs at least {2 * SEASON + HOLDOUT_DAYS}"
        )
    result = holt_winters(series, request.horizon_days)
    mape, bias = backtest(series, HOLDOUT_DAYS)
    days = [
        ForecastDay(
            date=first_day + timedelta(days=h),
            units=round(result.point[h], 3),
            lower=round(result.lower[h], 3),
            upper=round(result.upper[h], 3),
        )
        for h in range(request.horizon_days)
    ]
    accuracy = ForecastAccuracy(
        mape=round(mape, 4),
        bias=round(bias, 4),
        holdout_days=HOLDOUT_DAYS,
        evaluated_from=history[-HOLDOUT_DAYS][0],
        evaluated_to=history[-1][0],
    )
    return days, accuracy, METHOD


async def forecast(session: ToolSession, request: ForecastInput) -> Forecast:
    where = {"sku_id": request.sku_id, "region": request.region}
    if request.method == "recompute":
        hourly = await session.query("demand", "query_hourly_demand", where | {"limit": QUERY_LIMIT})
        days, accuracy, model = recomputed(request, daily_totals(hourly.rows), hourly.as_of.date())
        as_of, sources = hourly.as_of, [hourly.source]
    else:
        published = await session.query("demand", "get_forecast", where | {"limit": QUERY_LIMIT})
        checked = await session.query("demand", "get_forecast_accuracy", where)
        rows = sorted(published.rows, key=lambda row: str(row["date"]))[: request.horizon_days]
        if not rows or not checked.rows:
            raise SkillFailed(
                f"the demand domain publishes no forecast for {request.sku_id} in {request.region}"
            )
        days = [
            ForecastDay.model_validate({k: row[k] for k in ("date", "units", "lower", "upper")})
            for row in rows
        ]
        back_test = checked.rows[0]
        accuracy = ForecastAccuracy(
            mape=back_test["mape"],
            bias=back_test["bias"],
            holdout_days=back_test["horizon_days"],
            evaluated_from=back_test["evaluated_from"],
            evaluated_to=back_test["evaluated_to"],
        )
        model, as_of, sources = str(rows[0]["method"]), published.as_of, [published.source, checked.source]
    total = sum(day.units for day in days)
    return Forecast(
        sku_id=request.sku_id,
        region=request.region,
        method=request.method,
        model=model,
        as_of=as_of,
        horizon_days=len(days),
        days=days,
        total_units=round(total, 3),
        mean_daily_units=round(total / len(days), 3),
        accuracy=accuracy,
        sources=sources,
    )


FORECAST = Skill(
    id="forecast",
    name="Demand forecast",
    description=(
        "Daily demand forecast for one SKU in one region with a 95% interval and its back-tested "
        "accuracy (MAPE, bias): the published demand.forecast product (14 days), or Holt-Winters "
        "recomputed now from the hourly demand history for up to 56 days."
    ),
    tags=("demand", "forecast", "holt-winters"),
    examples=(
        '{"skill": "forecast", "input": {"sku_id": "SKU-07", "region": "EU"}}',
        '{"skill": "forecast", "input": {"sku_id": "SKU-03", "region": "NA", "horizon_days": 28, '
        '"method": "recompute"}}',
    ),
    input_model=ForecastInput,
    output_model=Forecast,
    run=forecast,
)
