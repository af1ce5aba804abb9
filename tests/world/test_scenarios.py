import statistics
from datetime import UTC, datetime, timedelta

import pytest

from mesh.settings import REGIONS, Scenario
from mesh.world import World, generate_world

HOUR = timedelta(hours=1)


def _hours(world: World) -> list[datetime]:
    count = int((world.horizon_end - world.start) / HOUR)
    return [world.start + hour * HOUR for hour in range(count)]


def _multipliers(world: World) -> list[tuple[str, datetime, float]]:
    return [
        (region, ts, world.demand_multiplier(sku.sku_id, region, ts))
        for sku in world.skus
        for region in REGIONS
        for ts in _hours(world)
    ]


def test_calendar() -> None:
    world = generate_world(7, Scenario.STABLE)
    assert world.start == datetime(2026, 1, 5, tzinfo=UTC)
    assert world.start.weekday() == 0
    assert world.as_of == world.start + timedelta(days=28)
    assert world.horizon_end == world.as_of + timedelta(days=14)


def test_stable_multipliers_stay_within_five_percent_with_real_noise() -> None:
    world = generate_world(7, Scenario.STABLE)
    values = [value for _, _, value in _multipliers(world)]
    assert all(0.95 - 1e-9 <= value <= 1.05 + 1e-9 for value in values)
    assert 0.01 < statistics.pstdev(values) < 0.05
    assert world.spikes == []
    assert world.disruption is None


def test_volatile_has_exactly_three_spikes_of_stated_length_and_magnitude() -> None:
    world = generate_world(7, Scenario.VOLATILE)
    assert len(world.spikes) == 3
    assert [(e.start, e.end, e.magnitude) for e in world.spike_episodes] == world.spikes
    for start, end, magnitude in world.spikes:
        assert timedelta(hours=24) <= end - start <= timedelta(hours=72)
        assert 1.6 <= magnitude <= 2.5
        assert world.start <= start < end <= world.horizon_end
    assert any(end <= world.as_of for _, end, _ in world.spikes)
    assert any(start >= world.as_of for start, _, _ in world.spikes)


def test_volatile_shocks_stay_within_fifteen_percent_outside_spikes() -> None:
    world = generate_world(7, Scenario.VOLATILE)
    outside: list[float] = []
    for region, ts, value in _multipliers(world):
        spike = next((s for s in world.spike_episodes if s.region == region and s.start <= ts < s.end), None)
        shock = value / spike.magnitude if spike else value
        assert 0.85 - 1e-9 <= shock <= 1.15 + 1e-9
        if spike is None:
            outside.append(value)
    assert 0.03 < statistics.pstdev(outside) < 0.15


def test_spikes_raise_every_sku_of_their_region() -> None:
    world = generate_world(7, Scenario.VOLATILE)
    for spike in world.spike_episodes:
        for sku in world.skus:
            assert world.demand_multiplier(sku.sku_id, spike.region, spike.start) >= spike.magnitude * 0.85
            assert (
                world.demand_multiplier(sku.sku_id, spike.region, spike.end - HOUR) >= spike.magnitude * 0.85
            )


@pytest.mark.parametrize("seed", [1, 2, 3, 7, 42])
def test_spike_placement_holds_for_other_seeds(seed: int) -> None:
    world = generate_world(seed, Scenario.VOLATILE)
    assert len(world.spikes) == 3
    assert any(end <= world.as_of for _, end, _ in world.spikes)
    assert any(start >= world.as_of for start, _, _ in world.spikes)


def test_demand_is_base_rate_times_weekly_profile_times_multiplier() -> None:
    world = generate_world(7, Scenario.VOLATILE)
    for sku in world.skus:
        for region in REGIONS:
            assert 2 <= world.base_rate(sku.sku_id, region) <= 40
            for ts in (world.start + 5 * HOUR, world.start + 100 * HOUR, world.as_of + 30 * HOUR):
                week_later = ts + timedelta(days=7)
                profile = world.demand_at(sku.sku_id, region, ts) / world.demand_multiplier(
                    sku.sku_id, region, ts
                )
                profile_later = world.demand_at(sku.sku_id, region, week_later) / world.demand_multiplier(
                    sku.sku_id, region, week_later
                )
                assert profile == pytest.approx(profile_later)


def test_hourly_demand_rows_are_demand_at_rounded() -> None:
    world = generate_world(7, Scenario.VOLATILE)
    rows = world.domain_tables("demand")["hourly_demand"]
    for row in rows[::97]:
        ts = datetime.fromisoformat(row["ts"])
        assert row["units"] == round(world.demand_at(row["sku_id"], row["region"], ts), 3)


def test_disruption_is_one_region_for_exactly_two_weeks_from_two_days_before_as_of() -> None:
    world = generate_world(7, Scenario.DISRUPTION)
    outage = world.disruption
    assert outage is not None
    assert outage.region in REGIONS
    assert outage.end - outage.start == timedelta(days=14)
    assert outage.start == world.as_of - timedelta(days=2)
    regional = sorted(s.supplier_id for s in world.suppliers if s.region == outage.region)
    assert sorted(outage.supplier_ids) == regional
    rows = world.domain_tables("procurement")["supply_outages"]
    assert sorted(row["supplier_id"] for row in rows) == regional
    assert {(row["region"], row["start"], row["end"]) for row in rows} == {
        (outage.region, "2026-01-31T00:00:00Z", "2026-02-14T00:00:00Z")
    }
    assert len({row["outage_id"] for row in rows}) == len(rows)


def test_disruption_demand_is_the_stable_demand() -> None:
    disrupted = generate_world(7, Scenario.DISRUPTION).domain_tables("demand")
    stable = generate_world(7, Scenario.STABLE).domain_tables("demand")
    assert disrupted == stable


def test_disrupted_region_has_delayed_orders_and_less_stock() -> None:
    world = generate_world(7, Scenario.DISRUPTION)
    assert world.disruption is not None
    region = world.disruption.region
    regional = {wh.warehouse_id for wh in world.warehouses if wh.region == region}

    def regional_stock(candidate: World) -> int:
        positions = candidate.domain_tables("inventory")["stock_positions"]
        return sum(row["on_hand"] for row in positions if row["warehouse_id"] in regional)

    orders = [r for r in world.domain_tables("inventory")["open_orders"] if r["warehouse_id"] in regional]
    assert orders
    assert {row["status"] for row in orders} == {"delayed"}
    assert regional_stock(world) < 0.75 * regional_stock(generate_world(7, Scenario.STABLE))


@pytest.mark.parametrize("scenario", [Scenario.STABLE, Scenario.VOLATILE])
def test_no_outage_outside_the_disruption_scenario(scenario: Scenario) -> None:
    world = generate_world(7, scenario)
    assert world.disruption is None
    assert world.domain_tables("procurement")["supply_outages"] == []
