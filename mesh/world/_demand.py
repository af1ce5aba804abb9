from __future__ import annotations

import math

from mesh.settings import REGIONS, Scenario
from mesh.world._calendar import HISTORY_HOURS, HOUR, START, TOTAL_HOURS, at_hour
from mesh.world._models import Spike
from mesh.world._rng import entity_rng

_RAW_HOUR_PROFILE = (
    0.25, 0.20, 0.18, 0.18, 0.22, 0.35, 0.60, 0.90, 1.15, 1.30, 1.40, 1.45,
    1.45, 1.40, 1.35, 1.30, 1.30, 1.35, 1.45, 1.50, 1.35, 1.05, 0.70, 0.40,
)  # fmt: skip
HOUR_PROFILE: tuple[float, ...] = tuple(value * 24 / sum(_RAW_HOUR_PROFILE) for value in _RAW_HOUR_PROFILE)
DAY_PROFILE: tuple[float, ...] = (1.05, 1.10, 1.10, 1.05, 1.10, 0.85, 0.75)
UTC_OFFSET_HOURS: dict[str, int] = {"NA": -5, "EU": 1, "APAC": 8}

NOISE_AMPLITUDE: dict[Scenario, float] = {
    Scenario.STABLE: 0.05,
    Scenario.VOLATILE: 0.15,
    Scenario.DISRUPTION: 0.05,
}
_NOISE_PERSISTENCE = 0.6
_NOISE_SPREAD = 0.45
SPIKE_HOURS = (24, 72)
SPIKE_MAGNITUDE = (1.6, 2.5)
_SPIKE_GAP_HOURS = 24


def seasonality(region: str, hour: int) -> float:
    """Hour-of-day times day-of-week profile, both read on the region's local clock."""
    local_hour = hour + UTC_OFFSET_HOURS[region]
    return HOUR_PROFILE[local_hour % 24] * DAY_PROFILE[(local_hour // 24) % 7]


def base_rate(seed: int, sku_id: str, region: str) -> float:
    return round(entity_rng(seed, "base-rate", sku_id, region).uniform(2.0, 40.0), 2)


def unit_noise(seed: int, sku_id: str, region: str) -> list[float]:
    """Persistent noise in [-1, 1] for every hour of the world: a clipped AR(1) process."""
    rng = entity_rng(seed, "demand-noise", sku_id, region)
    innovation = _NOISE_SPREAD * math.sqrt(1 - _NOISE_PERSISTENCE**2)
    level = rng.gauss(0.0, _NOISE_SPREAD)
    values: list[float] = []
    for _ in range(TOTAL_HOURS):
        level = _NOISE_PERSISTENCE * level + rng.gauss(0.0, innovation)
        values.append(min(1.0, max(-1.0, level)))
    return values


def plan_spikes(seed: int) -> list[Spike]:
    """Three non-overlapping spikes: one in history, one in the horizon, one in either."""
    rng = entity_rng(seed, "spikes")
    history, horizon = (0, HISTORY_HOURS), (HISTORY_HOURS, TOTAL_HOURS)
    windows = [history, horizon, rng.choice([history, horizon])]
    placed: list[tuple[int, int]] = []
    spikes: list[Spike] = []
    for low, high in windows:
        hours = rng.randint(*SPIKE_HOURS)
        while True:
            begin = rng.randint(low, high - hours)
            end = begin + hours
            if all(_apart((begin, end), other) for other in placed):
                break
        placed.append((begin, end))
        spikes.append(
            Spike(
                region=rng.choice(REGIONS),
                start=at_hour(begin),
                end=at_hour(end),
                magnitude=round(rng.uniform(*SPIKE_MAGNITUDE), 2),
            )
        )
    return sorted(spikes, key=lambda spike: spike.start)


def _apart(first: tuple[int, int], second: tuple[int, int]) -> bool:
    return first[1] + _SPIKE_GAP_HOURS <= second[0] or second[1] + _SPIKE_GAP_HOURS <= first[0]


def multiplier_series(
    seed: int, scenario: Scenario, sku_id: str, region: str, spikes: list[Spike]
) -> list[float]:
    amplitude = NOISE_AMPLITUDE[scenario]
    low, high = 1 - amplitude, 1 + amplitude
    series = [min(high, max(low, 1 + amplitude * noise)) for noise in unit_noise(seed, sku_id, region)]
    for spike in spikes:
        if spike.region != region:
            continue
        for hour in range((spike.start - START) // HOUR, (spike.end - START) // HOUR):
            series[hour] *= spike.magnitude
    return series
