"""TraceContextMiddleware over real HTTP on loopback: parent links, streaming, status, untraced paths."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from opentelemetry.trace import SpanKind, StatusCode
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route

from mesh.tracing import TraceContextMiddleware, inject_trace_headers, trace_event_hooks

from .conftest import RecordingProvider, served, span_ids

CHUNKS = 3
CHUNK_PAUSE = 0.05


class _Clock:
    last_chunk_ns = 0


def _app(clock: _Clock) -> Starlette:
    async def hello(_: Request) -> Response:
        return PlainTextResponse("hello")

    async def stream(_: Request) -> Response:
        async def chunks() -> AsyncIterator[bytes]:
            for index in range(CHUNKS):
                await asyncio.sleep(CHUNK_PAUSE)
                clock.last_chunk_ns = time.time_ns()
                yield f"data: {index}\n\n".encode()

        return StreamingResponse(chunks(), media_type="text/event-stream")

    async def broken(_: Request) -> Response:
        return PlainTextResponse("down", status_code=503)

    async def crash(_: Request) -> Response:
        raise RuntimeError("handler bug")

    async def healthz(_: Request) -> Response:
        return PlainTextResponse("ok")

    return Starlette(
        routes=[
            Route("/hello", hello, methods=["GET", "POST"]),
            Route("/stream", stream),
            Route("/broken", broken),
            Route("/crash", crash),
            Route("/healthz", healthz),
        ]
    )


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[str, RecordingProvider, _Clock]]:
    recording = RecordingProvider(service_name="http-server")
    clock = _Clock()
    app = TraceContextMiddleware(_app(clock), tracer_provider=recording.provider)
    with served(app) as base_url:
        yield base_url, recording, clock
    recording.provider.shutdown()


@pytest.fixture
def http(
    server: tuple[str, RecordingProvider, _Clock],
) -> Iterator[tuple[str, RecordingProvider, _Clock]]:
    server[1].exporter.clear()
    return server


async def test_server_span_is_a_child_of_the_client_span_through_traceparent(
    http: tuple[str, RecordingProvider, _Clock], recording: RecordingProvider
) -> None:
    base_url, server_spans, _ = http
    tracer = recording.provider.get_tracer("client")
    async with httpx.AsyncClient(event_hooks=trace_event_hooks(), trust_env=False) as client:
        with tracer.start_as_current_span("caller", kind=SpanKind.CLIENT) as caller:
            response = await client.post(f"{base_url}/hello", content=b"x")
    assert response.status_code == 200

    (server_span,) = server_spans.await_spans(1)
    caller_trace, caller_id, _ = span_ids(recording.spans("caller")[0])
    server_trace, _, server_parent = span_ids(server_span)
    assert (server_trace, server_parent) == (caller_trace, caller_id)
    assert caller.get_span_context().is_valid
    assert server_span.name == "POST /hello"
    assert server_span.kind is SpanKind.SERVER
    attributes = dict(server_span.attributes or {})
    assert attributes["http.request.method"] == "POST"
    assert attributes["url.path"] == "/hello"
    assert attributes["http.response.status_code"] == 200
    assert attributes["server.address"] == "127.0.0.1"
    assert server_span.status.status_code is StatusCode.UNSET


async def test_without_traceparent_the_server_span_starts_a_new_trace(
    http: tuple[str, RecordingProvider, _Clock],
) -> None:
    base_url, server_spans, _ = http
    async with httpx.AsyncClient(trust_env=False) as client:
        await client.get(f"{base_url}/hello")
    (server_span,) = server_spans.await_spans(1)
    assert server_span.parent is None


async def test_inject_trace_headers_writes_the_current_context(recording: RecordingProvider) -> None:
    headers: dict[str, str] = {}
    inject_trace_headers(headers)
    assert headers == {}  # no current span, nothing to send
    with recording.provider.get_tracer("client").start_as_current_span("caller") as caller:
        inject_trace_headers(headers)
    trace_id, span_id, _ = span_ids(recording.spans("caller")[0])
    flags = caller.get_span_context().trace_flags
    assert flags.sampled
    assert headers["traceparent"] == f"00-{trace_id}-{span_id}-{flags:02x}"


async def test_streaming_response_span_ends_after_the_last_chunk(
    http: tuple[str, RecordingProvider, _Clock],
) -> None:
    base_url, server_spans, clock = http
    async with (
        httpx.AsyncClient(trust_env=False) as client,
        client.stream("GET", f"{base_url}/stream") as response,
    ):
        body = b"".join([chunk async for chunk in response.aiter_bytes()])
    assert body.count(b"data:") == CHUNKS

    (server_span,) = server_spans.await_spans(1)
    assert server_span.end_time is not None
    assert server_span.start_time is not None
    assert server_span.end_time >= clock.last_chunk_ns
    assert server_span.end_time - server_span.start_time >= CHUNKS * CHUNK_PAUSE * 1e9 * 0.9


async def test_5xx_and_exceptions_mark_the_span_as_error(http: tuple[str, RecordingProvider, _Clock]) -> None:
    base_url, server_spans, _ = http
    async with httpx.AsyncClient(trust_env=False) as client:
        assert (await client.get(f"{base_url}/broken")).status_code == 503
        assert (await client.get(f"{base_url}/crash")).status_code == 500

    broken, crash = server_spans.spans("GET /broken")[0], server_spans.spans("GET /crash")[0]
    assert broken.status.status_code is StatusCode.ERROR
    assert crash.status.status_code is StatusCode.ERROR
    assert crash.status.description is not None
    assert "handler bug" in crash.status.description
    assert [event.name for event in crash.events] == ["exception"]


async def test_health_probes_are_not_traced(http: tuple[str, RecordingProvider, _Clock]) -> None:
    base_url, server_spans, _ = http
    async with httpx.AsyncClient(trust_env=False) as client:
        assert (await client.get(f"{base_url}/healthz")).status_code == 200
    assert server_spans.spans() == []
