from datetime import datetime, timedelta

import pytest

from mesh.settings import Scenario
from mesh.world import generate_world


def test_unknown_scenario_names_the_allowed_ones() -> None:
    with pytest.raises(ValueError, match="unknown scenario 'chaos'") as raised:
        generate_world(7, "chaos")
    for scenario in Scenario:
        assert scenario.value in str(raised.value)


def test_unknown_domain_names_the_known_ones() -> None:
    world = generate_world(7, Scenario.STABLE)
    with pytest.raises(ValueError, match="unknown domain 'finance'") as raised:
        world.domain_tables("finance")
    for domain in ("demand", "inventory", "logistics", "sustainability", "procurement"):
        assert domain in str(raised.value)


def test_demand_outside_the_world_is_refused_clearly() -> None:
    world = generate_world(7, Scenario.STABLE)
    with pytest.raises(ValueError, match="outside the world's time range"):
        world.demand_at("SKU-01", "NA", world.horizon_end)
    with pytest.raises(ValueError, match="outside the world's time range"):
        world.demand_multiplier("SKU-01", "NA", world.start - timedelta(seconds=1))
    with pytest.raises(ValueError, match="naive"):
        world.demand_at("SKU-01", "NA", datetime(2026, 1, 10))
    with pytest.raises(KeyError, match="unknown SKU 'SKU-99'"):
        world.demand_at("SKU-99", "NA", world.start)
    with pytest.raises(KeyError, match="unknown region 'LATAM'"):
        world.demand_at("SKU-01", "LATAM", world.start)


def test_demand_is_defined_over_the_whole_horizon() -> None:
    world = generate_world(7, Scenario.STABLE)
    assert world.demand_at("SKU-01", "NA", world.horizon_end - timedelta(minutes=1)) > 0
    assert world.demand_at("SKU-01", "NA", world.as_of) > 0


def test_seed_must_be_an_int() -> None:
    with pytest.raises(TypeError):
        generate_world("7", Scenario.STABLE)  # type: ignore[arg-type]
