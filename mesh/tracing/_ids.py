"""The ids of the current span, in the hex form audit records and the span store use."""

from __future__ import annotations

from typing import NamedTuple

from opentelemetry import trace
from opentelemetry.context import Context


class TraceIds(NamedTuple):
    trace_id: str
    """32 lowercase hex digits."""
    span_id: str
    """16 lowercase hex digits."""


def current_trace_ids(context: Context | None = None) -> TraceIds | None:
    """The trace and span id of the span current in `context` (default: the current context).

    None when there is no valid span, for example when nothing is traced. Audit records take
    their `trace_id` and `span_id` from here, which is what `mesh trace <decision-id>` follows.
    """
    span_context = trace.get_current_span(context).get_span_context()
    if not span_context.is_valid:
        return None
    return TraceIds(trace.format_trace_id(span_context.trace_id), trace.format_span_id(span_context.span_id))
