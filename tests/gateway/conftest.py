"""One real embedded mesh (NATS, gateway, five domain servers) for the gateway's tests."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from mesh.supervisor import MeshState
from tests.processes import mesh_up

ESCALATION_TTL = 12.0
BOUND = 90.0


@dataclass(frozen=True)
class RunningMesh:
    data_dir: Path
    state: MeshState

    @property
    def gateway(self) -> str:
        assert self.state.gateway_endpoint is not None
        return self.state.gateway_endpoint

    @property
    def clients_file(self) -> Path:
        return self.data_dir / "keys" / "oauth-clients.json"

    @property
    def ledger(self) -> Path:
        return self.data_dir / "audit" / "ledger.sqlite"


@pytest.fixture(scope="module")
def mesh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningMesh]:
    data_dir = tmp_path_factory.mktemp("gateway-mesh")
    environment = {
        "MESH_ESCALATION_TTL": str(ESCALATION_TTL),
        "MESH_RATE_PER_TOOL": "2",
        "MESH_RATE_BURST_PER_TOOL": "30",
        "MESH_LOCAL_TRACES": "false",
    }
    with mesh_up(data_dir, environment, within=BOUND) as state:
        yield RunningMesh(data_dir, state)
