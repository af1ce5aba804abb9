"""How mesh's own tools (the CLI, tests, later the agents) reach the domains: through the gateway,
with a token of their own client for each `/mcp/<domain>` resource."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from mesh.identity import fetch_token, read_client_secret


@dataclass(frozen=True)
class GatewayTarget:
    """A domain behind the gateway, with the headers that authenticate a client to it."""

    url: str
    headers: dict[str, str]


async def gateway_targets(
    gateway_url: str,
    domains: Sequence[str],
    *,
    clients_file: Path,
    client_id: str,
    scopes: Sequence[str] | None = None,
) -> dict[str, GatewayTarget]:
    """One token per domain (its audience is that domain's `/mcp/<domain>` URL), fetched from the
    gateway's token endpoint with the client's secret from the local clients file."""
    base = gateway_url.rstrip("/")
    secret = read_client_secret(clients_file, client_id)

    async def target(domain: str) -> tuple[str, GatewayTarget]:
        resource = f"{base}/mcp/{domain}"
        wanted = (
            [s for s in scopes if s.startswith(f"{domain}:")] if scopes is not None else [f"{domain}:read"]
        )
        token = await fetch_token(
            f"{base}/oauth/token", client_id=client_id, client_secret=secret, scope=wanted, resource=resource
        )
        return domain, GatewayTarget(resource, {"Authorization": f"Bearer {token.access_token}"})

    return dict(await asyncio.gather(*(target(domain) for domain in domains)))


async def operator_token(gateway_url: str, *, clients_file: Path, client_id: str = "mesh-cli") -> str:
    """A token for the gateway's operator API (`/api`, scope `mesh:operator`)."""
    base = gateway_url.rstrip("/")
    token = await fetch_token(
        f"{base}/oauth/token",
        client_id=client_id,
        client_secret=read_client_secret(clients_file, client_id),
        scope=["mesh:operator"],
        resource=f"{base}/api",
    )
    return token.access_token
