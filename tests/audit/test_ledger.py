"""The ledger's guarantees, run against both backends (SQLite and a real PostgreSQL server)."""

from __future__ import annotations

import sqlite3
import stat
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from pydantic import ValidationError

from mesh.audit import (
    AuditLog,
    Ledger,
    LedgerWriteError,
    ReadOnlyQueryError,
    SigningKeyError,
    SQLiteBackend,
    load_or_create_signer,
    record_hash,
)
from tests.audit.records import TRACE_ID, LedgerEnv, record


def _sqlite_env(tmp_path: Path) -> LedgerEnv:
    path = tmp_path / "ledger.sqlite"

    def run(sql: str, *, drop_guards: bool) -> None:
        db = sqlite3.connect(path)
        try:
            if drop_guards:
                for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'").fetchall():
                    db.execute(f'DROP TRIGGER "{name}"')
            db.executescript(sql)
            db.commit()
        finally:
            db.close()

    return LedgerEnv(
        "sqlite",
        lambda: SQLiteBackend(path),
        tmp_path / "keys",
        lambda sql: run(sql, drop_guards=True),
        lambda sql: run(sql, drop_guards=False),
    )


@pytest.fixture(params=["sqlite", "postgres"])
def env(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[LedgerEnv]:
    if request.param == "sqlite":
        yield _sqlite_env(tmp_path)
    else:
        yield request.getfixturevalue("postgres_ledger_env")


def _fill(env: LedgerEnv, count: int, **options: object) -> None:
    """Append `count` records one at a time (one batch each), then close (final checkpoint)."""
    ledger = env.ledger(**options)
    try:
        for i in range(1, count + 1):
            ledger.submit(record(f"dec-{i}")).result(timeout=30)
    finally:
        ledger.close()


# --- appending --------------------------------------------------------------------------------


async def test_appends_are_acknowledged_in_order_and_chained(env: LedgerEnv) -> None:
    ledger = env.ledger()
    try:
        receipts = [await ledger.append(record(f"dec-{i}")) for i in range(3)]
    finally:
        ledger.close()
    assert [r.seq for r in receipts] == [1, 2, 3]
    with env.log() as log:
        stored = list(log._backend.iter_records())
    assert stored[0].prev_hash == "0" * 64
    assert [s.prev_hash for s in stored[1:]] == [r.hash for r in receipts[:2]]
    assert all(
        s.hash == record_hash(s.seq, s.recorded_at, s.decision_id, s.prev_hash, s.body) for s in stored
    )


async def test_a_decision_reads_back_with_its_whole_provenance(env: LedgerEnv) -> None:
    ledger = env.ledger()
    try:
        original = record(
            "dec-42", occurred_at=datetime(2026, 2, 2, 16, 0, tzinfo=timezone(timedelta(hours=1)))
        )
        await ledger.append(original)
        await ledger.append(record("dec-other"))
        await ledger.append(record("dec-42", status="approved", execution_mode="human"))
    finally:
        ledger.close()
    with env.log() as log:
        entries = log.records_for("dec-42")
        assert log.trace_ids("dec-42") == [TRACE_ID]
        assert [e.seq for e in log.tail(2)] == [2, 3]
    assert [e.record.status for e in entries] == ["executed", "approved"]
    assert entries[0].record == original
    assert entries[0].record.occurred_at.isoformat() == "2026-02-02T15:00:00+00:00"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"trace_id": "not-a-trace"}, "trace_id"),
        ({"occurred_at": datetime(2026, 2, 2)}, "occurred_at"),
        ({"status": "done"}, "status"),
        ({"decision_id": ""}, "decision_id"),
        ({"surprise": 1}, "surprise"),
    ],
)
def test_an_invalid_record_is_refused_before_anything_is_written(
    env: LedgerEnv, changes: dict[str, object], field: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        record(**changes)
    assert field in str(caught.value)
    _fill(env, 1)
    with env.log() as log:
        assert [e.seq for e in log.tail(5)] == [1]


def test_the_database_refuses_update_and_delete(env: LedgerEnv) -> None:
    _fill(env, 3)
    for sql in (
        "UPDATE audit_records SET body = '{}' WHERE seq = 2",
        "DELETE FROM audit_records WHERE seq = 2",
        "UPDATE audit_checkpoints SET head_hash = 'x'",
        "DELETE FROM audit_checkpoints",
    ):
        with pytest.raises(Exception, match=r"append-only|refused"):
            env.guarded_sql(sql)
    with env.log() as log:
        assert log.verify().ok


# --- verification and tampering ----------------------------------------------------------------


def test_an_intact_ledger_verifies_with_its_checkpoints(env: LedgerEnv) -> None:
    _fill(env, 25, checkpoint_every=10)
    with env.log() as log:
        report = log.verify()
    assert report.ok, report.problems
    assert (report.records, report.head_seq) == (25, 25)
    assert report.checkpoints >= 3  # at 10, 20 and the final one at close


@pytest.mark.parametrize(
    ("tampering", "kind", "first_bad"),
    [
        ("UPDATE audit_records SET body = replace(body, 'SKU-17', 'SKU-18') WHERE seq = 7", "edited", 7),
        ("UPDATE audit_records SET decision_id = 'dec-x' WHERE seq = 4", "edited", 4),
        ("DELETE FROM audit_records WHERE seq = 5", "missing", 5),
        (
            "UPDATE audit_records SET seq = -1 WHERE seq = 3; UPDATE audit_records SET seq = 3 WHERE seq = 6;"
            " UPDATE audit_records SET seq = 6 WHERE seq = -1",
            "unlinked",
            3,
        ),
        ("DELETE FROM audit_records WHERE seq > 10", "truncated", 11),
    ],
)
def test_tampering_with_the_triggers_dropped_is_found_and_located(
    env: LedgerEnv, tampering: str, kind: str, first_bad: int
) -> None:
    _fill(env, 12, checkpoint_every=1000)
    env.attacker_sql(tampering)
    with env.log() as log:
        report = log.verify()
    assert not report.ok
    assert report.first_problem is not None
    assert (report.first_problem.kind, report.first_problem.seq) == (kind, first_bad), report.problems


def test_an_inserted_record_is_found(env: LedgerEnv) -> None:
    _fill(env, 8)
    with env.log() as log:
        fourth = log._backend.records_for("dec-4")[0]
    forged_body = record("dec-forged").canonical_json()
    forged_hash = record_hash(5, fourth.recorded_at, "dec-forged", fourth.hash, forged_body)
    env.attacker_sql(
        "UPDATE audit_records SET seq = seq + 100 WHERE seq > 4;"
        " UPDATE audit_records SET seq = seq - 99 WHERE seq > 100;"
        f" INSERT INTO audit_records VALUES (5, '{fourth.recorded_at}', 'dec-forged', '{forged_body}',"
        f" '{fourth.hash}', '{forged_hash}')"
    )
    with env.log() as log:
        report = log.verify()
    assert report.first_problem is not None
    assert report.first_problem.seq == 6
    assert {p.kind for p in report.problems if p.seq == 6} == {"unlinked", "edited"}


def test_an_edited_and_rehashed_record_breaks_the_next_link(env: LedgerEnv) -> None:
    _fill(env, 6)
    with env.log() as log:
        third = log._backend.records_for("dec-3")[0]
    body = third.body.replace("SKU-17", "SKU-99")
    rehashed = record_hash(third.seq, third.recorded_at, third.decision_id, third.prev_hash, body)
    env.attacker_sql(f"UPDATE audit_records SET body = '{body}', hash = '{rehashed}' WHERE seq = 3")
    with env.log() as log:
        report = log.verify()
    assert report.first_problem is not None
    assert (report.first_problem.kind, report.first_problem.seq) == ("unlinked", 4)


def test_a_forged_checkpoint_is_found(env: LedgerEnv) -> None:
    _fill(env, 4)
    env.attacker_sql("INSERT INTO audit_checkpoints VALUES (2, 'ff', '2026-01-01T00:00:00+00:00', 'k', '00')")
    with env.log() as log:
        problems = log.verify().problems
    assert [(p.kind, p.seq) for p in problems] == [("bad_signature", 2)]


# --- failures -----------------------------------------------------------------------------------


class _FailingBackend:
    """A real backend whose next `failures` appends raise, as a full disk or a lock would."""

    def __init__(self, inner: SQLiteBackend, failures: int) -> None:
        self._inner = inner
        self.failures = failures
        self.name = inner.name

    def append(self, records: object) -> None:
        if self.failures > 0:
            self.failures -= 1
            raise sqlite3.OperationalError("database or disk is full")
        self._inner.append(records)  # type: ignore[arg-type]

    def __getattr__(self, name: str) -> object:
        return getattr(self._inner, name)


def test_a_failed_commit_is_retried_and_acknowledged_once(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite"
    flaky = _FailingBackend(SQLiteBackend(path), failures=2)
    factories = iter([lambda: SQLiteBackend(path), lambda: flaky])
    ledger = Ledger(lambda: next(factories)(), tmp_path / "keys", retry_delay=0.001)
    try:
        receipt = ledger.submit(record()).result(timeout=10)
    finally:
        ledger.close()
    assert receipt.seq == 1
    with AuditLog(SQLiteBackend(path), tmp_path / "keys") as log:
        assert [e.seq for e in log.tail(10)] == [1]
        assert log.verify().ok


def test_a_commit_that_keeps_failing_is_never_acknowledged_and_later_appends_continue(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite"
    flaky = _FailingBackend(SQLiteBackend(path), failures=3)
    factories = iter([lambda: SQLiteBackend(path), lambda: flaky])
    ledger = Ledger(lambda: next(factories)(), tmp_path / "keys", retry_attempts=3, retry_delay=0.001)
    try:
        with pytest.raises(LedgerWriteError, match="disk is full") as caught:
            ledger.submit(record("lost")).result(timeout=10)
        assert caught.value.attempts == 3
        kept = ledger.submit(record("kept")).result(timeout=10)
    finally:
        ledger.close()
    assert kept.seq == 1
    with AuditLog(SQLiteBackend(path), tmp_path / "keys") as log:
        assert log.records_for("lost") == []
        assert log.verify().ok


def test_a_locked_database_delays_but_does_not_lose_appends(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite"
    _fill(_sqlite_env(tmp_path), 1)
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")
    ledger = Ledger.sqlite(path, tmp_path / "keys")
    try:
        pending = ledger.submit(record("while-locked"))
        assert not pending.done()
        blocker.execute("COMMIT")
        assert pending.result(timeout=30).seq == 2
    finally:
        blocker.close()
        ledger.close()


# --- read-only queries and keys -----------------------------------------------------------------


@pytest.mark.parametrize(
    "sql",
    [
        "INSERT INTO audit_records VALUES (99, 'x', 'x', 'x', 'x', 'x')",
        "UPDATE audit_records SET body = 'x'",
        "DELETE FROM audit_records",
        "DROP TABLE audit_records",
        "SELECT 1; DELETE FROM audit_records",
    ],
)
def test_queries_are_read_only(env: LedgerEnv, sql: str) -> None:
    _fill(env, 2)
    with env.log() as log:
        assert log.query("SELECT count(*) FROM audit_records")[1] == [(2,)]
        with pytest.raises(ReadOnlyQueryError):
            log.query(sql)
        assert log.verify().records == 2


def test_the_signing_key_is_created_private_and_a_readable_one_is_refused(tmp_path: Path) -> None:
    key_dir = tmp_path / "keys"
    signer = load_or_create_signer(key_dir)
    private = key_dir / "audit-ed25519.pem"
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    assert stat.S_IMODE(key_dir.stat().st_mode) == 0o700
    assert load_or_create_signer(key_dir).key_id == signer.key_id
    private.chmod(0o644)
    with pytest.raises(SigningKeyError, match="chmod 600"):
        load_or_create_signer(key_dir)


async def test_an_async_append_that_cannot_be_committed_raises_and_is_not_acknowledged(
    tmp_path: Path,
) -> None:
    path = tmp_path / "ledger.sqlite"
    flaky = _FailingBackend(SQLiteBackend(path), failures=2)
    factories = iter([lambda: SQLiteBackend(path), lambda: flaky])
    ledger = Ledger(lambda: next(factories)(), tmp_path / "keys", retry_attempts=2, retry_delay=0.001)
    try:
        with pytest.raises(LedgerWriteError):
            await ledger.append(record("lost"))
        assert (await ledger.append(record("kept"))).seq == 1
    finally:
        ledger.close()


def test_two_writers_on_one_ledger_keep_one_chain(env: LedgerEnv) -> None:
    """Two ledgers (as in two processes: gateway and agent) append to the same store at once."""
    first, second = env.ledger(), env.ledger()
    try:
        futures = [
            ledger.submit(record(f"{name}-{i}"))
            for i in range(150)
            for name, ledger in (("gateway", first), ("agent", second))
        ]
        assert sorted(f.result(timeout=60).seq for f in futures) == list(range(1, 301))
    finally:
        first.close()
        second.close()
    with env.log() as log:
        report = log.verify()
    assert report.ok, report.problems
    assert report.records == 300
