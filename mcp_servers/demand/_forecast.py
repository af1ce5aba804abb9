"""Additive Holt-Winters with a weekly season, on daily totals: the demand domain's forecast."""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import fmean, pstdev

SEASON = 7
METHOD = "holt-winters-additive(alpha=0.3,beta=0.05,gamma=0.2,season=7)"
_Z95 = 1.96


@dataclass(frozen=True)
class Forecast:
    point: list[float]
    lower: list[float]
    upper: list[float]


def holt_winters(
    history: list[float], horizon: int, *, alpha: float = 0.3, beta: float = 0.05, gamma: float = 0.2
) -> Forecast:
    """Forecast `horizon` days after `history` (at least two full seasons), clipped at zero."""
    if len(history) < 2 * SEASON:
        raise ValueError(f"need at least {2 * SEASON} days of history, got {len(history)}")
    level = fmean(history[:SEASON])
    trend = (fmean(history[SEASON : 2 * SEASON]) - level) / SEASON
    season = [y - level for y in history[:SEASON]]
    residuals: list[float] = []
    for t, y in enumerate(history):
        s = season[t % SEASON]
        fitted = level + trend + s
        residuals.append(y - fitted)
        previous_level = level
        level = alpha * (y - s) + (1 - alpha) * (level + trend)
        trend = beta * (level - previous_level) + (1 - beta) * trend
        season[t % SEASON] = gamma * (y - level) + (1 - gamma) * s
    sigma = pstdev(residuals[SEASON:])
    n = len(history)
    point = [max(level + h * trend + season[(n + h - 1) % SEASON], 0.0) for h in range(1, horizon + 1)]
    spread = [_Z95 * sigma * math.sqrt(h) for h in range(1, horizon + 1)]
    return Forecast(
        point=point,
        lower=[max(p - w, 0.0) for p, w in zip(point, spread, strict=True)],
        upper=[p + w for p, w in zip(point, spread, strict=True)],
    )


def backtest(daily: list[float], holdout: int) -> tuple[float, float]:
    """MAPE and relative bias of forecasting the last `holdout` days from the days before them."""
    actual = daily[-holdout:]
    predicted = holt_winters(daily[:-holdout], holdout).point
    pairs = [(a, p) for a, p in zip(actual, predicted, strict=True) if a > 0]
    mape = fmean(abs(a - p) / a for a, p in pairs) if pairs else 0.0
    bias = (fmean(predicted) - fmean(actual)) / fmean(actual) if fmean(actual) > 0 else 0.0
    return mape, bias
