"""The process-wide tracer provider: built once at an entry point, flushed at exit."""

from __future__ import annotations

import logging
import os
import signal
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

from opentelemetry import propagate, trace
from opentelemetry.baggage.propagation import W3CBaggagePropagator
from opentelemetry.propagators.composite import CompositePropagator
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from ._errors import TracingAlreadyConfiguredError
from ._store import SpanStoreExporter

log = logging.getLogger(__name__)

TRACER_NAME = "mesh"
"""Instrumentation scope of the spans the mesh's own code starts."""

SPAN_STORE_DELAY_MILLIS = 1000
"""How long finished spans wait in memory before they are written to the local span store."""

OTLP_TIMEOUT_SECONDS = 5.0
OTLP_TRACES_PATH = "/v1/traces"


@dataclass(frozen=True, slots=True)
class _Configuration:
    service_name: str
    span_store: Path | None
    otlp_endpoint: str | None
    resource_attributes: tuple[tuple[str, str], ...]

    def describe(self) -> str:
        parts = [f"service {self.service_name!r}"]
        if self.span_store is not None:
            parts.append(f"span store {self.span_store}")
        if self.otlp_endpoint is not None:
            parts.append(f"OTLP {self.otlp_endpoint}")
        if self.resource_attributes:
            parts.append(f"resource {dict(self.resource_attributes)}")
        return ", ".join(parts)


_lock = threading.Lock()
_configured: tuple[_Configuration, TracerProvider] | None = None


def build_tracer_provider(
    service_name: str,
    *,
    span_store: Path | None,
    otlp_endpoint: str | None = None,
    resource_attributes: Mapping[str, str] | None = None,
) -> TracerProvider:
    """A tracer provider exporting to the span store and/or OTLP, without touching global state.

    Its resource carries `service.name`, `process.pid` and `resource_attributes` (which may not
    override those two). With neither `span_store` nor `otlp_endpoint` it records spans and
    drops them, so context still propagates. Tests and embedding code use this directly;
    entry points use `configure_tracing`.
    """
    resource = Resource.create(
        {**(resource_attributes or {}), "service.name": service_name, "process.pid": os.getpid()}
    )
    provider = TracerProvider(resource=resource)
    if span_store is not None:
        provider.add_span_processor(
            BatchSpanProcessor(SpanStoreExporter(span_store), schedule_delay_millis=SPAN_STORE_DELAY_MILLIS)
        )
    if otlp_endpoint is not None:
        provider.add_span_processor(BatchSpanProcessor(_otlp_exporter(otlp_endpoint)))
    return provider


def configure_tracing(
    service_name: str,
    *,
    span_store: Path | None,
    otlp_endpoint: str | None = None,
    resource_attributes: Mapping[str, str] | None = None,
) -> TracerProvider:
    """Set this process's global tracer provider and the W3C TraceContext + Baggage propagator.

    Call it once at the entry point, before the first span, and `shutdown_tracing()` at exit.

    Contract:
    - Spans go, through one `BatchSpanProcessor` each, to the local span store at `span_store`
      when given (written within about `SPAN_STORE_DELAY_MILLIS`) and to the OTLP/HTTP collector
      at `otlp_endpoint` when given. `otlp_endpoint` is the collector's base URL (for example
      `http://collector:4318`); `/v1/traces` is appended unless the URL already ends with it.
      The standard `OTEL_EXPORTER_OTLP_*` variables for headers, certificates and compression
      still apply.
    - Idempotent: a second call with the same arguments returns the same provider. A call with
      other arguments, or after another library set a global tracer provider, raises
      `TracingAlreadyConfiguredError` (OpenTelemetry allows one global provider per process).
    - Exporting never raises into the application; see `SpanStoreExporter`.
    """
    global _configured
    wanted = _Configuration(
        service_name=service_name,
        span_store=span_store.absolute() if span_store is not None else None,
        otlp_endpoint=otlp_endpoint,
        resource_attributes=tuple(sorted((resource_attributes or {}).items())),
    )
    with _lock:
        if _configured is not None:
            configuration, provider = _configured
            if configuration != wanted:
                raise TracingAlreadyConfiguredError(configuration.describe(), wanted.describe())
            return provider
        if not isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider):
            raise TracingAlreadyConfiguredError("by another library", wanted.describe())
        provider = build_tracer_provider(
            service_name,
            span_store=span_store,
            otlp_endpoint=otlp_endpoint,
            resource_attributes=resource_attributes,
        )
        trace.set_tracer_provider(provider)
        propagate.set_global_textmap(
            CompositePropagator([TraceContextTextMapPropagator(), W3CBaggagePropagator()])
        )
        _configured = (wanted, provider)
    log.debug("tracing configured: %s", wanted.describe())
    return provider


def shutdown_tracing(timeout_millis: int = 10_000) -> None:
    """Flush the spans `configure_tracing` set up, then stop exporting; a no-op when not configured.

    Safe to call more than once. Spans finished after this are dropped.
    """
    with _lock:
        configured = _configured
    if configured is None:
        return
    _, provider = configured
    provider.force_flush(timeout_millis)
    provider.shutdown()


def exit_on_sigterm() -> None:
    """Make SIGTERM end this process with `SystemExit(143)`, so `finally` blocks and atexit run.

    Call it from the main thread before `uvicorn.run`. uvicorn handles SIGTERM gracefully, then
    restores the previous handler and raises the signal again; with the default handler the
    process dies right there and the spans still buffered (up to `SPAN_STORE_DELAY_MILLIS`) are
    lost. With this handler, `uvicorn.run` raises `SystemExit` instead and the entry point's
    `finally: shutdown_tracing()` flushes them.
    """

    def exit_through_python(signum: int, _frame: FrameType | None) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, exit_through_python)


def otlp_traces_url(endpoint: str) -> str:
    """The OTLP/HTTP traces URL for a collector's base URL (idempotent)."""
    trimmed = endpoint.rstrip("/")
    return trimmed if trimmed.endswith(OTLP_TRACES_PATH) else trimmed + OTLP_TRACES_PATH


def _otlp_exporter(endpoint: str) -> SpanExporter:
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    return OTLPSpanExporter(endpoint=otlp_traces_url(endpoint), timeout=OTLP_TIMEOUT_SECONDS)
