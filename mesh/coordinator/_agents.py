"""The coordinator's side of A2A: the agents' signed cards fetched from their well-known URLs and
verified against pinned keys, then clients that talk to them over the A2A-over-NATS binding,
every request signed with the coordinator's own key; and the auto-reviewer's calls to the
gateway's escalation API."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx
from a2a.client import A2ACardResolver, Client, ClientConfig, ClientFactory
from a2a.helpers import get_data_parts, new_data_part
from a2a.types import (
    AgentCard,
    GetTaskRequest,
    Message,
    Role,
    SendMessageRequest,
    Task,
    TaskState,
)
from nats.aio.client import Client as NATS

from agents import PinnedCardKeys, card_verifier, public_keys_dir
from agents._executor import DECISION_METADATA
from mesh.bus import NATS_BINDING_URI, SenderSigner, register_nats_transport
from mesh.identity import ClientCredentialsAuth, read_client_secret

A2A_TIMEOUT = 30.0
REVIEWER_CLIENT = "auto-reviewer"


class AgentCallError(RuntimeError):
    """An agent's task ended without a result: failed, rejected, or held and then refused."""


@dataclass(frozen=True)
class TaskAnswer:
    """How an agent's task ended: its state, its output (the artifact's data), and the problem
    it reported when it did not complete (the `Problem` DataPart of its status message)."""

    task_id: str
    state: TaskState
    output: Mapping[str, Any]
    problem: Mapping[str, Any]

    @property
    def completed(self) -> bool:
        return self.state == TaskState.TASK_STATE_COMPLETED

    @property
    def held(self) -> bool:
        return self.state == TaskState.TASK_STATE_INPUT_REQUIRED


def _answer(task: Task) -> TaskAnswer:
    output: dict[str, Any] = {}
    for artifact in task.artifacts:
        for data in get_data_parts(artifact.parts):
            if isinstance(data, dict):
                output = data
                break
    problem: dict[str, Any] = {}
    if task.status.HasField("message"):
        for data in get_data_parts(task.status.message.parts):
            if isinstance(data, dict):
                problem = data
    return TaskAnswer(task.id, task.status.state, output, problem)


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
        key_dir: Any,
        http: httpx.AsyncClient,
    ) -> AgentClients:
        """Fetch each agent's card from `endpoints` (domain -> base URL), verify its signature with
        the keys pinned in `key_dir`, and make a client that prefers its NATS interface."""
        pinned = PinnedCardKeys.from_directory(public_keys_dir(key_dir))
        factory = ClientFactory(ClientConfig(streaming=False, supported_protocol_bindings=[NATS_BINDING_URI]))
        register_nats_transport(factory, nc, signer=signer, timeout=A2A_TIMEOUT)
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
        message = Message(
            role=Role.ROLE_USER,
            message_id=f"{decision_id or 'ask'}.{skill}",
            parts=[new_data_part({"skill": skill, "input": dict(arguments)})],
        )
        if decision_id is not None:
            message.metadata.update({DECISION_METADATA: decision_id})
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
        client = self._clients[domain]
        task: Task | None = None
        async for event in client.send_message(SendMessageRequest(message=message)):
            if event.HasField("task"):
                task = event.task
        if task is None:
            raise AgentCallError(f"agent {domain} answered without a task")
        if task.status.state not in (
            TaskState.TASK_STATE_COMPLETED,
            TaskState.TASK_STATE_FAILED,
            TaskState.TASK_STATE_REJECTED,
            TaskState.TASK_STATE_INPUT_REQUIRED,
            TaskState.TASK_STATE_CANCELED,
        ):
            task = await client.get_task(GetTaskRequest(id=task.id))
        return _answer(task)

    async def close(self) -> None:
        for client in self._clients.values():
            await client.close()


class EscalationDesk:
    """The gateway's escalation API as the auto-reviewer uses it (scope `mesh:operator`)."""

    def __init__(self, gateway_url: str, *, clients_file: Any, http: httpx.AsyncClient) -> None:
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
