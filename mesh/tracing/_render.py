"""Traces for people: the span tree of one trace and the list of recent traces, as rich renderables."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime

from rich import box
from rich.table import Table
from rich.text import Text
from rich.tree import Tree

from ._store import StoredSpan, TraceSummary

ORPHAN_MARKER = "orphan"

_STATUS_STYLES = {"OK": "green", "ERROR": "bold red", "UNSET": "dim"}


def render_trace_tree(spans: Sequence[StoredSpan]) -> Tree:
    """The spans of one trace as a tree: children under their parent, siblings by start time.

    Each line shows the span's name, kind, `service[pid]`, duration in ms, status (with its
    message when it failed) and its start offset from the trace's first span. A span whose
    parent is not among `spans` (not exported yet, or lost) is shown at the top level, marked
    `orphan` with its parent's id. Raises `ValueError` for an empty sequence.
    """
    if not spans:
        raise ValueError("a trace tree needs at least one span")
    by_id = {span.span_id: span for span in spans}
    children: defaultdict[str, list[StoredSpan]] = defaultdict(list)
    top: list[StoredSpan] = []
    for span in spans:
        if span.parent_span_id is not None and span.parent_span_id in by_id:
            children[span.parent_span_id].append(span)
        else:
            top.append(span)
    orphans = {span.span_id for span in top if span.parent_span_id is not None}
    trace_start = min(span.start_ns for span in spans)
    tree = Tree(_trace_label(spans, trace_start))
    placed: set[str] = set()

    def place(branch: Tree, span: StoredSpan) -> None:
        placed.add(span.span_id)
        node = branch.add(_span_label(span, trace_start, orphan=span.span_id in orphans))
        for child in _by_start(children[span.span_id]):
            if child.span_id not in placed:
                place(node, child)

    for span in _by_start(top):
        place(tree, span)
    for span in _by_start([span for span in spans if span.span_id not in placed]):  # parent cycles
        place(tree, span)
    return tree


def render_trace_list(summaries: Sequence[TraceSummary]) -> Table:
    """Recent traces, one row each: trace id (never shortened), start, duration, span count (and
    errors), the root span's name and the services taking part."""
    table = Table(title="recent traces", box=box.SIMPLE_HEAD, show_edge=False, collapse_padding=True)
    table.add_column("trace id", no_wrap=True, min_width=32)
    table.add_column("started", no_wrap=True)
    table.add_column("duration", justify="right", no_wrap=True)
    table.add_column("spans", justify="right")
    table.add_column("root span [services]", min_width=12, overflow="fold")
    for summary in summaries:
        started = datetime.fromtimestamp(summary.start_ns / 1e9).astimezone().strftime("%m-%d %H:%M:%S")
        spans = Text(str(summary.span_count))
        if summary.error_count:
            plural = "s" if summary.error_count != 1 else ""
            spans.append(f" ({summary.error_count} error{plural})", style="bold red")
        root = Text(summary.root_name)
        root.append(f" [{', '.join(summary.services)}]", style="cyan")
        table.add_row(
            summary.trace_id, started, _milliseconds(summary.end_ns - summary.start_ns), spans, root
        )
    return table


def _by_start(spans: Sequence[StoredSpan]) -> list[StoredSpan]:
    return sorted(spans, key=lambda span: (span.start_ns, span.span_id))


def _milliseconds(nanoseconds: int) -> str:
    return f"{nanoseconds / 1e6:.2f} ms"


def _trace_label(spans: Sequence[StoredSpan], trace_start: int) -> Text:
    services = {span.service for span in spans}
    trace_end = max(span.end_ns for span in spans)
    errors = sum(span.status == "ERROR" for span in spans)
    label = Text.assemble(
        ("trace ", "bold"),
        (spans[0].trace_id, "bold"),
        f"  {len(spans)} span{'s' if len(spans) != 1 else ''}",
        f", {len(services)} service{'s' if len(services) != 1 else ''}",
        f", {_milliseconds(trace_end - trace_start)}",
    )
    if errors:
        label.append(f", {errors} error{'s' if errors != 1 else ''}", style="bold red")
    return label


def _span_label(span: StoredSpan, trace_start: int, *, orphan: bool) -> Text:
    status = span.status.lower()
    if span.status == "ERROR" and span.status_message:
        status = f"error: {span.status_message}"
    label = Text()
    if orphan:
        label.append(f"[{ORPHAN_MARKER}: parent {span.parent_span_id} not stored] ", style="yellow")
    label.append(span.name, style="bold")
    label.append(f"  {span.kind.lower()}", style="dim")
    label.append(f"  {span.service}", style="cyan")
    label.append(f"[{span.pid if span.pid is not None else '?'}]", style="dim cyan")
    label.append(f"  {_milliseconds(span.end_ns - span.start_ns)}")
    label.append(f"  {status}", style=_STATUS_STYLES.get(span.status, ""))
    label.append(f"  +{_milliseconds(span.start_ns - trace_start)}", style="dim")
    return label
