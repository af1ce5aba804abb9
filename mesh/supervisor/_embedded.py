"""The embedded mesh on one machine: claim the data dir, run its components, publish where they answer."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from mesh.assets import LOCK_FILE_NAME, REPOSITORY_ROOT
from mesh.settings import MeshSettings
from mesh.supervisor._assets import install_tool_lock, validate_assets
from mesh.supervisor._spec import NATS_COMPONENT, ComponentSpec, embedded_components, mcp_component_name
from mesh.supervisor._state import ComponentState, MeshState, claim_state_file, remove_state, write_state
from mesh.supervisor._supervisor import Supervisor


@dataclass(frozen=True, slots=True)
class RunningMesh:
    """A started embedded mesh, as `run_embedded` yields it."""

    supervisor: Supervisor
    state: MeshState
    state_file: Path

    @property
    def endpoints(self) -> Mapping[str, str]:
        """Endpoint by component name, for example "nats" or "mcp-demand"."""
        return {component.name: component.endpoint for component in self.state.components}

    @property
    def nats_url(self) -> str:
        return self.endpoints[NATS_COMPONENT]

    def mcp_url(self, domain: str) -> str:
        return self.endpoints[mcp_component_name(domain)]

    async def wait(self) -> None:
        """See `Supervisor.wait`: raises `ComponentDiedError` when a component exits on its own."""
        await self.supervisor.wait()


@asynccontextmanager
async def run_embedded(
    settings: MeshSettings,
    *,
    components: Sequence[ComponentSpec] | None = None,
    assets_root: Path | None = None,
) -> AsyncIterator[RunningMesh]:
    """Run the embedded mesh of `settings` for the duration of the `async with` block.

    0. Validates every asset (`mesh.assets.load_assets`, of the repository or of `assets_root`): a
       broken one raises `AssetsInvalidError` naming its file and field, and nothing starts.
    1. Claims `settings.state_file` for this process (`MeshAlreadyRunningError` if a live supervisor
       holds it; a stale one is replaced) before anything starts.
    2. Installs the repository's tool lock in the gateway's directory (its pins seed from it), then
       starts `components` (default: `embedded_components(settings)`) with a `Supervisor` using the
       settings' timeouts; see its docstring for ordering and failure guarantees.
    3. Once all are ready, writes the full state file and yields a `RunningMesh`.
    4. On exit, normal or not, stops every component, then removes the state file if it is still ours.
    """
    validate_assets(assets_root)
    supervisor_pid = os.getpid()
    starting = MeshState(
        supervisor_pid=supervisor_pid,
        started_at=datetime.now(UTC),
        data_dir=str(settings.data_dir.resolve()),
        seed=settings.seed,
        scenario=settings.scenario.value,
    )
    claim_state_file(settings.state_file, starting)
    try:
        install_tool_lock(settings, (assets_root or REPOSITORY_ROOT) / "mcp_servers" / LOCK_FILE_NAME)
        specs = embedded_components(settings) if components is None else components
        async with Supervisor(
            specs,
            settings.run_dir,
            start_timeout=settings.start_timeout,
            stop_timeout=settings.stop_timeout,
        ) as supervisor:
            running = starting.model_copy(
                update={
                    "components": tuple(
                        ComponentState(
                            name=component.name,
                            kind=component.spec.kind,
                            pid=component.pid,
                            endpoint=component.spec.endpoint,
                            health_url=component.spec.health_url,
                            log=str(component.log_path.resolve()),
                        )
                        for component in supervisor.components
                    )
                }
            )
            write_state(settings.state_file, running)
            yield RunningMesh(supervisor, running, settings.state_file)
    finally:
        remove_state(settings.state_file, supervisor_pid)
