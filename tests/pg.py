"""A throwaway PostgreSQL server for the tests, run from the machine's own server binaries.

The server listens on 127.0.0.1 only, on a free port, with its data directory, unix socket and
log in one temporary directory, and trusts every local connection (user `postgres`). PostgreSQL
refuses to run as root, so when the tests run as root `initdb` and `pg_ctl` run as the
`postgres` OS user, which owns the temporary directory.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo

from mesh.supervisor._ports import pick_free_ports
from tests.processes import processes_mentioning

SKIP_REASON = "PostgreSQL server binaries not found; .ci/run installs them (apt-get install postgresql)"
SERVER_USER = "postgres"
SUPERUSER = "postgres"
HOST = "127.0.0.1"

RunSQL = Callable[[str], None]

_SERVER_OPTIONS = ("-c", "max_connections=50", "-c", "dynamic_shared_memory_type=mmap")


class PostgresStartError(RuntimeError):
    """The server did not start; the message holds pg_ctl's output and the server log."""


def find_server_binaries() -> Path | None:
    """The directory holding `initdb`, `pg_ctl` and `postgres`: Debian's newest, else `pg_ctl` on PATH."""

    def major(pg_ctl: Path) -> int:
        version = pg_ctl.parent.parent.name
        return int(version) if version.isdigit() else 0

    installed = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"), key=major, reverse=True)
    on_path = shutil.which("pg_ctl")
    for pg_ctl in [*installed, *([Path(on_path)] if on_path else [])]:
        bin_dir = pg_ctl.resolve().parent
        if all((bin_dir / tool).is_file() for tool in ("initdb", "pg_ctl", "postgres")):
            return bin_dir
    return None


def _as_server_user() -> dict[str, Any]:
    """`subprocess` arguments that drop root privileges to the postgres OS user, when root."""
    if os.geteuid() != 0:
        return {}
    return {"user": SERVER_USER, "group": SERVER_USER, "extra_groups": []}


class PostgresServer:
    """One PostgreSQL server in `root`: `start()`, then `dsn()` and databases, then `stop()`."""

    def __init__(self, bin_dir: Path, root: Path) -> None:
        self.bin_dir = bin_dir
        self.root = root
        self.data_dir = root / "data"
        self.log_file = root / "server.log"
        self.port = 0
        self._background = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pg-create-database")
        self._spare: Future[str] | None = None

    def dsn(self, dbname: str = "postgres") -> str:
        return make_conninfo(host=HOST, port=self.port, user=SUPERUSER, dbname=dbname, connect_timeout=10)

    def start(self, attempts: int = 3) -> None:
        """Create the cluster and start the server, trying another port when the chosen one is taken."""
        initdb: list[str | Path] = ["-D", self.data_dir, "-U", SUPERUSER, "-A", "trust", "-E", "UTF8"]
        self._run("initdb", *initdb, "--locale=C", "--no-sync")
        for attempt in range(1, attempts + 1):
            self.port = pick_free_ports(HOST, 1)[0]
            options = " ".join(["-h", HOST, "-p", str(self.port), "-k", str(self.root), *_SERVER_OPTIONS])
            start: list[str | Path] = ["-D", self.data_dir, "-l", self.log_file, "-w", "-t", "60"]
            logged_before = len(self._log())
            result = self._run("pg_ctl", *start, "-o", options, "start", check=False)
            if result.returncode == 0:
                return
            log = self._log()
            if attempt == attempts or "could not bind" not in log[logged_before:]:
                raise PostgresStartError(
                    f"PostgreSQL did not start (pg_ctl exit {result.returncode}):\n"
                    f"{result.stdout}{result.stderr}\n--- {self.log_file} ---\n{log}"
                )

    def stop(self) -> None:
        """Stop the server (fast shutdown: disconnect clients, no waiting for them) and wait for it."""
        self._background.shutdown(wait=True)
        if not (self.data_dir / "postmaster.pid").exists():
            return
        stopped = self._run(
            "pg_ctl", "-D", self.data_dir, "-m", "fast", "-w", "-t", "30", "stop", check=False
        )
        if stopped.returncode != 0:
            self._run("pg_ctl", "-D", self.data_dir, "-m", "immediate", "-w", "-t", "30", "stop", check=False)
        if leftovers := processes_mentioning(self.data_dir):
            raise RuntimeError(f"PostgreSQL processes left running: {leftovers}")

    @contextmanager
    def fresh_database(self) -> Iterator[str]:
        """A new empty database for one test: yields its DSN, drops it afterwards (closing its sessions).

        CREATE DATABASE takes ~0.2 s, so the next test's database is created while this test runs.
        """
        if self._spare is None:
            self._spare = self._background.submit(self._create_database)
        name = self._spare.result()
        self._spare = self._background.submit(self._create_database)
        try:
            yield self.dsn(name)
        finally:
            with psycopg.connect(self.dsn(), autocommit=True) as admin:
                admin.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))

    def _create_database(self) -> str:
        name = f"test_{uuid.uuid4().hex[:16]}"
        with psycopg.connect(self.dsn(), autocommit=True) as admin:
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return name

    def _log(self) -> str:
        try:
            return self.log_file.read_text(errors="replace")
        except OSError as error:
            return f"(no log: {error})"

    def _run(self, tool: str, *args: str | Path, check: bool = True) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [str(self.bin_dir / tool), *map(str, args)],
            cwd=self.root,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            **_as_server_user(),
        )
        if check and result.returncode != 0:
            raise PostgresStartError(
                f"{tool} failed (exit {result.returncode}):\n{result.stdout}{result.stderr}"
            )
        return result


@contextmanager
def running_postgres(bin_dir: Path) -> Iterator[PostgresServer]:
    """A started server in a new temporary directory; stopped and removed on exit."""
    if os.geteuid() == 0:
        try:
            pwd.getpwnam(SERVER_USER)
        except KeyError:
            raise PostgresStartError(
                f"running as root, the server must run as the {SERVER_USER!r} OS user, which does not exist"
                " (apt-get install postgresql creates it)"
            ) from None
    root = Path(tempfile.mkdtemp(prefix="mesh-pg-"))
    try:
        if os.geteuid() == 0:
            shutil.chown(root, SERVER_USER, SERVER_USER)
        server = PostgresServer(bin_dir, root)
        try:
            server.start()
            yield server
        finally:
            server.stop()
    finally:
        shutil.rmtree(root, ignore_errors=True)


def run_sql(dsn: str, statements: str) -> None:
    """Run `statements` (several allowed, `;`-separated) in one transaction, as the DSN's user."""
    with psycopg.connect(dsn) as connection:
        connection.execute(statements.encode())


def drop_append_only_guards(dsn: str) -> None:
    """Test only: drop the ledger's append-only triggers, as an attacker with superuser rights could."""
    with psycopg.connect(dsn) as connection:
        triggers = connection.execute(
            "SELECT tgname, tgrelid::regclass::text FROM pg_trigger WHERE NOT tgisinternal"
            " AND tgrelid IN ('audit_records'::regclass, 'audit_checkpoints'::regclass)"
        ).fetchall()
        for trigger, table in triggers:
            connection.execute(
                sql.SQL("DROP TRIGGER {} ON {}").format(sql.Identifier(trigger), sql.Identifier(table))
            )


def tamper(dsn: str, statements: str) -> None:
    """Test only: drop the append-only triggers, then run `statements` (see `run_sql`)."""
    drop_append_only_guards(dsn)
    run_sql(dsn, statements)
