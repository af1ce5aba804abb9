"""One real embedded mesh (NATS, gateway, five domain servers) for the gateway's tests."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from mesh.supervisor import MeshState, read_state

ESCALATION_TTL = 8.0
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
    environment = {k: v for k, v in os.environ.items() if not k.startswith("MESH_")} | {
        "MESH_ESCALATION_TTL": str(ESCALATION_TTL),
        "MESH_RATE_PER_TOOL": "2",
        "MESH_RATE_BURST_PER_TOOL": "30",
        "MESH_LOCAL_TRACES": "false",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "mesh", "--data-dir", str(data_dir), "up"],
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    state_file = data_dir / "run" / "state.json"
    deadline = time.monotonic() + BOUND
    state = None
    while time.monotonic() < deadline and process.poll() is None:
        state = read_state(state_file) if state_file.exists() else None
        if state is not None and state.components:
            break
        time.sleep(0.1)
    if state is None or not state.components:
        process.kill()
        pytest.fail(f"mesh up did not become ready: {process.communicate(timeout=10)[1]}")
    try:
        yield RunningMesh(data_dir, state)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=BOUND)
        finally:
            process.kill()
            if process.stderr is not None:
                process.stderr.close()
