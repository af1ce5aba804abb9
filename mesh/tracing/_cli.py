"""`mesh trace`: show one trace, or every trace of a decision, from the local span store."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from pathlib import Path

from rich.console import Console
from rich.text import Text

from ._errors import InvalidTraceIdError, SpanStoreMissingError, SpanStoreUnreadableError, TracingError
from ._render import render_trace_list, render_trace_tree
from ._setup import SPAN_STORE_DELAY_MILLIS
from ._store import SpanStore, StoredSpan

EXIT_SHOWN = 0
EXIT_NOT_FOUND = 1
"""The trace or decision is unknown, or there is no readable span store."""

DecisionResolver = Callable[[str], Sequence[str]]
"""Decision id -> the trace ids its audit records carry; empty when the decision is unknown."""

_TRACE_ID = re.compile(r"[0-9a-f]{32}")
_TRACEPARENT = re.compile(r"[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}")


def parse_trace_id(text: str) -> str:
    """The trace id in `text`: 32 hex digits (any case) or a whole `traceparent` header value.

    Returns it in lowercase; raises `InvalidTraceIdError` otherwise (all zeros is invalid too).
    """
    candidate = text.strip().lower()
    if (match := _TRACEPARENT.fullmatch(candidate)) is not None:
        candidate = match.group(1)
    if _TRACE_ID.fullmatch(candidate) is None or candidate == "0" * 32:
        raise InvalidTraceIdError(text)
    return candidate


def trace_command(
    trace_id_or_decision: str,
    *,
    span_store: Path,
    resolve_decision: DecisionResolver | None,
    console: Console,
    err_console: Console,
    as_json: bool = False,
) -> int:
    """Print the span tree of a trace id, or of every trace of a decision id; return the exit code.

    A valid trace id (see `parse_trace_id`) is looked up first; when the store has no span of it,
    or the argument is not a trace id, it is taken as a decision id and `resolve_decision` gives
    its trace ids. With `as_json`, prints one JSON object
    `{"traces": [{"trace_id", "spans": [...]}], "missing": [trace ids]}` instead of trees.

    Returns `EXIT_SHOWN` when at least one trace was printed (trace ids without stored spans are
    named on `err_console`), else `EXIT_NOT_FOUND` with the reason on `err_console`: no span
    store, an unreadable one, an unknown trace, an unknown decision, or no resolver for a
    decision id.
    """
    store = SpanStore(span_store)
    try:
        found, missing, decision = _lookup(trace_id_or_decision, store, resolve_decision)
    except TracingError as error:
        _error(err_console, str(error))
        return EXIT_NOT_FOUND
    if not found:
        subject = f"decision {decision!r} (trace {', '.join(missing)})" if decision else f"trace {missing[0]}"
        _error(
            err_console,
            f"{subject} has no spans in {span_store}; spans are written about "
            f"{SPAN_STORE_DELAY_MILLIS / 1000:g} s after they end, by processes with tracing on",
        )
        return EXIT_NOT_FOUND
    if as_json:
        document = {
            "traces": [
                {"trace_id": spans[0].trace_id, "spans": [span.to_json() for span in spans]}
                for spans in found
            ],
            "missing": missing,
        }
        console.out(json.dumps(document, indent=2), highlight=False)
    else:
        if decision is not None:
            console.print(f"decision {decision}: {len(found) + len(missing)} trace(s)", highlight=False)
        for spans in found:
            console.print(render_trace_tree(spans))
    for trace_id in missing:
        _error(err_console, f"trace {trace_id} of decision {decision!r} has no spans in {span_store} yet")
    return EXIT_SHOWN


def recent_traces_command(
    *, span_store: Path, limit: int, console: Console, err_console: Console, as_json: bool = False
) -> int:
    """Print the `limit` most recent traces; `EXIT_NOT_FOUND` when there is no readable span store."""
    try:
        summaries = SpanStore(span_store).recent_traces(limit)
    except (SpanStoreMissingError, SpanStoreUnreadableError) as error:
        _error(err_console, str(error))
        return EXIT_NOT_FOUND
    if as_json:
        document = [
            {
                "trace_id": summary.trace_id,
                "root_name": summary.root_name,
                "services": list(summary.services),
                "span_count": summary.span_count,
                "error_count": summary.error_count,
                "start_ns": summary.start_ns,
                "end_ns": summary.end_ns,
                "duration_ms": summary.duration_ms,
            }
            for summary in summaries
        ]
        console.out(json.dumps(document, indent=2), highlight=False)
    elif summaries:
        console.print(render_trace_list(summaries))
    else:
        console.print(f"no traces in {span_store} yet", highlight=False)
    return EXIT_SHOWN


class _NotFoundError(TracingError):
    """Nothing to show for what was asked; the message says why."""


def _lookup(
    target: str, store: SpanStore, resolve_decision: DecisionResolver | None
) -> tuple[list[list[StoredSpan]], list[str], str | None]:
    """(stored traces, trace ids without spans, the decision id when `target` was one)."""
    try:
        trace_id: str | None = parse_trace_id(target)
    except InvalidTraceIdError:
        trace_id = None
    if trace_id is not None:
        spans = store.trace(trace_id)
        if spans or resolve_decision is None:
            return ([spans] if spans else []), ([] if spans else [trace_id]), None
    if resolve_decision is None:
        raise _NotFoundError(
            f"{target!r} is not a trace id (32 hexadecimal digits), and decision ids cannot be "
            "looked up here (no audit ledger)"
        )
    trace_ids = list(dict.fromkeys(parse_trace_id(found) for found in resolve_decision(target)))
    if not trace_ids:
        if trace_id is not None:
            raise _NotFoundError(f"{target!r} is neither a stored trace nor a decision in the audit ledger")
        raise _NotFoundError(f"no decision {target!r} in the audit ledger (or it carries no trace id)")
    found: list[list[StoredSpan]] = []
    missing: list[str] = []
    for decision_trace in trace_ids:
        spans = store.trace(decision_trace)
        if spans:
            found.append(spans)
        else:
            missing.append(decision_trace)
    return found, missing, target


def _error(err_console: Console, message: str) -> None:
    err_console.print(Text(f"error: {message}", style="red"), soft_wrap=True)
