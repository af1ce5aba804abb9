from __future__ import annotations

import json
import os
import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest

from mesh.supervisor import (
    ComponentState,
    MeshAlreadyRunningError,
    MeshState,
    StateFileError,
    read_live_state,
    read_state,
)
from mesh.supervisor._state import claim_state_file, remove_state, write_state


def _state(pid: int, data_dir: Path) -> MeshState:
    return MeshState(
        supervisor_pid=pid,
        started_at=datetime.now(UTC),
        data_dir=str(data_dir),
        seed=7,
        scenario="volatile",
        components=(
            ComponentState(
                name="nats",
                kind="nats",
                pid=pid,
                endpoint="nats://127.0.0.1:4222",
                health_url="http://127.0.0.1:8222/healthz",
                log=str(data_dir / "run" / "logs" / "nats.log"),
            ),
        ),
    )


def test_state_file_is_private_json_with_the_documented_fields(tmp_path: Path) -> None:
    state_file = tmp_path / "run" / "state.json"

    state = _state(os.getpid(), tmp_path)

    write_state(state_file, state)

    assert stat.S_IMODE(state_file.stat().st_mode) == 0o600
    document = json.loads(state_file.read_text())
    assert set(document) == {
        "version",
        "supervisor_pid",
        "started_at",
        "data_dir",
        "seed",
        "scenario",
        "components",
    }
    assert set(document["components"][0]) == {"name", "kind", "pid", "endpoint", "health_url", "log"}
    assert read_state(state_file) == state
    assert [path.name for path in state_file.parent.iterdir()] == ["state.json"]


def test_claim_refuses_a_state_file_whose_supervisor_is_alive(tmp_path: Path) -> None:
    state_file = tmp_path / "state.json"
    live = _state(os.getpid(), tmp_path)
    write_state(state_file, live)

    with pytest.raises(MeshAlreadyRunningError, match=f"already running from {tmp_path}, pid {os.getpid()}"):
        claim_state_file(state_file, _state(os.getpid(), tmp_path))

    assert read_state(state_file) == live


def test_claim_replaces_a_stale_state_file(tmp_path: Path, dead_pid: int) -> None:
    state_file = tmp_path / "state.json"
    write_state(state_file, _state(dead_pid, tmp_path))
    assert read_live_state(state_file) is None

    claim_state_file(state_file, _state(os.getpid(), tmp_path))

    assert read_live_state(state_file) is not None
    assert stat.S_IMODE(state_file.stat().st_mode) == 0o600


def test_remove_state_leaves_another_supervisors_file(tmp_path: Path, dead_pid: int) -> None:
    state_file = tmp_path / "state.json"
    write_state(state_file, _state(dead_pid, tmp_path))

    remove_state(state_file, os.getpid())
    assert state_file.exists()
    remove_state(state_file, dead_pid)
    assert not state_file.exists()


def test_unreadable_state_file_is_an_error_not_a_guess(tmp_path: Path) -> None:
    state_file = tmp_path / "state.json"
    state_file.write_text("{not json")

    with pytest.raises(StateFileError, match="remove it if no mesh is running"):
        read_state(state_file)
