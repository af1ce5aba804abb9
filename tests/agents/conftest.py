"""One real embedded mesh (NATS, gateway, five domain servers, five agents) per test module that
asks for it, and an A2A client that finds agents by their signed cards."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from a2a.client import Client, ClientConfig, ClientFactory
from a2a.helpers import new_data_part
from a2a.types import GetTaskRequest, Message, Role, SendMessageRequest, Task

from agents import PinnedCardKeys, card_verifier, public_keys_dir
from mesh.supervisor import MeshState
from tests.processes import mesh_up

BOUND = 90.0


@dataclass(frozen=True)
class RunningMesh:
    data_dir: Path
    state: MeshState

    @property
    def gateway(self) -> str:
        assert self.state.gateway_endpoint is not None
        return self.state.gateway_endpoint

    def agent(self, domain: str) -> str:
        return next(c.endpoint for c in self.state.components if c.name == f"agent-{domain}")

    @property
    def clients_file(self) -> Path:
        return self.data_dir / "keys" / "oauth-clients.json"

    @property
    def ledger(self) -> Path:
        return self.data_dir / "audit" / "ledger.sqlite"

    @property
    def pinned(self) -> PinnedCardKeys:
        return PinnedCardKeys.from_directory(public_keys_dir(self.data_dir / "keys"))


@pytest.fixture(scope="module")
def mesh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningMesh]:
    data_dir = tmp_path_factory.mktemp("agents-mesh")
    environment = {
        "MESH_LOCAL_TRACES": "false",
    }
    with mesh_up(data_dir, environment, within=BOUND) as state:
        yield RunningMesh(data_dir, state)


@asynccontextmanager
async def a2a_client(
    mesh: RunningMesh, domain: str, *, binding: str = "JSONRPC", streaming: bool = False
) -> AsyncIterator[Client]:
    """A client for one agent, found by its card at the well-known path, whose signature must
    verify with the keys pinned on this machine."""
    async with httpx.AsyncClient(timeout=60) as http:
        config = ClientConfig(supported_protocol_bindings=[binding], streaming=streaming, httpx_client=http)
        client = await ClientFactory(config).create_from_url(
            mesh.agent(domain), signature_verifier=card_verifier(mesh.pinned)
        )
        yield client


def skill_message(skill: str, arguments: dict[str, Any], *, task: Task | None = None) -> Message:
    message = Message(
        role=Role.ROLE_USER,
        message_id=f"test-{time.monotonic_ns()}",
        parts=[new_data_part({"skill": skill, "input": arguments}, media_type="application/json")],
    )
    if task is not None:
        message.task_id, message.context_id = task.id, task.context_id
    return message


async def send(client: Client, message: Message) -> Task:
    """Send a message; the task as it stands when the agent is done with it (streamed or not)."""
    task_id = ""
    async for event in client.send_message(SendMessageRequest(message=message)):
        if event.HasField("task"):
            task_id = event.task.id
        elif event.HasField("status_update"):
            task_id = event.status_update.task_id
    if not task_id:
        raise AssertionError("the agent answered with no task")
    return await client.get_task(GetTaskRequest(id=task_id))


async def call(mesh: RunningMesh, domain: str, skill: str, arguments: dict[str, Any], **options: Any) -> Task:
    async with a2a_client(mesh, domain, **options) as client:
        return await send(client, skill_message(skill, arguments))
