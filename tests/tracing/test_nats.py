"""NATS: the trace context in message headers, through a real nats-server on loopback."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import nats
import pytest
from nats.aio.msg import Msg
from opentelemetry.trace import SpanKind, StatusCode

from mesh.tracing import (
    extract_nats_context,
    inject_nats_headers,
    nats_consumer_span,
    nats_producer_span,
    traced_nats_handler,
)
from tests.net import free_port, wait_for_port

from .conftest import BOUND, RecordingProvider, span_ids


@pytest.fixture(scope="module")
def nats_url() -> Iterator[str]:
    binary = Path(sys.executable).parent / "nats-server"
    port = free_port()
    server = subprocess.Popen(
        [str(binary), "-a", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port, server, BOUND)
        yield f"nats://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(BOUND)


@pytest.mark.e2e
async def test_responder_span_is_a_child_of_the_requester_span_through_headers(
    nats_url: str, recording: RecordingProvider
) -> None:
    provider = recording.provider

    async def respond(msg: Msg) -> None:
        await msg.respond(msg.data.upper())

    connection = await nats.connect(nats_url)
    try:
        await connection.subscribe(
            "mesh.test.echo", cb=traced_nats_handler(respond, tracer_provider=provider)
        )
        with (
            provider.get_tracer("requester").start_as_current_span("negotiate"),
            nats_producer_span(
                "mesh.test.echo", {"x-intent": "reorder"}, operation="request", tracer_provider=provider
            ) as sent,
        ):
            reply = await connection.request("mesh.test.echo", b"ping", timeout=BOUND, headers=sent.headers)
    finally:
        await connection.drain()
    assert reply.data == b"PING"
    assert sent.headers["x-intent"] == "reorder"

    (negotiate,) = recording.spans("negotiate")
    (producer,) = recording.spans("request mesh.test.echo")
    (consumer,) = recording.spans("process mesh.test.echo")
    assert span_ids(producer)[2] == span_ids(negotiate)[1]
    assert span_ids(consumer)[0] == span_ids(producer)[0]
    assert span_ids(consumer)[2] == span_ids(producer)[1]
    assert (producer.kind, consumer.kind) == (SpanKind.PRODUCER, SpanKind.CONSUMER)
    for span in (producer, consumer):
        attributes = dict(span.attributes or {})
        assert attributes["messaging.system"] == "nats"
        assert attributes["messaging.destination.name"] == "mesh.test.echo"
    assert dict(consumer.attributes or {})["messaging.message.body.size"] == 4


def test_inject_and_extract_round_trip_without_touching_the_given_headers(
    recording: RecordingProvider,
) -> None:
    given = {"nats-msg-id": "1"}
    with recording.provider.get_tracer("t").start_as_current_span("publisher"):
        headers = inject_nats_headers(given)
    assert given == {"nats-msg-id": "1"}
    assert headers["nats-msg-id"] == "1"
    assert "traceparent" in headers

    shouted = {name.upper(): value for name, value in headers.items()}
    with recording.provider.get_tracer("t").start_as_current_span(
        "handler", context=extract_nats_context(shouted)
    ):
        pass
    (publisher,) = recording.spans("publisher")
    (handler,) = recording.spans("handler")
    assert span_ids(handler)[2] == span_ids(publisher)[1]


def test_a_message_without_trace_context_starts_a_new_trace_not_the_subscribers(
    recording: RecordingProvider,
) -> None:
    tracer = recording.provider.get_tracer("t")
    with (
        tracer.start_as_current_span("subscriber setup"),
        nats_consumer_span(
            Msg(None, subject="s", data=b"", headers=None), tracer_provider=recording.provider
        ),
    ):
        pass
    (consumer,) = recording.spans("process s")
    assert consumer.parent is None


def test_a_failing_handler_marks_its_consumer_span_as_error(recording: RecordingProvider) -> None:
    message = Msg(None, subject="s", data=b"x", headers=inject_nats_headers())
    with (
        pytest.raises(ValueError, match="bad intent"),
        nats_consumer_span(message, tracer_provider=recording.provider),
    ):
        raise ValueError("bad intent")
    (consumer,) = recording.spans("process s")
    assert consumer.status.status_code is StatusCode.ERROR
