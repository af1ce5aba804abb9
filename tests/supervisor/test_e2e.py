from __future__ import annotations

import asyncio
import importlib.util
from pathlib import Path

import nats
import pytest

from mesh.settings import DOMAINS, MeshSettings
from mesh.supervisor import probe_ready, run_embedded

from .conftest import assert_nothing_left


def _real_mcp_servers_main() -> Path | None:
    spec = importlib.util.find_spec("mcp_servers")
    if spec is None or not spec.submodule_search_locations:
        return None
    main = Path(next(iter(spec.submodule_search_locations))) / "__main__.py"
    return main if main.is_file() else None


@pytest.mark.e2e
@pytest.mark.skipif(
    _real_mcp_servers_main() is None,
    reason="mcp_servers/__main__.py does not exist yet (python -m mcp_servers)",
)
async def test_real_embedded_mesh_becomes_ready_and_stops_cleanly(tmp_path: Path) -> None:
    settings = MeshSettings(data_dir=tmp_path / "data", start_timeout=20.0, stop_timeout=5.0)

    async with asyncio.timeout(60), run_embedded(settings) as mesh:
        ready = await probe_ready([component.health_url for component in mesh.state.components])
        client = await nats.connect(mesh.nats_url, connect_timeout=2, max_reconnect_attempts=0)
        try:
            await client.jetstream().account_info()
        finally:
            await client.close()
        pids = [component.pid for component in mesh.state.components]

    assert ready == [True] * (1 + len(DOMAINS))
    assert set(mesh.endpoints) == {"nats", *(f"mcp-{domain}" for domain in DOMAINS)}
    assert_nothing_left(pids)
    assert not settings.state_file.exists()
