"""PostgreSQL fixtures: one throwaway server per session (`tests/pg.py`), one fresh database per test.

Every fixture here needs the server binaries; without them the tests using them are skipped with
`tests.pg.SKIP_REASON`. A server that does not start is an error carrying its log, never a skip.

- `postgres_dsn` (session): superuser DSN of the server's `postgres` database.
- `postgres_database`: DSN (superuser) of a new empty database, dropped after the test.
- `postgres_backend`: an opened `PostgresBackend` on `postgres_database`, closed after the test.
- `postgres_sql`: `run(sql)` on `postgres_database` with the append-only triggers in place.
- `postgres_tamper`: `tamper(sql)` on `postgres_database` after dropping the append-only triggers,
  as an attacker with superuser rights would.
- `postgres_ledger_env`: a `LedgerEnv` (tests/audit/records.py) over `postgres_database`.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from pathlib import Path

import pytest

from mesh.audit._postgres import PostgresBackend
from tests.audit.records import LedgerEnv
from tests.pg import (
    SKIP_REASON,
    PostgresServer,
    RunSQL,
    find_server_binaries,
    run_sql,
    running_postgres,
    tamper,
)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    bin_dir = find_server_binaries()
    if bin_dir is None:
        pytest.skip(SKIP_REASON)
    with running_postgres(bin_dir) as server:
        yield server


@pytest.fixture(scope="session")
def postgres_dsn(postgres_server: PostgresServer) -> str:
    return postgres_server.dsn()


@pytest.fixture
def postgres_database(postgres_server: PostgresServer) -> Iterator[str]:
    with postgres_server.fresh_database() as dsn:
        yield dsn


@pytest.fixture
def postgres_backend(postgres_database: str) -> Iterator[PostgresBackend]:
    backend = PostgresBackend(postgres_database)
    backend.open()
    try:
        yield backend
    finally:
        backend.close()


@pytest.fixture
def postgres_sql(postgres_database: str) -> RunSQL:
    return partial(run_sql, postgres_database)


@pytest.fixture
def postgres_tamper(postgres_database: str) -> RunSQL:
    return partial(tamper, postgres_database)


@pytest.fixture
def postgres_ledger_env(
    postgres_database: str, postgres_sql: RunSQL, postgres_tamper: RunSQL, tmp_path: Path
) -> LedgerEnv:
    return LedgerEnv(
        "postgres",
        lambda: PostgresBackend(postgres_database),
        tmp_path / "keys",
        postgres_tamper,
        postgres_sql,
    )
