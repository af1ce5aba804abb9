"""The OAuth clients the embedded mesh knows, and the scopes there are."""

from __future__ import annotations

from mesh.identity import CLIENT_CREDENTIALS, TOKEN_EXCHANGE, ClientSpec
from mesh.identity._wire import GrantType
from mesh.settings import DOMAINS

OPERATOR_SCOPE = "mesh:operator"
"""Lets a caller list, approve and deny escalations."""
DIRECTORY_SCOPE = "mesh:directory"
"""Lets a caller read the agent directory (`/api/agents`)."""
UPSTREAM_SCOPE = "mcp:upstream"
"""What the gateway holds towards the domain servers; no other client may ask for it."""
COMPLIANCE_SCOPE = "procurement:compliance:read"

READ_SCOPES = (*(f"{domain}:read" for domain in DOMAINS), COMPLIANCE_SCOPE)
WRITE_SCOPES = tuple(f"{domain}:write" for domain in DOMAINS)
AGENT_READS = {
    "demand": ["demand:read"],
    "inventory": ["inventory:read", "demand:read", "procurement:read", "logistics:read"],
    "logistics": ["logistics:read", "sustainability:read", "inventory:read"],
    "sustainability": ["sustainability:read", "logistics:read"],
    "procurement": ["procurement:read", COMPLIANCE_SCOPE, "demand:read", "inventory:read"],
}


def builtin_clients(gateway_url: str, upstream_prefix: str) -> list[ClientSpec]:
    """Least privilege: each client gets only the scopes its role needs, and only for the gateway
    (the gateway alone may ask for tokens to the domain servers behind it)."""
    gateway = (f"{gateway_url.rstrip('/')}/",)
    only_own: tuple[GrantType, ...] = (CLIENT_CREDENTIALS,)
    delegating: tuple[GrantType, ...] = (CLIENT_CREDENTIALS, TOKEN_EXCHANGE)
    clients = [
        ClientSpec(
            client_id="gateway",
            allowed_scopes=(UPSTREAM_SCOPE,),
            allowed_resources=(upstream_prefix,),
            grant_types=only_own,
            subject="service:gateway",
        ),
        ClientSpec(
            client_id="mesh-cli",
            allowed_scopes=(*READ_SCOPES, OPERATOR_SCOPE, DIRECTORY_SCOPE),
            allowed_resources=gateway,
            grant_types=only_own,
            subject="service:mesh-cli",
        ),
        ClientSpec(
            client_id="operator",
            allowed_scopes=(*READ_SCOPES, *WRITE_SCOPES, OPERATOR_SCOPE, DIRECTORY_SCOPE),
            allowed_resources=gateway,
            grant_types=only_own,
            subject="operator:admin",
        ),
        ClientSpec(
            client_id="auto-reviewer",
            allowed_scopes=(OPERATOR_SCOPE,),
            allowed_resources=gateway,
            grant_types=only_own,
            subject="service:auto-reviewer",
        ),
        ClientSpec(
            client_id="inspector",
            allowed_scopes=READ_SCOPES,
            allowed_resources=gateway,
            grant_types=only_own,
            subject="developer:inspector",
        ),
    ]
    for domain in DOMAINS:
        clients.append(
            ClientSpec(
                client_id=f"{domain}-agent",
                allowed_scopes=tuple(sorted({*AGENT_READS[domain], f"{domain}:write", DIRECTORY_SCOPE})),
                allowed_resources=gateway,
                grant_types=delegating,
                subject=f"agent:{domain}",
            )
        )
    return clients
