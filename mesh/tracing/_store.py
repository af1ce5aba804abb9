"""The local span store: finished spans in one SQLite file, written by every process of the mesh.

The embedded default keeps traces without a collector: the CLI, each MCP server process and later
the gateway all export to `<data_dir>/traces/spans.sqlite`; `mesh trace` reads it back.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult
from opentelemetry.trace import format_span_id, format_trace_id

from ._errors import SpanStoreMissingError, SpanStoreUnreadableError

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
"""`PRAGMA user_version` of a span store this code writes and reads."""

BUSY_TIMEOUT_SECONDS = 5.0
"""How long a writer or reader waits for another process's transaction before giving up."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS spans (
    trace_id TEXT NOT NULL CHECK (length(trace_id) = 32),
    span_id TEXT NOT NULL CHECK (length(span_id) = 16),
    parent_span_id TEXT CHECK (parent_span_id IS NULL OR length(parent_span_id) = 16),
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    service TEXT NOT NULL,
    pid INTEGER,
    start_ns INTEGER NOT NULL,
    end_ns INTEGER NOT NULL,
    status TEXT NOT NULL,
    status_message TEXT,
    scope TEXT,
    attributes TEXT NOT NULL,
    events TEXT NOT NULL,
    UNIQUE (trace_id, span_id)
);
CREATE INDEX IF NOT EXISTS spans_by_start ON spans (start_ns);
"""

_INSERT = """
INSERT OR IGNORE INTO spans (
    trace_id, span_id, parent_span_id, name, kind, service, pid, start_ns, end_ns,
    status, status_message, scope, attributes, events
) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
"""
_SELECT_TRACE = """
SELECT trace_id, span_id, parent_span_id, name, kind, service, pid, start_ns, end_ns,
       status, status_message, scope, attributes, events
FROM spans WHERE trace_id = ? ORDER BY start_ns, span_id
"""

_Row = tuple[str, str, str | None, str, str, str, int | None, int, int, str, str | None, str | None, str, str]


@dataclass(frozen=True, slots=True)
class StoredSpan:
    """One finished span as the store keeps it. Ids are lowercase hex; times are Unix nanoseconds.

    `kind` is the OpenTelemetry span kind name (`SERVER`, `CLIENT`, `PRODUCER`, `CONSUMER`,
    `INTERNAL`), `status` the status code name (`UNSET`, `OK`, `ERROR`), `service` the
    `service.name` of the exporting process and `pid` its process id.
    """

    trace_id: str
    span_id: str
    parent_span_id: str | None
    name: str
    kind: str
    service: str
    pid: int | None
    start_ns: int
    end_ns: int
    status: str
    status_message: str | None = None
    scope: str | None = None
    attributes: Mapping[str, Any] = field(default_factory=dict)
    events: Sequence[Mapping[str, Any]] = ()

    @property
    def duration_ms(self) -> float:
        return (self.end_ns - self.start_ns) / 1e6

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict of every field, plus `duration_ms`."""
        return {
            "trace_id": self.trace_id,
            "span_id": self.span_id,
            "parent_span_id": self.parent_span_id,
            "name": self.name,
            "kind": self.kind,
            "service": self.service,
            "pid": self.pid,
            "start_ns": self.start_ns,
            "end_ns": self.end_ns,
            "duration_ms": self.duration_ms,
            "status": self.status,
            "status_message": self.status_message,
            "scope": self.scope,
            "attributes": dict(self.attributes),
            "events": [dict(event) for event in self.events],
        }


@dataclass(frozen=True, slots=True)
class TraceSummary:
    """One trace in the store: its root span's name (or its earliest span's when no root is stored)."""

    trace_id: str
    root_name: str
    services: tuple[str, ...]
    span_count: int
    error_count: int
    start_ns: int
    end_ns: int

    @property
    def duration_ms(self) -> float:
        return (self.end_ns - self.start_ns) / 1e6


class SpanStoreExporter(SpanExporter):
    """Writes finished spans to the SQLite span store at `path`.

    Contract:
    - Several processes may export to the same file at once: the store uses the WAL journal, a
      busy timeout of `busy_timeout` seconds and one `BEGIN IMMEDIATE` transaction per batch, so a
      batch is stored whole or not at all.
    - `export` never raises into the application. Any failure (unwritable directory, lock held
      past the busy timeout, a newer schema) returns `SpanExportResult.FAILURE`; the first failure
      of an outage is logged as a warning, later ones at debug level, and the next success logs
      the recovery. The batch processor drops a failed batch; it is not retried.
    - The file and its parent directories are created on the first export, not before.
    - A span already stored (same trace id and span id) keeps its first copy.
    - Safe to call from several threads (the batch worker and `force_flush` callers); after a
      fork the child opens its own connection.
    """

    def __init__(self, path: Path, *, busy_timeout: float = BUSY_TIMEOUT_SECONDS) -> None:
        self.path = path.absolute()  # opened lazily: a later chdir must not move the store
        self.busy_timeout = busy_timeout
        self._lock = threading.Lock()
        self._connection: sqlite3.Connection | None = None
        self._connection_pid: int | None = None
        self._failing = False
        self._shut_down = False

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        with self._lock:
            if self._shut_down:
                return SpanExportResult.FAILURE
            pid = os.getpid()
            try:
                rows = [_span_row(span, pid) for span in spans]
                connection = self._open(pid)
                connection.execute("BEGIN IMMEDIATE")
                try:
                    connection.executemany(_INSERT, rows)
                except BaseException:
                    connection.rollback()
                    raise
                connection.commit()
            except Exception as error:  # any failure is a result, never an exception in the app
                self._report_failure(error)
                return SpanExportResult.FAILURE
            if self._failing:
                self._failing = False
                log.info("span store %s is writable again", self.path)
            return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        with self._lock:
            self._shut_down = True
            if self._connection is not None and self._connection_pid == os.getpid():
                self._connection.close()
            self._connection = None

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True

    def _open(self, pid: int) -> sqlite3.Connection:
        if self._connection is not None and self._connection_pid == pid:
            return self._connection
        self._connection = None  # after a fork the parent's connection is not ours to use or close
        self.path.parent.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(
            self.path, timeout=self.busy_timeout, isolation_level=None, check_same_thread=False
        )
        try:
            _prepare_for_writing(connection, self.path, self.busy_timeout)
        except BaseException:
            connection.close()
            raise
        self._connection, self._connection_pid = connection, pid
        return connection

    def _report_failure(self, error: Exception) -> None:
        if self._failing:
            log.debug("span store %s: export failed again: %s", self.path, error)
            return
        self._failing = True
        log.warning(
            "span store %s: spans are being dropped (%s: %s); the application is not affected",
            self.path,
            type(error).__name__,
            error,
        )


def _prepare_for_writing(connection: sqlite3.Connection, path: Path, busy_timeout: float) -> None:
    connection.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
    connection.execute("PRAGMA journal_mode = WAL")
    connection.execute("PRAGMA synchronous = NORMAL")
    connection.execute("BEGIN IMMEDIATE")
    try:
        version = _user_version(connection)
        if version > SCHEMA_VERSION:
            raise SpanStoreUnreadableError(path, f"schema version {version} is newer than {SCHEMA_VERSION}")
        for statement in _SCHEMA.split(";"):
            if statement.strip():
                connection.execute(statement)
        if version < SCHEMA_VERSION:
            connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
    except BaseException:
        connection.rollback()
        raise
    connection.commit()


def _user_version(connection: sqlite3.Connection) -> int:
    version: int = connection.execute("PRAGMA user_version").fetchone()[0]
    return version


def _span_row(span: ReadableSpan, exporting_pid: int) -> _Row:
    context = span.get_span_context()
    if context is None:
        raise ValueError(f"span {span.name!r} has no span context")
    resource = span.resource.attributes
    pid = resource.get("process.pid")
    scope = span.instrumentation_scope
    return (
        format_trace_id(context.trace_id),
        format_span_id(context.span_id),
        format_span_id(span.parent.span_id) if span.parent is not None else None,
        span.name,
        span.kind.name,
        str(resource.get("service.name", "unknown_service")),
        pid if isinstance(pid, int) else exporting_pid,
        span.start_time or 0,
        span.end_time or span.start_time or 0,
        span.status.status_code.name,
        span.status.description,
        scope.name if scope is not None else None,
        json.dumps(dict(span.attributes or {}), default=str),
        json.dumps(
            [
                {"name": event.name, "time_ns": event.timestamp, "attributes": dict(event.attributes or {})}
                for event in span.events
            ],
            default=str,
        ),
    )


class SpanStore:
    """Reads the span store at `path`; every call opens the file read-only and closes it again.

    Raises `SpanStoreMissingError` when no store exists at `path` and `SpanStoreUnreadableError`
    when the file is not a span store this code can read.
    """

    def __init__(self, path: Path) -> None:
        self.path = path

    def trace(self, trace_id: str) -> list[StoredSpan]:
        """Every stored span of `trace_id` (32 lowercase hex digits), by start time; [] when unknown."""
        with self._reading() as connection:
            rows = connection.execute(_SELECT_TRACE, (trace_id.lower(),)).fetchall()
        return [_stored_span(row) for row in rows]

    def recent_traces(self, limit: int = 20) -> list[TraceSummary]:
        """The `limit` traces with the most recent activity, newest first by start time."""
        if limit <= 0:
            return []
        with self._reading() as connection:
            trace_ids: list[str] = []
            for (trace_id,) in connection.execute("SELECT trace_id FROM spans ORDER BY start_ns DESC"):
                if trace_id not in trace_ids:
                    trace_ids.append(trace_id)
                    if len(trace_ids) == limit:
                        break
            summaries = [_summary(connection, trace_id) for trace_id in trace_ids]
        return sorted(summaries, key=lambda summary: summary.start_ns, reverse=True)

    def _reading(self) -> _ReadConnection:
        if not self.path.is_file():
            raise SpanStoreMissingError(self.path)
        return _ReadConnection(self.path)


class _ReadConnection:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._connection: sqlite3.Connection | None = None

    def __enter__(self) -> sqlite3.Connection:
        try:
            connection = sqlite3.connect(
                f"{self.path.resolve().as_uri()}?mode=ro", uri=True, timeout=BUSY_TIMEOUT_SECONDS
            )
            self._connection = connection
            version = _user_version(connection)
        except sqlite3.Error as error:
            self._close()
            raise SpanStoreUnreadableError(self.path, str(error)) from error
        if version != SCHEMA_VERSION:
            self._close()
            raise SpanStoreUnreadableError(
                self.path, f"schema version {version}, this mesh reads version {SCHEMA_VERSION}"
            )
        return connection

    def __exit__(self, *exc_info: object) -> None:
        self._close()

    def _close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None


def _stored_span(row: Sequence[Any]) -> StoredSpan:
    (
        trace_id,
        span_id,
        parent_span_id,
        name,
        kind,
        service,
        pid,
        start_ns,
        end_ns,
        status,
        status_message,
        scope,
        attributes,
        events,
    ) = row
    return StoredSpan(
        trace_id=trace_id,
        span_id=span_id,
        parent_span_id=parent_span_id,
        name=name,
        kind=kind,
        service=service,
        pid=pid,
        start_ns=start_ns,
        end_ns=end_ns,
        status=status,
        status_message=status_message,
        scope=scope,
        attributes=json.loads(attributes),
        events=tuple(json.loads(events)),
    )


def _summary(connection: sqlite3.Connection, trace_id: str) -> TraceSummary:
    span_count, error_count, start_ns, end_ns = connection.execute(
        "SELECT COUNT(*), SUM(status = 'ERROR'), MIN(start_ns), MAX(end_ns) FROM spans WHERE trace_id = ?",
        (trace_id,),
    ).fetchone()
    services = tuple(
        service
        for (service,) in connection.execute(
            "SELECT service FROM spans WHERE trace_id = ? GROUP BY service ORDER BY MIN(start_ns)",
            (trace_id,),
        )
    )
    (root_name,) = connection.execute(
        "SELECT name FROM spans WHERE trace_id = ? ORDER BY parent_span_id IS NOT NULL, start_ns LIMIT 1",
        (trace_id,),
    ).fetchone()
    return TraceSummary(
        trace_id=trace_id,
        root_name=root_name,
        services=services,
        span_count=span_count,
        error_count=error_count or 0,
        start_ns=start_ns,
        end_ns=end_ns,
    )
