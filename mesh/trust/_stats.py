"""The statistics trust is made of: a decaying mean, robust z-scores, and a one-sided CUSUM."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass

MAD_TO_SIGMA = 1.4826
"""Scales the median absolute deviation to a standard deviation for normal data."""


@dataclass(slots=True)
class DecayingMean:
    """A weighted mean where each new observation multiplies every earlier weight (and the
    prior's) by `decay`: value = (prior w0 d^n + sum x_i d^(n-i)) / (w0 d^n + sum d^(n-i))."""

    prior: float
    weighted_sum: float
    weight: float
    count: int = 0

    @classmethod
    def starting(cls, prior: float, prior_weight: float) -> DecayingMean:
        return cls(prior, prior * prior_weight, prior_weight)

    def add(self, value: float, decay: float) -> None:
        self.weighted_sum = self.weighted_sum * decay + value
        self.weight = self.weight * decay + 1.0
        self.count += 1

    @property
    def value(self) -> float:
        return self.prior if self.weight <= 0 else self.weighted_sum / self.weight


def robust_z(value: float, sample: Sequence[float], floor: float) -> tuple[float, float]:
    """(z, median): how many robust standard deviations `value` lies from the median of
    `sample`, the scale being 1.4826 MAD but never below `floor` (> 0)."""
    median = statistics.median(sample) if sample else 0.0
    mad = statistics.median([abs(x - median) for x in sample]) if sample else 0.0
    scale = max(MAD_TO_SIGMA * mad, floor)
    return (value - median) / scale, median


@dataclass(slots=True)
class Cusum:
    """One-sided CUSUM on |z|: S = max(0, S + min(|z|, slack + cap) - slack); an alarm when S
    reaches the threshold, after which S starts again from 0."""

    slack: float
    threshold: float
    cap: float
    level: float = 0.0

    def observe(self, z: float) -> bool:
        self.level = max(0.0, self.level + min(abs(z), self.slack + self.cap) - self.slack)
        if self.level >= self.threshold:
            self.level = 0.0
            return True
        return False
