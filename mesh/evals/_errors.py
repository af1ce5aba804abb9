"""The eval harness's errors: one base, and a leaf naming the file and field of a bad data file."""

from __future__ import annotations

from pathlib import Path


class EvalError(Exception):
    """Base error of the eval harness."""


class EvalFileError(EvalError, ValueError):
    """A case, recording or baseline file that cannot be used: `path` and `field` say where."""

    def __init__(self, path: Path, field: str, problem: str) -> None:
        self.path = path
        self.field = field
        self.problem = problem
        super().__init__(f"{path}: field {field}: {problem}")


class ReplayError(EvalError):
    """A recording that ran out or does not match what the model was asked (a model error)."""
