from __future__ import annotations

from pathlib import Path


class PolicyError(Exception):
    """Base error of the policy package."""


class PolicyLoadError(PolicyError):
    """A policy set that cannot be loaded: a file that does not parse or compile, bad data, no version."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason
