"""Asking another agent for a skill over A2A: the request, and how its task ended.

`ask(client, ...)` sends one skill request with the real SDK client and waits for the task to end
or be held. `Peers` is an agent's way to reach the other agents: found in its own copy of the
registry (their announced cards, signature-verified against the pinned keys), called over the
A2A-over-NATS binding with this agent's signature.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from a2a.client import Client, ClientConfig, ClientFactory
from a2a.client.card_resolver import parse_agent_card
from a2a.helpers import get_data_parts, new_data_part
from a2a.types import GetTaskRequest, Message, Role, SendMessageRequest, Task, TaskState
from nats.aio.client import Client as NATS

from agents._executor import DECISION_METADATA
from mesh.bus import NATS_BINDING_URI, SenderSigner, register_nats_transport
from mesh.registry import AgentDirectory, RegistryError

PEER_TIMEOUT = 5.0
"""Seconds a peer request over NATS may take."""
_ENDED = (
    TaskState.TASK_STATE_COMPLETED,
    TaskState.TASK_STATE_FAILED,
    TaskState.TASK_STATE_REJECTED,
    TaskState.TASK_STATE_INPUT_REQUIRED,
    TaskState.TASK_STATE_CANCELED,
)


class PeerError(RuntimeError):
    """Another agent could not be asked (unknown, down) or did not complete the skill."""


@dataclass(frozen=True)
class TaskAnswer:
    """How an agent's task ended: its state, its output (the artifact's data), and the problem it
    reported when it did not complete (the `Problem` DataPart of its status message)."""

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


def task_answer(task: Task) -> TaskAnswer:
    output: dict[str, Any] = {}
    for artifact in task.artifacts:
        found = [data for data in get_data_parts(artifact.parts) if isinstance(data, dict)]
        if found:
            output = found[0]
            break
    problem: dict[str, Any] = {}
    if task.status.HasField("message"):
        for data in get_data_parts(task.status.message.parts):
            if isinstance(data, dict):
                problem = data
    return TaskAnswer(task.id, task.status.state, output, problem)


def skill_message(
    skill: str, arguments: Mapping[str, Any], *, message_id: str, decision_id: str | None = None
) -> Message:
    message = Message(
        role=Role.ROLE_USER,
        message_id=message_id,
        parts=[new_data_part({"skill": skill, "input": dict(arguments)})],
    )
    if decision_id is not None:
        message.metadata.update({DECISION_METADATA: decision_id})
    return message


async def send(client: Client, message: Message) -> TaskAnswer:
    """Send `message`; the task as it ended (or was held)."""
    task: Task | None = None
    async for event in client.send_message(SendMessageRequest(message=message)):
        if event.HasField("task"):
            task = event.task
    if task is None:
        raise PeerError("the agent answered without a task")
    if task.status.state not in _ENDED:
        task = await client.get_task(GetTaskRequest(id=task.id))
    return task_answer(task)


def nats_client_factory(nc: NATS, signer: SenderSigner, *, timeout: float = PEER_TIMEOUT) -> ClientFactory:
    """A `ClientFactory` that talks to agents over NATS, signing every request with `signer`."""
    factory = ClientFactory(ClientConfig(streaming=False, supported_protocol_bindings=[NATS_BINDING_URI]))
    register_nats_transport(factory, nc, signer=signer, timeout=timeout)
    return factory


class Peers:
    """The other agents, as this agent's own directory knows them (verified announced cards)."""

    def __init__(self, directory: AgentDirectory, nc: NATS, signer: SenderSigner) -> None:
        self.directory = directory
        self.agent = signer.agent_id
        self._factory = nats_client_factory(nc, signer)
        self._clients: dict[tuple[str, str], Client] = {}

    async def ask(
        self, agent: str, skill: str, arguments: Mapping[str, Any], *, decision_id: str
    ) -> Mapping[str, Any]:
        """The output of `agent`'s `skill`; `PeerError` when it is unknown, down or did not complete."""
        try:
            detail = self.directory.get(agent)
        except RegistryError as error:
            raise PeerError(f"{agent} is not in the directory: {error}") from None
        if detail.status != "up":
            raise PeerError(f"{agent} is {detail.status}")
        key = (agent, detail.instance)
        if key not in self._clients:
            self._clients[key] = self._factory.create(parse_agent_card(detail.card))
        message = skill_message(
            skill, arguments, message_id=f"{decision_id}.{agent}.{skill}", decision_id=decision_id
        )
        answer = await send(self._clients[key], message)
        if not answer.completed:
            raise PeerError(f"{agent}.{skill}: {answer.problem.get('message') or answer.state}")
        return answer.output

    async def close(self) -> None:
        for client in self._clients.values():
            await client.close()
        self._clients.clear()
