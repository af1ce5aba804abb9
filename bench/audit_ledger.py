"""Audit ledger throughput: chained, durable, batched appends and full verification.

Each figure is printed next to a baseline measured in the same run on the same database:
a plain, un-chained INSERT of the same rows, and a plain scan of the same rows.

    uv run python bench/audit_ledger.py [--appends 100000] [--verify 1000000]
    uv run python bench/audit_ledger.py --backend postgres --dsn postgresql://...

Targets (ARCHITECTURE.md): at least 20,000 appends/s; verify 1,000,000 records in under 10 s.
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from mesh.audit import (
    GENESIS_HASH,
    AuditLog,
    AuditRecord,
    Caller,
    DataProductInput,
    Ledger,
    LedgerBackend,
    PolicyEvaluation,
    SQLiteBackend,
    StoredRecord,
    record_hash,
)

BATCH = 1000


def _record(i: int) -> AuditRecord:
    return AuditRecord(
        decision_id=f"dec-{i // 4}",
        occurred_at=datetime.now(UTC),
        agent="inventory-agent",
        domain="inventory",
        action="reorder",
        parameters={"sku_id": f"SKU-{i % 12 + 1:02d}", "region": "EU", "quantity": i % 500},
        inputs=[
            DataProductInput(product_id="inventory.stock_positions", version="1.0.0", freshness_seconds=60)
        ],
        policies=[PolicyEvaluation(policy_id="global.carbon_budget", outcome="allow", policy_version="1")],
        execution_mode="autonomous",
        status="executed",
        outcome={"service_level": 0.97},
        caller=Caller(subject="agent:inventory", client_id="inventory-agent", scopes=["inventory:read"]),
        trace_id=f"{i:032x}",
    )


def _chained_rows(count: int, start_seq: int = 1, previous: str = GENESIS_HASH) -> list[StoredRecord]:
    body = _record(0).canonical_json()
    recorded_at = datetime.now(UTC).isoformat()
    rows = []
    for seq in range(start_seq, start_seq + count):
        digest = record_hash(seq, recorded_at, f"dec-{seq}", previous, body)
        rows.append(StoredRecord(seq, recorded_at, f"dec-{seq}", body, previous, digest))
        previous = digest
    return rows


def bench_appends(factory: Callable[[], LedgerBackend], keys: Path, count: int) -> float:
    """Appends from an event loop, as the gateway makes them: many in flight, each awaited."""
    records = [_record(i) for i in range(count)]
    ledger = Ledger(factory, keys, max_batch=BATCH)

    async def append_all() -> float:
        began = time.perf_counter()
        await asyncio.gather(*(ledger.submit_async(r) for r in records))
        return time.perf_counter() - began

    elapsed = asyncio.run(append_all())
    ledger.close()
    return count / elapsed


def bench_plain_insert_sqlite(path: Path, count: int) -> float:
    """The same records rendered to JSON and inserted in the same batches, with no chain and no acks."""
    records = [_record(i) for i in range(count)]
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    db.execute("CREATE TABLE plain (seq INTEGER PRIMARY KEY, recorded_at TEXT, decision_id TEXT, body TEXT)")
    db.execute("CREATE INDEX plain_decision ON plain (decision_id)")
    began = time.perf_counter()
    for offset in range(0, count, BATCH):
        rows = [
            (i, "t", f"dec-{i}", records[i].canonical_json())
            for i in range(offset, min(offset + BATCH, count))
        ]
        db.execute("BEGIN IMMEDIATE")
        db.executemany("INSERT INTO plain VALUES (?, ?, ?, ?)", rows)
        db.execute("COMMIT")
    elapsed = time.perf_counter() - began
    db.close()
    return count / elapsed


def bench_plain_insert_postgres(dsn: str, count: int) -> float:
    """The same records rendered to JSON and copied in the same batches into a plain table."""
    import psycopg

    records = [_record(i) for i in range(count)]
    with psycopg.connect(dsn) as db:
        db.execute("DROP TABLE IF EXISTS plain")
        db.execute(
            "CREATE TABLE plain (seq BIGINT PRIMARY KEY, recorded_at TEXT, decision_id TEXT, body TEXT)"
        )
        db.execute("CREATE INDEX plain_decision ON plain (decision_id)")
        db.commit()
        began = time.perf_counter()
        for offset in range(0, count, BATCH):
            with db.transaction(), db.cursor() as cursor, cursor.copy("COPY plain FROM STDIN") as copy:
                for i in range(offset, min(offset + BATCH, count)):
                    copy.write_row((i, "t", f"dec-{i}", records[i].canonical_json()))
        elapsed = time.perf_counter() - began
        db.execute("DROP TABLE plain")
        db.commit()
    return count / elapsed


def bench_verify(factory: Callable[[], LedgerBackend], keys: Path, count: int) -> tuple[float, float, bool]:
    backend = factory()
    backend.open()
    seq, head = backend.head()
    for offset in range(0, count, 50_000):
        rows = _chained_rows(min(50_000, count - offset), seq + 1, head)
        backend.append(rows)
        seq, head = rows[-1].seq, rows[-1].hash
    began = time.perf_counter()
    scanned = sum(1 for _ in backend.iter_records())
    scan = time.perf_counter() - began
    backend.close()
    with AuditLog(factory(), keys) as log:
        report = log.verify()
    assert scanned == report.records
    return report.seconds, scan, report.ok


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--appends", type=int, default=100_000)
    parser.add_argument("--verify", type=int, default=1_000_000)
    parser.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--dsn", help="PostgreSQL DSN of an empty database (postgres backend)")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="audit-bench-"))
    keys = workdir / "keys"
    if args.backend == "postgres":
        from mesh.audit._postgres import PostgresBackend

        if not args.dsn:
            parser.error("--backend postgres needs --dsn")
        dsn: str = args.dsn
        factory: Callable[[], LedgerBackend] = lambda: PostgresBackend(dsn)  # noqa: E731
        verify_factory = factory
    else:
        factory = lambda: SQLiteBackend(workdir / "ledger.sqlite")  # noqa: E731
        verify_factory = lambda: SQLiteBackend(workdir / "verify.sqlite")  # noqa: E731

    print(f"audit ledger benchmark ({args.backend}, batches of {BATCH}, durable commits)")
    chained = bench_appends(factory, keys, args.appends)
    line = f"  appends:  chained {chained:>9,.0f}/s"
    if args.backend == "sqlite":
        plain = bench_plain_insert_sqlite(workdir / "plain.sqlite", args.appends)
    else:
        plain = bench_plain_insert_postgres(args.dsn, args.appends)
    line += f" | plain insert {plain:>9,.0f}/s | chained/plain {chained / plain:.2f}"
    print(line + f" | target >= 20,000/s: {'PASS' if chained >= 20_000 else 'FAIL'}")
    verify_seconds, scan_seconds, ok = bench_verify(verify_factory, keys, args.verify)
    print(
        f"  verify:   {args.verify:,} records in {verify_seconds:.2f} s | plain scan {scan_seconds:.2f} s"
        f" | verify/scan {verify_seconds / scan_seconds:.1f}x | intact: {ok}"
        f" | target < 10 s: {'PASS' if verify_seconds < 10 else 'FAIL'}"
    )


if __name__ == "__main__":
    main()
