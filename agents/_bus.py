"""An agent on the NATS bus: its A2A request handler served over the A2A-over-NATS binding, its
part in decision cycles (proposals answered on `cycles.open`, signed with the agent's card key),
and its own copy of the registry, through which it finds and asks the other agents (`Peers`).

`NatsBinding` is a `ProtocolBinding` (`build_agent_app(bindings=[...])`): the card lists the NATS
interface first, and for as long as the app runs one NATS connection carries the binding's
requests, the agent's proposals, and its registry announcements. Requests over NATS must be signed
by a sender whose public key is pinned in the key directory (agents and the coordinator); keys
added after start-up (the coordinator's, say) are read from that directory when first seen
(`mesh.registry.PinnedAgentKeys`), never fetched from anywhere else.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path

import nats
from a2a.server.request_handlers import RequestHandler
from a2a.types import AgentInterface
from nats.aio.client import Client as NATS

from agents._peers import Peers
from mesh.bus import (
    NatsA2AServer,
    RefusalReason,
    SenderSigner,
    SenderVerifier,
    agent_subject,
    nats_agent_interface,
)
from mesh.negotiation import Proposer, serve_proposals
from mesh.registry import AgentDirectory, PinnedAgentKeys

logger = logging.getLogger("agents")

Extra = Callable[[NATS], AbstractAsyncContextManager[object]]
"""Something more to run on the agent's NATS connection while it serves (registry announcements)."""


class NatsBinding:
    """The agent `domain` served on `a2a.<domain>.rpc` at `nats_url`, proposing with `proposer`."""

    def __init__(
        self,
        nats_url: str,
        domain: str,
        *,
        signer: SenderSigner,
        pinned_keys_dir: Path,
        proposer: Proposer | None = None,
        extras: tuple[Extra, ...] = (),
    ) -> None:
        self.nats_url = nats_url
        self.domain = domain
        self.subject = agent_subject(domain)
        self.signer = signer
        self.verifier = SenderVerifier(PinnedAgentKeys(pinned_keys_dir))
        self.proposer = proposer
        self.extras = extras
        self.pinned_keys_dir = pinned_keys_dir

    def interface(self) -> AgentInterface:
        return nats_agent_interface(self.nats_url, self.subject)

    def serve(self, handler: RequestHandler) -> AbstractAsyncContextManager[None]:
        return self._serve(handler)

    @asynccontextmanager
    async def _serve(self, handler: RequestHandler) -> AsyncIterator[None]:
        connection = await nats.connect(
            self.nats_url, name=f"agent-{self.domain}", max_reconnect_attempts=-1, reconnect_time_wait=0.5
        )
        try:
            server = NatsA2AServer(
                connection,
                self.subject,
                handler,
                verifier=self.verifier,
                on_refused=self._refused,
            )
            async with contextlib.AsyncExitStack() as stack:
                await stack.enter_async_context(server)
                directory = await stack.enter_async_context(
                    AgentDirectory(PinnedAgentKeys(self.pinned_keys_dir)).serving(connection)
                )
                peers = Peers(directory, connection, self.signer)
                stack.push_async_callback(peers.close)
                attach = getattr(self.proposer, "attach_peers", None)
                if callable(attach):
                    attach(peers)
                if self.proposer is not None:
                    subscription = await serve_proposals(
                        connection, f"agent:{self.domain}", self.proposer, signer=self.signer
                    )
                    stack.push_async_callback(subscription.unsubscribe)
                for extra in self.extras:
                    await stack.enter_async_context(extra(connection))
                await connection.flush()
                logger.info(
                    "serving A2A on nats %s%s", self.subject, " and proposing" if self.proposer else ""
                )
                yield
        finally:
            with contextlib.suppress(Exception):
                await connection.drain()

    def _refused(self, claimed: str | None, reason: RefusalReason) -> None:
        logger.warning(
            "refused an A2A request over NATS from %s: %s", claimed or "an unsigned sender", reason
        )
