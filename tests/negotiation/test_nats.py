"""The cycle distributed over a real nats-server: agents answer with intents on `intents.<cycle-id>`,
the coordinator collects until all answered or the deadline, never longer."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Sequence

import nats
import pytest
from nats.aio.client import Client as NATS
from nats.aio.msg import Msg

from mesh.negotiation import (
    Capacities,
    CycleCall,
    CycleIdError,
    CycleOutcome,
    DecisionCycle,
    IntentBatch,
    IntentContract,
    NatsCycleCoordinator,
    NegotiationSettings,
    Proposer,
    audit_status,
    serve_proposals,
)
from mesh.policy import RegoPolicyEngine

from .conftest import BOUND, Recorder, make_intent

pytestmark = pytest.mark.e2e

WAREHOUSE = "capacity:WH-EU-1"
DEADLINE = 0.4
HEALTHY = ("agent:a", "agent:b", "agent:c", "agent:d")
ROSTER = (*HEALTHY, "agent:slow", "agent:dead")


@pytest.fixture
async def connect(nats_url: str) -> AsyncIterator[list[NATS]]:
    """Connections opened by a test, drained after it."""
    opened: list[NATS] = []
    yield opened
    for connection in opened:
        await connection.drain()


async def _open(nats_url: str, opened: list[NATS]) -> NATS:
    connection = await nats.connect(nats_url, connect_timeout=BOUND)
    opened.append(connection)
    return connection


def _proposer(agent: str, amount: int, priority: float, *, after: float = 0.0) -> Proposer:
    async def propose(call: CycleCall) -> Sequence[IntentContract]:
        await asyncio.sleep(after)
        return [make_intent(f"{call.cycle_id}-{agent}", agent, amount, priority=priority)]

    return propose


async def _slow_agent(connection: NATS, late: list[asyncio.Task[None]]) -> None:
    """Sends one intent at once, but its final batch only well after the deadline."""

    async def on_call(message: Msg) -> None:
        call = CycleCall.model_validate_json(message.data)
        first = IntentBatch(
            cycle_id=call.cycle_id,
            agent="agent:slow",
            intents=[make_intent(f"{call.cycle_id}-slow-1", "agent:slow", 10)],
            final=False,
        )
        await connection.publish(call.intents_subject, first.model_dump_json().encode())

        async def finish_late() -> None:
            await asyncio.sleep(DEADLINE * 4)
            rest = IntentBatch(
                cycle_id=call.cycle_id,
                agent="agent:slow",
                intents=[make_intent(f"{call.cycle_id}-slow-2", "agent:slow", 10)],
            )
            await connection.publish(call.intents_subject, rest.model_dump_json().encode())

        late.append(asyncio.create_task(finish_late()))

    await connection.subscribe("cycles.open", cb=on_call)


async def _run_with_slow_and_dead(
    nats_url: str, opened: list[NATS], engine: RegoPolicyEngine, settings: NegotiationSettings
) -> tuple[CycleOutcome, float]:
    for number, agent in enumerate(HEALTHY):
        await serve_proposals(
            await _open(nats_url, opened), agent, _proposer(agent, 120, priority=number / 10)
        )
    late: list[asyncio.Task[None]] = []
    await _slow_agent(await _open(nats_url, opened), late)
    # agent:dead: on the roster, never connected.
    coordinator = NatsCycleCoordinator(
        await _open(nats_url, opened), DecisionCycle(engine, Recorder(), settings=settings), deadline=DEADLINE
    )
    began = time.perf_counter()
    try:
        outcome = await coordinator.run(ROSTER, Capacities(available={WAREHOUSE: 400}))
    finally:
        elapsed = time.perf_counter() - began
        for task in late:
            task.cancel()
    return outcome, elapsed


async def test_a_slow_and_a_dead_agent_do_not_stall_the_cycle_past_its_deadline(
    nats_url: str, connect: list[NATS], engine: RegoPolicyEngine
) -> None:
    outcome, elapsed = await _run_with_slow_and_dead(nats_url, connect, engine, NegotiationSettings())

    assert elapsed < DEADLINE + 1.0
    assert outcome.timings_ms.proposal >= DEADLINE * 1000 * 0.9
    assert outcome.absent_agents == {
        "agent:dead": "no proposal by the deadline (400 ms)",
        "agent:slow": "no final batch by the deadline (400 ms)",
    }
    slow = outcome.result(f"{outcome.cycle_id}-slow-1")
    assert (slow.status, slow.cause) == ("escalated", "deadline")
    assert slow.reasons == [
        "agent:slow did not finish proposing by the deadline: no final batch by the deadline (400 ms)"
    ]
    assert f"{outcome.cycle_id}-slow-2" not in {r.intent_id for r in outcome.results}
    healthy = [r for r in outcome.results if r.agent in HEALTHY]
    assert len(healthy) == 4
    # 4 x 120 on a warehouse of 400: a real conflict, settled by negotiation over the bus.
    assert outcome.conflicts[0].resource == WAREHOUSE
    assert {r.status for r in healthy} == {"executed", "modified"}
    assert 1 <= outcome.rounds_used <= outcome.round_bound


async def test_late_intents_can_be_dropped_instead(
    nats_url: str, connect: list[NATS], engine: RegoPolicyEngine
) -> None:
    outcome, elapsed = await _run_with_slow_and_dead(
        nats_url, connect, engine, NegotiationSettings(incomplete="drop")
    )
    assert elapsed < DEADLINE + 1.0
    slow = outcome.result(f"{outcome.cycle_id}-slow-1")
    assert (slow.status, slow.execution_mode, slow.cause) == ("dropped", "refused", "deadline")
    assert audit_status(slow) == "expired"


async def test_the_cycle_ends_as_soon_as_every_agent_answered(
    nats_url: str, connect: list[NATS], engine: RegoPolicyEngine
) -> None:
    for agent in HEALTHY:
        await serve_proposals(await _open(nats_url, connect), agent, _proposer(agent, 50, 0.5))
    coordinator_connection = await _open(nats_url, connect)
    coordinator = NatsCycleCoordinator(
        coordinator_connection, DecisionCycle(engine, Recorder()), deadline=5.0, publish_outcome=True
    )
    published: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()

    async def on_outcome(message: Msg) -> None:
        if not published.done():
            published.set_result(message.data)

    await coordinator_connection.subscribe("outcomes.fast-1", cb=on_outcome)
    began = time.perf_counter()
    outcome = await coordinator.run(HEALTHY, Capacities(available={WAREHOUSE: 400}), cycle_id="fast-1")
    assert time.perf_counter() - began < 1.0
    assert outcome.absent_agents == {}
    assert [r.status for r in outcome.results] == ["executed"] * 4
    assert CycleOutcome.model_validate_json(await asyncio.wait_for(published, BOUND)) == outcome


async def test_an_agent_that_fails_to_propose_is_reported_without_waiting(
    nats_url: str, connect: list[NATS], engine: RegoPolicyEngine
) -> None:
    async def broken(call: CycleCall) -> Sequence[IntentContract]:
        raise RuntimeError("forecast model unavailable")

    await serve_proposals(await _open(nats_url, connect), "agent:a", broken)
    coordinator = NatsCycleCoordinator(
        await _open(nats_url, connect), DecisionCycle(engine, Recorder()), deadline=5.0
    )
    began = time.perf_counter()
    outcome = await coordinator.run(["agent:a"], Capacities(available={WAREHOUSE: 1}))
    assert time.perf_counter() - began < 1.0
    assert outcome.absent_agents == {"agent:a": "failed to propose: RuntimeError: forecast model unavailable"}


async def test_batches_that_do_not_belong_are_rejected(
    nats_url: str, connect: list[NATS], engine: RegoPolicyEngine
) -> None:
    intruder = await _open(nats_url, connect)

    async def on_call(message: Msg) -> None:
        call = CycleCall.model_validate_json(message.data)
        forged = IntentBatch(
            cycle_id=call.cycle_id,
            agent="agent:a",
            intents=[make_intent("forged", "agent:b", 10)],
            final=False,
        )
        stranger = IntentBatch(
            cycle_id=call.cycle_id, agent="agent:x", intents=[make_intent("x", "agent:x", 1)]
        )
        for message_data in (forged.model_dump_json().encode(), stranger.model_dump_json().encode(), b"{"):
            await intruder.publish(call.intents_subject, message_data)

    await intruder.subscribe("cycles.open", cb=on_call)
    # agent:a answers after the intruder has spoken (the coordinator stops listening once it has).
    await serve_proposals(
        await _open(nats_url, connect), "agent:a", _proposer("agent:a", 10, 0.5, after=0.15)
    )
    coordinator = NatsCycleCoordinator(
        await _open(nats_url, connect), DecisionCycle(engine, Recorder()), deadline=2.0
    )
    outcome = await coordinator.run(["agent:a"], Capacities(available={WAREHOUSE: 100}), cycle_id="c-forged")
    assert {r.intent_id for r in outcome.results} == {"c-forged-agent:a"}
    assert "agent:a sent intent forged of agent:b" in outcome.rejected_messages
    assert "batch from agent:x, who is not on the roster" in outcome.rejected_messages
    assert any(m.startswith("malformed batch") for m in outcome.rejected_messages)


async def test_a_cycle_id_must_be_a_subject_token(
    nats_url: str, connect: list[NATS], engine: RegoPolicyEngine
) -> None:
    coordinator = NatsCycleCoordinator(await _open(nats_url, connect), DecisionCycle(engine, Recorder()))
    with pytest.raises(CycleIdError):
        await coordinator.run([], Capacities(available={}), cycle_id="a.b")
