"""RFC 7009 revocation at the embedded server, consulted by its verifier."""

from __future__ import annotations

import httpx
import pytest

from mesh.identity import AuthorizationServer, InvalidTokenError, RevocationList

from .conftest import DEMAND, INVENTORY, Clock, basic, client_token, exchange


async def test_a_revoked_token_no_longer_verifies(
    http: httpx.AsyncClient, server: AuthorizationServer
) -> None:
    token = (await client_token(http, "operator")).token
    verifier = server.verifier()
    verifier.verify(token, audience=DEMAND)

    response = await http.post("/oauth/revoke", data={"token": token}, headers=basic("operator"))

    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    with pytest.raises(InvalidTokenError) as refused:
        verifier.verify(token, audience=DEMAND)
    assert refused.value.reason == "revoked"


async def test_revocation_needs_client_authentication(http: httpx.AsyncClient) -> None:
    token = (await client_token(http, "operator")).token

    response = await http.post("/oauth/revoke", data={"token": token}, headers=basic("operator", "wrong"))

    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


async def test_a_client_cannot_revoke_another_clients_token(
    http: httpx.AsyncClient, server: AuthorizationServer
) -> None:
    token = (await client_token(http, "operator")).token

    response = await http.post("/oauth/revoke", data={"token": token}, headers=basic("agent-demand"))

    assert response.status_code == 400
    assert response.json()["error"] == "unauthorized_client"
    server.verifier().verify(token, audience=DEMAND)


async def test_the_subject_may_revoke_a_token_delegated_on_its_behalf(
    http: httpx.AsyncClient, server: AuthorizationServer
) -> None:
    operator = await client_token(http, "operator")
    delegated = (await exchange(http, "agent-inventory", operator.token, resource=INVENTORY)).token

    response = await http.post("/oauth/revoke", data={"token": delegated}, headers=basic("operator"))

    assert response.status_code == 200
    with pytest.raises(InvalidTokenError, match="revoked"):
        server.verifier().verify(delegated, audience=INVENTORY)


@pytest.mark.parametrize("token", ["not-a-token", "a.b.c"])
async def test_an_invalid_token_is_answered_200(http: httpx.AsyncClient, token: str) -> None:
    response = await http.post("/oauth/revoke", data={"token": token}, headers=basic("operator"))

    assert response.status_code == 200


def test_revocation_entries_expire_with_their_tokens() -> None:
    clock = Clock()
    revocations = RevocationList(clock=clock)

    revocations.revoke("jti-1", until=clock.now + 60)
    revocations.revoke("jti-2", until=clock.now + 600)
    assert revocations.is_revoked("jti-1")
    assert len(revocations) == 2

    clock.advance(61)
    revocations.revoke("jti-3", until=clock.now + 10)

    assert not revocations.is_revoked("jti-1")
    assert revocations.is_revoked("jti-2")
    assert len(revocations) == 2
