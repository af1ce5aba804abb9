"""The concessions an intent can make, laid out as a ladder of stances, and an intent at a stance.

Stance 0 is the intent as proposed. The acceptable modifications are walked in the order the
agent listed them, each on top of the last stance the ones before reached: scaling steps, each
mode option in turn, a delay (which ends the ladder: a deferred intent draws on nothing in this
window). A stance that would cross a hard limit is not taken (a delay is cut to
`max_delay_hours`); stance 0 is always kept.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from mesh.negotiation._contract import (
    Delay,
    HardLimitName,
    IntentContract,
    IntentFacts,
    ModeOption,
    ResourceUse,
    ScaleQuantity,
    SwitchMode,
)
from mesh.policy import CarbonFacts, ImpactFacts


@dataclass(frozen=True, slots=True)
class Stance:
    """One position an intent can take: what it asks for and what it gave up to get there."""

    fraction: float
    """Share of the proposed quantity (after rounding an integer quantity down)."""
    quantity: float | None
    mode: ModeOption | None
    deferred_hours: float
    base: Mapping[str, ResourceUse]
    """The uses of the stance's mode at the full quantity."""
    uses: Mapping[str, float]
    """What the action uses when it runs: the base amounts, scaled."""
    demand: Mapping[str, float]
    """What it draws on this cycle's window: the uses, or nothing once deferred."""
    utility_cost: float
    moves: tuple[str, ...] = field(default=())


def _scaled(uses: Mapping[str, ResourceUse], fraction: float) -> dict[str, float]:
    return {
        resource: use.amount * fraction if use.scales_with_quantity else use.amount
        for resource, use in uses.items()
    }


def _stance(
    base: Mapping[str, ResourceUse],
    *,
    fraction: float,
    quantity: float | None,
    mode: ModeOption | None,
    deferred_hours: float,
    utility_cost: float,
    moves: tuple[str, ...],
) -> Stance:
    uses = _scaled(base, fraction)
    demand = {} if deferred_hours > 0 else uses
    return Stance(fraction, quantity, mode, deferred_hours, base, uses, demand, utility_cost, moves)


def _fractions(scale: ScaleQuantity) -> list[float]:
    fractions = []
    step = 1
    while (fraction := 1.0 - step * scale.step) > scale.min_fraction + 1e-12:
        fractions.append(fraction)
        step += 1
    fractions.append(scale.min_fraction)
    return [f for f in fractions if f < 1.0]


def build_ladder(intent: IntentContract) -> list[Stance]:
    """Every stance the intent may take, stance 0 (as proposed) first."""
    base = {use.resource: use for use in intent.uses}
    original_quantity: float | None = None
    scale = next((m for m in intent.acceptable_modifications if isinstance(m, ScaleQuantity)), None)
    if scale is not None:
        original_quantity = float(intent.proposed_action[scale.field])
    current = _stance(
        base,
        fraction=1.0,
        quantity=original_quantity,
        mode=None,
        deferred_hours=0.0,
        utility_cost=0.0,
        moves=(),
    )
    ladder = [current]
    limits = intent.limits
    for modification in intent.acceptable_modifications:
        if isinstance(modification, ScaleQuantity):
            assert original_quantity is not None
            integral = isinstance(intent.proposed_action[modification.field], int)
            anchor = current
            for steps, fraction in enumerate(_fractions(modification), start=1):
                quantity = original_quantity * fraction
                if integral:
                    quantity = float(math.floor(quantity + 1e-9))
                effective = quantity / original_quantity
                if quantity <= 0 or quantity < limits.get("min_quantity", 0.0):
                    break
                if effective >= current.fraction:
                    continue
                candidate = _stance(
                    anchor.base,
                    fraction=effective,
                    quantity=quantity,
                    mode=anchor.mode,
                    deferred_hours=0.0,
                    utility_cost=anchor.utility_cost + steps * modification.utility_cost,
                    moves=(
                        *anchor.moves,
                        f"scale {modification.field} to {_number(quantity)} ({effective:.0%})",
                    ),
                )
                if _within_limits(limits, candidate):
                    ladder.append(current := candidate)
        elif isinstance(modification, SwitchMode):
            anchor = current
            for option in modification.options:
                candidate = _stance(
                    {use.resource: use for use in option.uses},
                    fraction=anchor.fraction,
                    quantity=anchor.quantity,
                    mode=option,
                    deferred_hours=0.0,
                    utility_cost=anchor.utility_cost + option.utility_cost,
                    moves=(*anchor.moves, f"switch {modification.field} to {option.mode}"),
                )
                if _within_limits(limits, candidate):
                    ladder.append(current := candidate)
        elif isinstance(modification, Delay):
            hours = min(modification.max_hours, limits.get("max_delay_hours", math.inf))
            candidate = Stance(
                current.fraction,
                current.quantity,
                current.mode,
                hours,
                current.base,
                current.uses,
                {},
                current.utility_cost + modification.utility_cost,
                (*current.moves, f"delay by {_number(hours)} h"),
            )
            if hours > 0 and _within_limits(limits, candidate):
                ladder.append(candidate)
            break
    return ladder


def _within_limits(limits: Mapping[HardLimitName, float], stance: Stance) -> bool:
    if "min_quantity" in limits and stance.quantity is not None and stance.quantity < limits["min_quantity"]:
        return False
    if "max_delay_hours" in limits and stance.deferred_hours > limits["max_delay_hours"]:
        return False
    return not ("max_utility_cost" in limits and stance.utility_cost > limits["max_utility_cost"])


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def at_stance(intent: IntentContract, stance: Stance) -> IntentContract:
    """The intent revised to `stance`: the next version, with the action, resource uses and facts
    as modified and no acceptable modifications left (it is what was agreed); the intent itself
    at stance 0."""
    if not stance.moves:
        return intent
    action: dict[str, Any] = dict(intent.proposed_action)
    for modification in intent.acceptable_modifications:
        if isinstance(modification, ScaleQuantity) and stance.quantity is not None:
            original = intent.proposed_action[modification.field]
            action[modification.field] = (
                int(stance.quantity) if isinstance(original, int) else stance.quantity
            )
        elif isinstance(modification, SwitchMode) and stance.mode is not None:
            action[modification.field] = stance.mode.mode
        elif isinstance(modification, Delay) and stance.deferred_hours > 0:
            action[modification.field] = stance.deferred_hours
    limits = [constraint for constraint in intent.constraints if not isinstance(constraint, ResourceUse)]
    return intent.model_copy(
        update={
            "proposed_action": action,
            "constraints": [
                *(
                    use.model_copy(update={"amount": stance.uses[resource]})
                    for resource, use in stance.base.items()
                ),
                *limits,
            ],
            "acceptable_modifications": [],
            "facts": _scaled_facts(intent.facts, stance),
            "version": intent.version + 1,
        }
    )


def _scaled_facts(facts: IntentFacts, stance: Stance) -> IntentFacts:
    carbon, impact = facts.carbon, facts.impact
    if carbon is not None:
        full = (
            stance.mode.carbon_kg if stance.mode is not None and stance.mode.carbon_kg is not None else None
        )
        projected = (full if full is not None else carbon.projected_kg) * stance.fraction
        carbon = CarbonFacts(
            region=carbon.region, budget_kg=carbon.budget_kg, spent_kg=carbon.spent_kg, projected_kg=projected
        )
    if impact is not None and stance.fraction != 1.0:
        impact = ImpactFacts(
            order_value=None if impact.order_value is None else impact.order_value * stance.fraction,
            units=None if impact.units is None else math.floor(impact.units * stance.fraction + 1e-9),
            affected_regions=impact.affected_regions,
        )
    return IntentFacts(carbon=carbon, supplier=facts.supplier, impact=impact)
