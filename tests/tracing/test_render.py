"""`mesh trace`: the span tree, and what it says when there is nothing to show."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import pytest
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from rich.console import Console

from mesh.tracing import (
    EXIT_NOT_FOUND,
    EXIT_SHOWN,
    InvalidTraceIdError,
    SpanStore,
    SpanStoreExporter,
    StoredSpan,
    parse_trace_id,
    recent_traces_command,
    render_trace_list,
    render_trace_tree,
    trace_command,
)

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
MS = 1_000_000
T0 = 1_700_000_000_000_000_000


def _span(
    span_id: str,
    name: str,
    parent: str | None,
    start_ms: float,
    duration_ms: float,
    *,
    service: str = "cli",
    pid: int = 100,
    status: str = "UNSET",
    message: str | None = None,
) -> StoredSpan:
    start = T0 + int(start_ms * MS)
    return StoredSpan(
        trace_id=TRACE,
        span_id=span_id.ljust(16, "0"),
        parent_span_id=parent.ljust(16, "0") if parent else None,
        name=name,
        kind="INTERNAL",
        service=service,
        pid=pid,
        start_ns=start,
        end_ns=start + int(duration_ms * MS),
        status=status,
        status_message=message,
    )


SPANS = [
    _span("b", "MCP send tools/call", "a", 2, 10),
    _span("a", "mesh catalog", None, 0, 42.5),
    _span("c", "POST /mcp", "b", 3, 8, service="mcp-demand", pid=200),
    _span("e", "policy decide", "a", 1, 0.25, status="ERROR", message="carbon budget exceeded"),
    _span("d", "late arrival", "f", 20, 1, service="gateway", pid=300),
]


def _text(renderable: object, width: int = 200) -> str:
    console = Console(record=True, width=width, color_system=None)
    console.print(renderable)
    return console.export_text()


def _consoles() -> tuple[Console, Console]:
    return Console(record=True, width=200, color_system=None), Console(
        record=True, width=200, color_system=None
    )


def _lines(tree_text: str) -> list[str]:
    return [line for line in tree_text.splitlines() if line.strip()]


def test_tree_nests_children_under_parents_by_start_time_with_service_pid_duration_and_status() -> None:
    lines = _lines(_text(render_trace_tree(SPANS)))

    assert lines[0].startswith(f"trace {TRACE}  5 spans, 3 services, 42.50 ms, 1 error")
    order = [next(s.name for s in SPANS if s.name in line) for line in lines[1:]]
    assert order == ["mesh catalog", "policy decide", "MCP send tools/call", "POST /mcp", "late arrival"]
    depth = {name: next(line for line in lines if name in line).index(name) for name in order}
    assert depth["policy decide"] == depth["MCP send tools/call"] > depth["mesh catalog"]
    assert depth["POST /mcp"] > depth["MCP send tools/call"]
    post = next(line for line in lines if "POST /mcp" in line)
    assert "mcp-demand[200]" in post
    assert "8.00 ms" in post
    assert "unset" in post
    assert "+3.00 ms" in post
    policy = next(line for line in lines if "policy decide" in line)
    assert "0.25 ms" in policy
    assert "error: carbon budget exceeded" in policy


def test_a_span_whose_parent_is_not_stored_is_shown_at_the_top_marked_as_orphan() -> None:
    lines = _lines(_text(render_trace_tree(SPANS)))
    late = next(line for line in lines if "late arrival" in line)
    assert f"[orphan: parent {'f'.ljust(16, '0')} not stored]" in late
    root = next(line for line in lines if "mesh catalog" in line)
    assert late.index("[orphan") == root.index("mesh catalog")
    assert "orphan" not in root


def test_rendering_needs_a_span_and_survives_a_parent_cycle() -> None:
    with pytest.raises(ValueError, match="at least one span"):
        render_trace_tree([])
    cycle = [_span("1", "one", "2", 0, 1), _span("2", "two", "1", 1, 1)]
    text = _text(render_trace_tree(cycle))
    assert "one" in text
    assert "two" in text


def test_span_names_are_not_read_as_markup() -> None:
    text = _text(render_trace_tree([_span("a", "GET /items/[bold]x[/bold]", None, 0, 1)]))
    assert "GET /items/[bold]x[/bold]" in text


def test_trace_list_shows_the_whole_trace_id_even_on_a_narrow_terminal(tmp_path: Path) -> None:
    path = _store_with_one_trace(tmp_path)
    trace_id = _stored_trace_id(path)
    text = _text(render_trace_list(SpanStore(path).recent_traces()), width=80)
    assert trace_id in text
    assert "root" in text
    assert "writer" in text


def _store_with_one_trace(tmp_path: Path) -> Path:
    path = tmp_path / "traces" / "spans.sqlite"
    provider = TracerProvider(resource=Resource.create({"service.name": "writer"}))
    provider.add_span_processor(SimpleSpanProcessor(SpanStoreExporter(path)))
    tracer = provider.get_tracer("tests")
    with tracer.start_as_current_span("root"), tracer.start_as_current_span("child"):
        pass
    provider.shutdown()
    return path


def _stored_trace_id(path: Path) -> str:
    (summary,) = SpanStore(path).recent_traces()
    return summary.trace_id


def test_trace_command_prints_the_tree_of_a_trace_id(tmp_path: Path) -> None:
    path = _store_with_one_trace(tmp_path)
    trace_id = _stored_trace_id(path)
    out, err = _consoles()

    code = trace_command(
        trace_id.upper(), span_store=path, resolve_decision=None, console=out, err_console=err
    )

    assert code == EXIT_SHOWN
    shown = out.export_text()
    assert f"trace {trace_id}" in shown
    assert "child" in shown
    assert err.export_text() == ""


def test_trace_command_says_when_the_trace_is_unknown(tmp_path: Path) -> None:
    path = _store_with_one_trace(tmp_path)
    out, err = _consoles()
    code = trace_command(TRACE, span_store=path, resolve_decision=None, console=out, err_console=err)
    assert code == EXIT_NOT_FOUND
    assert f"error: trace {TRACE} has no spans in {path}" in err.export_text()
    assert out.export_text() == ""


def test_trace_command_says_when_there_is_no_span_store(tmp_path: Path) -> None:
    out, err = _consoles()
    missing = tmp_path / "traces" / "spans.sqlite"
    code = trace_command(TRACE, span_store=missing, resolve_decision=None, console=out, err_console=err)
    assert code == EXIT_NOT_FOUND
    assert f"no span store at {missing}" in err.export_text()


def test_trace_command_resolves_a_decision_id_to_its_traces(tmp_path: Path) -> None:
    path = _store_with_one_trace(tmp_path)
    trace_id = _stored_trace_id(path)
    asked: list[str] = []

    def resolve(decision_id: str) -> Sequence[str]:
        asked.append(decision_id)
        return [trace_id, TRACE] if decision_id == "dec-17" else []

    out, err = _consoles()
    code = trace_command("dec-17", span_store=path, resolve_decision=resolve, console=out, err_console=err)
    assert code == EXIT_SHOWN
    assert asked == ["dec-17"]
    shown = out.export_text()
    assert "decision dec-17: 2 trace(s)" in shown
    assert f"trace {trace_id}" in shown
    assert f"trace {TRACE} of decision 'dec-17' has no spans" in err.export_text()

    out, err = _consoles()
    code = trace_command("dec-99", span_store=path, resolve_decision=resolve, console=out, err_console=err)
    assert code == EXIT_NOT_FOUND
    assert "no decision 'dec-99' in the audit ledger" in err.export_text()


def test_trace_command_without_a_resolver_explains_what_a_trace_id_looks_like(tmp_path: Path) -> None:
    path = _store_with_one_trace(tmp_path)
    out, err = _consoles()
    code = trace_command("dec-17", span_store=path, resolve_decision=None, console=out, err_console=err)
    assert code == EXIT_NOT_FOUND
    assert "'dec-17' is not a trace id (32 hexadecimal digits)" in err.export_text()


def test_trace_command_json_lists_every_span(tmp_path: Path) -> None:
    path = _store_with_one_trace(tmp_path)
    trace_id = _stored_trace_id(path)
    out, err = _consoles()
    code = trace_command(
        trace_id, span_store=path, resolve_decision=None, console=out, err_console=err, as_json=True
    )
    document = json.loads(out.export_text())
    assert code == EXIT_SHOWN
    assert document["missing"] == []
    (only,) = document["traces"]
    assert only["trace_id"] == trace_id
    assert [span["name"] for span in only["spans"]] == ["root", "child"]


def test_recent_traces_command(tmp_path: Path) -> None:
    path = _store_with_one_trace(tmp_path)
    out, err = _consoles()
    assert recent_traces_command(span_store=path, limit=5, console=out, err_console=err, as_json=True) == 0
    assert [item["root_name"] for item in json.loads(out.export_text())] == ["root"]
    out, err = _consoles()
    assert recent_traces_command(span_store=tmp_path / "none", limit=5, console=out, err_console=err) == 1
    assert "no span store" in err.export_text()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (TRACE, TRACE),
        (TRACE.upper(), TRACE),
        (f" 00-{TRACE}-00f067aa0ba902b7-01 ", TRACE),
    ],
)
def test_parse_trace_id_accepts_hex_in_any_case_and_a_traceparent(text: str, expected: str) -> None:
    assert parse_trace_id(text) == expected


@pytest.mark.parametrize("text", ["", "0" * 32, TRACE[:-1], TRACE + "0", "g" * 32, "dec-17"])
def test_parse_trace_id_rejects_anything_else(text: str) -> None:
    with pytest.raises(InvalidTraceIdError):
        parse_trace_id(text)


def test_invalid_trace_id_error_is_a_value_error() -> None:
    assert issubclass(InvalidTraceIdError, ValueError)
    assert trace.INVALID_TRACE_ID == 0
