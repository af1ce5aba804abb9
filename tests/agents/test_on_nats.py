"""The agents as `mesh up` runs them, over NATS: each card lists its NATS interface first; a caller
whose key is pinned (here a test agent that put its public key beside the agents') reaches a skill
through the real SDK client on the A2A-over-NATS binding; a caller whose key is not pinned is
refused before any task exists."""

from __future__ import annotations

import asyncio

import httpx
import nats
import pytest
from a2a.client import A2ACardResolver

from agents import card_verifier, load_or_create_card_key
from agents._peers import nats_client_factory, send, skill_message
from mesh.bus import NATS_BINDING_URI, SenderRefusedError, SenderSigner
from mesh.identity import SigningKey

from .conftest import RunningMesh

pytestmark = pytest.mark.e2e


async def test_a_pinned_caller_gets_a_skill_over_nats_and_an_unpinned_one_is_refused(
    mesh: RunningMesh,
) -> None:
    assert mesh.state.nats_endpoint is not None
    key = load_or_create_card_key(mesh.data_dir / "keys", "tester")  # pins its public key
    async with httpx.AsyncClient(timeout=30) as http:
        card = await A2ACardResolver(http, mesh.agent("sustainability")).get_agent_card(
            signature_verifier=card_verifier(mesh.pinned)
        )
    assert card.supported_interfaces[0].protocol_binding == NATS_BINDING_URI
    assert card.supported_interfaces[0].url.endswith("/a2a.sustainability.rpc")
    connection = await nats.connect(mesh.state.nats_endpoint)
    try:
        pinned = nats_client_factory(connection, SenderSigner("tester", key.key)).create(card)
        message = skill_message(
            "carbon_budget_status", {"region": "APAC"}, message_id="nats-1", decision_id="test-nats-1"
        )
        answer = await asyncio.wait_for(send(pinned, message), 30)
        assert answer.completed, answer.problem
        assert answer.output["budgets"][0]["region"] == "APAC"

        stranger = SenderSigner("stranger", SigningKey.generate().key)
        unpinned = nats_client_factory(connection, stranger).create(card)
        with pytest.raises(SenderRefusedError, match="unknown-sender"):
            await send(unpinned, skill_message("carbon_budget_status", {}, message_id="nats-2"))
    finally:
        await connection.drain()
