"""The local span store: the exporter writes what the reader returns, from several processes at once."""

from __future__ import annotations

import logging
import os
import sqlite3
import subprocess
from pathlib import Path

import pytest
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult
from opentelemetry.trace import SpanKind, StatusCode

from mesh.tracing import (
    SpanStore,
    SpanStoreExporter,
    SpanStoreMissingError,
    SpanStoreUnreadableError,
    build_tracer_provider,
    current_trace_ids,
)

from .conftest import BOUND, REPO, emitter_command


def _store_provider(path: Path, service: str = "writer") -> TracerProvider:
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    provider.add_span_processor(SimpleSpanProcessor(SpanStoreExporter(path)))
    return provider


def test_exported_spans_are_read_back_with_ids_links_service_pid_status_attributes_and_events(
    tmp_path: Path,
) -> None:
    path = tmp_path / "traces" / "spans.sqlite"
    provider = _store_provider(path, service="mcp-demand")
    tracer = provider.get_tracer("tests")
    with (
        tracer.start_as_current_span("parent", kind=SpanKind.SERVER) as parent,
        tracer.start_as_current_span("child", attributes={"sku": "SKU-07", "rows": (1, 2)}) as child,
    ):
        child.add_event("cache miss", {"key": "k"})
        child.set_status(StatusCode.ERROR, "upstream failed")
    provider.shutdown()

    trace_id = trace.format_trace_id(parent.get_span_context().trace_id)
    spans = SpanStore(path).trace(trace_id)

    assert [span.name for span in spans] == ["parent", "child"]
    stored_parent, stored_child = spans
    assert len(trace_id) == 32
    assert len(stored_parent.span_id) == 16
    assert stored_parent.parent_span_id is None
    assert stored_child.parent_span_id == stored_parent.span_id
    assert stored_child.span_id == trace.format_span_id(child.get_span_context().span_id)
    assert (stored_parent.kind, stored_child.kind) == ("SERVER", "INTERNAL")
    assert {span.service for span in spans} == {"mcp-demand"}
    assert {span.pid for span in spans} == {os.getpid()}
    assert (stored_child.status, stored_child.status_message) == ("ERROR", "upstream failed")
    assert stored_parent.status == "UNSET"
    assert stored_child.attributes == {"sku": "SKU-07", "rows": [1, 2]}
    assert [event["name"] for event in stored_child.events] == ["cache miss"]
    assert stored_child.events[0]["attributes"] == {"key": "k"}
    assert stored_parent.start_ns <= stored_child.start_ns <= stored_child.end_ns <= stored_parent.end_ns
    assert stored_child.scope == "tests"


def test_store_file_uses_wal_and_is_created_on_first_export_only(tmp_path: Path) -> None:
    path = tmp_path / "traces" / "spans.sqlite"
    exporter = SpanStoreExporter(path)
    assert not path.parent.exists()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    provider.get_tracer("tests").start_span("one").end()
    provider.shutdown()
    with sqlite3.connect(path) as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    connection.close()


def test_recent_traces_lists_newest_first_with_root_name_services_and_counts(tmp_path: Path) -> None:
    path = tmp_path / "spans.sqlite"
    provider = _store_provider(path)
    tracer = provider.get_tracer("tests")
    for name in ("first", "second", "third"):
        with tracer.start_as_current_span(name), tracer.start_as_current_span(f"{name} child") as child:
            child.set_status(StatusCode.ERROR)
    provider.shutdown()

    recent = SpanStore(path).recent_traces(2)

    assert [summary.root_name for summary in recent] == ["third", "second"]
    assert all(summary.span_count == 2 and summary.error_count == 1 for summary in recent)
    assert recent[0].services == ("writer",)
    assert recent[0].duration_ms >= 0
    assert SpanStore(path).recent_traces(0) == []


def test_unknown_trace_reads_as_empty(tmp_path: Path) -> None:
    path = tmp_path / "spans.sqlite"
    provider = _store_provider(path)
    provider.get_tracer("tests").start_span("one").end()
    provider.shutdown()
    assert SpanStore(path).trace("0af7651916cd43dd8448eb211c80319c") == []


def test_reading_a_missing_store_names_the_path(tmp_path: Path) -> None:
    with pytest.raises(SpanStoreMissingError) as raised:
        SpanStore(tmp_path / "nowhere.sqlite").recent_traces()
    assert raised.value.path == tmp_path / "nowhere.sqlite"


def test_reading_a_file_that_is_not_a_span_store_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "spans.sqlite"
    path.write_text("not a database, just text that is long enough to have a header" * 10)
    with pytest.raises(SpanStoreUnreadableError):
        SpanStore(path).trace("0af7651916cd43dd8448eb211c80319c")


def test_export_failure_returns_failure_and_logs_once_never_raises(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the traces directory should be")
    exporter = SpanStoreExporter(blocker / "traces" / "spans.sqlite")
    provider = TracerProvider()
    span = provider.get_tracer("tests").start_span("lost")
    span.end()
    finished = [span]  # an SDK span is a ReadableSpan once ended

    with caplog.at_level(logging.DEBUG, logger="mesh.tracing._store"):
        results = [exporter.export(finished) for _ in range(3)]  # type: ignore[list-item]

    assert results == [SpanExportResult.FAILURE] * 3
    warnings = [record for record in caplog.records if record.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "spans are being dropped" in warnings[0].getMessage()


def test_a_newer_schema_is_refused_by_the_writer_without_raising(tmp_path: Path) -> None:
    path = tmp_path / "spans.sqlite"
    with sqlite3.connect(path) as connection:
        connection.execute("PRAGMA user_version = 99")
    connection.close()
    provider = TracerProvider()
    span = provider.get_tracer("tests").start_span("lost")
    span.end()
    assert SpanStoreExporter(path).export([span]) == SpanExportResult.FAILURE  # type: ignore[list-item]
    with pytest.raises(SpanStoreUnreadableError, match="schema version 99"):
        SpanStore(path).recent_traces()


@pytest.mark.e2e
def test_two_processes_write_one_trace_concurrently_with_correct_parent_links(tmp_path: Path) -> None:
    path = tmp_path / "traces" / "spans.sqlite"
    provider = _store_provider(path, service="cli")
    tracer = provider.get_tracer("tests")
    with tracer.start_as_current_span("request") as request:
        context = request.get_span_context()
        traceparent = (
            f"00-{trace.format_trace_id(context.trace_id)}-{trace.format_span_id(context.span_id)}-01"
        )
        emitter = subprocess.Popen(
            [
                *emitter_command(
                    "--service", "emitter", "--span-store", str(path), "--traceparent", traceparent
                ),
                "--spans",
                "200",
            ],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        written_here = 0
        while emitter.poll() is None or written_here < 50:  # keep writing while the other process does
            with tracer.start_as_current_span(f"local {written_here}"):
                pass
            written_here += 1
        out, err = emitter.communicate(timeout=BOUND)
    provider.shutdown()
    assert emitter.returncode == 0, err
    emitter_pid = int(out.strip())

    spans = SpanStore(path).trace(trace.format_trace_id(context.trace_id))

    by_id = {span.span_id: span for span in spans}
    assert {span.pid for span in spans} == {os.getpid(), emitter_pid}
    assert {span.service for span in spans} == {"cli", "emitter"}
    assert len(spans) == 1 + written_here + 1 + 200
    root = by_id[trace.format_span_id(context.span_id)]
    (batch,) = [span for span in spans if span.name == "emitter batch"]
    assert batch.parent_span_id == root.span_id
    assert batch.pid == emitter_pid
    emitted = [span for span in spans if span.name.startswith("emitted ")]
    assert len(emitted) == 200
    assert all(span.parent_span_id == batch.span_id for span in emitted)
    local = [span for span in spans if span.name.startswith("local ")]
    assert all(span.parent_span_id == root.span_id and span.pid == os.getpid() for span in local)


def test_build_tracer_provider_without_exporters_still_makes_valid_spans(tmp_path: Path) -> None:
    provider = build_tracer_provider("quiet", span_store=None)
    with provider.get_tracer("tests").start_as_current_span("unexported") as span:
        assert span.get_span_context().is_valid
    assert provider.resource.attributes["service.name"] == "quiet"
    assert provider.resource.attributes["process.pid"] == os.getpid()
    provider.shutdown()


def test_current_trace_ids_are_the_hex_ids_the_store_keeps(tmp_path: Path) -> None:
    assert current_trace_ids() is None
    path = tmp_path / "spans.sqlite"
    provider = _store_provider(path)
    with provider.get_tracer("tests").start_as_current_span("decide"):
        ids = current_trace_ids()
    provider.shutdown()
    assert ids is not None
    (stored,) = SpanStore(path).trace(ids.trace_id)
    assert (stored.trace_id, stored.span_id) == ids
