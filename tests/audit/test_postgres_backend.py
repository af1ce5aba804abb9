"""`PostgresBackend` against a real PostgreSQL server: the `LedgerBackend` contract, the append-only
triggers, all-or-nothing batches and read-only queries. The ledger-level suite (hash chain, tamper
detection, verify) runs over both backends in `test_ledger.py`."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import psycopg
import pytest
from psycopg import sql

from mesh.audit import GENESIS_HASH, Checkpoint, ReadOnlyQueryError, StaleHeadError, StoredRecord
from mesh.audit._postgres import PostgresBackend, PostgresConnectionError
from mesh.supervisor._ports import pick_free_ports
from tests.pg import RunSQL

AWKWARD_BODY = '{"note":"quotes \' \\" backslash \\\\ tab\\t newline\\n","city":"Zürich 東京 🚚"}'


def records(first: int, count: int, *, decisions: int = 3) -> list[StoredRecord]:
    return [
        StoredRecord(
            seq,
            f"2026-02-02T15:00:{seq % 60:02d}+00:00",
            f"dec-{seq % decisions}",
            AWKWARD_BODY if seq == 2 else f'{{"n":{seq}}}',
            f"{seq - 1:064x}",
            f"{seq:064x}",
        )
        for seq in range(first, first + count)
    ]


def count(dsn: str, table: str = "audit_records") -> int:
    with psycopg.connect(dsn) as db:
        row = db.execute(f"SELECT count(*) FROM {table}".encode()).fetchone()
    assert row is not None
    return int(row[0])


# --- schema -------------------------------------------------------------------------------------


def test_open_is_idempotent_on_one_backend_and_across_backends(
    postgres_backend: PostgresBackend, postgres_database: str
) -> None:
    postgres_backend.open()
    other = PostgresBackend(postgres_database)
    other.open()
    other.close()
    with psycopg.connect(postgres_database) as db:
        triggers = db.execute("SELECT count(*) FROM pg_trigger WHERE NOT tgisinternal").fetchone()
        columns = db.execute(
            "SELECT table_name, column_name, data_type FROM information_schema.columns"
            " WHERE table_name LIKE 'audit_%' AND column_name IN ('seq', 'body')"
            " ORDER BY table_name, column_name"
        ).fetchall()
    assert triggers == (4,)
    assert columns == [
        ("audit_checkpoints", "seq", "bigint"),
        ("audit_records", "body", "text"),
        ("audit_records", "seq", "bigint"),
    ]


def test_concurrent_opens_of_a_new_database_all_succeed(postgres_database: str) -> None:
    backends = [PostgresBackend(postgres_database) for _ in range(4)]
    with ThreadPoolExecutor(len(backends)) as pool:
        list(pool.map(PostgresBackend.open, backends))
    for backend in backends:
        assert backend.head() == (0, GENESIS_HASH)
        backend.close()


def test_methods_before_open_or_after_close_raise() -> None:
    backend = PostgresBackend("host=127.0.0.1 port=1 dbname=ledger")
    with pytest.raises(RuntimeError, match="not open"):
        backend.head()
    backend.close()
    with pytest.raises(RuntimeError, match="not open"):
        backend.tail(1)


# --- the LedgerBackend contract -----------------------------------------------------------------


def test_an_empty_ledger_has_the_genesis_head_and_nothing_to_read(postgres_backend: PostgresBackend) -> None:
    assert postgres_backend.head() == (0, GENESIS_HASH)
    assert list(postgres_backend.iter_records()) == []
    assert postgres_backend.tail(5) == []
    assert postgres_backend.checkpoints() == []
    assert postgres_backend.records_for("dec-1") == []


def test_appended_records_read_back_exactly_in_seq_order(postgres_backend: PostgresBackend) -> None:
    written = records(1, 7)
    postgres_backend.append(written[:4])
    postgres_backend.append(written[4:])
    postgres_backend.append([])

    assert postgres_backend.head() == (7, written[-1].hash)
    assert list(postgres_backend.iter_records()) == written
    assert postgres_backend.records_for("dec-2")[0].body == AWKWARD_BODY
    assert [r.seq for r in postgres_backend.records_for("dec-1")] == [1, 4, 7]
    assert postgres_backend.tail(3) == written[4:]
    assert postgres_backend.tail(100) == written
    assert postgres_backend.tail(0) == []


@pytest.mark.parametrize(
    ("after_seq", "batch_size"), [(0, 1), (0, 5), (0, 10), (0, 10_000), (5, 2), (9, 3), (10, 3)]
)
def test_iter_records_pages_through_everything_after_a_seq(
    postgres_backend: PostgresBackend, after_seq: int, batch_size: int
) -> None:
    postgres_backend.append(records(1, 10))
    read = list(postgres_backend.iter_records(after_seq=after_seq, batch_size=batch_size))
    assert [r.seq for r in read] == list(range(after_seq + 1, 11))


def test_checkpoints_read_back_by_seq(postgres_backend: PostgresBackend) -> None:
    later = Checkpoint(20, "b" * 64, "2026-02-02T15:01:00+00:00", "key-1", "sig-2")
    earlier = Checkpoint(10, "a" * 64, "2026-02-02T15:00:00+00:00", "key-1", "sig-1")
    postgres_backend.add_checkpoint(later)
    postgres_backend.add_checkpoint(earlier)
    assert postgres_backend.checkpoints() == [earlier, later]


# --- append-only, enforced by the database ------------------------------------------------------


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE audit_records SET body = '{}' WHERE seq = 2",
        "UPDATE audit_records SET seq = seq + 100",
        "DELETE FROM audit_records WHERE seq = 2",
        "TRUNCATE audit_records",
        "UPDATE audit_checkpoints SET head_hash = 'x'",
        "DELETE FROM audit_checkpoints",
        "TRUNCATE audit_checkpoints",
        "TRUNCATE audit_records, audit_checkpoints",
    ],
)
def test_the_database_refuses_update_delete_and_truncate(
    postgres_backend: PostgresBackend, postgres_database: str, postgres_sql: RunSQL, sql: str
) -> None:
    postgres_backend.append(records(1, 3))
    postgres_backend.add_checkpoint(Checkpoint(3, "c" * 64, "2026-02-02T15:00:00+00:00", "key-1", "sig"))
    with pytest.raises(
        psycopg.errors.RaiseException, match=r"audit_\w+ is append-only: (UPDATE|DELETE|TRUNCATE)"
    ):
        postgres_sql(sql)
    assert list(postgres_backend.iter_records()) == records(1, 3)
    assert count(postgres_database, "audit_checkpoints") == 1


def test_a_superuser_can_drop_the_guards_and_then_tamper(
    postgres_backend: PostgresBackend, postgres_tamper: RunSQL
) -> None:
    postgres_backend.append(records(1, 3))
    postgres_tamper(
        "UPDATE audit_records SET body = 'forged' WHERE seq = 2; DELETE FROM audit_records WHERE seq = 3"
    )
    assert [(r.seq, r.body) for r in postgres_backend.iter_records()] == [(1, '{"n":1}'), (2, "forged")]


@pytest.mark.parametrize(
    "attack",
    [
        "DROP TRIGGER audit_records_no_update_delete ON audit_records",
        "ALTER TABLE audit_records DISABLE TRIGGER USER",
        "CREATE OR REPLACE FUNCTION audit_refuse_change() RETURNS trigger LANGUAGE plpgsql"
        " AS $$ BEGIN RETURN OLD; END $$",
    ],
    ids=["dropped", "disabled", "defanged"],
)
def test_open_puts_back_guards_an_attacker_removed(
    postgres_backend: PostgresBackend, postgres_sql: RunSQL, attack: str
) -> None:
    postgres_backend.append(records(1, 2))
    postgres_sql(attack)
    postgres_sql("DELETE FROM audit_records WHERE seq = 2")
    postgres_backend.open()
    with pytest.raises(psycopg.errors.RaiseException, match="append-only"):
        postgres_sql("DELETE FROM audit_records")
    assert postgres_backend.head()[0] == 1


def test_the_guards_fire_under_replication_role_replica(
    postgres_backend: PostgresBackend, postgres_sql: RunSQL
) -> None:
    postgres_backend.append(records(1, 2))
    with pytest.raises(psycopg.errors.RaiseException, match="append-only"):
        postgres_sql("SET session_replication_role = replica; DELETE FROM audit_records")


# --- all or nothing -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("batch", "refusal"),
    [(records(3, 3), StaleHeadError), ([*records(4, 2), *records(4, 1)], psycopg.errors.UniqueViolation)],
    ids=["does-not-chain-onto-the-head", "repeats-a-seq-within-the-batch"],
)
def test_a_batch_that_does_not_fit_the_chain_leaves_nothing_of_itself(
    postgres_backend: PostgresBackend, batch: list[StoredRecord], refusal: type[Exception]
) -> None:
    postgres_backend.append(records(1, 3))
    with pytest.raises(refusal):
        postgres_backend.append(batch)
    assert postgres_backend.head() == (3, records(3, 1)[0].hash)
    assert [r.seq for r in postgres_backend.iter_records()] == [1, 2, 3]
    postgres_backend.append(records(4, 2))
    assert postgres_backend.head()[0] == 5


def test_the_writer_reconnects_after_its_connection_is_killed(
    postgres_backend: PostgresBackend, postgres_dsn: str
) -> None:
    postgres_backend.append(records(1, 1))
    pid = postgres_backend._conn.info.backend_pid
    with psycopg.connect(postgres_dsn) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
    with pytest.raises(PostgresConnectionError, match=r"at 127\.0\.0\.1:\d+: .*terminating connection"):
        postgres_backend.append(records(2, 1))
    assert postgres_backend.head()[0] == 1
    postgres_backend.append(records(2, 1))
    assert postgres_backend.head()[0] == 2


def test_synchronous_commit_off_on_the_server_is_raised_to_on(postgres_database: str) -> None:
    with psycopg.connect(postgres_database, autocommit=True) as db:
        database = sql.Identifier(db.info.dbname)
        db.execute(sql.SQL("ALTER DATABASE {} SET synchronous_commit = off").format(database))
    backend = PostgresBackend(postgres_database)
    backend.open()
    try:
        assert backend._conn.execute("SHOW synchronous_commit").fetchone() == ("on",)
    finally:
        backend.close()


# --- read-only queries --------------------------------------------------------------------------


def test_a_query_returns_column_names_and_rows(postgres_backend: PostgresBackend) -> None:
    postgres_backend.append(records(1, 6))
    columns, rows = postgres_backend.query(
        "SELECT decision_id, count(*) AS n FROM audit_records WHERE seq > %s GROUP BY 1 ORDER BY 1", (1,)
    )
    assert columns == ["decision_id", "n"]
    assert rows == [("dec-0", 2), ("dec-1", 1), ("dec-2", 2)]
    assert postgres_backend.query("SELECT body FROM audit_records WHERE body LIKE '%Zürich%'")[1] == [
        (AWKWARD_BODY,)
    ]


@pytest.mark.parametrize(
    ("sql", "reason"),
    [
        (
            "INSERT INTO audit_records VALUES (99, 'x', 'x', 'x', 'x', 'x')",
            "cannot execute INSERT in a read-only",
        ),
        ("UPDATE audit_records SET body = 'x'", "cannot execute UPDATE in a read-only"),
        ("DELETE FROM audit_records", "cannot execute DELETE in a read-only"),
        ("DROP TABLE audit_records", "cannot execute DROP TABLE in a read-only"),
        ("TRUNCATE audit_records", "cannot execute TRUNCATE TABLE in a read-only"),
        ("CREATE TABLE t (a int)", "cannot execute CREATE TABLE in a read-only"),
        ("SELECT 1; DELETE FROM audit_records", "cannot insert multiple commands"),
        ("SELECT * FROM audit_records FOR UPDATE", "cannot execute SELECT FOR UPDATE in a read-only"),
        ("WITH gone AS (DELETE FROM audit_records RETURNING seq) SELECT * FROM gone", "in a read-only"),
        ("SELECT nextval('audit_probe')", "cannot execute nextval() in a read-only"),
        ("DO $$ BEGIN DELETE FROM audit_records; END $$", "cannot execute DELETE in a read-only"),
        ("EXPLAIN ANALYZE DELETE FROM audit_records", "cannot execute DELETE in a read-only"),
        ("COPY (SELECT 1) TO '/tmp/mesh-audit-copy'", "COPY is not a query"),
        ("/* a /* nested */ comment */ ; COPY audit_records TO STDOUT", "COPY is not a query"),
        ("COMMIT", "COMMIT is not a query"),
        ("BEGIN", "BEGIN is not a query"),
    ],
)
def test_a_query_that_would_write_is_refused_with_the_reason(
    postgres_backend: PostgresBackend, postgres_sql: RunSQL, sql: str, reason: str
) -> None:
    postgres_backend.append(records(1, 2))
    postgres_sql("CREATE SEQUENCE audit_probe")
    with pytest.raises(ReadOnlyQueryError) as refused:
        postgres_backend.query(sql)
    assert reason in refused.value.reason
    assert postgres_backend.query("SELECT count(*) FROM audit_records") == (["count"], [(2,)])


def test_a_slow_query_is_cancelled_by_the_statement_timeout(postgres_database: str) -> None:
    backend = PostgresBackend(postgres_database, query_timeout=0.2)
    started = time.monotonic()
    with pytest.raises(psycopg.errors.QueryCanceled):
        backend.query("SELECT pg_sleep(10)")
    assert time.monotonic() - started < 5


# --- connection errors --------------------------------------------------------------------------


def test_a_connection_error_names_host_and_port_but_not_the_password() -> None:
    port = pick_free_ports("127.0.0.1", 1)[0]
    backend = PostgresBackend(f"postgresql://auditor:s3cret-pw@127.0.0.1:{port}/ledger")
    with pytest.raises(PostgresConnectionError) as failed:
        backend.open()
    with pytest.raises(RuntimeError, match="not open"):
        backend.head()
    assert f"127.0.0.1:{port}" in str(failed.value)
    assert (failed.value.host, failed.value.port) == ("127.0.0.1", str(port))
    assert "s3cret-pw" not in str(failed.value)


def test_a_malformed_dsn_is_refused_without_echoing_it() -> None:
    with pytest.raises(PostgresConnectionError, match="malformed DSN") as failed:
        PostgresBackend("host=db password=s3cret-pw oops").open()
    assert "s3cret-pw" not in str(failed.value)
