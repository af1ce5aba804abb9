"""The coordinator's side of A2A: the agents' signed cards fetched from their well-known URLs and
verified against pinned keys, then clients that talk to them over the A2A-over-NATS binding,
every request signed with the coordinator's own key; and the auto-reviewer's calls to the
gateway's escalation API."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx
from a2a.client import A2ACardResolver, Client
from a2a.helpers import new_data_part
from a2a.types import AgentCard, Message, Role
from nats.aio.client import Client as NATS

from agents import PinnedCardKeys, card_verifier, public_keys_dir
from agents._peers import PeerError, TaskAnswer, nats_client_factory, send, skill_message
from mesh.bus import SenderSigner
from mesh.identity import ClientCredentialsAuth, read_client_secret

A2A_TIMEOUT = 30.0
REVIEWER_CLIENT = "auto-reviewer"


class AgentCallError(RuntimeError):
    """An agent's task ended without a result: failed, rejected, or held and then refused."""


class AgentClients:
    """One A2A client per agent, each created from the agent's verified card and talking NATS."""

    def __init__(self, clients: Mapping[str, Client], cards: Mapping[str, AgentCard]) -> None:
        self._clients = dict(clients)
        self.cards = dict(cards)

    @classmethod
    async def connect(
        cls,
        endpoints: Mapping[str, str],
        *,
        nc: NATS,
        signer: SenderSigner,
        key_dir: Path,
        http: httpx.AsyncClient,
    ) -> AgentClients:
        """Fetch each agent's card from `endpoints` (domain -> base URL), verify its signature with
        the keys pinned in `key_dir`, and make a client that prefers its NATS interface."""
        pinned = PinnedCardKeys.from_directory(public_keys_dir(key_dir))
        factory = nats_client_factory(nc, signer, timeout=A2A_TIMEOUT)
        clients: dict[str, Client] = {}
        cards: dict[str, AgentCard] = {}
        for domain, endpoint in endpoints.items():
            card = await A2ACardResolver(http, endpoint).get_agent_card(
                signature_verifier=card_verifier(pinned)
            )
            cards[domain] = card
            clients[domain] = factory.create(card)
        return cls(clients, cards)

    async def ask(
        self, domain: str, skill: str, arguments: Mapping[str, Any], *, decision_id: str | None = None
    ) -> TaskAnswer:
        """Send `{"skill": skill, "input": arguments}` to the agent and wait for its task to end or
        to be held (`input-required`)."""
        message = skill_message(
            skill, arguments, message_id=f"{decision_id or 'ask'}.{skill}", decision_id=decision_id
        )
        return await self._send(domain, message)

    async def resume(self, domain: str, answer: TaskAnswer) -> TaskAnswer:
        """Any message on a held task runs its skill request again (the identical call)."""
        message = Message(
            role=Role.ROLE_USER,
            message_id=f"{answer.task_id}.resume",
            task_id=answer.task_id,
            parts=[new_data_part({"resume": True})],
        )
        return await self._send(domain, message)

    async def _send(self, domain: str, message: Message) -> TaskAnswer:
        try:
            return await send(self._clients[domain], message)
        except PeerError as error:
            raise AgentCallError(f"agent {domain}: {error}") from None

    async def close(self) -> None:
        for client in self._clients.values():
            await client.close()


class EscalationDesk:
    """The gateway's escalation API as the auto-reviewer uses it (scope `mesh:operator`)."""

    def __init__(self, gateway_url: str, *, clients_file: Path, http: httpx.AsyncClient) -> None:
        base = gateway_url.rstrip("/")
        self.base = base
        self._http = http
        self._auth = ClientCredentialsAuth(
            f"{base}/oauth/token",
            client_id=REVIEWER_CLIENT,
            client_secret=read_client_secret(clients_file, REVIEWER_CLIENT),
            scope=["mesh:operator"],
            resource=f"{base}/api",
        )

    async def decide(self, escalation_id: str, *, approve: bool) -> Mapping[str, Any]:
        verdict = "approve" if approve else "deny"
        response = await self._http.post(
            f"{self.base}/api/escalations/{escalation_id}/{verdict}", auth=self._auth
        )
        if response.status_code >= 400:
            raise AgentCallError(f"escalation {escalation_id}: {response.status_code} {response.text[:200]}")
        decided: Mapping[str, Any] = response.json()
        return decided
