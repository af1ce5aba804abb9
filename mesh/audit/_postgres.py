"""The distributed ledger backend: PostgreSQL, the same schema as SQLite, append-only by trigger."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from itertools import starmap
from typing import Any

import psycopg
from psycopg import errors
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from mesh.audit._backend import GENESIS_HASH, Checkpoint, StoredRecord
from mesh.audit._errors import AuditError, ReadOnlyQueryError, StaleHeadError

_SCHEMA = """
CREATE TABLE IF NOT EXISTS audit_records (
    seq BIGINT PRIMARY KEY,
    recorded_at TEXT NOT NULL,
    decision_id TEXT NOT NULL,
    body TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_records_decision ON audit_records (decision_id);
CREATE TABLE IF NOT EXISTS audit_checkpoints (
    seq BIGINT PRIMARY KEY,
    head_hash TEXT NOT NULL,
    signed_at TEXT NOT NULL,
    key_id TEXT NOT NULL,
    signature TEXT NOT NULL
);
CREATE OR REPLACE FUNCTION audit_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP;
END
$$;
"""
_TABLES = ("audit_records", "audit_checkpoints")
_GUARDS = {
    f"{table}_no_{name}": (
        table,
        f"CREATE TRIGGER {table}_no_{name} BEFORE {events} ON {table} "
        f"FOR EACH {level} EXECUTE FUNCTION audit_refuse_change()",
    )
    for table in _TABLES
    for name, events, level in (
        ("update_delete", "UPDATE OR DELETE", "ROW"),
        ("truncate", "TRUNCATE", "STATEMENT"),
    )
}
_SCHEMA_LOCK = 0x6D657368_61756474  # pg_advisory_xact_lock key: b"meshaudt"
_APPEND_LOCK = 0x6D657368_61707064  # b"meshappd": one appending transaction at a time, mesh-wide
_RECORD_COLUMNS = "seq, recorded_at, decision_id, body, prev_hash, hash"
_COPY_RECORDS = f"COPY audit_records ({_RECORD_COLUMNS}) FROM STDIN (FORMAT BINARY)"
_COPY_TYPES = ("int8", "text", "text", "text", "text", "text")
_NOT_QUERIES = frozenset(
    {"COPY", "LOAD", "CHECKPOINT", "PREPARE", "DEALLOCATE", "DISCARD"}
    | {"BEGIN", "START", "COMMIT", "END", "ROLLBACK", "ABORT", "SAVEPOINT", "RELEASE"}
)
_WORD = re.compile(r"[A-Za-z_]*")


class PostgresConnectionError(AuditError):
    """The ledger's PostgreSQL server could not be reached, refused the connection, or dropped it."""

    def __init__(self, host: str, port: str, reason: str) -> None:
        super().__init__(f"no connection to the audit ledger's PostgreSQL at {host}:{port}: {reason}")
        self.host = host
        self.port = port
        self.reason = reason


class PostgresBackend:
    """`LedgerBackend` over a PostgreSQL database given by a libpq DSN (tested on PostgreSQL 15).

    One connection (autocommit; opened by `open()`, reopened on the next call after it broke) serves
    every method but `query`. `append` is one binary COPY in one transaction: the batch commits whole
    or not at all (a duplicate seq raises `psycopg.errors.UniqueViolation`), as durably as the
    server's `synchronous_commit` makes it; `off` is raised to `on` for this connection.
    `iter_records` reads pages by primary key (`seq > last`), holding no transaction between pages.
    Connection failures raise `PostgresConnectionError` naming host and port, never the DSN.

    `query` opens a connection per call and runs the statement alone (extended protocol) in a READ
    ONLY transaction that is then rolled back, under `query_timeout`. That stops accidents, not a
    hostile caller with a superuser DSN (who can, say, `SELECT lo_export(...)` to a server file):
    give untrusted readers a `query_dsn` whose role may only read (e.g. `pg_read_all_data`).
    Placeholders are psycopg's (`%s`), not SQLite's `?`.
    """

    name = "postgres"

    def __init__(
        self,
        dsn: str,
        *,
        query_dsn: str | None = None,
        query_timeout: float = 30.0,
        connect_timeout: int = 10,
    ) -> None:
        self._dsn = dsn
        self._where = _address(dsn)
        self._query_dsn = query_dsn or dsn
        self._query_timeout_ms = max(1, round(query_timeout * 1000))
        self._connect_timeout = max(2, connect_timeout)
        self._db: psycopg.Connection[tuple[Any, ...]] | None = None
        self._open = False

    def open(self) -> None:
        """Create what is missing, and put back guards that were dropped or disabled. The guards fire
        always, even under `session_replication_role = replica`."""
        self._open = True
        try:
            with self._connection_lost(), self._conn.transaction() as transaction:
                self._create_schema(transaction.connection)
        except BaseException:
            self.close()
            raise

    @staticmethod
    def _create_schema(db: psycopg.Connection[tuple[Any, ...]]) -> None:
        db.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK,))
        db.execute(_SCHEMA)
        triggers = "SELECT tgname, tgenabled FROM pg_trigger WHERE tgrelid = ANY(%s::regclass[])"
        present = dict(db.execute(triggers, (list(_TABLES),)).fetchall())
        for name, (table, create) in _GUARDS.items():
            if name not in present:
                db.execute(create)
            if present.get(name) != "A":
                db.execute(f"ALTER TABLE {table} ENABLE ALWAYS TRIGGER {name}")

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None
        self._open = False

    @property
    def _conn(self) -> psycopg.Connection[tuple[Any, ...]]:
        """The writer's connection, reconnected when the last one broke (say, a server restart)."""
        if not self._open:
            raise RuntimeError("PostgresBackend is not open")
        if self._db is None or self._db.broken:
            if self._db is not None:
                self._db.close()
                self._db = None
            db = self._connect(self._dsn)
            if db.execute("SHOW synchronous_commit").fetchone() == ("off",):
                db.execute("SET synchronous_commit = on")
            self._db = db
        return self._db

    def _connect(self, dsn: str) -> psycopg.Connection[tuple[Any, ...]]:
        """An autocommit connection; failures name the server's address, never the DSN."""
        try:
            given = conninfo_to_dict(dsn)
        except psycopg.ProgrammingError:
            reason = "malformed DSN (not shown: it may hold a password)"
            raise PostgresConnectionError("?", "?", reason) from None
        defaults: dict[str, str | int] = {
            "connect_timeout": self._connect_timeout,
            "application_name": "mesh-audit",
        }
        conninfo = make_conninfo(dsn, **{k: v for k, v in defaults.items() if k not in given})
        try:
            return psycopg.connect(conninfo, autocommit=True)
        except psycopg.OperationalError as error:
            raise PostgresConnectionError(*_address(dsn), str(error).strip()) from error

    @contextmanager
    def _connection_lost(self) -> Iterator[None]:
        """A failure that broke the writer's connection becomes `PostgresConnectionError`."""
        try:
            yield
        except psycopg.OperationalError as error:
            if self._db is None or not self._db.broken:
                raise
            raise PostgresConnectionError(*self._where, str(error).strip()) from error

    def _rows(self, query: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._connection_lost():
            return self._conn.execute(query, params).fetchall()

    def head(self) -> tuple[int, str]:
        rows = self._rows("SELECT seq, hash FROM audit_records ORDER BY seq DESC LIMIT 1")
        return (rows[0][0], rows[0][1]) if rows else (0, GENESIS_HASH)

    def append(self, records: Sequence[StoredRecord]) -> None:
        if not records:
            return
        with self._connection_lost():
            db = self._conn
            with db.transaction(), db.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", (_APPEND_LOCK,))
                row = cursor.execute(
                    "SELECT seq, hash FROM audit_records ORDER BY seq DESC LIMIT 1"
                ).fetchone()
                head = (0, GENESIS_HASH) if row is None else (row[0], row[1])
                expected = (records[0].seq - 1, records[0].prev_hash)
                if head != expected:
                    raise StaleHeadError(expected, head)
                with cursor.copy(_COPY_RECORDS) as copy:
                    copy.set_types(_COPY_TYPES)
                    write_row = copy.write_row
                    for r in records:
                        write_row((r.seq, r.recorded_at, r.decision_id, r.body, r.prev_hash, r.hash))

    def add_checkpoint(self, checkpoint: Checkpoint) -> None:
        c = checkpoint
        with self._connection_lost():
            self._conn.execute(
                "INSERT INTO audit_checkpoints (seq, head_hash, signed_at, key_id, signature) "
                "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (seq) DO NOTHING",
                (c.seq, c.head_hash, c.signed_at, c.key_id, c.signature),
            )

    def iter_records(self, after_seq: int = 0, batch_size: int = 10_000) -> Iterator[StoredRecord]:
        """Pages of `batch_size` records, each read by `seq > last seen` on the primary key index."""
        page = f"SELECT {_RECORD_COLUMNS} FROM audit_records WHERE seq > %s ORDER BY seq LIMIT %s"  # noqa: S608
        last = after_seq
        while True:
            rows = self._rows(page, (last, max(batch_size, 1)))
            if not rows:
                return
            yield from starmap(StoredRecord, rows)
            if len(rows) < batch_size:
                return
            last = rows[-1][0]

    def checkpoints(self) -> list[Checkpoint]:
        rows = self._rows(
            "SELECT seq, head_hash, signed_at, key_id, signature FROM audit_checkpoints ORDER BY seq"
        )
        return list(starmap(Checkpoint, rows))

    def records_for(self, decision_id: str) -> list[StoredRecord]:
        rows = self._rows(
            f"SELECT {_RECORD_COLUMNS} FROM audit_records WHERE decision_id = %s ORDER BY seq",  # noqa: S608
            (decision_id,),
        )
        return list(starmap(StoredRecord, rows))

    def tail(self, limit: int) -> list[StoredRecord]:
        rows = self._rows(
            f"SELECT {_RECORD_COLUMNS} FROM audit_records ORDER BY seq DESC LIMIT %s",  # noqa: S608
            (max(limit, 0),),
        )
        return list(starmap(StoredRecord, reversed(rows)))

    def query(self, sql: str, params: Sequence[Any] = ()) -> tuple[list[str], list[tuple[Any, ...]]]:
        """Run one statement on a connection of its own, in a READ ONLY transaction that is rolled
        back, under the statement timeout. PostgreSQL's refusal of a write becomes
        `ReadOnlyQueryError(its message)`, and so do several statements at once and the statements a
        read-only transaction lets through that would end it or leave the database (`COPY`,
        transaction control, `PREPARE`, `LOAD` ...). Other errors are psycopg's."""
        verb = _leading_keyword(sql)
        if verb in _NOT_QUERIES:
            raise ReadOnlyQueryError(f"{verb} is not a query")
        with self._connect(self._query_dsn) as db:
            db.execute(
                "SELECT set_config('default_transaction_read_only', 'on', false),"
                " set_config('statement_timeout', %s, false)",
                (str(self._query_timeout_ms),),
            )
            db.read_only = True
            try:
                with db.transaction(force_rollback=True), db.cursor() as cursor:
                    cursor.execute(sql, tuple(params) or None, prepare=True)
                    columns = [column.name for column in cursor.description or ()]
                    return columns, cursor.fetchall() if cursor.description else []
            except errors.ReadOnlySqlTransaction as error:
                raise ReadOnlyQueryError(_message(error)) from None
            except errors.SyntaxError as error:
                if "multiple commands" in str(error):
                    raise ReadOnlyQueryError(_message(error)) from None
                raise


def _leading_keyword(sql: str) -> str:
    """The statement's first word, upper-cased, after whitespace, `;` and (nested) comments."""
    at, depth = 0, 0
    while at < len(sql):
        if sql.startswith("/*", at):
            depth, at = depth + 1, at + 2
        elif depth and sql.startswith("*/", at):
            depth, at = depth - 1, at + 2
        elif depth or sql[at].isspace() or sql[at] == ";":
            at += 1
        elif sql.startswith("--", at):
            end = sql.find("\n", at)
            at = len(sql) if end < 0 else end + 1
        else:
            break
    match = _WORD.match(sql, at)
    return match.group().upper() if match else ""


def _message(error: psycopg.Error) -> str:
    return (error.diag.message_primary or str(error)).strip()


def _address(dsn: str) -> tuple[str, str]:
    """The host and port a DSN names, with libpq's fallbacks; ("?", "?") when it does not parse."""
    try:
        params = conninfo_to_dict(dsn)
    except psycopg.ProgrammingError:
        return "?", "?"
    host = str(params.get("host") or params.get("hostaddr") or os.environ.get("PGHOST") or "localhost")
    port = str(params.get("port") or os.environ.get("PGPORT") or 5432)
    return host, port
