import math
from statistics import NormalDist

import pytest
from pydantic import ValidationError

from mesh.settings import REGIONS, Scenario
from mesh.world import generate_world


def test_entities_are_frozen() -> None:
    world = generate_world(7, Scenario.STABLE)
    with pytest.raises(ValidationError, match="frozen"):
        world.skus[0].unit_cost = 0.0  # type: ignore[misc]


def test_ids_follow_the_naming_scheme() -> None:
    world = generate_world(7, Scenario.STABLE)
    assert {wh.warehouse_id for wh in world.warehouses} == {f"WH-{r}-{n}" for r in REGIONS for n in (1, 2)}
    assert {s.supplier_id for s in world.suppliers} == {f"SUP-{r}-{n}" for r in REGIONS for n in (1, 2, 3)}
    assert {lane.lane_id for lane in world.lanes} == {f"{o}-{d}" for o in REGIONS for d in REGIONS}


def test_supplier_mix_for_many_seeds() -> None:
    for seed in (1, 2, 3, 7, 42):
        world = generate_world(seed, Scenario.VOLATILE)
        for region in REGIONS:
            assert any(s.is_new for s in world.suppliers if s.region == region)
        statuses = [s.labor_compliance for s in world.suppliers]
        assert "pending" in statuses
        assert "failed" in statuses
        assert all(0.3 <= s.tier2_transparency <= 1.0 for s in world.suppliers)


def test_every_sku_can_be_bought_in_every_region() -> None:
    world = generate_world(7, Scenario.STABLE)
    offers = world.domain_tables("procurement")["supplier_skus"]
    region_of = {s.supplier_id: s.region for s in world.suppliers}
    critical = {s.supplier_id for s in world.suppliers if s.critical_materials}
    critical_skus = {sku.sku_id for sku in world.skus if sku.critical_material}
    for sku in world.skus:
        for region in REGIONS:
            assert any(o["sku_id"] == sku.sku_id and region_of[o["supplier_id"]] == region for o in offers)
    for offer in offers:
        if offer["sku_id"] in critical_skus:
            assert offer["supplier_id"] in critical


def test_air_is_costly_and_dirty_while_ocean_and_rail_are_cheap_and_clean() -> None:
    world = generate_world(7, Scenario.STABLE)
    rates = world.domain_tables("logistics")["carrier_rates"]
    assert {row["mode"] for row in rates} == {"road", "rail", "ocean", "air"}
    for lane in world.lanes:
        on_lane = [row for row in rates if row["lane_id"] == lane.lane_id]
        air = [row for row in on_lane if row["mode"] == "air"]
        assert len(air) == 1
        others = [row for row in on_lane if row["mode"] != "air"]
        assert others
        assert all(row["cost_per_unit"] < air[0]["cost_per_unit"] for row in others)
        assert all(row["co2e_kg_per_unit"] < air[0]["co2e_kg_per_unit"] for row in others)
        modes = {row["mode"] for row in on_lane}
        if lane.origin_region == lane.dest_region:
            assert "ocean" not in modes
        else:
            assert "road" not in modes


def test_reorder_policies_follow_the_standard_formulas() -> None:
    world = generate_world(7, Scenario.STABLE)
    shares = {wh.warehouse_id: (wh.region, wh.demand_share) for wh in world.warehouses}
    for policy in world.domain_tables("inventory")["reorder_policies"]:
        region, share = shares[policy["warehouse_id"]]
        daily = world.base_rate(policy["sku_id"], region) * 24 * share
        z = NormalDist().inv_cdf(policy["service_level"])
        lead_time = policy["lead_time_days"]
        assert policy["safety_stock"] == math.ceil(z * 0.2 * daily * math.sqrt(lead_time))
        assert policy["reorder_point"] == math.ceil(daily * lead_time) + policy["safety_stock"]
        assert policy["order_up_to"] == policy["reorder_point"] + math.ceil(daily * 7)
