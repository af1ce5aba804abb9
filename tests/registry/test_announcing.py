"""The registry over a real nats-server: agents announce their signed cards, the directory hears
them, asks late for them, and marks agents down on goodbye or missed heartbeats."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from nats.aio.client import Client as NATS

from mesh.bus import NATS_BINDING_URI
from mesh.registry import (
    AgentDirectory,
    AnnouncementRefusedError,
    CardAnnouncer,
    PinnedAgentKeys,
    RefusalReason,
    card_document,
)
from tests.registry.conftest import Agents, announcement, publish, until

pytestmark = pytest.mark.e2e

Connect = Callable[[], Awaitable[NATS]]


class Refusals(list[AnnouncementRefusedError]):
    def reasons(self) -> list[RefusalReason]:
        return [refused.reason for refused in self]


async def _directory(
    connect: Connect, agents: Agents, prefix: str, **options: Any
) -> tuple[AgentDirectory, Refusals]:
    refusals = Refusals()
    directory = AgentDirectory(
        PinnedAgentKeys(agents.public_dir), subject_prefix=prefix, on_refused=refusals.append, **options
    )
    await directory.start(await connect())
    return directory, refusals


def _status(directory: AgentDirectory, agent: str) -> str | None:
    found = [entry for entry in directory.list() if entry.agent == agent]
    return found[0].status if found else None


# --- announcing and listing -------------------------------------------------------------------


async def test_an_announced_card_is_listed_up_once_its_signature_verifies(
    connect: Connect, agents: Agents, prefix: str
) -> None:
    directory, refusals = await _directory(connect, agents, prefix)
    card = agents.card("logistics")
    async with CardAnnouncer(await connect(), card, signer=agents.signer("logistics"), subject_prefix=prefix):
        await until(lambda: _status(directory, "logistics") == "up", "logistics listed up")
        entry = directory.get("logistics")
    assert entry.key_id == agents.key("logistics").kid
    assert entry.summary.name == "Logistics agent"
    assert [s.id for s in entry.summary.skills] == ["recommend_carrier", "book_shipment", "ask"]
    assert entry.summary.interfaces[0].protocol_binding == NATS_BINDING_URI
    assert entry.summary.url == entry.summary.interfaces[0].url
    assert entry.card == card_document(card)  # the full signed card
    assert refusals == []
    await directory.stop()


async def test_a_directory_started_late_asks_and_learns_of_running_agents(
    connect: Connect, agents: Agents, prefix: str
) -> None:
    card = agents.card("demand")
    async with CardAnnouncer(
        await connect(), card, signer=agents.signer("demand"), heartbeat=3600, subject_prefix=prefix
    ):
        directory, _ = await _directory(connect, agents, prefix)  # no heartbeat before the bound
        await until(lambda: _status(directory, "demand") == "up", "demand re-announced on the query")
        await directory.stop()


async def test_heartbeats_keep_an_agent_up(connect: Connect, agents: Agents, prefix: str) -> None:
    directory, _ = await _directory(connect, agents, prefix)
    async with CardAnnouncer(
        await connect(),
        agents.card("demand"),
        signer=agents.signer("demand"),
        heartbeat=0.02,
        subject_prefix=prefix,
    ):
        await until(
            lambda: _status(directory, "demand") == "up" and directory.get("demand").seq >= 10, "10 beats"
        )
        assert _status(directory, "demand") == "up"
    await directory.stop()


async def test_a_changed_card_is_announced_at_once(connect: Connect, agents: Agents, prefix: str) -> None:
    directory, _ = await _directory(connect, agents, prefix)
    async with CardAnnouncer(
        await connect(),
        agents.card("demand"),
        signer=agents.signer("demand"),
        heartbeat=3600,
        subject_prefix=prefix,
    ) as announcer:
        await until(lambda: _status(directory, "demand") == "up", "demand up")
        await announcer.update(agents.card("demand", version="2.0.0"))
        await until(lambda: directory.get("demand").summary.version == "2.0.0", "the new card listed")
    await directory.stop()


async def test_an_agent_that_says_goodbye_is_marked_down_and_keeps_its_last_seen(
    connect: Connect, agents: Agents, prefix: str
) -> None:
    directory, _ = await _directory(connect, agents, prefix)
    async with CardAnnouncer(
        await connect(), agents.card("demand"), signer=agents.signer("demand"), subject_prefix=prefix
    ):
        await until(lambda: _status(directory, "demand") == "up", "demand up")
    await until(lambda: _status(directory, "demand") == "down", "demand down")
    entry = directory.get("demand")
    assert entry.down_reason == "goodbye"
    assert entry.last_seen == entry.since  # the goodbye was the last thing heard
    assert directory.list(status="up") == []
    await directory.stop()


async def test_an_agent_whose_heartbeats_stop_is_marked_down(
    connect: Connect, agents: Agents, prefix: str
) -> None:
    directory, _ = await _directory(connect, agents, prefix)
    connection = await connect()
    async with CardAnnouncer(
        connection,
        agents.card("demand"),
        signer=agents.signer("demand"),
        heartbeat=0.02,
        subject_prefix=prefix,
    ):
        await until(lambda: _status(directory, "demand") == "up", "demand up")
        await connection.close()  # the agent's process dies: no goodbye, no more heartbeats
        await until(lambda: _status(directory, "demand") == "down", "demand marked down")
    assert directory.get("demand").down_reason == "missed-heartbeats"
    await directory.stop()


async def test_refusals_over_nats_are_reported_and_change_nothing(
    connect: Connect, agents: Agents, prefix: str
) -> None:
    directory, refusals = await _directory(connect, agents, prefix)
    nc = await connect()
    card = card_document(agents.card("logistics"))
    card["description"] = "tampered"
    await publish(nc, announcement("logistics", card), signer=agents.signer("logistics"), prefix=prefix)
    await publish(nc, announcement("logistics", None), signer=None, agent="logistics", prefix=prefix)
    await until(lambda: len(refusals) == 2, "two refusals")
    assert refusals.reasons() == [RefusalReason.BAD_SIGNATURE, RefusalReason.SENDER_REFUSED]
    assert directory.refusals[RefusalReason.BAD_SIGNATURE] == 1
    assert directory.list() == []
    await directory.stop()


async def test_a_key_pinned_after_the_directory_started_is_read_from_disk(
    connect: Connect, agents: Agents, prefix: str
) -> None:
    directory, refusals = await _directory(connect, agents, prefix)
    assert "sustainability" not in directory.keys.agents
    card = agents.card("sustainability")  # creates and pins the key now, as an agent's first start does
    async with CardAnnouncer(
        await connect(), card, signer=agents.signer("sustainability"), subject_prefix=prefix
    ):
        await until(lambda: _status(directory, "sustainability") == "up", "sustainability listed")
    assert refusals == []
    await directory.stop()


async def test_re_announce_requests_are_answered_at_most_once_per_interval(
    connect: Connect, agents: Agents, prefix: str
) -> None:
    directory, _ = await _directory(connect, agents, prefix)
    async with CardAnnouncer(
        await connect(),
        agents.card("demand"),
        signer=agents.signer("demand"),
        heartbeat=3600,
        subject_prefix=prefix,
        min_query_interval=3600,
    ) as announcer:
        await until(lambda: _status(directory, "demand") == "up", "demand up")
        for _ in range(5):
            await directory.query()
        await directory.query(["logistics"])
        await asyncio.sleep(0.05)  # let any (wrong) answers arrive
        assert announcer.seq == 0
    await directory.stop()
