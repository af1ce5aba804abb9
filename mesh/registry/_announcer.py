"""The agent's side of the registry: announce its signed card on NATS while it runs."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from types import TracebackType
from typing import Any

from a2a.types import AgentCard
from joserfc.jwk import ECKey
from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.errors import Error as NatsError
from pydantic import ValidationError

from mesh.bus import SenderSigner
from mesh.registry._cards import card_document, verify_agent_card
from mesh.registry._errors import AnnouncementRefusedError, AnnouncerError
from mesh.registry._wire import (
    MAX_HEARTBEAT,
    MIN_HEARTBEAT,
    QUERY_SUBJECT,
    AgentStatus,
    Announcement,
    RegistryQuery,
    announce_subject,
)
from mesh.tracing import nats_producer_span

logger = logging.getLogger(__name__)

DEFAULT_HEARTBEAT = 5.0
"""Seconds between two announcements of a running agent."""
DEFAULT_MIN_QUERY_INTERVAL = 0.5
"""Re-announce requests closer together than this get one announcement."""
DEFAULT_TIMEOUT = 2.0
"""Seconds the entry and exit announcements may take to reach the NATS server."""


class CardAnnouncer:
    """Announces an agent's signed Agent Card on NATS for as long as the agent runs.

    Enter it at start-up, once the NATS connection is open and the card is signed, and leave it
    at shutdown; `signer` is the agent's sender signer, whose key must be the one the card is
    signed with (the agent's card key, whose public half is pinned by directories)::

        key = load_or_create_card_key(settings.key_dir, domain)   # agents._signing
        async with CardAnnouncer(nc, agent_app.card, signer=SenderSigner(domain, key.key)) as announcer:
            ...                                # serve
            await announcer.update(new_card)   # when the card changes (signed again)

    The contract:

    - Construction and `update` check the card before anything is sent: an A2A card (a protobuf
      `AgentCard` or its A2A 1.0 JSON) with the required fields, signed by `signer`'s key, whose
      name's first word is `signer.agent_id` and whose NATS interfaces (if any) are on that
      agent's subject. Otherwise `AnnouncerError` says which check failed: a directory would
      refuse the card for the same reason.
    - Entry: subscribes to `mesh.registry.query`, publishes an `up` announcement with the card on
      `mesh.registry.announce.<agent-id>` and flushes it (NATS errors propagate: the agent did
      not announce). A fresh random `instance` is drawn; `seq` counts from 0.
    - While inside: announces `up` again `heartbeat` seconds after the last announcement, at once
      on `update(card)`, and on a `RegistryQuery` naming this agent or no agent: at once, or
      `min_query_interval` after the last announcement if that was sooner (queries arriving
      meanwhile get that one announcement, so a flood of queries cannot make it flood). A failed
      heartbeat is logged and retried at the next one; the NATS client reconnects on its own.
    - Exit (normally, on an exception or on cancellation): stops the heartbeat, unsubscribes, then
      publishes a `down` announcement and flushes it within `timeout`; when that fails (the
      connection is closed) it is logged, not raised. The connection stays open: it is the
      caller's.

    Every announcement carries the agent's sender signature in its headers (the A2A-over-NATS
    binding's `A2A-Sender`, `A2A-Timestamp`, `A2A-Nonce`, `A2A-Signature`, over the announce
    subject and the body), so a directory takes `up` and `down` only from the agent itself.
    The entry, `update` and exit announcements are traced (PRODUCER spans); heartbeats are not.
    Announcements are sent one at a time, in `seq` order. One event loop only.
    """

    def __init__(
        self,
        nc: NATS,
        card: AgentCard | Mapping[str, Any],
        *,
        signer: SenderSigner,
        heartbeat: float = DEFAULT_HEARTBEAT,
        subject_prefix: str = "",
        min_query_interval: float = DEFAULT_MIN_QUERY_INTERVAL,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        if not MIN_HEARTBEAT <= heartbeat <= MAX_HEARTBEAT:
            raise AnnouncerError(f"heartbeat must be {MIN_HEARTBEAT} to {MAX_HEARTBEAT} s, not {heartbeat}")
        if min_query_interval < 0 or timeout <= 0:
            raise AnnouncerError("min_query_interval must be >= 0 and timeout > 0")
        self.nc = nc
        self.signer = signer
        self.heartbeat = heartbeat
        self.subject = announce_subject(signer.agent_id, prefix=subject_prefix)
        self.query_subject = f"{subject_prefix}{QUERY_SUBJECT}"
        self.min_query_interval = min_query_interval
        self.timeout = timeout
        self._public_key = ECKey.import_key(signer.public_jwk())
        self._card = self._checked(card)
        self.instance = ""
        self.seq = -1
        """The last announcement's number; -1 before the first."""
        self._lock = asyncio.Lock()
        self._sent = asyncio.Event()
        self._last_sent = float("-inf")
        self._beat: asyncio.Task[None] | None = None
        self._answer: asyncio.Task[None] | None = None
        self._queries: Subscription | None = None

    @property
    def agent(self) -> str:
        return self.signer.agent_id

    @property
    def card(self) -> dict[str, Any]:
        """The card announced, as A2A 1.0 JSON (a copy)."""
        return card_document(self._card)

    async def __aenter__(self) -> CardAnnouncer:
        if self._beat is not None:
            raise AnnouncerError(f"the announcer of {self.agent} is already running")
        self.instance, self.seq = secrets.token_urlsafe(12), -1
        self._queries = await self.nc.subscribe(self.query_subject, cb=self._on_query)
        try:
            async with asyncio.timeout(self.timeout):
                await self._announce("up", traced=True)
                await self.nc.flush()
        except BaseException:
            await self._unsubscribe()
            raise
        self._beat = asyncio.create_task(self._heartbeat(), name=f"registry-heartbeat-{self.agent}")
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        beat, self._beat = self._beat, None
        for task in (beat, self._answer):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        await self._unsubscribe()
        try:
            async with asyncio.timeout(self.timeout):
                await self._announce("down", traced=True)
                await self.nc.flush()
        except (NatsError, TimeoutError, OSError) as error:
            logger.warning(
                "%s: the down announcement was not sent: %s", self.agent, error or type(error).__name__
            )

    async def update(self, card: AgentCard | Mapping[str, Any]) -> None:
        """Announce a changed card now (checked first, see the class's contract)."""
        self._card = self._checked(card)
        if self._beat is not None:
            await self._announce("up", traced=True)

    async def announce(self) -> None:
        """Announce the current card now (entered announcers only)."""
        if self._beat is None:
            raise AnnouncerError(f"the announcer of {self.agent} is not running; enter it first")
        await self._announce("up")

    def _checked(self, card: AgentCard | Mapping[str, Any]) -> dict[str, Any]:
        try:
            document = card_document(card)
            verify_agent_card(self.agent, document, self._public_key)
        except TypeError as error:
            raise AnnouncerError(f"{self.agent}: {error}") from None
        except AnnouncementRefusedError as refused:
            raise AnnouncerError(
                f"the card cannot be announced as {self.agent} ({refused.reason}): {refused.detail}"
            ) from None
        return document

    async def _announce(self, status: AgentStatus, *, traced: bool = False) -> None:
        async with self._lock:
            self.seq += 1
            body = (
                Announcement(
                    agent=self.agent,
                    status=status,
                    instance=self.instance,
                    seq=self.seq,
                    sent_at=datetime.now(UTC),
                    heartbeat=self.heartbeat,
                    card=self._card if status == "up" else None,
                )
                .model_dump_json(exclude_none=True)
                .encode()
            )
            signed = self.signer.headers(self.subject, body)
            if traced:
                with nats_producer_span(self.subject, signed) as sent:
                    await self.nc.publish(self.subject, body, headers=sent.headers)
            else:
                await self.nc.publish(self.subject, body, headers=signed)
            self._last_sent = time.monotonic()
            self._sent.set()

    async def _heartbeat(self) -> None:
        while True:
            self._sent.clear()
            try:
                await asyncio.wait_for(self._sent.wait(), self.heartbeat)
                continue  # something was just announced: a full interval from there
            except TimeoutError:
                pass
            try:
                await self._announce("up")
            except (NatsError, OSError) as error:
                logger.warning("%s: heartbeat not sent: %s", self.agent, error or type(error).__name__)

    async def _on_query(self, message: Msg) -> None:
        try:
            query = RegistryQuery.model_validate_json(message.data)
        except ValidationError:
            logger.debug("%s: ignored a malformed registry query", self.agent)
            return
        if query.agents and self.agent not in query.agents:
            return
        if self._beat is None or self._answer is not None:
            return  # not running, or an answer is already on its way
        delay = self._last_sent + self.min_query_interval - time.monotonic()
        self._answer = asyncio.create_task(self._answer_query(delay), name=f"registry-answer-{self.agent}")

    async def _answer_query(self, delay: float) -> None:
        try:
            if delay > 0:
                await asyncio.sleep(delay)
            await self._announce("up")
        except (NatsError, OSError) as error:
            logger.warning("%s: re-announcement not sent: %s", self.agent, error or type(error).__name__)
        finally:
            self._answer = None

    async def _unsubscribe(self) -> None:
        queries, self._queries = self._queries, None
        if queries is not None:
            with contextlib.suppress(NatsError, OSError):
                await queries.unsubscribe()
