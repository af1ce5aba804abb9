import pytest

from mesh.settings import REGIONS, Scenario
from mesh.world import generate_world


def _utilisation(seed: int, scenario: Scenario) -> dict[str, float]:
    budgets = generate_world(seed, scenario).domain_tables("sustainability")["carbon_budgets"]
    return {row["region"]: row["spent_kg"] / row["budget_kg"] for row in budgets}


@pytest.mark.parametrize("scenario", list(Scenario))
def test_default_seed_has_a_region_in_the_warn_band_and_one_comfortably_under(scenario: Scenario) -> None:
    utilisation = _utilisation(7, scenario)
    assert set(utilisation) == set(REGIONS)
    assert max(utilisation.values()) >= 0.9
    assert min(utilisation.values()) < 0.8


@pytest.mark.parametrize("seed", [1, 2, 3, 42])
def test_budget_bands_hold_for_any_seed(seed: int) -> None:
    bands = sorted(_utilisation(seed, Scenario.VOLATILE).values())
    assert 0.3 - 0.01 <= bands[0] <= 0.45 + 0.01
    assert 0.55 - 0.01 <= bands[1] <= 0.70 + 0.01
    assert 0.92 - 0.01 <= bands[2] <= 0.97 + 0.01


@pytest.mark.parametrize("scenario", list(Scenario))
def test_spent_is_the_sum_of_the_regions_emissions_this_year(scenario: Scenario) -> None:
    tables = generate_world(7, scenario).domain_tables("sustainability")
    for budget in tables["carbon_budgets"]:
        rows = [
            row
            for row in tables["emissions"]
            if row["region"] == budget["region"] and row["ts"].startswith(str(budget["year"]))
        ]
        assert budget["spent_kg"] == pytest.approx(sum(row["co2e_kg"] for row in rows), abs=1e-6)
