"""Carrier choice under cost and carbon.

Every carrier serving the lane is quoted (`logistics.quote_shipment`). An option is feasible when
its transit time is within `max_transit_days` (when given) and its CO2e fits what is left of the
origin region's annual carbon budget (anything more would be denied by policy). Among feasible
options the choice minimises

    weighted_cost = cost + carbon_price_per_tonne x co2e_kg / 1000

then CO2e, then transit time; excluded options follow, each with its reasons.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from agents.logistics._wire import BudgetSnapshot, CarrierOption
from agents.sustainability._logic import status


def carrier_options(
    quotes: Sequence[Mapping[str, Any]],
    *,
    carbon_price_per_tonne: float,
    max_transit_days: float | None,
    budget: BudgetSnapshot,
) -> list[CarrierOption]:
    options = []
    for quote in quotes:
        co2e, cost, transit = float(quote["co2e_kg"]), float(quote["cost"]), float(quote["transit_days"])
        carbon_cost = round(carbon_price_per_tonne * co2e / 1000, 2)
        reasons = []
        if max_transit_days is not None and transit > max_transit_days:
            reasons.append(f"{transit:g} transit days is over the {max_transit_days:g} allowed")
        if budget.spent_kg + co2e > budget.budget_kg:
            reasons.append(
                f"{co2e:,.1f} kg CO2e would exceed the {budget.region} carbon budget "
                f"({max(budget.remaining_kg, 0.0):,.1f} kg left)"
            )
        options.append(
            CarrierOption(
                carrier_id=str(quote["carrier_id"]),
                carrier_name=str(quote["carrier_name"]),
                mode=str(quote["mode"]),
                cost=cost,
                co2e_kg=co2e,
                carbon_cost=carbon_cost,
                weighted_cost=round(cost + carbon_cost, 2),
                transit_days=transit,
                eta=quote["eta"],
                feasible=not reasons,
                excluded_because=reasons,
                budget_status_after=status(budget.spent_kg + co2e, budget.budget_kg),
            )
        )
    return sorted(
        options, key=lambda o: (not o.feasible, o.weighted_cost, o.co2e_kg, o.transit_days, o.carrier_id)
    )
