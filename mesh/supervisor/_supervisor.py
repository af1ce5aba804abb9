"""The supervisor: start components in order, watch them, stop them leaving nothing behind."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Literal, Self

import httpx

from mesh.supervisor._errors import (
    ComponentDiedError,
    ComponentFailedError,
    PortConflictError,
    PortInUseError,
    StartTimeoutError,
)
from mesh.supervisor._health import health_client, poll_until_ready
from mesh.supervisor._ports import port_is_free
from mesh.supervisor._process import log_tail, signal_group, spawn
from mesh.supervisor._spec import ComponentSpec

logger = logging.getLogger("mesh.supervisor")

_REAP_TIMEOUT = 5.0
_Phase = Literal["new", "starting", "running", "stopping", "stopped"]


@dataclass(frozen=True, slots=True)
class RunningComponent:
    spec: ComponentSpec
    pid: int
    log_path: Path

    @property
    def name(self) -> str:
        return self.spec.name


@dataclass(frozen=True, slots=True)
class _Child:
    spec: ComponentSpec
    process: asyncio.subprocess.Process
    log_path: Path
    exited: asyncio.Task[int]

    @property
    def pgid(self) -> int:
        return self.process.pid


class Supervisor:
    """Runs a list of components as child processes of this one.

    Use it as an async context manager (`async with Supervisor(specs, run_dir) as sup:`), which
    calls `start()` on entry and `stop()` on exit, or call them yourself. Both must be awaited on
    the event loop of the thread that stays alive for the children's lifetime: on Linux the
    children get SIGTERM from the kernel when that thread exits (PR_SET_PDEATHSIG).

    Start (`start()`, once per instance):
    - **Before anything starts**: component names must be unique and no port may be claimed by two
      components (`PortConflictError`); every port of every spec must be bindable on its host right
      now, else `PortInUseError(name, host, port)` and no process is started.
    - **Order**: components of kind "nats" start first, one at a time, each awaited ready before the
      next; then all other components are spawned (in list order) and awaited ready concurrently.
    - **Processes**: each child runs in a new session (its pid is its process group id), stdin from
      /dev/null, stdout and stderr to `run_dir/logs/<name>.log` (truncated at start), environment =
      ours plus `spec.env`.
    - **Readiness**: `GET spec.health_url` must answer 200; polled with a backoff from 10 ms to
      250 ms, each request bounded by 1 s. A component has `start_timeout` seconds from its spawn.
    - **Failure**: if a component cannot be spawned (`ComponentSpawnError`), exits before it is ready
      (`ComponentFailedError` with its return code) or is not ready in time (`StartTimeoutError`),
      or if `start()` is cancelled, everything already started is stopped as described below and
      the error (or the cancellation) propagates. The first failure in start order wins; error
      messages name the component and carry the last 20 lines of its log. When `start()` raises, no
      process it started is left alive.

    Running: `wait()` returns when `stop()` begins, and raises `ComponentDiedError(name, returncode,
    log_tail)` as soon as any component exits on its own. The supervisor never restarts a component
    and does not stop the others when one dies: the owner decides, usually by leaving the context.

    Stop (`stop()`, idempotent, safe to call concurrently and after a failed start):
    - **Order**: reverse start order by start group: the concurrently started components first (their
      process groups get SIGTERM in reverse spawn order, then they are awaited together), NATS last.
    - **Timeout**: a group gets at most `stop_timeout` seconds after SIGTERM; then every process group
      of that start group gets SIGKILL (leftover grandchildren included) and the leaders are reaped.
      Worst case is about (number of start groups) x `stop_timeout`.
    - **Guarantee**: when `stop()` returns, every process group the supervisor created has been sent
      SIGKILL after its leader exited or timed out, and every leader has been reaped (after SIGKILL
      it waits up to 5 s for that). If `stop()` is cancelled, all remaining groups get SIGKILL at
      once before the cancellation propagates.
      Processes that left their process group (setsid) are out of reach.
    """

    def __init__(
        self,
        specs: Sequence[ComponentSpec],
        run_dir: Path,
        *,
        start_timeout: float = 30.0,
        stop_timeout: float = 10.0,
    ) -> None:
        names = [spec.name for spec in specs]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"component names must be unique; repeated: {duplicates}")
        self._specs = tuple(specs)
        self._log_dir = run_dir / "logs"
        self._start_timeout = start_timeout
        self._stop_timeout = stop_timeout
        self._groups: list[list[_Child]] = []
        self._phase: _Phase = "new"
        self._stopping = asyncio.Event()
        self._stopped = asyncio.Event()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()

    @property
    def components(self) -> tuple[RunningComponent, ...]:
        """The components spawned so far, in start order."""
        return tuple(
            RunningComponent(child.spec, child.process.pid, child.log_path)
            for group in self._groups
            for child in group
        )

    def log_path(self, name: str) -> Path:
        return self._log_dir / f"{name}.log"

    async def start(self) -> None:
        if self._phase != "new":
            raise RuntimeError(f"a Supervisor starts once (it is {self._phase})")
        self._check_ports()
        self._phase = "starting"
        try:
            async with health_client() as client:
                for spec in self._specs:
                    if spec.kind == "nats":
                        await self._start_group(client, [spec])
                others = [spec for spec in self._specs if spec.kind != "nats"]
                if others:
                    await self._start_group(client, others)
        except BaseException:
            await self.stop()
            raise
        self._phase = "running"

    async def wait(self) -> None:
        if self._phase in ("new", "starting"):
            raise RuntimeError("wait() needs a started Supervisor")
        exits = [child.exited for group in self._groups for child in group]
        stopping = asyncio.create_task(self._stopping.wait())
        try:
            await asyncio.wait([stopping, *exits], return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopping.cancel()
        if self._stopping.is_set():
            return
        died = next(child for group in self._groups for child in group if child.exited.done())
        raise ComponentDiedError(died.spec.name, died.exited.result(), log_tail(died.log_path))

    async def stop(self) -> None:
        if self._stopping.is_set():
            await self._stopped.wait()
            return
        self._stopping.set()
        self._phase = "stopping"
        try:
            for group in reversed(self._groups):
                await self._stop_group(group)
        except BaseException:
            for group in self._groups:
                for child in group:
                    signal_group(child.pgid, signal.SIGKILL)
            raise
        finally:
            self._phase = "stopped"
            self._stopped.set()

    def _check_ports(self) -> None:
        claims: dict[int, list[ComponentSpec]] = {}
        for spec in self._specs:
            for port in spec.ports:
                claims.setdefault(port, []).append(spec)
        for port, owners in claims.items():
            if len(owners) > 1:
                raise PortConflictError(port, [spec.name for spec in owners])
        for port, (owner,) in claims.items():
            if not port_is_free(owner.host, port):
                raise PortInUseError(owner.name, owner.host, port)

    async def _start_group(self, client: httpx.AsyncClient, specs: Sequence[ComponentSpec]) -> None:
        group: list[_Child] = []
        self._groups.append(group)
        for spec in specs:
            log_path = self.log_path(spec.name)
            process = await spawn(spec, log_path)
            group.append(_Child(spec, process, log_path, asyncio.create_task(process.wait())))
            logger.debug("started %s, pid %d", spec.name, process.pid)
        readiness = [asyncio.create_task(self._await_ready(client, child)) for child in group]
        try:
            await asyncio.wait(readiness, return_when=asyncio.FIRST_EXCEPTION)
        finally:
            for check in readiness:
                check.cancel()
            await asyncio.wait(readiness)
        for check in readiness:
            if not check.cancelled() and (error := check.exception()) is not None:
                raise error

    async def _await_ready(self, client: httpx.AsyncClient, child: _Child) -> None:
        try:
            async with asyncio.timeout(self._start_timeout):
                ready = asyncio.create_task(poll_until_ready(client, child.spec.health_url))
                try:
                    await asyncio.wait([ready, child.exited], return_when=asyncio.FIRST_COMPLETED)
                finally:
                    ready.cancel()
                    await asyncio.wait([ready])
        except TimeoutError:
            raise StartTimeoutError(child.spec.name, self._start_timeout, log_tail(child.log_path)) from None
        if child.exited.done():
            raise ComponentFailedError(child.spec.name, child.exited.result(), log_tail(child.log_path))
        logger.debug("%s is ready", child.spec.name)

    async def _stop_group(self, group: Sequence[_Child]) -> None:
        for child in reversed(group):
            if not child.exited.done():
                signal_group(child.pgid, signal.SIGTERM)
        pending = [child.exited for child in group if not child.exited.done()]
        if pending:
            await asyncio.wait(pending, timeout=self._stop_timeout)
        for child in reversed(group):
            if signal_group(child.pgid, signal.SIGKILL) and not child.exited.done():
                logger.warning("%s did not stop within %gs; killed", child.spec.name, self._stop_timeout)
        pending = [child.exited for child in group if not child.exited.done()]
        if pending:
            await asyncio.wait(pending, timeout=_REAP_TIMEOUT)
