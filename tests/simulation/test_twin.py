"""The twin: the world's state at `as_of`, demand served hour by hour, effects of executed intents,
and paced allowances as negotiation capacities."""

from __future__ import annotations

from datetime import timedelta

import pytest

from mesh.settings import REGIONS
from mesh.simulation import PERCEPTION_FORMAT, Twin, WeekPerception
from mesh.world import generate_world


@pytest.fixture
def twin() -> Twin:
    return Twin(generate_world(7, "volatile"), hours=24)


def test_the_twin_starts_from_the_worlds_stock_and_open_orders(twin: Twin) -> None:
    world = twin.world
    perception = twin.perception()
    assert perception.perception_format == PERCEPTION_FORMAT
    assert perception.at == world.as_of
    assert perception.step == 0
    assert perception.hours == 24
    rows = {(r["warehouse_id"], r["sku_id"]): r for r in world.domain_tables("inventory")["stock_positions"]}
    assert {(v.warehouse_id, v.sku_id) for v in perception.stock} == set(rows)
    for view in perception.stock:
        assert view.on_hand == rows[(view.warehouse_id, view.sku_id)]["on_hand"]
    open_units = sum(int(o["quantity"]) for o in world.domain_tables("inventory")["open_orders"])
    assert sum(v.inbound for v in perception.stock) == open_units
    assert WeekPerception.model_validate(perception.model_dump(mode="json")) == perception


def test_each_hour_serves_the_worlds_demand_from_stock(twin: Twin) -> None:
    world = twin.world
    before = {(v.warehouse_id, v.sku_id): v.on_hand for v in twin.perception().stock}
    start = twin.now
    twin.advance()
    assert twin.step == 1
    assert twin.now == start + timedelta(hours=1)
    demanded = sum(world.demand_at(sku.sku_id, region, start) for sku in world.skus for region in REGIONS)
    assert sum(t.demand for t in twin.totals.values()) == pytest.approx(demanded)
    after = {(v.warehouse_id, v.sku_id): v.on_hand for v in twin.perception().stock}
    drawn = sum(before.values()) - sum(after.values())  # no open order is due in the first hour
    assert 0 < drawn <= demanded
    assert 0 < twin.service_level() <= 1


def test_an_hour_past_the_end_is_refused() -> None:
    twin = Twin(generate_world(7, "volatile"), hours=1)
    twin.advance()
    assert twin.done
    with pytest.raises(RuntimeError, match="over"):
        twin.advance()


def test_executed_intents_move_stock_and_charge_their_region(twin: Twin) -> None:
    position = twin.positions[("WH-EU-1", "SKU-03")]
    donor = twin.positions[("WH-EU-2", "SKU-03")]
    on_hand, donor_on_hand = position.on_hand, donor.on_hand
    twin.apply(
        "transfer",
        {"from_warehouse_id": "WH-EU-2", "to_warehouse_id": "WH-EU-1", "sku_id": "SKU-03", "units": 10},
        {"units": 10},
    )
    assert donor.on_hand == donor_on_hand - 10
    assert position.inbound(moves_only=True) == 10
    assert twin.totals["EU"].transport_kg > 0
    twin.apply(
        "purchase_order",
        {"warehouse_id": "WH-EU-1", "sku_id": "SKU-03", "quantity": 100},
        {"quantity": 100, "lead_time_days": 0.01, "order_value": 1234.5},
    )
    assert twin.totals["EU"].ordered_value == 1234.5
    twin.advance()
    assert position.on_hand >= on_hand + 100 - 50  # the order arrived within the hour; some was sold
    with pytest.raises(ValueError, match="reorder"):
        twin.apply("reorder", {}, {})


def test_allowances_are_paced_and_spent(twin: Twin) -> None:
    first = twin.capacities().available
    assert set(first) >= {f"carbon:{r}" for r in REGIONS} | {f"spend:{r}" for r in REGIONS}
    assert all(first[f"capacity:{w}"] > 0 for w in twin.capacity)
    twin.apply(
        "shipment",
        {"from_warehouse_id": "WH-NA-1", "to_warehouse_id": "WH-EU-1", "sku_id": "SKU-01", "units": 5},
        {"units": 5, "co2e_kg": 40.0, "transit_days": 2},
    )
    assert twin.capacities().available["carbon:NA"] == pytest.approx(first["carbon:NA"] - 40.0)
    twin.advance()
    later = twin.capacities().available
    assert later["spend:EU"] > first["spend:EU"]  # an hour more of allowance, nothing spent
