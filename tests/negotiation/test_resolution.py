"""Aggregation, feasibility check and conflict resolution: bounded rounds of counter-proposals."""

from __future__ import annotations

import random
from typing import Any

import pytest

from mesh.negotiation import (
    COORDINATOR,
    Capacities,
    DecisionCycle,
    IntentContract,
    NegotiationSettings,
    by_primary_resource,
)
from mesh.negotiation._ladder import build_ladder
from mesh.negotiation._resolve import resolve
from mesh.policy import RegoPolicyEngine

from .conftest import Recorder, demand_of, make_intent

WAREHOUSE = "capacity:WH-EU-1"


async def test_two_agents_wanting_the_same_warehouse_capacity_settle_within_the_round_bound(
    engine: RegoPolicyEngine,
) -> None:
    recorder = Recorder()
    cycle = DecisionCycle(engine, recorder)
    urgent = make_intent("inv-1", "agent:inventory", 240, priority=0.9)
    patient = make_intent("log-1", "agent:logistics", 200, priority=0.4, domain="logistics")

    outcome = await cycle.run([urgent, patient], Capacities(available={WAREHOUSE: 360}))

    assert [c.resource for c in outcome.conflicts] == [WAREHOUSE]
    assert outcome.conflicts[0].demand == 440
    assert outcome.conflicts[0].resolution == "negotiated"
    assert outcome.round_bound == 2 * 1
    assert 1 <= outcome.rounds_used <= outcome.round_bound
    assert outcome.result("inv-1").status == "executed"
    conceded = outcome.result("log-1")
    assert conceded.status == "modified"
    assert conceded.modifications == ["scale quantity to 100 (50%)"]
    assert conceded.final is not None
    assert conceded.final.version == 2
    assert conceded.final.proposed_action["quantity"] == 100
    assert demand_of(recorder.executed)[WAREHOUSE] <= 360
    moves = [(step.round, step.agent, step.move) for step in outcome.trace]
    assert moves == [
        (0, COORDINATOR, "conflict"),
        (0, "agent:inventory", "propose"),
        (0, "agent:logistics", "propose"),
        (1, "agent:logistics", "counter"),
        (1, "agent:inventory", "accept"),
        (1, "agent:logistics", "accept"),
    ]


async def test_a_cycle_where_nothing_can_be_resolved_escalates_every_intent(engine: RegoPolicyEngine) -> None:
    recorder = Recorder()
    cycle = DecisionCycle(engine, recorder)
    intents = [make_intent(f"i-{n}", f"agent:{n}", 400, priority=0.5, modifications=[]) for n in range(3)]

    outcome = await cycle.run(intents, Capacities(available={WAREHOUSE: 300}))

    assert outcome.rounds_used == 0
    assert [r.status for r in outcome.results] == ["escalated"] * 3
    for result in outcome.results:
        assert result.execution_mode == "escalated"
        assert result.cause == "infeasible"
        assert result.reasons == [f"still infeasible after negotiation on {WAREHOUSE} (400 > 300)"]
    assert outcome.conflicts[0].resolution == "admission"
    assert [s.move for s in outcome.trace if s.move == "escalate"] == ["escalate"] * 3
    assert recorder.executed == []


async def test_what_does_not_fit_after_negotiation_is_left_out_most_urgent_first(
    engine: RegoPolicyEngine,
) -> None:
    cycle = DecisionCycle(engine, Recorder(), settings=NegotiationSettings(unresolved="drop"))
    intents = [
        make_intent("low", "agent:a", 200, priority=0.2, modifications=[]),
        make_intent("high", "agent:b", 200, priority=0.8, modifications=[]),
    ]
    outcome = await cycle.run(intents, Capacities(available={WAREHOUSE: 300}))
    assert outcome.result("high").status == "executed"
    dropped = outcome.result("low")
    assert (dropped.status, dropped.execution_mode, dropped.cause) == ("dropped", "blocked", "infeasible")


async def test_a_shipment_switches_mode_when_air_capacity_is_short(engine: RegoPolicyEngine) -> None:
    sea = {
        "kind": "switch_mode",
        "options": [
            {"mode": "sea", "uses": [{"resource": "capacity:sea-APAC", "amount": 80}], "utility_cost": 2}
        ],
    }
    cycle = DecisionCycle(engine, Recorder())
    intents = [
        make_intent(
            "ship-1", "agent:logistics-1", 80, resource="capacity:air-APAC", priority=0.7, modifications=[sea]
        ),
        make_intent(
            "ship-2", "agent:logistics-2", 80, resource="capacity:air-APAC", priority=0.3, modifications=[sea]
        ),
    ]
    outcome = await cycle.run(
        intents, Capacities(available={"capacity:air-APAC": 100, "capacity:sea-APAC": 500})
    )
    switched = outcome.result("ship-2")
    assert switched.status == "modified"
    assert switched.modifications == ["switch mode to sea"]
    assert switched.final is not None
    assert switched.final.proposed_action["mode"] == "sea"
    assert outcome.result("ship-1").status == "executed"


async def test_a_delay_defers_an_intent_out_of_this_window(engine: RegoPolicyEngine) -> None:
    cycle = DecisionCycle(engine, Recorder())
    intents = [
        make_intent("a", "agent:a", 100, priority=0.9, modifications=[]),
        make_intent("b", "agent:b", 100, priority=0.1, modifications=[{"kind": "delay", "max_hours": 12}]),
    ]
    outcome = await cycle.run(intents, Capacities(available={WAREHOUSE: 150}))
    deferred = outcome.result("b")
    assert deferred.status == "modified"
    assert deferred.deferred_hours == 12
    assert deferred.final is not None
    assert deferred.final.proposed_action["delay_hours"] == 12


async def test_a_hard_limit_stops_a_concession(engine: RegoPolicyEngine) -> None:
    cycle = DecisionCycle(engine, Recorder())
    intents = [
        make_intent("a", "agent:a", 200, priority=0.9, modifications=[]),
        make_intent(
            "b",
            "agent:b",
            200,
            priority=0.1,
            constraints=[{"resource": WAREHOUSE, "amount": 200}, {"limit": "min_quantity", "value": 180}],
        ),
    ]
    outcome = await cycle.run(intents, Capacities(available={WAREHOUSE: 300}))
    assert outcome.rounds_used == 0
    assert outcome.result("b").status == "escalated"


async def test_a_resource_without_a_known_capacity_fails_closed(engine: RegoPolicyEngine) -> None:
    recorder = Recorder()
    cycle = DecisionCycle(engine, recorder)
    intent = make_intent("a", "agent:a", 10, resource="capacity:WH-XX-9")
    outcome = await cycle.run([intent], Capacities(available={WAREHOUSE: 100}))
    result = outcome.result("a")
    assert (result.status, result.cause) == ("escalated", "unknown_resource")
    assert result.reasons == ["no capacity known for capacity:WH-XX-9"]
    assert recorder.executed == []

    unlimited = Capacities(available={WAREHOUSE: 100}, unknown="unlimited")
    assert (await cycle.run([intent], unlimited)).result("a").status == "executed"


async def test_an_executor_failure_is_a_result_not_a_crash(engine: RegoPolicyEngine) -> None:
    async def flaky(intent: IntentContract) -> dict[str, float]:
        if intent.intent_id == "bad":
            raise ConnectionError("gateway unreachable")
        return {}

    cycle = DecisionCycle(engine, flaky)
    outcome = await cycle.run(
        [make_intent("bad", "agent:a", 10), make_intent("good", "agent:b", 10)],
        Capacities(available={WAREHOUSE: 100}),
    )
    assert outcome.result("good").status == "executed"
    failed = outcome.result("bad")
    assert failed.status == "failed"
    assert failed.reasons == ["executor failed: ConnectionError: gateway unreachable"]


async def test_duplicate_intent_ids_are_ignored_and_reported(engine: RegoPolicyEngine) -> None:
    cycle = DecisionCycle(engine, Recorder())
    outcome = await cycle.run(
        [make_intent("a", "agent:a", 10), make_intent("a", "agent:b", 10)],
        Capacities(available={WAREHOUSE: 100}),
    )
    assert [r.agent for r in outcome.results] == ["agent:a"]
    assert outcome.rejected_messages == ["duplicate intent a from agent:b ignored"]


def _random_instance(rng: random.Random, agents: int) -> tuple[list[IntentContract], dict[str, float]]:
    resources = [f"capacity:R{n}" for n in range(rng.randint(1, 6))]
    intents = []
    for number in range(agents):
        agent = f"agent:{number}"
        for k in range(rng.randint(1, 2)):
            used = rng.sample(resources, rng.randint(1, min(3, len(resources))))
            modifications: list[dict[str, Any]] = []
            if rng.random() < 0.7:
                modifications.append(
                    {"kind": "scale_quantity", "min_fraction": rng.choice([0.25, 0.5, 0.75]), "step": 0.25}
                )
            if rng.random() < 0.5:
                options = [
                    {
                        "mode": f"m{n}",
                        "uses": [
                            {"resource": r, "amount": rng.randint(5, 80)} for r in rng.sample(resources, 1)
                        ],
                        "utility_cost": rng.random() * 3,
                    }
                    for n in range(rng.randint(1, 3))
                ]
                modifications.append({"kind": "switch_mode", "options": options})
            if rng.random() < 0.2:
                modifications.append({"kind": "delay", "max_hours": 6})
            rng.shuffle(modifications)
            intents.append(
                make_intent(
                    f"{agent}-{k}",
                    agent,
                    40,
                    quantity=40,
                    priority=round(rng.random(), 2),
                    constraints=[{"resource": r, "amount": rng.randint(5, 80)} for r in used],
                    modifications=modifications,
                    created=number,
                )
            )
    capacity = {r: float(rng.randint(20, 40 * agents)) for r in resources}
    return intents, capacity


@pytest.mark.parametrize("hierarchical", [False, True], ids=["flat", "hierarchical"])
def test_rounds_never_exceed_agents_times_constraints_and_the_admitted_set_is_feasible(
    hierarchical: bool,
) -> None:
    rng = random.Random(20260301)
    for _ in range(150):
        intents, capacity = _random_instance(rng, rng.randint(2, 24))
        resolution = resolve(
            intents,
            capacity,
            hierarchical=hierarchical,
            cluster_size=4,
            cluster_key=by_primary_resource,
            unresolved_move="escalate",
        )
        assert resolution.rounds_used <= resolution.round_bound
        assert resolution.round_bound == len({i.agent for i in intents}) * len(
            {r for i in intents for r in build_resources(i)}
        )
        admitted: dict[str, float] = {}
        for intent_id in resolution.admitted:
            for resource, amount in resolution.stances[intent_id].demand.items():
                admitted[resource] = admitted.get(resource, 0.0) + amount
        for resource, total in admitted.items():
            assert total <= capacity[resource] + 1e-6
        counters = {(s.agent, s.detail["resource"], s.round) for s in resolution.trace if s.move == "counter"}
        pairs = [(agent, resource) for agent, resource, _ in counters]
        assert len(pairs) == len(set(pairs)), "an (agent, resource) pair conceded in two rounds"
        assert len(resolution.admitted) + len(resolution.left_out) == len(intents)


def build_resources(intent: IntentContract) -> set[str]:
    return {r for stance in build_ladder(intent) for r in stance.demand}


def test_mode_switches_that_push_demand_back_and_forth_still_stop_at_the_bound() -> None:
    """Every agent may flip between two tight resources many times; without the one-round-per-
    (agent, resource) rule, concessions on A re-overload B and back again."""
    flip = {
        "kind": "switch_mode",
        "options": [
            {
                "mode": f"m{n}",
                "uses": [{"resource": "capacity:B" if n % 2 == 0 else "capacity:A", "amount": 10}],
            }
            for n in range(40)
        ],
    }
    intents = [
        make_intent(f"i{n}", f"agent:{n}", 10, resource="capacity:A", modifications=[flip], priority=n / 10)
        for n in range(6)
    ]
    resolution = resolve(
        intents,
        {"capacity:A": 25, "capacity:B": 25},
        hierarchical=False,
        cluster_size=16,
        cluster_key=by_primary_resource,
        unresolved_move="escalate",
    )
    assert resolution.round_bound == 6 * 2
    assert resolution.rounds_used <= resolution.round_bound
    totals: dict[str, float] = {}
    for intent_id in resolution.admitted:
        for resource, amount in resolution.stances[intent_id].demand.items():
            totals[resource] = totals.get(resource, 0.0) + amount
    assert all(total <= 25 for total in totals.values())


async def test_the_outcome_does_not_depend_on_the_order_intents_arrive_in(engine: RegoPolicyEngine) -> None:
    rng = random.Random(7)
    intents, capacity = _random_instance(rng, 10)
    cycle = DecisionCycle(engine, Recorder())
    first = await cycle.run(intents, Capacities(available=capacity))
    shuffled = list(intents)
    rng.shuffle(shuffled)
    second = await cycle.run(shuffled, Capacities(available=capacity))
    summary = {r.intent_id: (r.status, r.final and r.final.proposed_action) for r in first.results}
    assert {r.intent_id: (r.status, r.final and r.final.proposed_action) for r in second.results} == summary
