"""Runs the embedded mesh: NATS and one MCP server per domain as supervised child processes.

`run_embedded(settings)` is what entry points use; `Supervisor` runs any list of `ComponentSpec`.
"""

from mesh.supervisor._assets import install_tool_lock, validate_assets
from mesh.supervisor._embedded import RunningMesh, run_embedded
from mesh.supervisor._errors import (
    AssetsInvalidError,
    ComponentDiedError,
    ComponentFailedError,
    ComponentSpawnError,
    MeshAlreadyRunningError,
    NatsServerNotFoundError,
    PortConflictError,
    PortInUseError,
    StartTimeoutError,
    StateFileError,
    SupervisorError,
)
from mesh.supervisor._health import probe_ready
from mesh.supervisor._spec import (
    ComponentKind,
    ComponentSpec,
    embedded_components,
    find_nats_server,
    mcp_component_name,
)
from mesh.supervisor._state import ComponentState, MeshState, read_live_state, read_state
from mesh.supervisor._supervisor import RunningComponent, Supervisor

__all__ = [
    "AssetsInvalidError",
    "ComponentDiedError",
    "ComponentFailedError",
    "ComponentKind",
    "ComponentSpawnError",
    "ComponentSpec",
    "ComponentState",
    "MeshAlreadyRunningError",
    "MeshState",
    "NatsServerNotFoundError",
    "PortConflictError",
    "PortInUseError",
    "RunningComponent",
    "RunningMesh",
    "StartTimeoutError",
    "StateFileError",
    "Supervisor",
    "SupervisorError",
    "embedded_components",
    "find_nats_server",
    "install_tool_lock",
    "mcp_component_name",
    "probe_ready",
    "read_live_state",
    "read_state",
    "run_embedded",
    "validate_assets",
]
