"""RFC 8414 metadata and the JWKS of the embedded authorization server."""

from __future__ import annotations

import httpx
from mcp.shared.auth import OAuthMetadata

from mesh.identity import AuthorizationServer, ClientConfig, SigningKey

from .conftest import ISSUER, app_for


async def test_metadata_names_issuer_endpoints_grants_auth_methods_and_scopes(
    http: httpx.AsyncClient,
) -> None:
    response = await http.get("/.well-known/oauth-authorization-server")

    assert response.status_code == 200
    metadata = response.json()
    assert metadata["issuer"] == ISSUER
    assert metadata["token_endpoint"] == f"{ISSUER}/oauth/token"
    assert metadata["jwks_uri"] == f"{ISSUER}/oauth/jwks.json"
    assert metadata["revocation_endpoint"] == f"{ISSUER}/oauth/revoke"
    assert metadata["grant_types_supported"] == [
        "client_credentials",
        "urn:ietf:params:oauth:grant-type:token-exchange",
    ]
    assert metadata["token_endpoint_auth_methods_supported"] == ["client_secret_basic", "client_secret_post"]
    assert metadata["response_types_supported"] == []
    assert set(metadata["scopes_supported"]) >= {"demand:read", "inventory:write", "mcp:call"}
    assert metadata["scopes_supported"] == sorted(metadata["scopes_supported"])


async def test_metadata_is_accepted_by_the_mcp_sdk_client_model(http: httpx.AsyncClient) -> None:
    response = await http.get("/.well-known/oauth-authorization-server")

    parsed = OAuthMetadata.model_validate_json(response.content)

    assert str(parsed.issuer) == ISSUER
    assert parsed.response_types_supported == []


async def test_authorization_endpoint_supports_no_response_type(http: httpx.AsyncClient) -> None:
    response = await http.get("/oauth/authorize", params={"response_type": "code", "client_id": "operator"})

    assert response.status_code == 400
    assert response.json()["error"] == "unsupported_response_type"


async def test_jwks_publishes_only_the_public_signing_key_with_its_kid(
    http: httpx.AsyncClient, signing_key: SigningKey
) -> None:
    response = await http.get("/oauth/jwks.json")

    assert response.status_code == 200
    (key,) = response.json()["keys"]
    assert key["kid"] == signing_key.kid == signing_key.key.thumbprint()
    assert (key["kty"], key["crv"], key["alg"], key["use"]) == ("EC", "P-256", "ES256", "sig")
    assert "d" not in key


async def test_an_issuer_with_a_path_serves_its_metadata_at_the_path_inserted_location(
    configs: list[ClientConfig], signing_key: SigningKey
) -> None:
    server = AuthorizationServer(issuer=f"{ISSUER}/mesh", clients=configs, signing_key=signing_key)
    transport = httpx.ASGITransport(app=app_for(server))
    async with httpx.AsyncClient(transport=transport, base_url=ISSUER) as http:
        response = await http.get("/.well-known/oauth-authorization-server/mesh")

    assert response.json()["token_endpoint"] == f"{ISSUER}/mesh/oauth/token"
