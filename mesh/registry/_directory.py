"""The directory's side of the registry: take verified announcements, know who is up."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Collection
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.errors import Error as NatsError
from pydantic import ValidationError

from mesh.bus import (
    DEFAULT_WINDOW,
    SenderRefusedError,
    SenderVerifier,
    is_agent_id,
)
from mesh.bus import (
    RefusalReason as SenderRefusal,
)
from mesh.registry._cards import card_document, matches, summarise, verify_agent_card
from mesh.registry._errors import AnnouncementRefusedError, RefusalReason, RegistryError, UnknownAgentError
from mesh.registry._keys import PinnedAgentKeys
from mesh.registry._wire import (
    ANNOUNCE_SUBJECT,
    QUERY_SUBJECT,
    AgentDetail,
    AgentEntry,
    AgentStatus,
    Announcement,
    CardSummary,
    DownReason,
    RegistryQuery,
)
from mesh.tracing import nats_consumer_span, nats_producer_span

logger = logging.getLogger(__name__)

DEFAULT_MISSED_HEARTBEATS = 3
DEFAULT_MAX_MESSAGE_BYTES = 512 * 1024
_LOG_EVERY = 10.0
_RELOADABLE_SENDER = frozenset({SenderRefusal.UNKNOWN_SENDER, SenderRefusal.BAD_SIGNATURE})
_RELOADABLE_CARD = frozenset({RefusalReason.UNTRUSTED_KEY, RefusalReason.BAD_SIGNATURE})

RefusalHook = Callable[[AnnouncementRefusedError], None]


@dataclass
class _Record:
    agent: str
    instance: str
    seq: int
    heartbeat: float
    status: AgentStatus
    down_reason: DownReason | None
    last_seen: datetime
    since: datetime
    deadline: float
    key_id: str
    digest: str
    card: dict[str, Any]
    summary: CardSummary

    def entry(self) -> AgentEntry:
        return AgentEntry(
            agent=self.agent,
            status=self.status,
            last_seen=self.last_seen,
            since=self.since,
            down_reason=self.down_reason,
            instance=self.instance,
            seq=self.seq,
            heartbeat=self.heartbeat,
            key_id=self.key_id,
            summary=self.summary,
        )


class AgentDirectory:
    """The agents that announced themselves on NATS, each with its verified card and status.

    `receive` is the whole check of one announcement; `start(nc)` feeds it every message on
    `mesh.registry.announce.*` and asks the agents to announce themselves again (a directory
    that starts late learns of the running agents at once). An announcement is taken only when,
    in order:

    1. it is at most `max_message_bytes` long (`too-large`) and on `mesh.registry.announce.<id>`
       with `<id>` an agent id (`bad-subject`);
    2. its sender signature verifies with the key pinned for its `A2A-Sender`, its timestamp is
       within `window` seconds and its nonce is new (`sender-refused`, with the bus's reason);
    3. it parses as an `Announcement` (`malformed`); subject, signed sender and `agent` name the
       same agent (`wrong-identity`);
    4. it is newer than the last one taken from the same instance (`out-of-order`);
    5. when `up`, its card passes `mesh.registry._cards.verify_agent_card` with that agent's pinned
       key (`malformed`, `unsigned`, `untrusted-key`, `bad-signature`, `wrong-identity`).

    Keys come only from `keys`, read from disk: when a sender or a card's key is not the one
    pinned, the directory reads its key files again once (if they changed) and checks again;
    nothing is ever fetched from the network. A refused announcement changes nothing; it is
    logged (reason and claimed agent only, at most every 10 s per agent and reason), counted in
    `refusals` and handed to `on_refused`.

    Status: an `up` announcement makes its agent up (a new `instance` replaces the entry: the
    agent restarted). A `down` from the current instance marks it down (`goodbye`); a `down`
    from another instance (an old one, stopping late) or for an agent never seen changes
    nothing. An agent up with no announcement for `missed_heartbeats` times the heartbeat it
    announced is marked down (`missed-heartbeats`): reads check this first, and a sweep while
    started logs it. An agent down stays listed, with `last_seen`, until it comes back.
    Replicas of one agent id share one entry (the latest instance heard). One event loop only.
    """

    def __init__(
        self,
        keys: PinnedAgentKeys,
        *,
        missed_heartbeats: int = DEFAULT_MISSED_HEARTBEATS,
        subject_prefix: str = "",
        max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES,
        window: float = DEFAULT_WINDOW,
        on_refused: RefusalHook | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if missed_heartbeats < 1 or max_message_bytes < 1:
            raise ValueError("missed_heartbeats and max_message_bytes must be positive")
        self.keys = keys
        self.missed_heartbeats = missed_heartbeats
        self.subject_prefix = subject_prefix
        self.max_message_bytes = max_message_bytes
        self.on_refused = on_refused
        self.refusals: Counter[RefusalReason] = Counter()
        self._verifier = SenderVerifier(keys, window=window)
        self._clock = clock
        self._records: dict[str, _Record] = {}
        self._logged: dict[tuple[str | None, RefusalReason], float] = {}
        self._subscription: Subscription | None = None
        self._sweeper: asyncio.Task[None] | None = None
        self._nc: NATS | None = None

    @property
    def announce_subjects(self) -> str:
        return f"{self.subject_prefix}{ANNOUNCE_SUBJECT}.*"

    @property
    def started(self) -> bool:
        return self._subscription is not None

    # --- on NATS --------------------------------------------------------------------------------

    async def start(self, nc: NATS) -> None:
        """Subscribe to the announcements, ask every agent to announce itself, start the sweep."""
        if self._subscription is not None:
            raise RegistryError("the directory is already started")
        self._nc = nc
        self._subscription = await nc.subscribe(self.announce_subjects, cb=self._on_message)
        self._sweeper = asyncio.create_task(self._sweep(), name="registry-sweep")
        await self.query()

    async def stop(self) -> None:
        """Stop taking announcements (entries are kept, and expire as before)."""
        sweeper, self._sweeper = self._sweeper, None
        if sweeper is not None:
            sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sweeper
        subscription, self._subscription = self._subscription, None
        if subscription is not None:
            with contextlib.suppress(NatsError, OSError):
                await subscription.unsubscribe()
        self._nc = None

    @asynccontextmanager
    async def serving(self, nc: NATS) -> AsyncIterator[AgentDirectory]:
        """`start(nc)` on entry, `stop()` on exit."""
        await self.start(nc)
        try:
            yield self
        finally:
            await self.stop()

    async def query(self, agents: Collection[str] = ()) -> None:
        """Ask `agents` (default: every agent) to announce themselves now."""
        if self._nc is None:
            raise RegistryError("the directory is not started")
        subject = f"{self.subject_prefix}{QUERY_SUBJECT}"
        body = RegistryQuery(agents=list(agents)).model_dump_json().encode()
        with nats_producer_span(subject) as sent:
            await self._nc.publish(subject, body, headers=sent.headers)
        await self._nc.flush()

    async def _on_message(self, message: Msg) -> None:
        headers = message.headers or {}
        if any(name.lower() == "traceparent" for name in headers):  # entry, change, exit: traced
            with nats_consumer_span(message):
                self._take(message.subject, headers, message.data)
        else:  # heartbeats: not traced
            self._take(message.subject, headers, message.data)

    def _take(self, subject: str, headers: dict[str, str], body: bytes) -> None:
        try:
            self.receive(subject, headers, body)
        except AnnouncementRefusedError as refused:
            self.refusals[refused.reason] += 1
            now = self._clock()
            key = (refused.agent, refused.reason)
            if now - self._logged.get(key, float("-inf")) >= _LOG_EVERY:
                self._logged[key] = now
                logger.warning("%s", refused)
            if self.on_refused is not None:
                self.on_refused(refused)
        except Exception as error:  # a bug of ours must not stop the subscription; nothing was taken
            logger.error("announcement on %s dropped: %s: %s", subject, type(error).__name__, error)

    async def _sweep(self) -> None:
        while True:
            self.expire()
            ups = [r.deadline for r in self._records.values() if r.status == "up"]
            wait = min(ups) - self._clock() if ups else 1.0
            await asyncio.sleep(min(1.0, max(0.01, wait)))

    # --- the checks -----------------------------------------------------------------------------

    def receive(self, subject: str, headers: dict[str, str], body: bytes) -> AgentEntry | None:
        """Check one announcement as received on `subject` (see the class's docstring) and apply
        it; the agent's entry as it now is, or None when it changed nothing (a `down` of an
        instance not listed). Raises `AnnouncementRefusedError`."""
        prefix = f"{self.subject_prefix}{ANNOUNCE_SUBJECT}."
        named = subject.removeprefix(prefix) if subject.startswith(prefix) else None
        if len(body) > self.max_message_bytes:
            raise AnnouncementRefusedError(
                named, RefusalReason.TOO_LARGE, f"{len(body)} bytes, over {self.max_message_bytes}"
            )
        if named is None or not is_agent_id(named):
            raise AnnouncementRefusedError(
                None, RefusalReason.BAD_SUBJECT, f"{subject!r} is not {prefix}<agent-id>"
            )
        sender = self._verified_sender(named, subject, {k.lower(): v for k, v in headers.items()}, body)
        if sender != named:
            raise AnnouncementRefusedError(
                named, RefusalReason.WRONG_IDENTITY, f"signed by {sender}, on the subject of {named}"
            )
        try:
            announcement = Announcement.model_validate_json(body)
        except ValidationError as error:
            first = error.errors()[0]
            where = ".".join(str(part) for part in first["loc"]) or "body"
            raise AnnouncementRefusedError(
                sender, RefusalReason.MALFORMED, f"not an announcement: {where}: {first['msg']}"
            ) from None
        if announcement.agent != sender:
            raise AnnouncementRefusedError(
                sender, RefusalReason.WRONG_IDENTITY, f"{sender} announced agent {announcement.agent!r}"
            )
        record = self._records.get(sender)
        if record is not None and record.instance == announcement.instance and announcement.seq <= record.seq:
            raise AnnouncementRefusedError(
                sender,
                RefusalReason.OUT_OF_ORDER,
                f"seq {announcement.seq} of instance {announcement.instance} after seq {record.seq}",
            )
        if announcement.status == "down":
            return self._goodbye(record, announcement)
        return self._hello(record, announcement).entry()

    def _verified_sender(self, named: str, subject: str, headers: dict[str, str], body: bytes) -> str:
        try:
            return self._verifier.verify(subject, headers, body)
        except SenderRefusedError as refused:
            if refused.reason in _RELOADABLE_SENDER and self.keys.reload():
                try:
                    return self._verifier.verify(subject, headers, body)
                except SenderRefusedError as again:
                    refused = again
            raise AnnouncementRefusedError(
                refused.sender or named, RefusalReason.SENDER_REFUSED, f"sender signature: {refused.reason}"
            ) from None

    def _hello(self, record: _Record | None, announcement: Announcement) -> _Record:
        agent = announcement.agent
        assert announcement.card is not None  # the model requires it when up
        digest = hashlib.sha256(json.dumps(announcement.card, sort_keys=True).encode()).hexdigest()
        key = self.keys(agent)
        key_id = key.thumbprint() if key is not None else ""
        if record is not None and record.digest == digest and record.key_id == key_id:
            card, summary = record.card, record.summary  # the same card, verified with the same key
        else:
            try:
                parsed = verify_agent_card(agent, announcement.card, key)
            except AnnouncementRefusedError as refused:
                if refused.reason not in _RELOADABLE_CARD or not self.keys.reload():
                    raise
                key = self.keys(agent)
                parsed = verify_agent_card(agent, announcement.card, key)
            assert key is not None  # verified with it
            key_id = key.thumbprint()
            card, summary = card_document(parsed), summarise(parsed)
        now = datetime.now(UTC)
        back = record is None or record.status == "down" or record.instance != announcement.instance
        if back:
            logger.info("agent %s is up (instance %s, key %s)", agent, announcement.instance, key_id)
        elif record is not None and record.digest != digest:
            logger.info("agent %s announced a changed card", agent)
        fresh = _Record(
            agent=agent,
            instance=announcement.instance,
            seq=announcement.seq,
            heartbeat=announcement.heartbeat,
            status="up",
            down_reason=None,
            last_seen=now,
            since=now if back or record is None else record.since,
            deadline=self._clock() + self.missed_heartbeats * announcement.heartbeat,
            key_id=key_id,
            digest=digest,
            card=card,
            summary=summary,
        )
        self._records[agent] = fresh
        return fresh

    def _goodbye(self, record: _Record | None, announcement: Announcement) -> AgentEntry | None:
        if record is None or record.instance != announcement.instance:
            logger.debug(
                "ignored the down announcement of %s instance %s", announcement.agent, announcement.instance
            )
            return None
        now = datetime.now(UTC)
        if record.status == "up":
            logger.info("agent %s is down: it said goodbye", record.agent)
            record.since = now
        record.status, record.down_reason = "down", "goodbye"
        record.seq, record.last_seen = announcement.seq, now
        return record.entry()

    def expire(self) -> list[str]:
        """Mark down every agent up whose heartbeats stopped; the agents newly marked down."""
        now = self._clock()
        expired = []
        for record in self._records.values():
            if record.status == "up" and now > record.deadline:
                record.status, record.down_reason, record.since = (
                    "down",
                    "missed-heartbeats",
                    datetime.now(UTC),
                )
                expired.append(record.agent)
                logger.warning(
                    "agent %s is down: no announcement for %d heartbeats of %g s (last seen %s)",
                    record.agent,
                    self.missed_heartbeats,
                    record.heartbeat,
                    record.last_seen.isoformat(timespec="seconds"),
                )
        return expired

    # --- reading --------------------------------------------------------------------------------

    def search(
        self,
        *,
        skill: str | None = None,
        tag: str | None = None,
        text: str | None = None,
        status: AgentStatus | None = None,
    ) -> list[AgentEntry]:
        """The agents fitting every filter given, by agent id: `skill` a skill id, `tag` a skill
        tag (any case), `text` a substring (any case) of the name, description or a skill's id,
        name, description or tags, `status` up or down."""
        self.expire()
        return [
            record.entry()
            for agent, record in sorted(self._records.items())
            if (status is None or record.status == status)
            and matches(record.summary, skill=skill, tag=tag, text=text)
        ]

    def list(self, status: AgentStatus | None = None) -> list[AgentEntry]:
        return self.search(status=status)

    def get(self, agent: str) -> AgentDetail:
        """One agent with its full card; `UnknownAgentError` when it never announced itself."""
        self.expire()
        record = self._records.get(agent)
        if record is None:
            raise UnknownAgentError(agent, sorted(self._records))
        return AgentDetail(**record.entry().model_dump(), card=card_document(record.card))
