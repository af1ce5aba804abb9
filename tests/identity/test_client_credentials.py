"""The client credentials grant at the token endpoint (RFC 6749 §4.4, RFC 8707, RFC 9068)."""

from __future__ import annotations

import logging
from datetime import timedelta

import httpx
import pytest
from fastapi import FastAPI

from mesh.identity import AuthorizationServer, ClientConfig, SigningKey

from .conftest import DEMAND, INVENTORY, ISSUER, MCP, SECRETS, START, Clock, basic, claims_of, client_token


async def test_client_credentials_issue_an_es256_at_jwt_for_the_resource(
    http: httpx.AsyncClient, server: AuthorizationServer, signing_key: SigningKey
) -> None:
    answer = await client_token(http, "operator", scope="demand:read inventory:read")

    assert answer.status == 200
    assert answer.headers["cache-control"] == "no-store"
    assert answer.body["token_type"] == "Bearer"
    assert answer.body["expires_in"] == 300
    assert answer.body["scope"] == "demand:read inventory:read"
    header, claims = claims_of(answer.token)
    assert header == {"alg": "ES256", "kid": signing_key.kid, "typ": "at+jwt"}
    assert claims["iss"] == ISSUER
    assert claims["aud"] == DEMAND
    assert claims["sub"] == "operator:alice"
    assert claims["client_id"] == "operator"
    assert claims["scope"] == "demand:read inventory:read"
    assert claims["iat"] == claims["nbf"] == START
    assert claims["exp"] == START + 300
    assert len(claims["jti"]) >= 16
    assert "act" not in claims
    principal = server.verifier().verify(answer.token, audience=DEMAND)
    assert principal.subject == "operator:alice"


async def test_each_token_has_its_own_jti(http: httpx.AsyncClient) -> None:
    first = await client_token(http, "operator")
    second = await client_token(http, "operator")

    assert claims_of(first.token)[1]["jti"] != claims_of(second.token)[1]["jti"]


async def test_omitted_scope_grants_every_allowed_scope(http: httpx.AsyncClient) -> None:
    answer = await client_token(http, "operator")

    assert answer.body["scope"] == "demand:read escalations:approve inventory:read inventory:write"


async def test_client_secret_post_authenticates_too(http: httpx.AsyncClient) -> None:
    form = {
        "grant_type": "client_credentials",
        "resource": DEMAND,
        "client_id": "agent-demand",
        "client_secret": SECRETS["agent-demand"],
    }
    response = await http.post("/oauth/token", data=form)

    assert response.status_code == 200
    assert claims_of(response.json()["access_token"])[1]["client_id"] == "agent-demand"


async def test_token_lifetime_is_configurable(
    configs: list[ClientConfig], signing_key: SigningKey, clock: Clock
) -> None:
    server = AuthorizationServer(
        issuer=ISSUER,
        clients=configs,
        signing_key=signing_key,
        clock=clock,
        token_lifetime=timedelta(minutes=2),
    )
    app = FastAPI()
    app.include_router(server.router)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=ISSUER) as http:
        answer = await client_token(http, "operator")

    assert answer.body["expires_in"] == 120
    assert claims_of(answer.token)[1]["exp"] == START + 120


@pytest.mark.parametrize(
    ("client_id", "secret"),
    [("operator", "not-the-secret"), ("nobody", "whatever"), ("operator", "")],
)
async def test_wrong_or_unknown_client_is_invalid_client_401_with_basic_challenge(
    http: httpx.AsyncClient, client_id: str, secret: str
) -> None:
    response = await http.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", "resource": DEMAND},
        headers=basic(client_id, secret),
    )

    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert response.headers["www-authenticate"].startswith("Basic ")
    assert response.headers["cache-control"] == "no-store"


async def test_unknown_client_id_is_invalid_client(http: httpx.AsyncClient) -> None:
    form = {
        "grant_type": "client_credentials",
        "resource": DEMAND,
        "client_id": "nobody",
        "client_secret": "x",
    }
    response = await http.post("/oauth/token", data=form)

    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


async def test_no_client_authentication_is_invalid_client(http: httpx.AsyncClient) -> None:
    response = await http.post("/oauth/token", data={"grant_type": "client_credentials", "resource": DEMAND})

    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


async def test_two_authentication_methods_at_once_are_invalid_request(http: httpx.AsyncClient) -> None:
    form = {"grant_type": "client_credentials", "resource": DEMAND, "client_secret": SECRETS["operator"]}
    response = await http.post("/oauth/token", data=form, headers=basic("operator"))

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


async def test_scope_outside_the_clients_allowed_scopes_is_invalid_scope(http: httpx.AsyncClient) -> None:
    answer = await client_token(http, "agent-demand", scope="demand:read inventory:write")

    assert answer.status == 400
    assert answer.body["error"] == "invalid_scope"
    assert "inventory:write" in answer.body["error_description"]


@pytest.mark.parametrize(
    "resource",
    [
        "http://127.0.0.1:9999/mcp/demand",  # another server
        "http://127.0.0.1:8000/mcpx",  # a prefix that is not a path prefix
        "http://127.0.0.1:8000/mcp/demand/../../admin",  # dot segments
        "http://127.0.0.1:8000/mcp/demand#fragment",
        "urn:example:demand",
    ],
)
async def test_a_resource_the_client_may_not_ask_for_is_invalid_target(
    http: httpx.AsyncClient, resource: str
) -> None:
    answer = await client_token(http, "operator", resource=resource)

    assert answer.status == 400
    assert answer.body["error"] == "invalid_target"


async def test_resource_is_required_and_only_once(http: httpx.AsyncClient) -> None:
    missing = await http.post(
        "/oauth/token", data={"grant_type": "client_credentials"}, headers=basic("operator")
    )
    twice = await http.post(
        "/oauth/token",
        content=f"grant_type=client_credentials&resource={DEMAND}&resource={INVENTORY}",
        headers=basic("operator") | {"Content-Type": "application/x-www-form-urlencoded"},
    )

    assert missing.json()["error"] == twice.json()["error"] == "invalid_target"


async def test_resource_prefixes_allow_resources_under_them(http: httpx.AsyncClient) -> None:
    exact = await client_token(http, "operator", resource=MCP)
    under = await client_token(http, "agent-inventory", resource=INVENTORY)

    assert claims_of(exact.token)[1]["aud"] == MCP
    assert claims_of(under.token)[1]["aud"] == INVENTORY


async def test_unknown_grant_type_is_unsupported_grant_type(http: httpx.AsyncClient) -> None:
    response = await http.post(
        "/oauth/token", data={"grant_type": "password", "resource": DEMAND}, headers=basic("operator")
    )

    assert response.status_code == 400
    assert response.json()["error"] == "unsupported_grant_type"


async def test_a_grant_the_client_may_not_use_is_unauthorized_client(http: httpx.AsyncClient) -> None:
    response = await http.post(
        "/oauth/token",
        data={"grant_type": "urn:ietf:params:oauth:grant-type:token-exchange", "resource": DEMAND},
        headers=basic("operator"),
    )

    assert response.json()["error"] == "unauthorized_client"


@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        ("grant_type=client_credentials&grant_type=client_credentials", "application/x-www-form-urlencoded"),
        ('{"grant_type": "client_credentials"}', "application/json"),
        ("resource=x", "application/x-www-form-urlencoded"),
    ],
)
async def test_repeated_missing_or_json_parameters_are_invalid_request(
    http: httpx.AsyncClient, content: str, content_type: str
) -> None:
    response = await http.post(
        "/oauth/token", content=content, headers=basic("operator") | {"Content-Type": content_type}
    )

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


async def test_secrets_and_tokens_are_never_logged(
    http: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)

    issued = await client_token(http, "operator")
    await http.post(
        "/oauth/token", data={"grant_type": "client_credentials"}, headers=basic("operator", "wrong")
    )
    await http.post("/oauth/revoke", data={"token": issued.token}, headers=basic("operator"))

    assert "issued token" in caplog.text
    assert issued.token not in caplog.text
    assert issued.token.split(".")[2] not in caplog.text
    assert SECRETS["operator"] not in caplog.text
    assert "wrong" not in caplog.text
