"""Our tokens guard an MCP SDK server: `MCPServer(token_verifier=MCPTokenVerifier(...))`."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import httpx
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.server.auth.settings import AuthSettings
from mcp.server.mcpserver import MCPServer
from pydantic import AnyHttpUrl
from starlette.types import ASGIApp

from mesh.identity import (
    AuthorizationServer,
    ClientConfig,
    ClientCredentialsAuth,
    MCPTokenVerifier,
    SigningKey,
    hash_secret,
)

from .conftest import DEMAND, ISSUER, app_for, served

UPSTREAM_SCOPE = "mcp:call"
SECRET = "gateway-upstream-secret"


async def test_the_adapter_gives_the_sdk_an_access_token_bound_to_its_audience(
    server: AuthorizationServer,
) -> None:
    token = server.issue(
        subject="svc", client_id="gateway", scopes=["mcp:call"], audience=DEMAND
    ).access_token
    adapter = MCPTokenVerifier(server.verifier(), audience=DEMAND)

    access = await adapter.verify_token(token)

    assert access is not None
    assert (access.client_id, access.subject, access.resource) == ("gateway", "svc", DEMAND)
    assert access.scopes == ["mcp:call"]
    assert access.claims is not None
    assert access.claims == {"iss": ISSUER, "jti": access.claims["jti"], "act_chain": []}
    assert await MCPTokenVerifier(server.verifier(), audience=DEMAND + "x").verify_token(token) is None
    assert await adapter.verify_token("garbage") is None


@dataclass
class Upstream:
    url: str
    issuer: AuthorizationServer


@pytest.fixture(scope="module")
def upstream() -> Iterator[Upstream]:
    """A domain MCP server on loopback that accepts only our tokens for its own URL, and the
    authorization server (in process) whose `gateway` client may get tokens for that URL."""
    issuers: list[AuthorizationServer] = []

    def make_app(base_url: str) -> ASGIApp:
        url = f"{base_url}/mcp"
        gateway = ClientConfig(
            client_id="gateway",
            allowed_scopes=(UPSTREAM_SCOPE,),
            allowed_resources=(url,),
            secret_hash=hash_secret(SECRET, cost=2**10),
        )
        issuers.append(
            AuthorizationServer(issuer=ISSUER, clients=[gateway], signing_key=SigningKey.generate())
        )
        mcp = MCPServer(
            "demand",
            token_verifier=MCPTokenVerifier(issuers[0].verifier(), audience=url),
            auth=AuthSettings(
                issuer_url=AnyHttpUrl(ISSUER),
                resource_server_url=AnyHttpUrl(url),
                validate_token_resource=True,
                required_scopes=[UPSTREAM_SCOPE],
            ),
        )

        @mcp.tool()
        def ping() -> str:
            return "pong"

        return mcp.streamable_http_app()

    with served(make_app, lifespan="on") as base_url:
        yield Upstream(f"{base_url}/mcp", issuers[0])


@pytest.fixture
async def token_http(upstream: Upstream) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app_for(upstream.issuer))
    async with httpx.AsyncClient(transport=transport, base_url=ISSUER) as http:
        yield http


async def test_an_mcp_server_serves_a_client_holding_a_token_for_its_url(
    upstream: Upstream, token_http: httpx.AsyncClient
) -> None:
    auth = ClientCredentialsAuth(
        f"{ISSUER}/oauth/token",
        client_id="gateway",
        client_secret=SECRET,
        scope=UPSTREAM_SCOPE,
        resource=upstream.url,
        http=token_http,
    )
    async with (
        httpx2.AsyncClient(auth=auth) as http,
        Client(streamable_http_client(upstream.url, http_client=http)) as client,
    ):
        result = await client.call_tool("ping", {})

    assert result.structured_content == {"result": "pong"}


async def test_an_mcp_server_refuses_no_token_and_a_token_for_another_resource(upstream: Upstream) -> None:
    foreign = upstream.issuer.issue(
        subject="svc", client_id="gateway", scopes=[UPSTREAM_SCOPE], audience=DEMAND
    ).access_token
    async with httpx2.AsyncClient() as http:
        anonymous = await http.post(upstream.url, json={})
        wrong_audience = await http.post(
            upstream.url, json={}, headers={"Authorization": f"Bearer {foreign}"}
        )

    assert anonymous.status_code == wrong_audience.status_code == 401
    assert "resource_metadata=" in anonymous.headers["www-authenticate"]
