"""Child processes: own process group, death signal tied to the supervisor, log file, group signals."""

from __future__ import annotations

import asyncio
import ctypes
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from mesh.supervisor._errors import ComponentSpawnError
from mesh.supervisor._spec import ComponentSpec

LOG_TAIL_LINES = 20
_PR_SET_PDEATHSIG = 1
_TAIL_BYTES = 16 * 1024


def _load_prctl() -> Callable[..., int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None


_prctl = _load_prctl()


def _die_with_supervisor() -> Callable[[], None] | None:
    """A preexec_fn asking the kernel to SIGTERM the child when the supervisor's thread exits."""
    prctl = _prctl
    if prctl is None:
        return None
    supervisor_pid = os.getpid()

    def preexec() -> None:
        prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
        if os.getppid() != supervisor_pid:
            os.kill(os.getpid(), signal.SIGTERM)

    return preexec


def _open_log(log_path: Path) -> BinaryIO:
    log_path.parent.mkdir(parents=True, exist_ok=True)
    return log_path.open("wb")


async def spawn(spec: ComponentSpec, log_path: Path) -> asyncio.subprocess.Process:
    """Start `spec` in a new session (its pid is its process group id), output to `log_path`."""
    with _open_log(log_path) as log:
        try:
            return await asyncio.create_subprocess_exec(
                *spec.argv,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log,
                stderr=asyncio.subprocess.STDOUT,
                env={**os.environ, **spec.env},
                start_new_session=True,
                preexec_fn=_die_with_supervisor(),
            )
        except OSError as error:
            raise ComponentSpawnError(spec.name, spec.argv[0], error.strerror or str(error)) from error


def signal_group(pgid: int, signum: signal.Signals) -> bool:
    """Send `signum` to the process group; False when the group no longer exists."""
    try:
        os.killpg(pgid, signum)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def live_group_members(pgid: int) -> list[int]:
    """Pids of the non-zombie processes in group `pgid`, read from /proc (empty without /proc)."""
    members: list[int] = []
    proc = Path("/proc")
    if not proc.is_dir():
        return members
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2 :].split()
        state, process_group = fields[0], int(fields[2])
        if process_group == pgid and state not in ("Z", "X"):
            members.append(int(entry.name))
    return members


def pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def log_tail(log_path: Path, lines: int = LOG_TAIL_LINES) -> list[str]:
    try:
        with log_path.open("rb") as log:
            log.seek(0, os.SEEK_END)
            log.seek(max(0, log.tell() - _TAIL_BYTES))
            text = log.read().decode("utf-8", errors="replace")
    except OSError:
        return []
    return text.splitlines()[-lines:]
