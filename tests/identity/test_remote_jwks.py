"""A verifier for any provider, given (issuer, JWKS URL): against a JWKS served over real HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.responses import JSONResponse

from mesh.identity import (
    AuthorizationServer,
    ClientConfig,
    InvalidTokenError,
    KeySetUnavailableError,
    RemoteKeySet,
    SigningKey,
    TokenVerifier,
)

from .conftest import DEMAND, ISSUER, Clock, served


@dataclass
class RotatingJWKS:
    """What the JWKS endpoint serves: keys a test replaces; it counts how often it is fetched."""

    keys: list[SigningKey]
    fetches: int = 0
    failing: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class Endpoint:
    url: str
    current: RotatingJWKS | None = None


@pytest.fixture(scope="module")
def endpoint() -> Iterator[Endpoint]:
    """One JWKS server on loopback for the module; each test sets what it serves."""
    state = Endpoint("")

    def make_app(_base_url: str) -> FastAPI:
        app = FastAPI()

        @app.get("/jwks.json")
        async def jwks() -> JSONResponse:
            served_keys = state.current
            assert served_keys is not None
            served_keys.fetches += 1
            if served_keys.failing:
                return JSONResponse({"error": "down"}, 503)
            return JSONResponse({"keys": [key.public_jwk() for key in served_keys.keys], **served_keys.extra})

        return app

    with served(make_app) as base_url:
        state.url = f"{base_url}/jwks.json"
        yield state


@pytest.fixture
def old_key() -> SigningKey:
    return SigningKey.generate()


@pytest.fixture
def jwks(endpoint: Endpoint, old_key: SigningKey) -> RotatingJWKS:
    endpoint.current = RotatingJWKS([old_key])
    return endpoint.current


@pytest.fixture
def jwks_url(endpoint: Endpoint, jwks: RotatingJWKS) -> str:
    return endpoint.url


def _server(key: SigningKey, configs: list[ClientConfig], clock: Clock) -> AuthorizationServer:
    return AuthorizationServer(issuer=ISSUER, clients=configs, signing_key=key, clock=clock)


def _token(server: AuthorizationServer) -> str:
    return server.issue(
        subject="svc", client_id="gateway", scopes=["demand:read"], audience=DEMAND
    ).access_token


def _verifier(jwks_url: str, clock: Clock) -> TokenVerifier:
    return TokenVerifier.from_jwks_url(
        issuer=ISSUER, jwks_url=jwks_url, clock=clock, min_refresh_interval=timedelta(seconds=10)
    )


def test_tokens_verify_against_keys_fetched_once_from_the_jwks_url(
    jwks: RotatingJWKS, jwks_url: str, old_key: SigningKey, configs: list[ClientConfig], clock: Clock
) -> None:
    verifier = _verifier(jwks_url, clock)
    server = _server(old_key, configs, clock)

    for _ in range(3):
        principal = verifier.verify(_token(server), audience=DEMAND)

    assert principal.subject == "svc"
    assert jwks.fetches == 1


def test_an_unknown_kid_refetches_once_then_waits_the_minimum_interval(
    jwks: RotatingJWKS, jwks_url: str, old_key: SigningKey, configs: list[ClientConfig], clock: Clock
) -> None:
    verifier = _verifier(jwks_url, clock)
    verifier.verify(_token(_server(old_key, configs, clock)), audience=DEMAND)
    new_key = SigningKey.generate()
    jwks.keys = [new_key, old_key]
    rotated = _token(_server(new_key, configs, clock))

    with pytest.raises(InvalidTokenError) as refused:
        verifier.verify(rotated, audience=DEMAND)  # within the minimum interval: no refetch
    assert refused.value.reason == "bad_signature"
    assert jwks.fetches == 1

    clock.advance(10)
    verifier.verify(rotated, audience=DEMAND)
    verifier.verify(_token(_server(old_key, configs, clock)), audience=DEMAND)
    assert jwks.fetches == 2

    stranger = _token(_server(SigningKey.generate(), configs, clock))
    for _ in range(3):
        with pytest.raises(InvalidTokenError, match="no trusted key"):
            verifier.verify(stranger, audience=DEMAND)
    assert jwks.fetches == 2


def test_cached_keys_stay_in_use_when_a_refresh_fails(
    jwks: RotatingJWKS, jwks_url: str, old_key: SigningKey, configs: list[ClientConfig], clock: Clock
) -> None:
    verifier = _verifier(jwks_url, clock)
    verifier.verify(_token(_server(old_key, configs, clock)), audience=DEMAND)
    jwks.failing = True
    clock.advance(11 * 60)  # past the maximum age: refresh, which fails

    verifier.verify(_token(_server(old_key, configs, clock)), audience=DEMAND)

    assert jwks.fetches == 2


def test_no_reachable_jwks_and_nothing_cached_is_key_set_unavailable(
    jwks: RotatingJWKS, jwks_url: str, old_key: SigningKey, configs: list[ClientConfig], clock: Clock
) -> None:
    jwks.failing = True
    verifier = _verifier(jwks_url, clock)
    token = _token(_server(old_key, configs, clock))

    for _ in range(3):
        with pytest.raises(KeySetUnavailableError, match="HTTP 503"):
            verifier.verify(token, audience=DEMAND)
    assert jwks.fetches == 1  # a provider that is down is not hammered

    jwks.failing = False
    clock.advance(10)
    verifier.verify(token, audience=DEMAND)


def test_symmetric_and_encryption_keys_in_a_jwks_are_ignored(
    jwks: RotatingJWKS, jwks_url: str, old_key: SigningKey, configs: list[ClientConfig], clock: Clock
) -> None:
    jwks.keys = []
    jwks.extra = {
        "keys": [
            {"kty": "oct", "k": "c2VjcmV0", "kid": old_key.kid},
            {**old_key.public_jwk(), "use": "enc"},
        ]
    }

    with pytest.raises(InvalidTokenError) as refused:
        _verifier(jwks_url, clock).verify(_token(_server(old_key, configs, clock)), audience=DEMAND)

    assert refused.value.reason == "bad_signature"


def test_keys_can_be_fetched_at_start_up_before_the_first_request(
    jwks: RotatingJWKS, jwks_url: str, old_key: SigningKey, configs: list[ClientConfig], clock: Clock
) -> None:
    keys = RemoteKeySet(jwks_url, clock=clock)
    keys.refresh()
    verifier = TokenVerifier(issuer=ISSUER, keys=keys, clock=clock)

    verifier.verify(_token(_server(old_key, configs, clock)), audience=DEMAND)

    assert jwks.fetches == 1
    jwks.failing = True
    clock.advance(10)
    with pytest.raises(KeySetUnavailableError):
        RemoteKeySet(jwks_url, clock=clock).refresh()
