"""What survives a crash, and the `mesh audit` commands as a user runs them."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

from typer.testing import CliRunner

from mesh.audit import AuditLog, SQLiteBackend
from mesh.cli import app
from mesh.settings import MeshSettings
from tests.audit.records import record

_WRITER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from mesh.audit import Ledger
    from tests.audit.records import record

    ledger = Ledger.sqlite(Path(sys.argv[1]), Path(sys.argv[2]))
    for i in range(1_000_000):
        receipt = ledger.submit(record(f"dec-{i}")).result()
        print(receipt.seq, flush=True)
    """
)


def test_every_acknowledged_record_survives_the_writer_being_killed(tmp_path: Path) -> None:
    path, keys = tmp_path / "ledger.sqlite", tmp_path / "keys"
    writer = subprocess.Popen(
        [sys.executable, "-c", _WRITER, str(path), str(keys)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).parents[2],
    )
    assert writer.stdout is not None
    acknowledged = 0
    try:
        for line in writer.stdout:
            acknowledged = int(line)
            if acknowledged >= 300:
                break
        writer.send_signal(signal.SIGKILL)
    finally:
        writer.kill()
        writer.wait(timeout=10)
        writer.stdout.close()
    assert acknowledged >= 300
    with AuditLog(SQLiteBackend(path), keys) as log:
        report = log.verify()
    assert report.ok, report.problems
    assert report.records >= acknowledged


_APPENDER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from mesh.audit import Ledger
    from tests.audit.records import record

    ledger = Ledger.sqlite(Path(sys.argv[1]), Path(sys.argv[2]))
    futures = [ledger.submit(record(f"{sys.argv[3]}-{i}")) for i in range(int(sys.argv[4]))]
    for future in futures:
        future.result()
    ledger.close()
    """
)


def test_several_processes_append_to_one_ledger_without_breaking_the_chain(tmp_path: Path) -> None:
    path, keys = tmp_path / "ledger.sqlite", tmp_path / "keys"
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", _APPENDER, str(path), str(keys), name, "400"],
            cwd=Path(__file__).parents[2],
        )
        for name in ("gateway", "agent")
    ]
    assert [writer.wait(timeout=60) for writer in writers] == [0, 0]
    with AuditLog(SQLiteBackend(path), keys) as log:
        report = log.verify()
        decisions = {decision for (decision,) in log.query("SELECT decision_id FROM audit_records")[1]}
    assert report.ok, report.problems
    assert report.records == 800
    assert len(decisions) == 800


def _seed_ledger(data_dir: Path) -> None:
    from mesh.audit import open_ledger

    ledger = open_ledger(MeshSettings(data_dir=data_dir))
    try:
        for i in range(3):
            ledger.submit(record(f"dec-{i}")).result(timeout=10)
    finally:
        ledger.close()


def _mesh(data_dir: Path, *arguments: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["--data-dir", str(data_dir), *arguments])
    return result.exit_code, result.stdout, result.stderr


def test_audit_verify_tail_show_and_query(tmp_path: Path) -> None:
    _seed_ledger(tmp_path)
    code, out, _ = _mesh(tmp_path, "audit", "verify")
    assert code == 0
    assert "ledger intact: 3 records" in out
    code, out, _ = _mesh(tmp_path, "audit", "tail", "-n", "2")
    assert code == 0
    assert "dec-1" in out
    assert "dec-0" not in out
    code, out, _ = _mesh(tmp_path, "audit", "show", "dec-2")
    assert code == 0
    assert "global.carbon_budget@1" in out
    assert "inventory.stock_positions@1.0.0" in out
    code, out, _ = _mesh(tmp_path, "audit", "query", "--json", "SELECT seq, decision_id FROM audit_records")
    assert code == 0
    assert json.loads(out) == [{"seq": i + 1, "decision_id": f"dec-{i}"} for i in range(3)]


def test_audit_query_refuses_writes_and_show_says_when_nothing_is_recorded(tmp_path: Path) -> None:
    _seed_ledger(tmp_path)
    code, _, err = _mesh(tmp_path, "audit", "query", "DELETE FROM audit_records")
    assert code == 2
    assert "read-only" in err
    code, _, err = _mesh(tmp_path, "audit", "query", "SELECT nope FROM audit_records")
    assert code == 1
    assert "no such column" in err
    code, _, err = _mesh(tmp_path, "audit", "show", "dec-404")
    assert code == 1
    assert "no audit record for decision 'dec-404'" in err


def test_audit_verify_names_the_first_bad_record(tmp_path: Path) -> None:
    import sqlite3

    _seed_ledger(tmp_path)
    db = sqlite3.connect(tmp_path / "audit" / "ledger.sqlite")
    db.execute("DROP TRIGGER audit_records_no_update")
    db.execute("UPDATE audit_records SET body = replace(body, '240', '999') WHERE seq = 2")
    db.commit()
    db.close()
    code, out, _ = _mesh(tmp_path, "audit", "verify")
    assert code == 1
    assert "ledger TAMPERED" in out
    assert "record 2: edited" in out


def test_audit_commands_without_a_ledger_say_so(tmp_path: Path) -> None:
    code, _, err = _mesh(tmp_path, "audit", "verify")
    assert code == 1
    assert "no audit ledger at" in err


def test_many_processes_opening_a_new_ledger_at_once_all_succeed(tmp_path: Path) -> None:
    """As `mesh up` does: the gateway, the domain servers and the agents open one new ledger together."""
    opener = "import sys; from pathlib import Path; from mesh.audit import Ledger; Ledger.sqlite(Path(sys.argv[1]), Path(sys.argv[2])).close()"
    path, keys = tmp_path / "ledger.sqlite", tmp_path / "keys"
    openers = [
        subprocess.Popen([sys.executable, "-c", opener, str(path), str(keys)], cwd=Path(__file__).parents[2])
        for _ in range(8)
    ]
    assert [p.wait(timeout=60) for p in openers] == [0] * 8
    with AuditLog(SQLiteBackend(path), keys) as log:
        assert log.verify().ok
