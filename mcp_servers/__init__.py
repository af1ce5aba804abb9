"""One MCP server per domain, each serving that domain's data products over streamable HTTP.

`python -m mcp_servers <domain>` runs one; `build_server` and `refresh` build one in process.
"""

from __future__ import annotations

import importlib

from mesh.settings import DOMAINS

from ._server import DomainSpec, Products, QueryResult, build_server, refresh
from ._store import DomainStore


def domain_spec(domain: str) -> DomainSpec:
    """The spec of one domain's server; an unknown domain is a ValueError naming the known ones."""
    if domain not in DOMAINS:
        raise ValueError(f"unknown domain {domain!r}; known: {list(DOMAINS)}")
    spec: DomainSpec = importlib.import_module(f"mcp_servers.{domain}").SPEC
    return spec


__all__ = ["DomainSpec", "DomainStore", "Products", "QueryResult", "build_server", "domain_spec", "refresh"]
