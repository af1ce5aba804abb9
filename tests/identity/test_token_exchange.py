"""Delegation by RFC 8693 token exchange: the authenticated client is the actor."""

from __future__ import annotations

import httpx
import pytest

from mesh.identity import AuthorizationServer, ClientConfig, SigningKey

from .conftest import (
    ACCESS_TOKEN,
    DEMAND,
    INVENTORY,
    ISSUER,
    START,
    Clock,
    basic,
    claims_of,
    client_token,
    exchange,
    post_token,
)


async def test_an_agent_exchanges_an_operator_token_to_act_for_the_operator(
    http: httpx.AsyncClient, server: AuthorizationServer
) -> None:
    operator = await client_token(http, "operator", resource=DEMAND)

    answer = await exchange(
        http, "agent-inventory", operator.token, resource=INVENTORY, scope="inventory:read"
    )

    assert answer.status == 200
    assert answer.headers["cache-control"] == "no-store"
    assert answer.body["issued_token_type"] == ACCESS_TOKEN
    assert answer.body["token_type"] == "Bearer"
    assert answer.body["scope"] == "inventory:read"
    header, claims = claims_of(answer.token)
    assert header["typ"] == "at+jwt"
    assert claims["sub"] == "operator:alice"
    assert claims["client_id"] == "agent-inventory"
    assert claims["act"] == {"sub": "agent:inventory"}
    assert claims["aud"] == INVENTORY
    principal = server.verifier().verify(answer.token, audience=INVENTORY)
    assert principal.subject == "operator:alice"
    assert principal.client_id == "agent-inventory"
    assert principal.act_chain == ("agent:inventory",)
    assert principal.scopes == {"inventory:read"}


async def test_omitted_scope_is_what_both_the_subject_and_the_actor_hold(http: httpx.AsyncClient) -> None:
    operator = await client_token(http, "operator", scope="demand:read inventory:write escalations:approve")

    answer = await exchange(http, "agent-demand", operator.token)

    assert answer.body["scope"] == "demand:read"


async def test_a_second_exchange_nests_the_act_chain_outermost_first(
    http: httpx.AsyncClient, server: AuthorizationServer
) -> None:
    operator = await client_token(http, "operator")
    inventory = await exchange(http, "agent-inventory", operator.token, resource=INVENTORY)

    answer = await exchange(http, "agent-demand", inventory.token, scope="demand:read")

    claims = claims_of(answer.token)[1]
    assert claims["sub"] == "operator:alice"
    assert claims["client_id"] == "agent-demand"
    assert claims["act"] == {"sub": "agent:demand", "act": {"sub": "agent:inventory"}}
    principal = server.verifier().verify(answer.token, audience=DEMAND)
    assert principal.act_chain == ("agent:demand", "agent:inventory")


@pytest.mark.parametrize(
    ("subject_scope", "requested"),
    [
        ("demand:read", "inventory:read"),  # the actor may, the subject token does not hold it
        ("inventory:write", "inventory:write"),  # the subject holds it, agent-demand may not have it
    ],
)
async def test_scope_escalation_through_exchange_is_invalid_scope(
    http: httpx.AsyncClient, subject_scope: str, requested: str
) -> None:
    operator = await client_token(http, "operator", scope=subject_scope)

    answer = await exchange(http, "agent-demand", operator.token, scope=requested)

    assert answer.status == 400
    assert answer.body["error"] == "invalid_scope"


async def test_exchange_keeps_the_actor_within_its_resources(http: httpx.AsyncClient) -> None:
    operator = await client_token(http, "operator")

    answer = await exchange(http, "agent-demand", operator.token, resource="http://127.0.0.1:9101/mcp")

    assert answer.body["error"] == "invalid_target"


async def test_a_subject_token_from_another_server_is_refused(
    http: httpx.AsyncClient, configs: list[ClientConfig], clock: Clock
) -> None:
    foreign = AuthorizationServer(
        issuer=ISSUER, clients=configs, signing_key=SigningKey.generate(), clock=clock
    )
    token = foreign.issue(
        subject="operator:alice", client_id="operator", scopes=["demand:read"], audience=DEMAND
    )

    answer = await exchange(http, "agent-demand", token.access_token)

    assert answer.status == 400
    assert answer.body["error"] == "invalid_request"
    assert "bad_signature" in answer.body["error_description"]


async def test_an_expired_subject_token_is_refused(http: httpx.AsyncClient, clock: Clock) -> None:
    operator = await client_token(http, "operator")
    clock.advance(300 + 1)  # within a verifier's leeway, but expired for the server that issued it

    answer = await exchange(http, "agent-demand", operator.token)

    assert answer.body["error"] == "invalid_request"
    assert "expired" in answer.body["error_description"]


async def test_a_revoked_subject_token_is_refused(http: httpx.AsyncClient) -> None:
    operator = await client_token(http, "operator")
    revoked = await http.post("/oauth/revoke", data={"token": operator.token}, headers=basic("operator"))
    assert revoked.status_code == 200

    answer = await exchange(http, "agent-demand", operator.token)

    assert answer.body["error"] == "invalid_request"
    assert "revoked" in answer.body["error_description"]


async def test_the_exchanged_token_never_outlives_the_subject_token(
    http: httpx.AsyncClient, clock: Clock
) -> None:
    operator = await client_token(http, "operator")
    clock.advance(200)

    answer = await exchange(http, "agent-demand", operator.token)

    assert claims_of(answer.token)[1]["exp"] == START + 300
    assert answer.body["expires_in"] == 100


async def test_an_actor_token_must_belong_to_the_authenticated_client(http: httpx.AsyncClient) -> None:
    operator = await client_token(http, "operator")
    own = await client_token(http, "agent-demand")
    other = await client_token(http, "agent-inventory", resource=INVENTORY)

    accepted = await exchange(
        http, "agent-demand", operator.token, actor_token=own.token, actor_token_type=ACCESS_TOKEN
    )
    refused = await exchange(
        http, "agent-demand", operator.token, actor_token=other.token, actor_token_type=ACCESS_TOKEN
    )

    assert accepted.status == 200
    assert refused.body["error"] == "invalid_request"


async def test_may_act_on_the_subject_token_names_who_may_act(
    http: httpx.AsyncClient, server: AuthorizationServer
) -> None:
    only_inventory = server.issue(
        subject="operator:alice",
        client_id="operator",
        scopes=["demand:read"],
        audience=DEMAND,
        may_act={"sub": "agent:inventory"},
    ).access_token

    refused = await exchange(http, "agent-demand", only_inventory)
    allowed = await exchange(http, "agent-inventory", only_inventory)

    assert refused.body["error"] == "invalid_request"
    assert "may_act" in refused.body["error_description"]
    assert allowed.status == 200


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("subject_token_type", "urn:ietf:params:oauth:token-type:saml2"),
        ("requested_token_type", "urn:ietf:params:oauth:token-type:refresh_token"),
    ],
)
async def test_unsupported_token_types_are_invalid_request(
    http: httpx.AsyncClient, name: str, value: str
) -> None:
    operator = await client_token(http, "operator")

    answer = await exchange(http, "agent-demand", operator.token, **{name: value})

    assert answer.body["error"] == "invalid_request"


async def test_a_missing_subject_token_is_invalid_request(http: httpx.AsyncClient) -> None:
    answer = await post_token(
        http,
        "agent-demand",
        grant_type="urn:ietf:params:oauth:grant-type:token-exchange",
        subject_token_type=ACCESS_TOKEN,
        resource=DEMAND,
    )

    assert answer.body["error"] == "invalid_request"


async def test_delegation_chains_have_a_depth_limit(http: httpx.AsyncClient) -> None:
    token = (await client_token(http, "operator")).token
    answers = []
    for _ in range(9):
        answer = await exchange(http, "agent-demand", token, scope="demand:read")
        answers.append(answer)
        if answer.status != 200:
            break
        token = answer.token

    assert [a.status for a in answers] == [200] * 8 + [400]
    assert answers[-1].body["error"] == "invalid_request"
