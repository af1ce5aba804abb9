"""Bad input, overload, missing servers and abandoned streams: the server answers and keeps serving."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from a2a.client import ClientCallContext
from a2a.types import StreamResponse
from google.protobuf.json_format import MessageToDict  # type: ignore[import-untyped]
from nats.aio.client import Client as NATS

from mesh.bus import (
    AgentUnreachableError,
    BusTimeoutError,
    NatsClientTransport,
    PayloadTooLargeError,
    SenderSigner,
    ServerBusyError,
    agent_subject,
    nats_agent_interface,
)

from ._echo import EchoExecutor, echo_card
from .conftest import BOUND, ServeAgent, collect, nats_client, until, user_message
from .test_identity import raw_request, send_message_body

pytestmark = pytest.mark.e2e


async def assert_still_serving(agent_card: Any, nc: NATS, signer: SenderSigner) -> None:
    (event,) = await collect(nats_client(agent_card, nc, signer), user_message("still there?"))
    assert event.task.artifacts[0].parts[0].text == "still there?"


@pytest.mark.parametrize(
    ("body", "code", "request_id"),
    [
        pytest.param(b"{not json", -32700, None, id="malformed-json"),
        pytest.param(b"[1, 2]", -32600, None, id="batch"),
        pytest.param(
            json.dumps({"jsonrpc": "2.0", "id": "7", "method": "Frobnicate", "params": {}}).encode(),
            -32601,
            "7",
            id="unknown-method",
        ),
        pytest.param(
            json.dumps(
                {"jsonrpc": "2.0", "id": 8, "method": "SendMessage", "params": {"message": 5}}
            ).encode(),
            -32602,
            8,
            id="bad-params",
        ),
        pytest.param(
            json.dumps(
                {"jsonrpc": "2.0", "id": "9", "method": "SendStreamingMessage", "params": {}}
            ).encode(),
            -32600,
            "9",
            id="stream-without-inbox",
        ),
    ],
)
async def test_bad_input_gets_the_json_rpc_error_and_the_server_keeps_serving(
    serve_agent: ServeAgent, nc: NATS, signer: SenderSigner, body: bytes, code: int, request_id: object
) -> None:
    agent = await serve_agent()

    response = await raw_request(nc, agent.subject, body, signer.headers(agent.subject, body))

    assert response["jsonrpc"] == "2.0"
    assert response["error"]["code"] == code
    assert response["id"] == request_id
    await assert_still_serving(agent.card, nc, signer)


async def test_a_request_of_another_a2a_version_gets_version_not_supported(
    serve_agent: ServeAgent, nc: NATS, signer: SenderSigner
) -> None:
    agent = await serve_agent()
    body = send_message_body("from the past")

    response = await raw_request(nc, agent.subject, body, signer.headers(agent.subject, body, version="0.3"))

    assert response["error"]["code"] == -32009


async def test_an_oversized_request_is_refused_and_the_server_keeps_serving(
    serve_agent: ServeAgent, nc: NATS, signer: SenderSigner
) -> None:
    agent = await serve_agent(max_request_bytes=2048)
    client = nats_client(agent.card, nc, signer)

    with pytest.raises(PayloadTooLargeError) as raised:
        await collect(client, user_message("x" * 4096))

    assert raised.value.max_payload == 2048
    assert raised.value.size > 4096
    assert agent.executor.executions == 0
    await assert_still_serving(agent.card, nc, signer)


async def test_a_request_above_max_payload_is_not_sent(
    serve_agent: ServeAgent, nc: NATS, signer: SenderSigner
) -> None:
    agent = await serve_agent()
    client = nats_client(agent.card, nc, signer)

    with pytest.raises(PayloadTooLargeError) as raised:
        await collect(client, user_message("x" * nc.max_payload))

    assert raised.value.max_payload == nc.max_payload
    assert agent.executor.executions == 0
    assert not nc.is_closed


async def test_no_responders_is_a_clear_client_error(nc: NATS, signer: SenderSigner, nats_url: str) -> None:
    card = echo_card([nats_agent_interface(nats_url, agent_subject("nobody"))])
    client = nats_client(card, nc, signer)

    with pytest.raises(AgentUnreachableError, match=r"no agent serves a2a\.nobody\.rpc"):
        await collect(client, user_message("anyone?"))


async def test_no_reply_within_the_timeout_is_a_client_timeout(
    serve_agent: ServeAgent, nc: NATS, signer: SenderSigner
) -> None:
    gate = asyncio.Event()
    agent = await serve_agent(executor=EchoExecutor(gate=gate))
    client = nats_client(agent.card, nc, signer)

    with pytest.raises(BusTimeoutError):
        await collect(client, user_message("slow"), context=ClientCallContext(timeout=0.2))
    gate.set()


async def test_two_replicas_in_a_queue_group_share_requests(
    serve_agent: ServeAgent, nc: NATS, signer: SenderSigner
) -> None:
    first = await serve_agent(executor=EchoExecutor("replica-1"))
    await serve_agent(executor=EchoExecutor("replica-2"))
    client = nats_client(first.card, nc, signer)

    answered = []
    for turn in range(24):
        (event,) = await collect(client, user_message(f"turn {turn}"))
        answered.append(MessageToDict(event.task.artifacts[0].parts[1].data)["replica"])

    assert set(answered) == {"replica-1", "replica-2"}


async def test_a_request_beyond_the_backlog_is_answered_busy(
    serve_agent: ServeAgent, nc: NATS, signer: SenderSigner
) -> None:
    gate = asyncio.Event()
    agent = await serve_agent(executor=EchoExecutor(gate=gate), max_concurrency=1, max_backlog=0)
    client = nats_client(agent.card, nc, signer)
    held = asyncio.create_task(collect(client, user_message("first")))
    await until(lambda: agent.server.in_flight == 1, "the first request in flight")

    with pytest.raises(ServerBusyError):
        await collect(client, user_message("second"))
    gate.set()
    (event,) = await held

    assert event.task.artifacts[0].parts[0].text == "first"


async def test_an_abandoned_stream_is_ended_by_the_server(
    serve_agent: ServeAgent, nc: NATS, signer: SenderSigner
) -> None:
    gate = asyncio.Event()
    agent = await serve_agent(executor=EchoExecutor(gate=gate), heartbeat_interval=0.1)
    transport = NatsClientTransport(nc, agent.card, agent.card.supported_interfaces[0].url, signer=signer)
    stream = transport.send_message_streaming(user_message("stream, then leave"))

    first: StreamResponse = await asyncio.wait_for(anext(stream), BOUND)
    await stream.aclose()

    assert first.HasField("task")
    await until(lambda: agent.server.in_flight == 0, "the server to end the stream")
    gate.set()


async def test_a_slow_stream_is_kept_alive_by_heartbeats(
    serve_agent: ServeAgent, nc: NATS, signer: SenderSigner
) -> None:
    gate = asyncio.Event()
    agent = await serve_agent(executor=EchoExecutor(gate=gate), heartbeat_interval=0.05)
    transport = NatsClientTransport(
        nc, agent.card, agent.card.supported_interfaces[0].url, signer=signer, stream_idle_timeout=0.5
    )
    asyncio.get_running_loop().call_later(1.0, gate.set)  # twice the client's patience

    async with asyncio.timeout(BOUND):
        events = [event async for event in transport.send_message_streaming(user_message("wait for it"))]

    assert [event.WhichOneof("payload") for event in events] == ["task", "artifact_update", "status_update"]
