"""The bearer token verifier: every check, its reason code, and messages without the token."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from joserfc import jwt
from joserfc.jwk import OctKey

from mesh.identity import (
    AuthorizationServer,
    ClientConfig,
    InvalidTokenError,
    PinnedKeys,
    Principal,
    SigningKey,
    TokenVerifier,
)

from .conftest import DEMAND, INVENTORY, ISSUER, START, Clock


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _issue(server: AuthorizationServer, **overrides: Any) -> str:
    arguments: dict[str, Any] = {
        "subject": "operator:alice",
        "client_id": "operator",
        "scopes": ["demand:read", "inventory:read"],
        "audience": DEMAND,
    }
    return server.issue(**(arguments | overrides)).access_token


def _claims(clock: Clock, **overrides: Any) -> dict[str, Any]:
    now = int(clock.now)
    claims = {
        "iss": ISSUER,
        "sub": "operator:alice",
        "aud": DEMAND,
        "client_id": "operator",
        "scope": "demand:read",
        "iat": now,
        "nbf": now,
        "exp": now + 300,
        "jti": "token-1",
    }
    return {name: value for name, value in (claims | overrides).items() if value is not None}


def _refusal(verifier: TokenVerifier, token: str, audience: str = DEMAND) -> InvalidTokenError:
    with pytest.raises(InvalidTokenError) as refused:
        verifier.verify(token, audience=audience)
    assert token not in str(refused.value)
    assert token.split(".")[-1] not in str(refused.value) or not token.split(".")[-1]
    return refused.value


def test_a_valid_token_gives_its_principal(server: AuthorizationServer) -> None:
    principal = server.verifier().verify(_issue(server), audience=DEMAND)

    assert principal == Principal(
        subject="operator:alice",
        client_id="operator",
        scopes=frozenset({"demand:read", "inventory:read"}),
        act_chain=(),
        token_id=principal.token_id,
        expires_at=datetime.fromtimestamp(START + 300, UTC),
        issued_at=datetime.fromtimestamp(START, UTC),
        issuer=ISSUER,
        audience=DEMAND,
    )
    assert principal.has_scopes("demand:read")
    assert principal.has_scopes("demand:read", "inventory:read")
    assert not principal.has_scopes("demand:read", "inventory:write")
    assert principal.has_scopes()


def test_expired_after_the_leeway_only(server: AuthorizationServer, clock: Clock) -> None:
    token = _issue(server)
    verifier = server.verifier()

    clock.advance(300 + 30)
    verifier.verify(token, audience=DEMAND)
    clock.advance(1)

    assert (_refusal(verifier, token)).reason == "expired"


def test_leeway_is_configurable(server: AuthorizationServer, clock: Clock) -> None:
    token = _issue(server)
    clock.advance(301)

    assert (_refusal(server.verifier(leeway=timedelta(0)), token)).reason == "expired"


def test_not_yet_valid_before_nbf_minus_leeway(signing_key: SigningKey, clock: Clock) -> None:
    verifier = TokenVerifier(issuer=ISSUER, keys=PinnedKeys([signing_key]), clock=clock)
    early = signing_key.sign(_claims(clock, nbf=int(clock.now) + 60))

    assert (_refusal(verifier, early)).reason == "not_yet_valid"
    clock.advance(30)
    verifier.verify(early, audience=DEMAND)


def test_a_token_for_another_resource_is_wrong_audience(server: AuthorizationServer) -> None:
    refusal = _refusal(server.verifier(), _issue(server), audience=INVENTORY)

    assert refusal.reason == "wrong_audience"


def test_an_audience_list_must_contain_exactly_the_requested_audience(
    signing_key: SigningKey, clock: Clock
) -> None:
    verifier = TokenVerifier(issuer=ISSUER, keys=PinnedKeys([signing_key]), clock=clock)
    token = signing_key.sign(_claims(clock, aud=[INVENTORY, DEMAND]))

    verifier.verify(token, audience=DEMAND)
    assert (_refusal(verifier, token, audience=DEMAND + "/")).reason == "wrong_audience"


def test_a_token_from_another_issuer_is_wrong_issuer(
    configs: list[ClientConfig], signing_key: SigningKey, clock: Clock, server: AuthorizationServer
) -> None:
    other = AuthorizationServer(
        issuer="http://127.0.0.1:8001", clients=configs, signing_key=signing_key, clock=clock
    )

    assert (_refusal(server.verifier(), _issue(other))).reason == "wrong_issuer"


def test_a_token_signed_by_another_key_is_bad_signature(
    configs: list[ClientConfig], signing_key: SigningKey, clock: Clock, server: AuthorizationServer
) -> None:
    other_key = SigningKey.generate()
    other = AuthorizationServer(issuer=ISSUER, clients=configs, signing_key=other_key, clock=clock)
    impostor = SigningKey(other_key.key, signing_key.kid)  # claims our kid

    assert (_refusal(server.verifier(), _issue(other))).reason == "bad_signature"
    assert (_refusal(server.verifier(), impostor.sign(_claims(clock)))).reason == "bad_signature"


def test_a_tampered_payload_is_bad_signature(server: AuthorizationServer) -> None:
    header, _, signature = _issue(server).split(".")
    payload = _b64(json.dumps({"sub": "admin"}).encode())

    refusal = _refusal(server.verifier(), f"{header}.{payload}.{signature}")

    assert refusal.reason == "bad_signature"


def test_alg_none_is_unsupported_algorithm(server: AuthorizationServer, clock: Clock) -> None:
    header = _b64(json.dumps({"alg": "none", "typ": "at+jwt"}).encode())
    payload = _b64(json.dumps(_claims(clock)).encode())

    for token in (f"{header}.{payload}.", f"{header}.{payload}.c2ln"):
        assert (_refusal(server.verifier(), token)).reason == "unsupported_algorithm"


def test_an_hs256_token_keyed_with_the_public_key_is_unsupported_algorithm(
    server: AuthorizationServer, signing_key: SigningKey, clock: Clock
) -> None:
    public = json.dumps(signing_key.public_jwk()).encode()
    token = jwt.encode(
        {"alg": "HS256", "kid": signing_key.kid, "typ": "at+jwt"},
        _claims(clock),
        OctKey.import_key(public),
        algorithms=["HS256"],
    )

    assert (_refusal(server.verifier(), token)).reason == "unsupported_algorithm"


def test_symmetric_algorithms_cannot_be_allowed(signing_key: SigningKey) -> None:
    for algorithms in (["HS256"], ["ES256", "none"], []):
        with pytest.raises(ValueError, match="asymmetric"):
            TokenVerifier(issuer=ISSUER, keys=PinnedKeys([signing_key]), algorithms=algorithms)


@pytest.mark.parametrize(
    "token",
    [
        "",
        "not-a-jwt",
        "a.b.c",
        "e30.e30.e30.e30.e30",
        _b64(b'{"alg":"ES256"') + ".e30.e30",
        "x" * 9000,
    ],
)
def test_garbage_is_malformed(server: AuthorizationServer, token: str) -> None:
    with pytest.raises(InvalidTokenError) as refused:
        server.verifier().verify(token, audience=DEMAND)

    assert refused.value.reason == "malformed"


@pytest.mark.parametrize("missing", ["iss", "sub", "aud", "client_id", "exp", "iat", "jti"])
def test_a_missing_required_claim_is_malformed(signing_key: SigningKey, clock: Clock, missing: str) -> None:
    verifier = TokenVerifier(issuer=ISSUER, keys=PinnedKeys([signing_key]), clock=clock)

    refusal = _refusal(verifier, signing_key.sign(_claims(clock, **{missing: None})))

    assert refusal.reason == "malformed"
    assert missing in str(refusal)


@pytest.mark.parametrize(("claim", "value"), [("exp", "tomorrow"), ("act", {"client": "x"}), ("scope", 7)])
def test_a_mistyped_claim_is_malformed(signing_key: SigningKey, clock: Clock, claim: str, value: Any) -> None:
    verifier = TokenVerifier(issuer=ISSUER, keys=PinnedKeys([signing_key]), clock=clock)

    refusal = _refusal(verifier, signing_key.sign(_claims(clock, **{claim: value})))

    assert refusal.reason == "malformed"


def test_a_jwt_that_is_not_an_access_token_is_wrong_type(signing_key: SigningKey, clock: Clock) -> None:
    verifier = TokenVerifier(issuer=ISSUER, keys=PinnedKeys([signing_key]), clock=clock)

    refusal = _refusal(verifier, signing_key.sign(_claims(clock), typ="JWT"))

    assert refusal.reason == "wrong_type"


def test_the_verifier_accepts_the_application_media_type_spelling(
    signing_key: SigningKey, clock: Clock
) -> None:
    verifier = TokenVerifier(issuer=ISSUER, keys=PinnedKeys([signing_key]), clock=clock)

    verifier.verify(signing_key.sign(_claims(clock), typ="application/at+jwt"), audience=DEMAND)


def test_key_location_headers_in_a_token_are_never_followed(signing_key: SigningKey, clock: Clock) -> None:
    attacker = SigningKey.generate()
    header = {
        "alg": "ES256",
        "typ": "at+jwt",
        "kid": attacker.kid,
        "jku": "http://attacker.invalid/jwks.json",
        "jwk": attacker.public_jwk(),
    }
    token = jwt.encode(header, _claims(clock), attacker.key, algorithms=["ES256"])
    verifier = TokenVerifier(issuer=ISSUER, keys=PinnedKeys([signing_key]), clock=clock)

    assert (_refusal(verifier, token)).reason == "bad_signature"
