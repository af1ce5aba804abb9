"""Batches signed with the A2A-over-NATS sender identity: a coordinator with a verifier refuses a
batch that is unsigned, signed by an unknown key, or signed by one agent while claiming another,
tells `on_refused` (to audit it), and still runs the cycle on time with the honest agents."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence

import nats
import pytest
from joserfc.jwk import ECKey
from nats.aio.client import Client as NATS
from nats.aio.msg import Msg

from mesh.bus import PinnedSenderKeys, SenderSigner, SenderVerifier
from mesh.negotiation import (
    Capacities,
    CycleCall,
    DecisionCycle,
    IntentBatch,
    IntentContract,
    NatsCycleCoordinator,
    bus_agent_id,
    serve_proposals,
)
from mesh.policy import RegoPolicyEngine

from .conftest import BOUND, Recorder, make_intent

pytestmark = pytest.mark.e2e

KEYS = {name: ECKey.generate_key("P-256", private=True) for name in ("honest", "mallory", "outsider")}
PINNED = PinnedSenderKeys.from_jwks(
    {name: KEYS[name].as_dict(private=False) for name in ("honest", "mallory")}
)


@pytest.fixture
async def connections(nats_url: str) -> AsyncIterator[list[NATS]]:
    opened: list[NATS] = []

    async def open_one() -> NATS:
        connection = await nats.connect(nats_url, connect_timeout=BOUND)
        opened.append(connection)
        return connection

    yield [await open_one() for _ in range(3)]
    for connection in opened:
        await connection.drain()


def test_the_bus_identity_of_an_agent_is_its_name_without_the_prefix() -> None:
    assert bus_agent_id("agent:inventory") == "inventory"
    assert bus_agent_id("honest") == "honest"


async def test_forged_and_unsigned_batches_are_refused_and_reported(
    connections: list[NATS], engine: RegoPolicyEngine
) -> None:
    coordinator_nc, honest_nc, mallory_nc = connections

    async def propose(call: CycleCall) -> Sequence[IntentContract]:
        return [make_intent(f"{call.cycle_id}-honest", "agent:honest", 10)]

    await serve_proposals(honest_nc, "agent:honest", propose, signer=SenderSigner("honest", KEYS["honest"]))

    async def forge(message: Msg) -> None:
        """Mallory answers three times: unsigned, with an unpinned key, and with her own key while
        claiming to be the honest agent (and proposing in its name)."""
        call = CycleCall.model_validate_json(message.data)
        as_honest = IntentBatch(
            cycle_id=call.cycle_id,
            agent="agent:honest",
            intents=[make_intent(f"{call.cycle_id}-forged", "agent:honest", 500)],
            final=True,
        )
        body = as_honest.model_dump_json().encode()
        await mallory_nc.publish(call.intents_subject, body)
        outsider = SenderSigner("outsider", KEYS["outsider"])
        await mallory_nc.publish(
            call.intents_subject, body, headers=outsider.headers(call.intents_subject, body)
        )
        mallory = SenderSigner("mallory", KEYS["mallory"])
        await mallory_nc.publish(
            call.intents_subject, body, headers=mallory.headers(call.intents_subject, body)
        )

    await mallory_nc.subscribe("cycles.open", cb=forge)
    await honest_nc.flush()
    await mallory_nc.flush()
    refused: list[tuple[str | None, str]] = []

    async def on_refused(claimed: str | None, reason: str) -> None:
        refused.append((claimed, reason))

    executor = Recorder()
    coordinator = NatsCycleCoordinator(
        coordinator_nc,
        DecisionCycle(engine, executor),
        deadline=BOUND / 4,
        verifier=SenderVerifier(PINNED),
        on_refused=on_refused,
    )
    # An agent that never answers keeps the cycle open to its deadline, so that all three forged
    # batches are judged however soon the honest agent's batch arrives.
    outcome = await coordinator.run(
        ["agent:honest", "agent:absent"], Capacities(available={"capacity:WH-EU-1": 100}), cycle_id="signed-1"
    )

    assert [r.intent_id for r in outcome.results] == ["signed-1-honest"]
    assert [i.intent_id for i in executor.executed] == ["signed-1-honest"]
    reasons = sorted(reason for _, reason in refused)
    assert len(refused) == 3, refused
    assert "unsigned" in reasons
    assert "unknown-sender" in reasons
    assert any("signed by mallory but claims to come from agent:honest" in r for r in reasons)
    assert sum("refused batch" in m for m in outcome.rejected_messages) == 3


async def test_without_a_verifier_signed_batches_are_still_read(
    connections: list[NATS], engine: RegoPolicyEngine
) -> None:
    coordinator_nc, honest_nc, _ = connections

    async def propose(call: CycleCall) -> Sequence[IntentContract]:
        return [make_intent(f"{call.cycle_id}-honest", "agent:honest", 10)]

    await serve_proposals(honest_nc, "agent:honest", propose, signer=SenderSigner("honest", KEYS["honest"]))
    await honest_nc.flush()
    outcome = await NatsCycleCoordinator(
        coordinator_nc, DecisionCycle(engine, Recorder()), deadline=BOUND / 4
    ).run(["agent:honest"], Capacities(available={"capacity:WH-EU-1": 100}), cycle_id="signed-2")
    assert [r.status for r in outcome.results] == ["executed"]
