"""The Intent Contract wire type, and the ladder of stances its modifications allow."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from mesh.negotiation import HardLimit, IntentContract, ResourceUse
from mesh.negotiation._ladder import at_stance, build_ladder

from .conftest import make_intent


def test_constraints_take_the_plain_resource_and_limit_shapes() -> None:
    intent = make_intent(
        "i-1",
        "agent:logistics",
        240,
        constraints=[
            {"resource": "capacity:WH-EU-1", "amount": 240},
            {"resource": "carbon:APAC", "amount": 5.8, "scales_with_quantity": True},
            {"resource": "budget:procurement", "amount": 12000},
            {"limit": "max_delay_hours", "value": 48},
        ],
    )
    assert intent.resources == ["capacity:WH-EU-1", "carbon:APAC", "budget:procurement"]
    assert intent.limits == {"max_delay_hours": 48}
    assert isinstance(intent.constraints[0], ResourceUse)
    assert isinstance(intent.constraints[3], HardLimit)


def test_contract_round_trips_through_json_unchanged() -> None:
    intent = make_intent(
        "i-1",
        "agent:logistics",
        240,
        modifications=[
            {"kind": "scale_quantity", "min_fraction": 0.5},
            {
                "kind": "switch_mode",
                "options": [{"mode": "rail", "uses": [{"resource": "capacity:rail-EU", "amount": 240}]}],
            },
            {"kind": "delay", "max_hours": 24},
        ],
        facts={"carbon": {"region": "EU", "budget_kg": 100, "spent_kg": 10, "projected_kg": 5}},
        evidence=[
            {
                "product_id": "inventory.stock_levels",
                "version": "1.2.0",
                "as_of": "2026-03-01T07:00:00Z",
                "figures": {"on_hand": 120},
            }
        ],
    )
    assert IntentContract.model_validate_json(intent.model_dump_json()) == intent
    assert intent.contract_format == "1"
    assert intent.version == 1


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {
                "constraints": [
                    {"resource": "capacity:A", "amount": 1},
                    {"resource": "capacity:A", "amount": 2},
                ]
            },
            "a resource may be used once",
        ),
        ({"constraints": [{"resource": "no-colon", "amount": 1}]}, "String should match pattern"),
        ({"constraints": [{"resource": "capacity:A", "amount": -1}]}, "greater than or equal to 0"),
        ({"constraints": [{"amount": 1}]}, "Unable to extract tag"),
        ({"priority": 1.5}, "less than or equal to 1"),
        ({"proposed_action": {"quantity": "many"}}, "must be a positive number"),
        (
            {
                "acceptable_modifications": [
                    {"kind": "delay", "max_hours": 1},
                    {"kind": "delay", "max_hours": 2},
                ]
            },
            "at most one of each kind",
        ),
        (
            {
                "acceptable_modifications": [
                    {"kind": "switch_mode", "options": [{"mode": "road", "uses": []}]}
                ]
            },
            "not the proposed one",
        ),
        ({"created_at": "2026-03-01T08:00:00"}, "timezone"),
        ({"surprise": 1}, "Extra inputs are not permitted"),
    ],
)
def test_incoherent_contracts_are_refused(change: dict[str, Any], message: str) -> None:
    document = make_intent("i-1", "agent:a", 100).model_dump(mode="json") | change
    with pytest.raises(ValidationError, match=message):
        IntentContract.model_validate(document)


def test_ladder_walks_modifications_in_order_within_hard_limits() -> None:
    intent = make_intent(
        "i-1",
        "agent:logistics",
        200,
        constraints=[
            {"resource": "capacity:air-APAC", "amount": 200},
            {"resource": "carbon:APAC", "amount": 8.0},
            {"limit": "min_quantity", "value": 120},
        ],
        modifications=[
            {"kind": "scale_quantity", "min_fraction": 0.25, "step": 0.25, "utility_cost": 1},
            {
                "kind": "switch_mode",
                "options": [
                    {
                        "mode": "sea",
                        "uses": [
                            {"resource": "capacity:sea-APAC", "amount": 200},
                            {"resource": "carbon:APAC", "amount": 2.0},
                        ],
                        "utility_cost": 3,
                        "carbon_kg": 2.0,
                    }
                ],
            },
            {"kind": "delay", "max_hours": 24, "utility_cost": 5},
        ],
        facts={"carbon": {"region": "APAC", "budget_kg": 100, "spent_kg": 10, "projected_kg": 8.0}},
    )
    ladder = build_ladder(intent)
    # 75% (150) is kept; 50% (100) and 25% (50) cross min_quantity 120.
    assert [s.moves[-1] if s.moves else "as proposed" for s in ladder] == [
        "as proposed",
        "scale quantity to 150 (75%)",
        "switch mode to sea",
        "delay by 24 h",
    ]
    sea = ladder[2]
    assert dict(sea.demand) == {"capacity:sea-APAC": 150.0, "carbon:APAC": 1.5}
    assert sea.utility_cost == 4.0
    assert ladder[3].demand == {}
    assert ladder[3].deferred_hours == 24

    revised = at_stance(intent, sea)
    assert revised.version == 2
    assert revised.proposed_action == {"sku_id": "SKU-17", "quantity": 150, "mode": "sea"}
    assert revised.resources == ["capacity:sea-APAC", "carbon:APAC"]
    assert revised.limits == {"min_quantity": 120}
    assert revised.facts.carbon is not None
    assert revised.facts.carbon.projected_kg == pytest.approx(1.5)
    assert at_stance(intent, ladder[0]) is intent
