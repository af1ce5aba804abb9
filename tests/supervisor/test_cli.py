from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mesh.cli import app
from mesh.settings import DOMAINS, MeshSettings
from mesh.supervisor import ComponentState, MeshState, embedded_components, read_state, run_embedded
from mesh.supervisor._process import pid_alive
from mesh.supervisor._state import write_state
from tests.processes import processes_mentioning

from .conftest import FAKE_MCP_PATH, FakeSpec, assert_nothing_left

BOUND = 60.0


def _status(data_dir: Path, *options: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["--data-dir", str(data_dir), "status", *options])
    return result.exit_code, result.stdout


async def test_status_json_reports_a_running_mesh_ready(settings: MeshSettings, fake_spec: FakeSpec) -> None:
    components = [embedded_components(settings)[0], fake_spec("mcp-demand")]

    async with asyncio.timeout(BOUND), run_embedded(settings, components=components) as mesh:
        exit_code, output = await asyncio.to_thread(_status, settings.data_dir, "--json")

    assert exit_code == 0, output
    document = json.loads(output)
    assert document["running"] is True
    assert document["supervisor_pid"] == os.getpid()
    assert document["started_at"] == mesh.state.started_at.isoformat()
    assert document["components"] == [
        {"name": c.name, "kind": c.kind, "pid": c.pid, "endpoint": c.endpoint, "ready": True}
        for c in mesh.state.components
    ]


def test_status_without_a_mesh_exits_1(tmp_path: Path) -> None:
    assert _status(tmp_path, "--json") == (
        1,
        json.dumps({"running": False, "data_dir": str(tmp_path)}) + "\n",
    )
    exit_code, output = _status(tmp_path)
    assert exit_code == 1
    assert f"no mesh running from {tmp_path}" in output


def test_status_with_a_stale_state_file_says_no_mesh(settings: MeshSettings, dead_pid: int) -> None:
    write_state(
        settings.state_file,
        MeshState(
            supervisor_pid=dead_pid, started_at=datetime.now(UTC), data_dir="x", seed=7, scenario="volatile"
        ),
    )

    exit_code, output = _status(settings.data_dir, "--json")

    assert (exit_code, json.loads(output)["running"]) == (1, False)


def test_status_exits_2_when_a_component_does_not_answer(settings: MeshSettings) -> None:
    unanswered = "http://127.0.0.1:9/healthz"
    write_state(
        settings.state_file,
        MeshState(
            supervisor_pid=os.getpid(),
            started_at=datetime.now(UTC),
            data_dir=str(settings.data_dir),
            seed=7,
            scenario="volatile",
            components=(
                ComponentState(
                    name="nats", kind="nats", pid=1, endpoint="nats://x", health_url=unanswered, log="l"
                ),
            ),
        ),
    )

    exit_code, output = _status(settings.data_dir, "--json")
    assert exit_code == 2
    assert json.loads(output)["components"][0]["ready"] is False
    exit_code, output = _status(settings.data_dir)
    assert exit_code == 2
    assert "not ready" in output


def test_up_reports_a_taken_port_in_red_and_exits_1(tmp_path: Path) -> None:
    import socket

    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        taken = squatter.getsockname()[1]
        result = CliRunner(env={"MESH_MCP_PORTS": json.dumps({"logistics": taken})}).invoke(
            app, ["--data-dir", str(tmp_path), "up"]
        )

    assert result.exit_code == 1
    assert f"'mcp-logistics': port {taken}" in result.stderr
    assert not (tmp_path / "run" / "state.json").exists()


def test_bad_settings_are_reported_with_exit_2(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["--config", str(tmp_path / "missing.toml"), "status"])

    assert result.exit_code == 2
    assert "missing.toml" in result.stderr


def _mesh_up(
    data_dir: Path, cwd: Path, fake_flags: dict[str, list[str]] | None = None
) -> subprocess.Popen[str]:
    environment = {key: value for key, value in os.environ.items() if not key.startswith("MESH_")}
    environment |= {
        "PYTHONPATH": str(FAKE_MCP_PATH),
        "FAKE_MCP_FLAGS": json.dumps(fake_flags or {}),
        "COLUMNS": "200",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "mesh", "--data-dir", str(data_dir), "up"],
        cwd=cwd,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_for_components(state_file: Path, process: subprocess.Popen[str]) -> MeshState:
    deadline = time.monotonic() + BOUND
    while time.monotonic() < deadline and process.poll() is None:
        state = read_state(state_file) if state_file.exists() else None
        if state is not None and state.components:
            return state
        time.sleep(0.05)
    process.kill()
    pytest.fail(f"mesh up did not get ready: {process.communicate(timeout=5)}")


def test_python_m_mesh_up_runs_until_sigterm_and_leaves_nothing(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    process = _mesh_up(data_dir, tmp_path)
    try:
        state = _wait_for_components(data_dir / "run" / "state.json", process)
        assert _status(data_dir)[0] == 0
        process.send_signal(signal.SIGTERM)
        stdout, stderr = process.communicate(timeout=BOUND)
    finally:
        process.kill()

    assert process.returncode == 0, stderr
    assert [c.name for c in state.components] == [
        "nats",
        "gateway",
        *(f"mcp-{domain}" for domain in DOMAINS),
        *(f"agent-{domain}" for domain in DOMAINS),
    ]
    assert state.supervisor_pid == process.pid
    assert "mesh ready in" in stdout
    assert "mesh stopped" in stdout
    assert not any(pid_alive(c.pid) for c in state.components)
    assert_nothing_left(c.pid for c in state.components)
    assert not (data_dir / "run" / "state.json").exists()


def test_ctrl_c_while_starting_stops_what_had_started_and_exits_130(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    slow_log = data_dir / "run" / "logs" / "mcp-demand.log"
    process = _mesh_up(data_dir, tmp_path, {"demand": ["--slow", "30"]})
    try:
        deadline = time.monotonic() + BOUND
        while not (slow_log.exists() and "starting" in slow_log.read_text()) and time.monotonic() < deadline:
            time.sleep(0.02)
        starting = read_state(data_dir / "run" / "state.json")
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=BOUND)
    finally:
        process.kill()

    assert process.returncode == 130, stderr
    assert "start interrupted by SIGINT" in stderr
    assert starting is not None
    assert (starting.supervisor_pid, starting.components) == (process.pid, ())
    assert not (data_dir / "run" / "state.json").exists()
    assert not processes_mentioning(data_dir)


def test_mesh_up_exits_1_when_a_component_dies_at_start(tmp_path: Path) -> None:
    process = _mesh_up(tmp_path / "data", tmp_path, {"inventory": ["--die-at-start", "5"]})
    try:
        _, stderr = process.communicate(timeout=BOUND)
    finally:
        process.kill()

    assert process.returncode == 1
    assert "component 'mcp-inventory' exited with code 5 during start" in stderr
    assert "fatal: told to die with code 5" in stderr


def test_mesh_up_exits_1_when_a_component_dies_while_running(tmp_path: Path) -> None:
    process = _mesh_up(tmp_path / "data", tmp_path)
    try:
        state = _wait_for_components(tmp_path / "data" / "run" / "state.json", process)
        demand = next(c for c in state.components if c.name == "mcp-demand")
        os.kill(demand.pid, signal.SIGKILL)
        stdout, stderr = process.communicate(timeout=BOUND)
    finally:
        process.kill()

    assert process.returncode == 1
    assert "mesh ready in" in stdout
    assert "component 'mcp-demand' exited with code -9 while running" in stderr
    assert not (tmp_path / "data" / "run" / "state.json").exists()


def test_help_lists_the_commands() -> None:
    result = CliRunner().invoke(app, ["--help"])

    assert result.exit_code == 0
    assert "up" in result.stdout
    assert "status" in result.stdout
