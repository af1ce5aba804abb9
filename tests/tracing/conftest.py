from __future__ import annotations

import socket
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import uvicorn
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import format_span_id, format_trace_id
from starlette.types import ASGIApp

REPO = Path(__file__).resolve().parents[2]
BOUND = 20.0
"""Seconds any one wait in these tests may take before giving up."""


class RecordingProvider:
    """A fresh tracer provider whose finished spans stay in memory (the global one is never touched)."""

    def __init__(self, service_name: str = "tests") -> None:
        from opentelemetry.sdk.resources import Resource

        self.exporter = InMemorySpanExporter()
        self.provider = TracerProvider(resource=Resource.create({"service.name": service_name}))
        self.provider.add_span_processor(SimpleSpanProcessor(self.exporter))

    def spans(self, name: str | None = None) -> list[ReadableSpan]:
        return [span for span in self.exporter.get_finished_spans() if name is None or span.name == name]

    def await_spans(self, count: int, within: float = 5.0) -> list[ReadableSpan]:
        """The finished spans once there are `count` of them: a server span ends after the client
        already has its response, so a test must wait for it (bounded, then it fails)."""
        deadline = time.monotonic() + within
        while len(spans := self.spans()) < count and time.monotonic() < deadline:
            time.sleep(0.005)
        return spans


def span_ids(span: ReadableSpan) -> tuple[str, str, str | None]:
    """(trace id, span id, parent span id) in the store's hex form."""
    context = span.get_span_context()
    assert context is not None
    parent = format_span_id(span.parent.span_id) if span.parent is not None else None
    return format_trace_id(context.trace_id), format_span_id(context.span_id), parent


@pytest.fixture
def recording() -> Iterator[RecordingProvider]:
    provider = RecordingProvider()
    yield provider
    provider.provider.shutdown()


@contextmanager
def served(app: ASGIApp) -> Iterator[str]:
    """Serve `app` with uvicorn on a loopback port in a background thread; yield its base URL."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False, ws="none"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + BOUND
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            pytest.fail("uvicorn did not start")
        time.sleep(0.005)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(BOUND)
        listener.close()


def emitter_command(*arguments: str) -> list[str]:
    """The command line of a second traced process (tests/tracing/_span_emitter.py)."""
    return [sys.executable, "-m", "tests.tracing._span_emitter", *arguments]
