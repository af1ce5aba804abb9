from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Callable, Iterable
from pathlib import Path

import pytest

from mesh.settings import MeshSettings
from mesh.supervisor import ComponentKind, ComponentSpec, RunningComponent
from mesh.supervisor._ports import pick_free_ports
from mesh.supervisor._process import live_group_members

HERE = Path(__file__).parent
FAKE_COMPONENT = HERE / "fake_component.py"
FAKE_MCP_PATH = HERE / "fake_mcp"

FakeSpec = Callable[..., ComponentSpec]


@pytest.fixture(autouse=True)
def _no_mesh_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("MESH_"):
            monkeypatch.delenv(name)


@pytest.fixture
def settings(tmp_path: Path) -> MeshSettings:
    return MeshSettings(data_dir=tmp_path / "data", start_timeout=5.0, stop_timeout=2.0)


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    return tmp_path / "run"


@pytest.fixture
def fake_spec() -> FakeSpec:
    def make(name: str, *flags: str, port: int | None = None, kind: ComponentKind = "mcp") -> ComponentSpec:
        port = port or pick_free_ports("127.0.0.1", 1)[0]
        return ComponentSpec(
            name=name,
            kind=kind,
            argv=(sys.executable, str(FAKE_COMPONENT), "--port", str(port), *flags),
            endpoint=f"http://127.0.0.1:{port}/mcp",
            health_url=f"http://127.0.0.1:{port}/healthz",
            ports=(port,),
        )

    return make


@pytest.fixture
def dead_pid() -> int:
    """The pid of a process that has exited and been reaped."""
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait(timeout=10)
    return process.pid


async def eventually(condition: Callable[[], bool], within: float = 10.0) -> None:
    """Poll `condition` (something outside this process) every 10 ms until true, at most `within` s."""
    for _ in range(int(within / 0.01)):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"condition not met within {within}s")


def assert_nothing_started(run_dir: Path) -> None:
    assert not (run_dir / "logs").exists(), "a component was started"


def assert_nothing_left(pgids: Iterable[int]) -> None:
    leftovers = {pgid: members for pgid in pgids if (members := live_group_members(pgid))}
    assert leftovers == {}, f"processes left behind, by process group: {leftovers}"


def pgids_of(components: Iterable[RunningComponent]) -> list[int]:
    return [component.pid for component in components]
