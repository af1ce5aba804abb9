"""The run state file: who runs the mesh from a data dir, and where its components answer."""

from __future__ import annotations

import contextlib
import os
from datetime import datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from mesh.supervisor._errors import MeshAlreadyRunningError, StateFileError
from mesh.supervisor._process import pid_alive
from mesh.supervisor._spec import ComponentKind

STATE_VERSION: Literal[1] = 1


class ComponentState(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    kind: ComponentKind
    pid: int
    endpoint: str
    health_url: str
    log: str


class MeshState(BaseModel):
    """Content of `settings.state_file`; `components` is empty while the mesh is starting."""

    model_config = ConfigDict(frozen=True)

    version: Literal[1] = STATE_VERSION
    supervisor_pid: int
    started_at: datetime
    data_dir: str
    seed: int
    scenario: str
    components: tuple[ComponentState, ...] = ()

    @property
    def gateway_endpoint(self) -> str | None:
        return next((c.endpoint for c in self.components if c.kind == "gateway"), None)

    @property
    def nats_endpoint(self) -> str | None:
        return next((c.endpoint for c in self.components if c.kind == "nats"), None)

    @property
    def mcp_endpoints(self) -> dict[str, str]:
        """Streamable-HTTP endpoint of each domain's MCP server, by domain."""
        return {c.name.removeprefix("mcp-"): c.endpoint for c in self.components if c.kind == "mcp"}


def read_state(state_file: Path) -> MeshState | None:
    """The state file's content, None when there is none; `StateFileError` when it is unreadable."""
    try:
        raw = state_file.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as error:
        raise StateFileError(state_file, error.strerror or str(error)) from error
    try:
        return MeshState.model_validate_json(raw)
    except ValidationError as error:
        raise StateFileError(state_file, f"{error.error_count()} validation error(s)") from error


def read_live_state(state_file: Path) -> MeshState | None:
    """The state of a mesh whose supervisor is alive, else None (no file, or a stale one)."""
    state = read_state(state_file)
    if state is None or not pid_alive(state.supervisor_pid):
        return None
    return state


def _temp_with(state_file: Path, state: MeshState) -> Path:
    state_file.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    temp = state_file.with_name(f".{state_file.name}.{os.getpid()}.tmp")
    with contextlib.suppress(FileNotFoundError):
        temp.unlink()
    descriptor = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as out:
        out.write(state.model_dump_json(indent=2).encode())
        out.flush()
        os.fsync(out.fileno())
    return temp


def claim_state_file(state_file: Path, state: MeshState) -> None:
    """Create the state file for `state`, atomically, unless a live supervisor holds it.

    A state file whose supervisor pid is dead is replaced. Raises `MeshAlreadyRunningError`
    when another live supervisor holds it, including one that claims it at the same moment.
    """
    existing = read_state(state_file)
    if existing is not None:
        if pid_alive(existing.supervisor_pid):
            raise MeshAlreadyRunningError(Path(existing.data_dir), existing.supervisor_pid)
        with contextlib.suppress(FileNotFoundError):
            state_file.unlink()
    temp = _temp_with(state_file, state)
    try:
        os.link(temp, state_file)
    except FileExistsError:
        winner = read_state(state_file)
        raise MeshAlreadyRunningError(Path(state.data_dir), winner.supervisor_pid if winner else -1) from None
    finally:
        temp.unlink()


def write_state(state_file: Path, state: MeshState) -> None:
    """Replace the state file atomically (temp file with mode 0600, then rename)."""
    _temp_with(state_file, state).replace(state_file)


def remove_state(state_file: Path, supervisor_pid: int) -> None:
    """Remove the state file if it still belongs to `supervisor_pid`."""
    try:
        current = read_state(state_file)
    except StateFileError:
        return
    if current is not None and current.supervisor_pid == supervisor_pid:
        with contextlib.suppress(FileNotFoundError):
            state_file.unlink()
