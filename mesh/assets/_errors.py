"""The asset registry's one error."""

from __future__ import annotations

from pathlib import Path


class AssetError(ValueError):
    """An asset that cannot be used: its file, the field (or `None` for the whole file), and why."""

    def __init__(self, path: Path, field: str | None, problem: str) -> None:
        self.path = path
        self.field = field
        self.problem = problem
        where = f"{path}" + (f", field {field!r}" if field else "")
        super().__init__(f"{where}: {problem}")
