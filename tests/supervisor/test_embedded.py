from __future__ import annotations

import asyncio
import json
import os
import stat
from datetime import UTC, datetime

import pytest

from mesh.settings import MeshSettings
from mesh.supervisor import (
    ComponentFailedError,
    ComponentSpec,
    MeshAlreadyRunningError,
    MeshState,
    embedded_components,
    read_state,
    run_embedded,
)
from mesh.supervisor._state import write_state

from .conftest import FakeSpec, assert_nothing_left, assert_nothing_started

BOUND = 15.0


@pytest.fixture
def components(settings: MeshSettings, fake_spec: FakeSpec) -> list[ComponentSpec]:
    return [embedded_components(settings)[0], fake_spec("mcp-demand")]


async def test_state_file_describes_the_running_mesh_and_is_removed_at_stop(
    settings: MeshSettings, components: list[ComponentSpec]
) -> None:
    async with asyncio.timeout(BOUND), run_embedded(settings, components=components) as mesh:
        document = json.loads(settings.state_file.read_text())
        mode = stat.S_IMODE(settings.state_file.stat().st_mode)
        pids = [component.pid for component in mesh.supervisor.components]

    assert mode == 0o600
    assert document["supervisor_pid"] == os.getpid()
    assert document["data_dir"] == str(settings.data_dir.resolve())
    assert (document["seed"], document["scenario"]) == (7, "volatile")
    assert datetime.fromisoformat(document["started_at"]).tzinfo is not None
    assert [(c["name"], c["kind"], c["pid"]) for c in document["components"]] == [
        ("nats", "nats", pids[0]),
        ("mcp-demand", "mcp", pids[1]),
    ]
    assert document["components"][0]["endpoint"] == components[0].endpoint == mesh.nats_url
    assert document["components"][1]["endpoint"] == mesh.mcp_url("demand")
    assert document["components"][1]["log"] == str((settings.run_dir / "logs" / "mcp-demand.log").resolve())
    assert not settings.state_file.exists()
    assert_nothing_left(pids)


async def test_refuses_to_start_while_a_live_supervisor_holds_the_data_dir(
    settings: MeshSettings, components: list[ComponentSpec]
) -> None:
    held = MeshState(
        supervisor_pid=os.getpid(),
        started_at=datetime.now(UTC),
        data_dir=str(settings.data_dir),
        seed=7,
        scenario="volatile",
    )
    write_state(settings.state_file, held)

    with pytest.raises(MeshAlreadyRunningError, match=f"pid {os.getpid()}"):
        async with run_embedded(settings, components=components):
            pytest.fail("must not start")

    assert read_state(settings.state_file) == held
    assert_nothing_started(settings.run_dir)


async def test_replaces_a_stale_state_file(
    settings: MeshSettings, components: list[ComponentSpec], dead_pid: int
) -> None:
    stale = MeshState(
        supervisor_pid=dead_pid,
        started_at=datetime.now(UTC),
        data_dir="/elsewhere",
        seed=1,
        scenario="stable",
    )
    write_state(settings.state_file, stale)

    async with asyncio.timeout(BOUND), run_embedded(settings, components=components):
        running = read_state(settings.state_file)

    assert running is not None
    assert running.supervisor_pid == os.getpid()
    assert len(running.components) == 2
    assert not settings.state_file.exists()


async def test_failed_start_removes_the_state_file(settings: MeshSettings, fake_spec: FakeSpec) -> None:
    with pytest.raises(ComponentFailedError):
        async with (
            asyncio.timeout(BOUND),
            run_embedded(settings, components=[fake_spec("mcp-demand", "--die-at-start", "1")]),
        ):
            pytest.fail("must not start")

    assert not settings.state_file.exists()
