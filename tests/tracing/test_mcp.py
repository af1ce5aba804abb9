"""A real MCP round trip over streamable HTTP on loopback: the server's spans continue the client's trace."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from mcp import Client
from mcp.server.mcpserver import MCPServer
from opentelemetry.trace import SpanKind, format_trace_id

from mesh.tracing import SpanStore, TraceContextMiddleware, build_tracer_provider, traced_mcp_transport
from tests.net import free_port, wait_for_port

from .conftest import BOUND, REPO, RecordingProvider, served, span_ids


def _server() -> MCPServer:
    server = MCPServer("tracing-test")

    @server.tool()
    def add(a: int, b: int) -> int:
        """Add two numbers."""
        return a + b

    return server


@pytest.fixture(scope="module")
def mcp_server() -> Iterator[tuple[str, RecordingProvider]]:
    recording = RecordingProvider(service_name="mcp-test")
    app = TraceContextMiddleware(_server().streamable_http_app(), tracer_provider=recording.provider)
    with served(app) as base_url:
        yield f"{base_url}/mcp", recording
    recording.provider.shutdown()


async def test_mcp_requests_carry_the_client_trace_to_the_server_http_spans(
    mcp_server: tuple[str, RecordingProvider], recording: RecordingProvider
) -> None:
    url, server_spans = mcp_server
    tracer = recording.provider.get_tracer("client")
    with tracer.start_as_current_span("catalog read", kind=SpanKind.INTERNAL):
        async with Client(traced_mcp_transport(url)) as client:
            result = await client.call_tool("add", {"a": 2, "b": 3})
    assert result.structured_content == {"result": 5}

    client_trace, client_span, _ = span_ids(recording.spans("catalog read")[0])
    posts = server_spans.spans("POST /mcp")
    assert len(posts) >= 2  # at least the opening exchange and the tool call
    for post in posts:
        trace_id, _, parent = span_ids(post)
        assert trace_id == client_trace
        assert parent is not None
        assert post.kind is SpanKind.SERVER
        assert dict(post.attributes or {})["http.response.status_code"] == 200
    if not any(span.name.startswith("MCP send") for span in recording.spans()):
        # No SDK tracer provider in this process: the MCP SDK's own client spans are
        # non-recording, so the server's parent is the caller's span itself.
        assert {span_ids(post)[2] for post in posts} == {client_span}


async def test_without_the_traced_transport_the_server_starts_its_own_traces(
    mcp_server: tuple[str, RecordingProvider], recording: RecordingProvider
) -> None:
    url, server_spans = mcp_server
    server_spans.exporter.clear()
    with recording.provider.get_tracer("client").start_as_current_span("untraced caller"):
        async with Client(url) as client:
            await client.call_tool("add", {"a": 1, "b": 1})
    client_trace, _, _ = span_ids(recording.spans("untraced caller")[0])
    posts = server_spans.spans("POST /mcp")
    assert posts
    assert all(span_ids(post)[0] != client_trace for post in posts)


@dataclass
class _ServerProcess:
    process: subprocess.Popen[str]
    url: str
    span_store: Path


@pytest.fixture
def traced_server_process(tmp_path: Path) -> Iterator[_ServerProcess]:
    """tests/tracing/_traced_mcp_server.py running on a free loopback port; killed if still up at the end."""
    store = tmp_path / "traces" / "spans.sqlite"
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.tracing._traced_mcp_server",
            "--span-store",
            str(store),
            "--port",
            str(port),
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for_port(port, process, BOUND)
        yield _ServerProcess(process=process, url=f"http://127.0.0.1:{port}/mcp", span_store=store)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate(timeout=BOUND)


@pytest.mark.e2e
async def test_an_mcp_server_process_stores_its_spans_in_the_callers_trace_even_when_stopped_by_sigterm(
    traced_server_process: _ServerProcess,
) -> None:
    server, store = traced_server_process.process, traced_server_process.span_store
    provider = build_tracer_provider("cli", span_store=store)
    with provider.get_tracer("client").start_as_current_span("mesh catalog") as caller:
        async with Client(traced_mcp_transport(traced_server_process.url)) as client:
            assert (await client.call_tool("add", {"a": 2, "b": 2})).structured_content == {"result": 4}
    provider.shutdown()
    server.send_signal(signal.SIGTERM)  # at once: the server's spans are still in its export buffer
    _, err = await asyncio.to_thread(server.communicate, timeout=BOUND)
    assert server.returncode == 128 + signal.SIGTERM, err

    spans = SpanStore(store).trace(format_trace_id(caller.get_span_context().trace_id))
    server_spans = [span for span in spans if span.service == "mcp-test"]
    names = {span.name for span in server_spans}
    assert {"POST /mcp", "tools/call add", "adding"} <= names
    assert {span.pid for span in server_spans} == {server.pid}
    by_id = {span.span_id: span for span in spans}
    assert all(span.parent_span_id in by_id for span in server_spans)  # no orphans: one whole tree
    (adding,) = [span for span in spans if span.name == "adding"]
    assert by_id[adding.parent_span_id or ""].name == "tools/call add"
