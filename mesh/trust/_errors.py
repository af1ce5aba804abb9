from __future__ import annotations


class TrustError(Exception):
    """Base error of the trust package."""


class ScoreRangeError(TrustError, ValueError):
    """A score outside [0, 1], or not a finite number."""

    def __init__(self, component: str, score: float) -> None:
        super().__init__(f"{component} score must be a finite number in [0, 1], got {score!r}")
        self.component = component
        self.score = score
