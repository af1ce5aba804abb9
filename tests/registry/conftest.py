"""Registry tests: a real nats-server per module on a free loopback port, the agents' real cards
signed with card keys created in a temporary key dir, as the agents do at first start."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from a2a.types import AgentCard
from nats.aio.client import Client as NATS

from agents import agent_spec, build_card, load_or_create_card_key, sign_card
from mesh.bus import SenderSigner, agent_subject, nats_agent_interface
from mesh.identity import SigningKey
from mesh.registry import Announcement, announce_subject
from tests.net import nats_connections, nats_server

BOUND = 10.0
"""Seconds any one wait in these tests may take before the test fails."""
CARD_NATS_URL = "nats://nats.mesh.test:4222"
"""The NATS server the test cards name (their subjects matter, not the server)."""


@pytest.fixture(scope="module")
def nats_url() -> Iterator[str]:
    with nats_server(BOUND) as url:
        yield url


@pytest.fixture
async def connect(nats_url: str) -> AsyncIterator[Callable[[], Awaitable[NATS]]]:
    """Open NATS connections (one per role, as separate processes would); all closed after the test."""
    async with nats_connections(nats_url) as open_one:
        yield open_one


@pytest.fixture
def prefix() -> str:
    """A subject prefix of the test's own, so tests sharing a server do not hear each other."""
    return f"t{uuid.uuid4().hex[:8]}."


@dataclass(frozen=True)
class Agents:
    """Card keys created in `key_dir` as the agents create theirs; cards signed with them."""

    key_dir: Path
    nats_url: str = CARD_NATS_URL

    @property
    def public_dir(self) -> Path:
        return self.key_dir / "agent-cards" / "public"

    def key(self, domain: str) -> SigningKey:
        return load_or_create_card_key(self.key_dir, domain)

    def signer(self, domain: str) -> SenderSigner:
        return SenderSigner(domain, self.key(domain).key)

    def card(self, domain: str, *, signed_by: str | None = None, **fields: Any) -> AgentCard:
        """`domain`'s real card listing NATS first, with `fields` changed, signed by `signed_by`'s key."""
        nats_interface = nats_agent_interface(self.nats_url, agent_subject(domain))
        card = build_card(agent_spec(domain), "http://127.0.0.1:8200", extra_interfaces=[nats_interface])
        for name, value in fields.items():
            setattr(card, name, value)
        return sign_card(card, self.key(signed_by or domain))


@pytest.fixture
def agents(tmp_path: Path) -> Agents:
    found = Agents(tmp_path / "keys")
    for domain in ("demand", "logistics"):
        found.key(domain)
    return found


def announcement(agent: str, card: dict[str, Any] | None, **fields: Any) -> Announcement:
    values: dict[str, Any] = {
        "agent": agent,
        "status": "up" if card is not None else "down",
        "instance": "instance-0001",
        "seq": 0,
        "sent_at": datetime.now(UTC),
        "heartbeat": 5.0,
        "card": card,
    }
    return Announcement(**(values | fields))


async def publish(
    nc: NATS,
    body: bytes | Announcement,
    *,
    signer: SenderSigner | None,
    agent: str | None = None,
    prefix: str = "",
) -> None:
    """Publish an announcement as `signer` (unsigned when None) on `agent`'s subject (default: the signer's)."""
    data = body.model_dump_json(exclude_none=True).encode() if isinstance(body, Announcement) else body
    subject = announce_subject(agent or (signer.agent_id if signer else "nobody"), prefix=prefix)
    headers = signer.headers(subject, data) if signer is not None else None
    await nc.publish(subject, data, headers=headers)
    await nc.flush()


async def until(condition: Callable[[], bool], what: str, *, step: float = 0.005) -> None:
    """Wait until `condition()` holds, at most BOUND seconds, else fail naming `what`."""
    for _ in range(int(BOUND / step)):
        if condition():
            return
        await asyncio.sleep(step)
    pytest.fail(f"waited {BOUND:g} s for {what}")
