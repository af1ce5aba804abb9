"""A2A over NATS end to end: the SDK's ClientFactory client, a real DefaultRequestHandler, nats-server."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
import uvicorn
from a2a.client import ClientConfig, ClientFactory
from a2a.client.transports.jsonrpc import JsonRpcTransport
from a2a.server.routes import create_jsonrpc_routes
from a2a.types import GetTaskRequest, StreamResponse, SubscribeToTaskRequest, TaskState
from a2a.utils.constants import TransportProtocol
from a2a.utils.errors import TaskNotFoundError, UnsupportedOperationError
from google.protobuf.json_format import MessageToDict  # type: ignore[import-untyped]
from nats.aio.client import Client as NATS
from opentelemetry.trace import SpanKind, format_span_id
from starlette.applications import Starlette
from starlette.types import ASGIApp

from mesh.bus import NatsClientTransport, SenderSigner, agent_subject, nats_agent_interface

from ._echo import EchoExecutor, echo_card, echo_handler
from .conftest import (
    BOUND,
    CALLER,
    RecordingProvider,
    ServeAgent,
    collect,
    interface,
    nats_client,
    until,
    user_message,
)

pytestmark = pytest.mark.e2e


async def test_send_message_round_trip_through_a_client_factory_client(
    serve_agent: ServeAgent, nc: NATS, signer: SenderSigner
) -> None:
    agent = await serve_agent()
    client = nats_client(agent.card, nc, signer)
    assert isinstance(client._transport, NatsClientTransport)  # type: ignore[attr-defined]

    (event,) = await collect(client, user_message("reorder SKU-17"))

    task = event.task
    assert task.status.state == TaskState.TASK_STATE_COMPLETED
    (artifact,) = task.artifacts
    text, data = artifact.parts
    assert text.text == "reorder SKU-17"
    assert MessageToDict(data.data) == {
        "echo": "reorder SKU-17",
        "sender": CALLER,
        "verified": CALLER,
        "replica": "replica-1",
    }


async def test_get_task_returns_the_task_a_message_created(
    serve_agent: ServeAgent, nc: NATS, signer: SenderSigner
) -> None:
    agent = await serve_agent()
    client = nats_client(agent.card, nc, signer)
    (event,) = await collect(client, user_message("hello"))

    task = await client.get_task(GetTaskRequest(id=event.task.id))

    assert task.id == event.task.id
    assert task.status.state == TaskState.TASK_STATE_COMPLETED
    assert task.artifacts[0].parts[0].text == "hello"
    with pytest.raises(TaskNotFoundError):
        await client.get_task(GetTaskRequest(id="no-such-task"))


def kind(event: StreamResponse) -> str:
    return str(event.WhichOneof("payload"))


async def test_streaming_events_arrive_in_order_and_the_stream_ends(
    serve_agent: ServeAgent, nc: NATS, signer: SenderSigner
) -> None:
    agent = await serve_agent()
    client = nats_client(agent.card, nc, signer, streaming=True)

    events = await collect(client, user_message("stream me"))

    assert [kind(event) for event in events] == ["task", "artifact_update", "status_update"]
    assert events[1].artifact_update.artifact.parts[0].text == "stream me"
    assert events[2].status_update.status.state == TaskState.TASK_STATE_COMPLETED
    await until(lambda: agent.server.in_flight == 0, "the stream's request to finish")


async def test_subscribing_to_a_finished_task_gets_the_sdk_error(
    serve_agent: ServeAgent, nc: NATS, signer: SenderSigner
) -> None:
    agent = await serve_agent()
    client = nats_client(agent.card, nc, signer, streaming=True)
    (*_, last) = await collect(client, user_message("done soon"))

    with pytest.raises(UnsupportedOperationError, match="terminal state"):
        await read_all(client.subscribe(SubscribeToTaskRequest(id=last.status_update.task_id)))


async def read_all(stream: AsyncIterator[StreamResponse]) -> list[StreamResponse]:
    async with asyncio.timeout(BOUND):
        return [event async for event in stream]


@asynccontextmanager
async def served_here(app: ASGIApp) -> AsyncIterator[str]:
    """Serve `app` with uvicorn on a loopback port in this event loop (the handler is shared)."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", access_log=False, ws="none", lifespan="off")
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve(sockets=[listener]))
    try:
        await until(lambda: server.started, "uvicorn to start")
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(serving, BOUND)
        listener.close()


def _without_ids(value: Any) -> Any:
    """A message as a dict, without the ids and times that differ between two equal requests."""
    varying = {"id", "contextId", "messageId", "taskId", "artifactId", "timestamp"}
    if isinstance(value, dict):
        return {key: _without_ids(item) for key, item in value.items() if key not in varying}
    if isinstance(value, list):
        return [_without_ids(item) for item in value]
    return value


async def test_the_same_handler_over_http_json_rpc_gives_equal_results(
    serve_agent: ServeAgent, nc: NATS, signer: SenderSigner, nats_url: str
) -> None:
    subject = agent_subject("echo")
    card = echo_card([])
    handler = echo_handler(card, EchoExecutor())
    app = Starlette(routes=create_jsonrpc_routes(handler, "/a2a"))
    async with served_here(app) as base_url:
        card.supported_interfaces.extend(
            [nats_agent_interface(nats_url, subject), interface(f"{base_url}/a2a", TransportProtocol.JSONRPC)]
        )
        agent = await serve_agent("echo", card=card, handler=handler, verify=False)
        over_nats = nats_client(agent.card, nc, signer)
        http_factory = ClientFactory(ClientConfig(streaming=False))
        async with http_factory.create(card) as over_http, over_nats:
            assert isinstance(over_http._transport, JsonRpcTransport)  # type: ignore[attr-defined]
            assert isinstance(over_nats._transport, NatsClientTransport)  # type: ignore[attr-defined]
            (by_nats,) = await collect(over_nats, user_message("same"))
            (by_http,) = await collect(over_http, user_message("same"))
            assert _without_ids(MessageToDict(by_nats)) == _without_ids(MessageToDict(by_http))
            # each binding reads the task the other one created: one handler, one task store
            assert await over_nats.get_task(GetTaskRequest(id=by_http.task.id)) == by_http.task
            assert await over_http.get_task(GetTaskRequest(id=by_nats.task.id)) == by_nats.task

            errors = []
            for client in (over_nats, over_http):
                with pytest.raises(TaskNotFoundError) as raised:
                    await client.get_task(GetTaskRequest(id="missing"))
                errors.append((type(raised.value), raised.value.message, raised.value.data))
            assert errors[0] == errors[1]

            streams = []
            for streaming in (
                nats_client(card, nc, signer, streaming=True),
                ClientFactory(ClientConfig(streaming=True)).create(card),
            ):
                async with streaming:
                    streams.append([kind(event) for event in await collect(streaming, user_message("s"))])
            assert streams[0] == streams[1] == ["task", "artifact_update", "status_update"]


async def test_the_server_span_is_a_child_of_the_client_span(
    serve_agent: ServeAgent, nc: NATS, signer: SenderSigner
) -> None:
    recording = RecordingProvider()
    agent = await serve_agent(tracer_provider=recording.provider)
    client = nats_client(agent.card, nc, signer, tracer_provider=recording.provider)

    with recording.provider.get_tracer("test").start_as_current_span("negotiate") as outer:
        await collect(client, user_message("traced"))

    consumer = await recording.await_span(f"process {agent.subject}")
    (producer,) = [span for span in recording.spans() if span.name == f"request {agent.subject}"]
    assert (producer.kind, consumer.kind) == (SpanKind.PRODUCER, SpanKind.CONSUMER)
    assert producer.context is not None
    assert consumer.context is not None
    assert consumer.parent is not None
    assert producer.parent is not None
    assert producer.parent.span_id == outer.get_span_context().span_id
    assert consumer.context.trace_id == producer.context.trace_id
    assert format_span_id(consumer.parent.span_id) == format_span_id(producer.context.span_id)
    assert dict(consumer.attributes or {})["rpc.method"] == "SendMessage"
    assert dict(consumer.attributes or {})["a2a.sender"] == CALLER
    assert dict(producer.attributes or {})["rpc.method"] == "SendMessage"
    recording.provider.shutdown()
