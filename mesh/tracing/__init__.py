"""Tracing for every hop of the mesh: OpenTelemetry spans, W3C trace context, a local span store.

An entry point calls `configure_tracing(service, span_store=...)` once and `shutdown_tracing()`
at exit (uvicorn processes call `exit_on_sigterm()` first). HTTP servers wrap their ASGI app in
`TraceContextMiddleware`; HTTP clients send the context with `trace_event_hooks()` (MCP:
`Client(traced_mcp_transport(url))`); NATS publishers and handlers use `nats_producer_span` and
`traced_nats_handler`. Audit records take their ids from `current_trace_ids()`; `mesh trace`
reads the span store back with `trace_command`. See docs/tracing.md.
"""

from mesh.tracing._asgi import DEFAULT_UNTRACED_PATHS, TraceContextMiddleware
from mesh.tracing._cli import (
    EXIT_NOT_FOUND,
    EXIT_SHOWN,
    DecisionResolver,
    parse_trace_id,
    recent_traces_command,
    trace_command,
)
from mesh.tracing._errors import (
    InvalidTraceIdError,
    SpanStoreMissingError,
    SpanStoreUnreadableError,
    TracingAlreadyConfiguredError,
    TracingError,
)
from mesh.tracing._http import inject_trace_headers, trace_event_hooks, traced_mcp_transport
from mesh.tracing._ids import TraceIds, current_trace_ids
from mesh.tracing._nats import (
    ReceivedMessage,
    TracedPublish,
    extract_nats_context,
    inject_nats_headers,
    nats_consumer_span,
    nats_producer_span,
    traced_nats_handler,
)
from mesh.tracing._render import render_trace_list, render_trace_tree
from mesh.tracing._setup import (
    TRACER_NAME,
    build_tracer_provider,
    configure_tracing,
    exit_on_sigterm,
    otlp_traces_url,
    shutdown_tracing,
)
from mesh.tracing._store import SpanStore, SpanStoreExporter, StoredSpan, TraceSummary

__all__ = [
    "DEFAULT_UNTRACED_PATHS",
    "EXIT_NOT_FOUND",
    "EXIT_SHOWN",
    "TRACER_NAME",
    "DecisionResolver",
    "InvalidTraceIdError",
    "ReceivedMessage",
    "SpanStore",
    "SpanStoreExporter",
    "SpanStoreMissingError",
    "SpanStoreUnreadableError",
    "StoredSpan",
    "TraceContextMiddleware",
    "TraceIds",
    "TraceSummary",
    "TracedPublish",
    "TracingAlreadyConfiguredError",
    "TracingError",
    "build_tracer_provider",
    "configure_tracing",
    "current_trace_ids",
    "exit_on_sigterm",
    "extract_nats_context",
    "inject_nats_headers",
    "inject_trace_headers",
    "nats_consumer_span",
    "nats_producer_span",
    "otlp_traces_url",
    "parse_trace_id",
    "recent_traces_command",
    "render_trace_list",
    "render_trace_tree",
    "shutdown_tracing",
    "trace_command",
    "trace_event_hooks",
    "traced_mcp_transport",
    "traced_nats_handler",
]
