from __future__ import annotations

import asyncio
import os
import socket
import time
from pathlib import Path

import httpx
import pytest

from mesh.supervisor import (
    ComponentDiedError,
    ComponentFailedError,
    ComponentSpawnError,
    ComponentSpec,
    PortConflictError,
    PortInUseError,
    StartTimeoutError,
    Supervisor,
)
from mesh.supervisor._process import live_group_members

from .conftest import FakeSpec, assert_nothing_left, assert_nothing_started, eventually, pgids_of

BOUND = 15.0


async def test_components_start_and_answer_ready(fake_spec: FakeSpec, run_dir: Path) -> None:
    specs = [fake_spec("alpha"), fake_spec("beta")]

    async with asyncio.timeout(BOUND), Supervisor(specs, run_dir, start_timeout=5) as supervisor:
        async with httpx.AsyncClient(trust_env=False) as client:
            statuses = [(await client.get(spec.health_url)).status_code for spec in specs]
        components = supervisor.components

    assert statuses == [200, 200]
    assert [component.name for component in components] == ["alpha", "beta"]
    assert [component.log_path for component in components] == [
        run_dir / "logs" / "alpha.log",
        run_dir / "logs" / "beta.log",
    ]
    assert "listening" in (run_dir / "logs" / "alpha.log").read_text()
    assert_nothing_left(pgids_of(components))


async def test_nats_kind_is_ready_before_the_others_start(fake_spec: FakeSpec, run_dir: Path) -> None:
    bus = fake_spec("bus", "--slow", "0.3", kind="nats")
    needs_bus = fake_spec("needs-bus", "--require-url", bus.health_url)

    async with asyncio.timeout(BOUND), Supervisor([needs_bus, bus], run_dir, start_timeout=5) as supervisor:
        assert [component.name for component in supervisor.components] == ["bus", "needs-bus"]


async def test_component_exiting_at_start_fails_with_its_log_tail_and_stops_the_rest(
    fake_spec: FakeSpec, run_dir: Path
) -> None:
    supervisor = Supervisor(
        [
            fake_spec("steady"),
            fake_spec("doomed", "--noise", "40", "--die-at-start", "3"),
            fake_spec("other"),
        ],
        run_dir,
        start_timeout=5,
    )

    async with asyncio.timeout(BOUND):
        with pytest.raises(ComponentFailedError) as raised:
            await supervisor.start()

    error = raised.value
    assert (error.name, error.returncode) == ("doomed", 3)
    assert len(error.log_tail) == 20
    assert error.log_tail[-1] == "fatal: told to die with code 3"
    assert "noise line 0" not in error.log_tail
    assert "'doomed' exited with code 3" in str(error)
    assert "fatal: told to die with code 3" in str(error)
    assert len(supervisor.components) == 3
    assert_nothing_left(pgids_of(supervisor.components))


async def test_taken_port_fails_before_anything_starts(fake_spec: FakeSpec, run_dir: Path) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        taken = squatter.getsockname()[1]
        supervisor = Supervisor([fake_spec("free"), fake_spec("blocked", port=taken)], run_dir)

        with pytest.raises(PortInUseError) as raised:
            await supervisor.start()

    assert (raised.value.name, raised.value.port) == ("blocked", taken)
    assert f"'blocked': port {taken} on 127.0.0.1 is already in use" in str(raised.value)
    assert supervisor.components == ()
    assert_nothing_started(run_dir)


async def test_one_port_claimed_by_two_components_is_refused(fake_spec: FakeSpec, run_dir: Path) -> None:
    first = fake_spec("first")
    supervisor = Supervisor([first, fake_spec("second", port=first.ports[0])], run_dir)

    with pytest.raises(PortConflictError, match="first, second"):
        await supervisor.start()
    assert supervisor.components == ()


async def test_component_not_ready_in_time_fails_with_start_timeout(
    fake_spec: FakeSpec, run_dir: Path
) -> None:
    supervisor = Supervisor(
        [fake_spec("quick"), fake_spec("sluggish", "--slow", "30")], run_dir, start_timeout=0.5
    )
    began = time.monotonic()

    async with asyncio.timeout(BOUND):
        with pytest.raises(StartTimeoutError) as raised:
            await supervisor.start()

    assert (raised.value.name, raised.value.timeout) == ("sluggish", 0.5)
    assert "fake fake starting" in raised.value.log_tail[-1]
    assert time.monotonic() - began < 3
    assert_nothing_left(pgids_of(supervisor.components))


async def test_unspawnable_component_fails_and_stops_the_rest(
    fake_spec: FakeSpec, run_dir: Path, tmp_path: Path
) -> None:
    missing = ComponentSpec(
        name="ghost",
        kind="mcp",
        argv=(str(tmp_path / "no-such-binary"),),
        endpoint="-",
        health_url="-",
        ports=(),
    )
    supervisor = Supervisor([fake_spec("real"), missing], run_dir, start_timeout=5)

    with pytest.raises(ComponentSpawnError, match="'ghost' could not be started"):
        await supervisor.start()
    assert_nothing_left(pgids_of(supervisor.components))


async def test_cancelled_start_stops_what_had_started(fake_spec: FakeSpec, run_dir: Path) -> None:
    supervisor = Supervisor(
        [fake_spec("started"), fake_spec("slow", "--slow", "30")], run_dir, start_timeout=10
    )
    starting = asyncio.create_task(supervisor.start())
    async with asyncio.timeout(BOUND):
        await eventually(lambda: len(supervisor.components) == 2)
        starting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await starting

    assert_nothing_left(pgids_of(supervisor.components))


async def test_stop_leaves_no_process_behind_even_when_sigterm_is_ignored(
    fake_spec: FakeSpec, run_dir: Path
) -> None:
    specs = [fake_spec("parent", "--stubborn-grandchild"), fake_spec("stubborn", "--ignore-sigterm")]

    async with asyncio.timeout(BOUND):
        async with Supervisor(specs, run_dir, start_timeout=5, stop_timeout=0.3) as supervisor:
            pgids = pgids_of(supervisor.components)
            assert len(live_group_members(pgids[0])) == 2
        assert supervisor.components

    assert_nothing_left(pgids)
    with pytest.raises(ProcessLookupError):
        os.killpg(pgids[1], 0)


async def test_wait_raises_naming_the_component_that_died(fake_spec: FakeSpec, run_dir: Path) -> None:
    specs = [fake_spec("steady"), fake_spec("fragile", "--die-after", "0.2")]

    async with asyncio.timeout(BOUND), Supervisor(specs, run_dir, start_timeout=5) as supervisor:
        with pytest.raises(ComponentDiedError) as raised:
            await supervisor.wait()

    assert (raised.value.name, raised.value.returncode) == ("fragile", 3)
    assert "dying as told" in raised.value.log_tail
    assert_nothing_left(pgids_of(supervisor.components))


async def test_wait_returns_once_stop_begins(fake_spec: FakeSpec, run_dir: Path) -> None:
    async with (
        asyncio.timeout(BOUND),
        Supervisor([fake_spec("solo")], run_dir, start_timeout=5) as supervisor,
    ):
        waiting = asyncio.create_task(supervisor.wait())
        await asyncio.sleep(0.05)
        assert not waiting.done()
        await supervisor.stop()
        await waiting
        assert waiting.exception() is None
        await supervisor.stop()
