from __future__ import annotations

from pathlib import Path


class DataProductError(Exception):
    """Base error of the data-product package."""


class ContractError(DataProductError):
    """A contract file that cannot be used; names the file and the field at fault."""

    def __init__(self, path: Path, field: str, problem: str) -> None:
        super().__init__(f"contract {path}: field '{field}' {problem}")
        self.path = path
        self.field = field
        self.problem = problem
