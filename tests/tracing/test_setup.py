"""configure_tracing in a process of its own (the global provider is set once per process), and OTLP."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from mesh.tracing import otlp_traces_url

from .conftest import BOUND, REPO, emitter_command

IDEMPOTENT = """
from opentelemetry import propagate, trace
from mesh.tracing import TracingAlreadyConfiguredError, configure_tracing, shutdown_tracing

provider = configure_tracing("cli", span_store=None, resource_attributes={"mesh.component": "cli"})
assert configure_tracing("cli", span_store=None, resource_attributes={"mesh.component": "cli"}) is provider
assert trace.get_tracer_provider() is provider
try:
    configure_tracing("mcp-demand", span_store=None)
except TracingAlreadyConfiguredError as error:
    print("refused:", error)
print("fields:", sorted(propagate.get_global_textmap().fields))
print("component:", provider.resource.attributes["mesh.component"])
shutdown_tracing()
shutdown_tracing()
"""

PREEMPTED = """
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from mesh.tracing import TracingAlreadyConfiguredError, configure_tracing

trace.set_tracer_provider(TracerProvider())
try:
    configure_tracing("cli", span_store=None)
except TracingAlreadyConfiguredError as error:
    print("refused:", error)
"""


def _python(code: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.e2e
def test_configure_tracing_is_idempotent_refuses_a_second_configuration_and_sets_w3c_propagation() -> None:
    idempotent, preempted = _python(IDEMPOTENT), _python(PREEMPTED)
    out, err = idempotent.communicate(timeout=BOUND)
    assert idempotent.returncode == 0, err
    assert "refused: tracing is already configured in this process (service 'cli'" in out
    assert "cannot be configured again as service 'mcp-demand'" in out
    assert "fields: ['baggage', 'traceparent', 'tracestate']" in out
    assert "component: cli" in out

    out, err = preempted.communicate(timeout=BOUND)
    assert preempted.returncode == 0, err
    assert "refused: tracing is already configured in this process (by another library)" in out


@dataclass
class _Collector:
    url: str
    received: list[tuple[str, str, bytes]] = field(default_factory=list)


@pytest.fixture
def collector() -> Iterator[_Collector]:
    """A stand-in OTLP/HTTP collector on loopback that records every POST."""
    received: list[tuple[str, str, bytes]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            received.append((self.path, self.headers.get("Content-Type", ""), body))
            self.send_response(200)
            self.send_header("Content-Type", "application/x-protobuf")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield _Collector(url=f"http://127.0.0.1:{server.server_address[1]}", received=received)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(BOUND)


@pytest.mark.e2e
def test_spans_reach_an_otlp_http_collector_by_shutdown(
    collector: _Collector, monkeypatch: pytest.MonkeyPatch
) -> None:
    for proxy in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(proxy, raising=False)
    emitter = subprocess.run(
        emitter_command("--service", "mcp-demand", "--otlp-endpoint", collector.url, "--spans", "3"),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=BOUND,
        check=False,
    )
    assert emitter.returncode == 0, emitter.stderr
    assert collector.received, "the collector received nothing"
    path, content_type, body = collector.received[0]
    assert path == "/v1/traces"
    assert content_type == "application/x-protobuf"
    assert body
    assert b"mcp-demand" in body
    assert b"emitter batch" in body


@pytest.mark.parametrize(
    "endpoint",
    ["http://collector:4318", "http://collector:4318/", "http://collector:4318/v1/traces"],
)
def test_otlp_endpoint_is_a_base_url_and_the_traces_path_is_added_once(endpoint: str) -> None:
    assert otlp_traces_url(endpoint) == "http://collector:4318/v1/traces"
