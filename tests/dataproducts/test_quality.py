from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mesh.dataproducts import DataProductContract, assess_quality, load_contract

CONTRACTS = Path(__file__).parents[2] / "mcp_servers"
AS_OF = datetime(2026, 2, 2, tzinfo=UTC)


def _hourly() -> DataProductContract:
    return load_contract(CONTRACTS / "demand" / "contracts" / "hourly_demand.json")


def _row(hour: int, **overrides: Any) -> dict[str, Any]:
    return {
        "sku_id": "SKU-01",
        "region": "EU",
        "ts": f"2026-02-01T{hour:02d}:00:00Z",
        "units": 4.5,
    } | overrides


def test_clean_rows_pass_every_check() -> None:
    report = assess_quality(_hourly(), [_row(22), _row(23)], as_of=AS_OF)
    assert report.passed
    assert report.row_count == 2
    assert report.check("freshness").measured == 3600


def test_missing_cells_lower_completeness_below_target() -> None:
    rows = [_row(h) for h in range(20)] + [_row(23, units=None)]
    report = assess_quality(_hourly(), rows, as_of=AS_OF)
    completeness = report.check("completeness")
    assert completeness.measured == round(1 - 1 / 84, 6)
    assert not completeness.passed
    assert not report.passed


def test_rows_breaking_the_schema_lower_accuracy_and_name_the_first() -> None:
    rows = [_row(23), _row(22, region="MARS"), _row(21, units=-1.0)]
    accuracy = assess_quality(_hourly(), rows, as_of=AS_OF).check("accuracy")
    assert accuracy.measured == round(1 / 3, 6)
    assert not accuracy.passed
    assert "2 rows do not conform; first at row 1, region" in accuracy.detail


def test_stale_data_fails_freshness() -> None:
    report = assess_quality(_hourly(), [_row(0)], as_of=AS_OF)
    freshness = report.check("freshness")
    assert freshness.measured == 24 * 3600
    assert freshness.target == 2 * 3600
    assert not freshness.passed


def test_empty_product_fails_unless_the_contract_allows_it() -> None:
    assert not assess_quality(_hourly(), [], as_of=AS_OF).check("completeness").passed
    outages = load_contract(CONTRACTS / "procurement" / "contracts" / "supply_outages.json")
    assert assess_quality(outages, [], as_of=AS_OF).passed
