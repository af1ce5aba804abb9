from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from mcp.server.mcpserver import MCPServer

from mcp_servers import DomainStore, build_server, domain_spec, refresh
from mesh.dataproducts import QualityReport
from mesh.world import generate_world

BuiltServer = tuple[MCPServer, dict[str, QualityReport]]


@pytest.fixture(scope="session")
def built_servers(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], BuiltServer]:
    """One refreshed server per domain over a session-wide store (the world is deterministic)."""
    root = tmp_path_factory.mktemp("stores")
    world = generate_world(7, "volatile")
    cache: dict[str, BuiltServer] = {}

    def build(domain: str) -> BuiltServer:
        if domain not in cache:
            spec = domain_spec(domain)
            store = DomainStore(Path(root) / f"{domain}.sqlite")
            reports = refresh(spec, store, world)
            cache[domain] = (build_server(spec, store), reports)
        return cache[domain]

    return build
