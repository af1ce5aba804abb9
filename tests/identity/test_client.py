"""Getting tokens: fetch_token, exchange_token, and ClientCredentialsAuth on httpx and httpx2."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import httpx2
import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from mesh.identity import (
    AuthorizationServer,
    ClientCredentialsAuth,
    InvalidTokenError,
    TokenRequestError,
    bearer_challenge,
    exchange_token,
    fetch_token,
)

from .conftest import DEMAND, INVENTORY, ISSUER, SECRETS, Clock, basic, claims_of

TOKEN_URL = f"{ISSUER}/oauth/token"


def _protected_app(server: AuthorizationServer) -> FastAPI:
    """The authorization server, plus a resource at /mcp/demand that says who called."""
    app = FastAPI()
    app.include_router(server.router)
    verifier = server.verifier()

    @app.post("/mcp/demand")
    async def whoami(request: Request) -> JSONResponse:
        token = request.headers.get("authorization", "").removeprefix("Bearer ")
        try:
            principal = verifier.verify(token, audience=DEMAND)
        except InvalidTokenError as error:
            challenge = bearer_challenge(resource_metadata=f"{ISSUER}/prm", error="invalid_token")
            return JSONResponse({"reason": error.reason}, 401, headers={"WWW-Authenticate": challenge})
        return JSONResponse({"jti": principal.token_id, "body": (await request.body()).decode()})

    return app


@pytest.fixture
async def http(server: AuthorizationServer) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=_protected_app(server))
    async with httpx.AsyncClient(transport=transport, base_url=ISSUER) as client:
        yield client


async def test_fetch_token_gets_a_client_credentials_token(http: httpx.AsyncClient) -> None:
    response = await fetch_token(
        TOKEN_URL,
        client_id="agent-demand",
        client_secret=SECRETS["agent-demand"],
        scope=["demand:read"],
        resource=DEMAND,
        http=http,
    )

    assert response.scopes == {"demand:read"}
    assert response.expires_in == 300
    assert claims_of(response.access_token)[1]["aud"] == DEMAND
    assert response.access_token not in repr(response)


async def test_a_refused_request_raises_with_the_oauth_error_code(http: httpx.AsyncClient) -> None:
    with pytest.raises(TokenRequestError) as refused:
        await fetch_token(
            TOKEN_URL,
            client_id="agent-demand",
            client_secret=SECRETS["agent-demand"],
            scope="inventory:write",
            resource=DEMAND,
            http=http,
        )

    assert (refused.value.error, refused.value.status_code) == ("invalid_scope", 400)
    assert SECRETS["agent-demand"] not in str(refused.value)


async def test_an_unreachable_token_endpoint_raises_unreachable() -> None:
    with pytest.raises(TokenRequestError) as refused:
        await fetch_token(
            "http://127.0.0.1:1/oauth/token", client_id="x", client_secret="y", scope=None, resource=DEMAND
        )

    assert (refused.value.error, refused.value.status_code) == ("unreachable", None)


async def test_exchange_token_delegates_to_the_actor(http: httpx.AsyncClient) -> None:
    operator = await fetch_token(
        TOKEN_URL,
        client_id="operator",
        client_secret=SECRETS["operator"],
        scope=None,
        resource=DEMAND,
        http=http,
    )

    delegated = await exchange_token(
        TOKEN_URL,
        client_id="agent-inventory",
        client_secret=SECRETS["agent-inventory"],
        subject_token=operator.access_token,
        scope="inventory:read",
        resource=INVENTORY,
        http=http,
    )

    assert delegated.issued_token_type == "urn:ietf:params:oauth:token-type:access_token"
    assert claims_of(delegated.access_token)[1]["act"] == {"sub": "agent:inventory"}


def _auth(http: httpx.AsyncClient, clock: Clock) -> ClientCredentialsAuth:
    return ClientCredentialsAuth(
        TOKEN_URL,
        client_id="agent-demand",
        client_secret=SECRETS["agent-demand"],
        scope="demand:read",
        resource=DEMAND,
        http=http,
        clock=clock,
    )


async def test_client_credentials_auth_reuses_a_token_until_shortly_before_expiry(
    http: httpx.AsyncClient, server: AuthorizationServer, clock: Clock
) -> None:
    auth = _auth(http, clock)
    transport = httpx.ASGITransport(app=_protected_app(server))
    async with httpx.AsyncClient(transport=transport, base_url=ISSUER, auth=auth) as client:
        first = (await client.post("/mcp/demand", content=b"one")).json()
        second = (await client.post("/mcp/demand", content=b"two")).json()
        clock.advance(300 - 30)
        third = (await client.post("/mcp/demand", content=b"three")).json()

    assert first["jti"] == second["jti"] != third["jti"]
    assert third["body"] == "three"


async def test_client_credentials_auth_replaces_a_revoked_token_and_resends_once(
    http: httpx.AsyncClient, server: AuthorizationServer, clock: Clock
) -> None:
    auth = _auth(http, clock)
    transport = httpx.ASGITransport(app=_protected_app(server))
    async with httpx.AsyncClient(transport=transport, base_url=ISSUER, auth=auth) as client:
        first = (await client.post("/mcp/demand", content=b"one")).json()
        revoked = await http.post(
            "/oauth/revoke", data={"token": await auth.token()}, headers=basic("agent-demand")
        )
        assert revoked.status_code == 200
        again = await client.post("/mcp/demand", content=b"resent body")

    assert again.status_code == 200
    assert again.json()["jti"] != first["jti"]
    assert again.json()["body"] == "resent body"


async def test_client_credentials_auth_works_on_httpx2_clients_as_the_mcp_sdk_uses(
    http: httpx.AsyncClient, server: AuthorizationServer, clock: Clock
) -> None:
    auth = _auth(http, clock)
    transport = httpx2.ASGITransport(app=_protected_app(server))
    async with httpx2.AsyncClient(transport=transport, base_url=ISSUER, auth=auth) as client:
        response = await client.post("/mcp/demand", content=b"over httpx2")

    assert response.status_code == 200
    assert response.json()["body"] == "over httpx2"


def test_client_credentials_auth_refuses_sync_clients(http: httpx.AsyncClient, clock: Clock) -> None:
    with httpx.Client(auth=_auth(http, clock)) as client, pytest.raises(RuntimeError, match="async"):
        client.get("http://127.0.0.1:1/")
