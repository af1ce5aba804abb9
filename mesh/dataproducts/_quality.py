"""Quality checks run on every refresh and reported against the contract."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from jsonschema import Draft202012Validator
from pydantic import BaseModel, ConfigDict, Field

from ._contract import DataProductContract

QUALITY_REPORT_FORMAT = "1"


class QualityCheck(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    target: float
    measured: float
    passed: bool
    detail: str = ""


class QualityReport(BaseModel):
    """How one refresh of a data product measured up to its contract."""

    model_config = ConfigDict(frozen=True)

    report_format: str = QUALITY_REPORT_FORMAT
    product_id: str
    version: str
    refreshed_at: datetime
    as_of: datetime = Field(description="the domain clock: the instant the data describes")
    row_count: int
    checks: list[QualityCheck]

    @property
    def passed(self) -> bool:
        return all(check.passed for check in self.checks)

    def check(self, name: str) -> QualityCheck:
        return next(c for c in self.checks if c.name == name)


def assess_quality(
    contract: DataProductContract,
    rows: Sequence[dict[str, Any]],
    *,
    as_of: datetime,
    refreshed_at: datetime | None = None,
) -> QualityReport:
    """Measure completeness, accuracy and freshness of `rows` against `contract`.

    completeness: share of required cells that are present (not missing, not null).
    accuracy: share of rows that conform to the contract's row schema (types, ranges, enums).
    freshness: lag between `as_of` and the newest `time_field` value; products without a
    time field are as fresh as their refresh. Fewer rows than the contract's `min_rows` fails
    completeness; a product allowed to be empty is vacuously complete and accurate.
    """
    refreshed_at = refreshed_at or datetime.now(UTC)
    required = contract.required_columns
    cells = len(rows) * len(required)
    present = sum(1 for row in rows for column in required if row.get(column) is not None)
    completeness = present / cells if cells else 1.0
    enough_rows = len(rows) >= contract.min_rows

    validator = Draft202012Validator(contract.row_schema)
    invalid = [index for index, row in enumerate(rows) if not validator.is_valid(row)]
    accuracy = 1 - len(invalid) / len(rows) if rows else 1.0

    lag = _data_lag(contract, rows, as_of)
    sla = contract.freshness_sla.total_seconds()
    return QualityReport(
        product_id=contract.id,
        version=contract.version,
        refreshed_at=refreshed_at,
        as_of=as_of,
        row_count=len(rows),
        checks=[
            QualityCheck(
                name="completeness",
                target=contract.quality.completeness,
                measured=round(completeness, 6),
                passed=enough_rows and completeness >= contract.quality.completeness,
                detail=(
                    f"{present} of {cells} required cells present"
                    if enough_rows
                    else f"{len(rows)} rows; the contract requires at least {contract.min_rows}"
                ),
            ),
            QualityCheck(
                name="accuracy",
                target=contract.quality.accuracy,
                measured=round(accuracy, 6),
                passed=accuracy >= contract.quality.accuracy,
                detail=_first_invalid(invalid, rows, validator),
            ),
            QualityCheck(
                name="freshness",
                target=sla,
                measured=lag.total_seconds(),
                passed=lag.total_seconds() <= sla,
                detail=f"newest record {lag} before as_of; SLA {contract.freshness_sla}",
            ),
        ],
    )


def _data_lag(contract: DataProductContract, rows: Sequence[dict[str, Any]], as_of: datetime) -> timedelta:
    if contract.time_field is None or not rows:
        return timedelta(0)
    stamps = [row[contract.time_field] for row in rows if isinstance(row.get(contract.time_field), str)]
    if not stamps:
        return timedelta.max
    newest = datetime.fromisoformat(max(stamps).replace("Z", "+00:00"))
    if newest.tzinfo is None:
        newest = newest.replace(tzinfo=UTC)
    return max(as_of - newest, timedelta(0))


def _first_invalid(
    invalid: list[int], rows: Sequence[dict[str, Any]], validator: Draft202012Validator
) -> str:
    if not invalid:
        return f"all {len(rows)} rows conform" if rows else "no rows"
    error = next(iter(validator.iter_errors(rows[invalid[0]])))
    where = "/".join(str(p) for p in error.absolute_path) or "(row)"
    return f"{len(invalid)} rows do not conform; first at row {invalid[0]}, {where}: {error.message}"
