"""Hierarchical negotiation: clusters resolve locally, representatives settle the residual."""

from __future__ import annotations

from mesh.negotiation import (
    Capacities,
    DecisionCycle,
    IntentContract,
    NegotiationSettings,
    by_primary_resource,
    cluster_agents,
)
from mesh.negotiation._resolve import resolve
from mesh.policy import RegoPolicyEngine

from .conftest import Recorder, make_intent

REGIONS = ("NA", "EU", "APAC")


def _sixty_four_agents() -> tuple[list[IntentContract], dict[str, float]]:
    """64 agents on 8 warehouses (8 each, every warehouse over-subscribed) and 3 regional carbon
    budgets shared by all clusters (over-subscribed too)."""
    intents = []
    for number in range(64):
        warehouse = f"capacity:WH-{number % 8}"
        region = REGIONS[number % 3]
        amount = 60 + (number * 37) % 50
        modifications = (
            []
            if number % 5 == 0
            else [{"kind": "scale_quantity", "min_fraction": 0.25 if number % 2 else 0.5, "step": 0.25}]
        )
        intents.append(
            make_intent(
                f"intent-{number:02d}",
                f"agent:{number:02d}",
                amount,
                priority=((number * 13) % 100) / 100,
                constraints=[
                    {"resource": warehouse, "amount": amount},
                    {"resource": f"carbon:{region}", "amount": amount / 10},
                ],
                modifications=modifications,
            )
        )
    capacity = {f"capacity:WH-{n}": 450.0 for n in range(8)}
    capacity |= {f"carbon:{region}": 80.0 for region in REGIONS}
    return intents, capacity


def _executed_demand(intents: list[IntentContract]) -> dict[str, float]:
    total: dict[str, float] = {}
    for intent in intents:
        for use in intent.uses:
            total[use.resource] = total.get(use.resource, 0.0) + use.amount
    return total


async def test_hierarchical_mode_on_64_agents_is_feasible_within_the_round_bound(
    engine: RegoPolicyEngine,
) -> None:
    intents, capacity = _sixty_four_agents()
    outcomes = {}
    for hierarchy in ("flat", "hierarchical"):
        recorder = Recorder()
        cycle = DecisionCycle(engine, recorder, settings=NegotiationSettings(hierarchy=hierarchy))
        outcome = await cycle.run(intents, Capacities(available=capacity))
        assert outcome.hierarchy == hierarchy
        assert outcome.round_bound == 64 * 11
        assert 0 < outcome.rounds_used <= outcome.round_bound
        for resource, total in _executed_demand(recorder.executed).items():
            assert total <= capacity[resource] + 1e-6, resource
        assert len(outcome.conflicts) == 11
        outcomes[hierarchy] = outcome
    hierarchical = outcomes["hierarchical"]
    assert hierarchical.clusters == 4
    levels = {step.detail.get("level") for step in hierarchical.trace if step.move == "counter"}
    assert 1 in levels
    executed = {h: len(o.with_status("executed", "modified")) for h, o in outcomes.items()}
    assert executed["hierarchical"] >= 0.8 * executed["flat"]


async def test_auto_mode_turns_hierarchical_above_the_configured_size(engine: RegoPolicyEngine) -> None:
    intents, capacity = _sixty_four_agents()
    cycle = DecisionCycle(engine, Recorder(), settings=NegotiationSettings(hierarchical_above=16))
    assert (await cycle.run(intents, Capacities(available=capacity))).hierarchy == "hierarchical"
    assert (await cycle.run(intents[:16], Capacities(available=capacity))).hierarchy == "flat"


def test_clusters_settle_their_own_conflicts_and_representatives_the_shared_ones() -> None:
    """Cluster 0 (WH-1) settles its warehouse alone (level 1); the carbon budget all clusters
    draw on is settled by the representatives (level 2), against the whole budget."""

    def agent(name: str, warehouse: str, carbon: float, priority: float) -> IntentContract:
        return make_intent(
            f"i-{name}",
            f"agent:{name}",
            10,
            priority=priority,
            constraints=[{"resource": warehouse, "amount": 10}, {"resource": "carbon:EU", "amount": carbon}],
            modifications=[{"kind": "scale_quantity", "min_fraction": 0.5, "step": 0.25}],
        )

    intents = [
        agent("a", "capacity:WH-1", 40, 0.9),
        agent("b", "capacity:WH-1", 40, 0.8),
        agent("c", "capacity:WH-2", 20, 0.5),
        agent("d", "capacity:WH-2", 20, 0.4),
    ]
    assert cluster_agents(intents, by_primary_resource, 2) == [["agent:a", "agent:b"], ["agent:c", "agent:d"]]
    capacity = {"capacity:WH-1": 16.0, "capacity:WH-2": 100.0, "carbon:EU": 90.0}
    resolution = resolve(
        intents,
        capacity,
        hierarchical=True,
        cluster_size=2,
        cluster_key=by_primary_resource,
        unresolved_move="escalate",
    )
    counters = [
        (s.detail["level"], s.agent, s.detail["resource"], s.detail.get("representative"))
        for s in resolution.trace
        if s.move == "counter"
    ]
    # b halves (WH-1 10 -> 5, carbon 40 -> 20); then carbon is 40 + 20 + 20 + 20 = 100 > 90.
    assert counters == [(1, "agent:b", "capacity:WH-1", None), (2, "agent:d", "carbon:EU", "cluster-1")]
    assert resolution.admitted == {"i-a", "i-b", "i-c", "i-d"}
    assert sum(resolution.stances[i].demand["carbon:EU"] for i in resolution.admitted) <= 90
    assert resolution.rounds_used <= resolution.round_bound == 4 * 3
