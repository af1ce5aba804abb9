"""The embedded ledger backend: one SQLite file in WAL mode, append-only by trigger."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from mesh.audit._backend import GENESIS_HASH, Checkpoint, StoredRecord
from mesh.audit._errors import ReadOnlyQueryError, StaleHeadError

_SCHEMA = """
CREATE TABLE IF NOT EXISTS audit_records (
    seq INTEGER PRIMARY KEY,
    recorded_at TEXT NOT NULL,
    decision_id TEXT NOT NULL,
    body TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_records_decision ON audit_records (decision_id);
CREATE TABLE IF NOT EXISTS audit_checkpoints (
    seq INTEGER PRIMARY KEY,
    head_hash TEXT NOT NULL,
    signed_at TEXT NOT NULL,
    key_id TEXT NOT NULL,
    signature TEXT NOT NULL
);
"""
_GUARDS = [
    f"CREATE TRIGGER IF NOT EXISTS {table}_no_{verb} BEFORE {verb.upper()} ON {table} "
    f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: {verb.upper()} refused'); END;"
    for table in ("audit_records", "audit_checkpoints")
    for verb in ("update", "delete")
]
_RECORD_COLUMNS = "seq, recorded_at, decision_id, body, prev_hash, hash"

_READ_ACTIONS = {
    sqlite3.SQLITE_SELECT,
    sqlite3.SQLITE_READ,
    sqlite3.SQLITE_FUNCTION,
    sqlite3.SQLITE_RECURSIVE,
}


class SQLiteBackend:
    """`LedgerBackend` over one SQLite file (WAL, synchronous=FULL: an acknowledged append survives
    a crash or power loss). One connection writes; `query` opens its own read-only connection."""

    name = "sqlite"

    def __init__(self, path: Path) -> None:
        self.path = path
        self._db: sqlite3.Connection | None = None

    def open(self) -> None:
        if self._db is not None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=10)
        try:
            _with_retry(lambda: db.execute("PRAGMA journal_mode=WAL"))
            db.execute("PRAGMA synchronous=FULL")
            _with_retry(lambda: db.executescript(_SCHEMA + "\n".join(_GUARDS)))
        except BaseException:
            db.close()
            raise
        self._db = db

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    @property
    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            raise RuntimeError("SQLiteBackend is not open")
        return self._db

    def head(self) -> tuple[int, str]:
        row = self._conn.execute("SELECT seq, hash FROM audit_records ORDER BY seq DESC LIMIT 1").fetchone()
        return (0, GENESIS_HASH) if row is None else (row[0], row[1])

    def append(self, records: Sequence[StoredRecord]) -> None:
        db = self._conn
        db.execute("BEGIN IMMEDIATE")
        try:
            head = self.head()
            expected = (records[0].seq - 1, records[0].prev_hash)
            if head != expected:
                raise StaleHeadError(expected, head)
            db.executemany(
                f"INSERT INTO audit_records ({_RECORD_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)",  # noqa: S608
                [(r.seq, r.recorded_at, r.decision_id, r.body, r.prev_hash, r.hash) for r in records],
            )
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    def add_checkpoint(self, checkpoint: Checkpoint) -> None:
        c = checkpoint
        self._conn.execute(
            "INSERT OR IGNORE INTO audit_checkpoints (seq, head_hash, signed_at, key_id, signature) "
            "VALUES (?, ?, ?, ?, ?)",
            (c.seq, c.head_hash, c.signed_at, c.key_id, c.signature),
        )

    def iter_records(self, after_seq: int = 0, batch_size: int = 10_000) -> Iterator[StoredRecord]:
        cursor = self._conn.execute(
            f"SELECT {_RECORD_COLUMNS} FROM audit_records WHERE seq > ? ORDER BY seq",  # noqa: S608
            (after_seq,),
        )
        while rows := cursor.fetchmany(batch_size):
            for row in rows:
                yield StoredRecord(*row)

    def checkpoints(self) -> list[Checkpoint]:
        rows = self._conn.execute(
            "SELECT seq, head_hash, signed_at, key_id, signature FROM audit_checkpoints ORDER BY seq"
        ).fetchall()
        return [Checkpoint(*row) for row in rows]

    def records_for(self, decision_id: str) -> list[StoredRecord]:
        rows = self._conn.execute(
            f"SELECT {_RECORD_COLUMNS} FROM audit_records WHERE decision_id = ? ORDER BY seq",  # noqa: S608
            (decision_id,),
        ).fetchall()
        return [StoredRecord(*row) for row in rows]

    def tail(self, limit: int) -> list[StoredRecord]:
        rows = self._conn.execute(
            f"SELECT {_RECORD_COLUMNS} FROM audit_records ORDER BY seq DESC LIMIT ?",  # noqa: S608
            (limit,),
        ).fetchall()
        return [StoredRecord(*row) for row in reversed(rows)]

    def query(self, sql: str, params: Sequence[Any] = ()) -> tuple[list[str], list[tuple[Any, ...]]]:
        """Read-only by three locks: a `mode=ro` connection, `query_only`, and an authorizer that
        allows nothing but reads; several statements at once are refused by sqlite3 itself."""
        db = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=10)
        try:
            db.execute("PRAGMA query_only=ON")
            db.set_authorizer(_read_only_authorizer)
            try:
                cursor = db.execute(sql, tuple(params))
                rows = cursor.fetchall()
            except (sqlite3.DatabaseError, sqlite3.ProgrammingError) as error:
                if _is_refusal(error):
                    raise ReadOnlyQueryError(str(error)) from None
                raise
            columns = [d[0] for d in cursor.description] if cursor.description else []
            return columns, rows
        finally:
            db.close()


def _with_retry(step: Callable[[], object], *, within: float = 10.0) -> None:
    """Run `step`, retrying while another process holds the database: switching a new file to
    WAL can fail with "database is locked" at once, without waiting for the busy timeout, when
    several processes (gateway, domain servers, agents) open the ledger together."""
    deadline = time.monotonic() + within
    delay = 0.005
    while True:
        try:
            step()
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() + delay > deadline:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 0.2)


def _read_only_authorizer(action: int, *_: object) -> int:
    return sqlite3.SQLITE_OK if action in _READ_ACTIONS else sqlite3.SQLITE_DENY


def _is_refusal(error: Exception) -> bool:
    message = str(error).lower()
    return any(
        words in message
        for words in (
            "not authorized",
            "readonly",
            "read-only",
            "one statement at a time",
            "attempt to write",
        )
    )
