"""The data-product contract: the wire shape every domain's contract file follows."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from mesh.settings import DOMAINS

from ._errors import ContractError

CONTRACT_FORMAT: Literal["1"] = "1"
_SEMVER = r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-[0-9A-Za-z.-]+)?$"
_IDENTIFIER = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
_COLUMN_TYPES = {"string", "integer", "number", "boolean"}


class QualityTargets(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    completeness: float = Field(ge=0, le=1, description="share of required cells that are present")
    accuracy: float = Field(ge=0, le=1, description="share of rows that conform to the schema")


class Lineage(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    inputs: list[str] = Field(min_length=1, description="tables or data products this one is made from")
    transformations: list[str] = Field(default_factory=list)


class DataProductContract(BaseModel):
    """A versioned, documented dataset with the promises its owner makes about it."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    contract_format: Literal["1"] = CONTRACT_FORMAT
    id: str = Field(pattern=r"^[a-z]+\.[a-z][a-z0-9_]*$", description="<owner domain>.<product name>")
    owner: Literal["demand", "inventory", "logistics", "sustainability", "procurement"]
    version: str = Field(pattern=_SEMVER)
    title: str = Field(min_length=1)
    description: str = Field(min_length=1)
    table: str = Field(pattern=r"^[a-z][a-z0-9_]*$", description="backing table in the owner's store")
    row_schema: dict[str, Any] = Field(alias="schema", description="JSON Schema (2020-12) of one row")
    key: list[str] = Field(min_length=1)
    time_field: str | None = None
    freshness_sla: timedelta = Field(description="ISO 8601 duration: longest acceptable data lag")
    min_rows: int = Field(default=1, ge=0, description="fewer rows than this fails completeness")
    quality: QualityTargets
    lineage: Lineage
    access_scope: str = Field(pattern=r"^[a-z]+:[a-z][a-z0-9_.]*:read$|^[a-z]+:read$")

    @property
    def name(self) -> str:
        return self.id.split(".", 1)[1]

    @property
    def columns(self) -> dict[str, dict[str, Any]]:
        columns: dict[str, dict[str, Any]] = self.row_schema.get("properties", {})
        return columns

    @property
    def required_columns(self) -> list[str]:
        return list(self.row_schema.get("required", []))

    def column_type(self, column: str) -> str:
        declared = self.columns[column].get("type", "string")
        types = [declared] if isinstance(declared, str) else [t for t in declared if t != "null"]
        return types[0]

    @field_validator("row_schema")
    @classmethod
    def _valid_json_schema(cls, schema: dict[str, Any]) -> dict[str, Any]:
        try:
            Draft202012Validator.check_schema(schema)
        except SchemaError as err:
            where = "/".join(str(p) for p in err.absolute_path) or "(root)"
            raise ValueError(f"not a valid JSON Schema at {where}: {err.message}") from None
        if schema.get("type") != "object" or not isinstance(schema.get("properties"), dict):
            raise ValueError("must describe an object with 'properties'")
        for column, spec in schema["properties"].items():
            if not _IDENTIFIER.match(column):
                raise ValueError(f"column name {column!r} must match {_IDENTIFIER.pattern}")
            declared = spec.get("type")
            types = {declared} if isinstance(declared, str) else set(declared or ())
            if not types - {"null"} or not (types - {"null"}) <= _COLUMN_TYPES:
                raise ValueError(f"column {column!r} needs a scalar type out of {sorted(_COLUMN_TYPES)}")
        missing = sorted(set(schema.get("required", [])) - set(schema["properties"]))
        if missing:
            raise ValueError(f"required columns {missing} are not in properties")
        return schema

    @model_validator(mode="after")
    def _consistent(self) -> DataProductContract:
        if not self.id.startswith(f"{self.owner}."):
            raise _FieldProblem("id", f"must start with the owner domain '{self.owner}.'")
        unknown_key = [c for c in self.key if c not in self.columns]
        if unknown_key:
            raise _FieldProblem("key", f"columns {unknown_key} are not in schema.properties")
        if self.time_field is not None and self.time_field not in self.columns:
            raise _FieldProblem("time_field", f"column {self.time_field!r} is not in schema.properties")
        if self.freshness_sla <= timedelta(0):
            raise _FieldProblem("freshness_sla", "must be a positive duration")
        return self


class _FieldProblem(ValueError):
    """A cross-field inconsistency, carrying the field to blame."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def load_contract(path: Path, *, expected_owner: str | None = None) -> DataProductContract:
    """Read and validate one contract file; any problem raises ContractError naming file and field."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except OSError as err:
        raise ContractError(path, "(file)", f"cannot be read: {err.strerror}") from None
    except json.JSONDecodeError as err:
        raise ContractError(path, "(file)", f"is not valid JSON: {err.msg} at line {err.lineno}") from None
    if not isinstance(raw, dict):
        raise ContractError(path, "(root)", "must be a JSON object")
    try:
        contract = DataProductContract.model_validate(raw)
    except ValidationError as err:
        first = err.errors()[0]
        location = ".".join(str(part) for part in first["loc"]) or "(root)"
        problem = first["ctx"].get("error") if first.get("ctx") and "error" in first["ctx"] else None
        field = getattr(problem, "field", None) or location
        raise ContractError(path, field, str(problem or first["msg"]).removeprefix("Value error, ")) from None
    if expected_owner is not None and contract.owner != expected_owner:
        raise ContractError(
            path, "owner", f"is '{contract.owner}' but the file lives with '{expected_owner}'"
        )
    return contract


def load_contracts(directory: Path, *, owner: str) -> list[DataProductContract]:
    """All contracts of one domain, sorted by id; ids and tables must be unique."""
    if owner not in DOMAINS:
        raise ValueError(f"unknown domain {owner!r}; known: {list(DOMAINS)}")
    files = sorted(directory.glob("*.json"))
    if not files:
        raise ContractError(directory, "(directory)", "holds no *.json contract files")
    contracts: list[DataProductContract] = []
    seen: dict[str, Path] = {}
    for path in files:
        contract = load_contract(path, expected_owner=owner)
        for label, value in (("id", contract.id), ("table", contract.table)):
            other = seen.get(f"{label}:{value}")
            if other is not None:
                raise ContractError(path, label, f"'{value}' is already used by {other.name}")
            seen[f"{label}:{value}"] = path
        contracts.append(contract)
    return sorted(contracts, key=lambda c: c.id)
