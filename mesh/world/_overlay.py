"""A world overlay: row patches applied to the synthetic world's domain tables, for evals (an
instruction injected into a supplier's name) and what-if runs. A file, validated against the
world it patches; every problem names the file and the field."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from mesh.world._world import World

OVERLAY_FORMAT = "world-overlay/1"


class WorldOverlayError(ValueError):
    """An overlay file that cannot be applied; `path` and `field` say where."""

    def __init__(self, path: Path, field: str, problem: str) -> None:
        self.path, self.field, self.problem = path, field, problem
        super().__init__(f"world overlay {path}: field {field}: {problem}")


class RowPatch(BaseModel):
    """Set `set`'s columns on every row of `domain`'s `table` whose columns equal `where`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    domain: str = Field(min_length=1)
    table: str = Field(min_length=1)
    where: dict[str, str | int | float | bool] = Field(min_length=1)
    set: dict[str, str | int | float | bool] = Field(min_length=1)


class WorldOverlay(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    format: Literal["world-overlay/1"]
    description: str = ""
    patches: list[RowPatch] = Field(min_length=1)


class OverlaidWorld(World):
    """A `World` whose domain tables carry the overlay's patches."""

    def __init__(self, base: World, patches: dict[str, list[RowPatch]]) -> None:
        super().__init__(base._facts)
        self._patches = patches

    def __repr__(self) -> str:
        return f"OverlaidWorld(seed={self.seed}, scenario={self.scenario.value!r})"

    def domain_tables(self, domain: str) -> dict[str, list[dict[str, Any]]]:
        tables = super().domain_tables(domain)
        for patch in self._patches.get(domain, []):
            for row in tables[patch.table]:
                if all(row.get(column) == value for column, value in patch.where.items()):
                    row.update(patch.set)
        return tables


def load_overlay(path: Path, world: World) -> World:
    """`world` with the overlay at `path` applied; `WorldOverlayError` naming file and field when
    the file is unreadable or malformed, or a patch names an unknown domain, table or column,
    matches no row, or changes a column's type."""
    try:
        overlay = WorldOverlay.model_validate(json.loads(path.read_text(encoding="utf-8")))
    except OSError as error:
        raise WorldOverlayError(path, "(file)", f"cannot be read: {error.strerror or error}") from None
    except json.JSONDecodeError as error:
        raise WorldOverlayError(path, "(file)", f"not JSON: {error.msg} at line {error.lineno}") from None
    except ValidationError as error:
        first = error.errors()[0]
        raise WorldOverlayError(path, ".".join(map(str, first["loc"])) or "(file)", first["msg"]) from None
    by_domain: dict[str, list[RowPatch]] = {}
    for index, patch in enumerate(overlay.patches):
        where = f"patches.{index}"
        try:
            tables = world.domain_tables(patch.domain)
        except ValueError as error:
            raise WorldOverlayError(path, f"{where}.domain", str(error)) from None
        if patch.table not in tables:
            raise WorldOverlayError(
                path,
                f"{where}.table",
                f"{patch.domain} has no table {patch.table!r}; it has {sorted(tables)}",
            )
        rows = tables[patch.table]
        columns = set(rows[0]) if rows else set()
        for part, values in (("where", patch.where), ("set", patch.set)):
            for column, value in values.items():
                if column not in columns:
                    raise WorldOverlayError(
                        path, f"{where}.{part}.{column}", f"no column {column!r} in {patch.table}"
                    )
                if part == "set" and rows and type(rows[0][column]) is not type(value):
                    raise WorldOverlayError(
                        path,
                        f"{where}.set.{column}",
                        f"{type(value).__name__} where the column holds {type(rows[0][column]).__name__}",
                    )
        if not any(all(row.get(c) == v for c, v in patch.where.items()) for row in rows):
            raise WorldOverlayError(path, f"{where}.where", f"matches no row of {patch.domain}.{patch.table}")
        by_domain.setdefault(patch.domain, []).append(patch)
    return OverlaidWorld(world, by_domain)
