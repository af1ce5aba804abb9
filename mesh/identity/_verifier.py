"""The bearer token verifier every resource server uses, and the principal a token proves."""

from __future__ import annotations

import base64
import binascii
import json
import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from joserfc import jws
from joserfc.errors import BadSignatureError, JoseError

from ._errors import InvalidTokenError
from ._keys import ACCESS_TOKEN_JWT_TYPE, SIGNING_ALGORITHM, KeySource, RemoteKeySet
from ._revocation import RevocationList
from ._wire import parse_scope

MAX_TOKEN_LENGTH = 8192
MAX_DELEGATION_DEPTH = 8
"""The longest `act` chain a token may carry (the server issues at most this deep)."""

_ASYMMETRIC = frozenset(
    {"ES256", "ES384", "ES512", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "EdDSA", "Ed25519"}
)
_TYPES = frozenset({ACCESS_TOKEN_JWT_TYPE, "application/" + ACCESS_TOKEN_JWT_TYPE})

Claims = dict[str, Any]


@dataclass(frozen=True)
class Principal:
    """Who a verified token speaks for.

    `subject` is the principal (`sub`); `client_id` the client that holds the token; `act_chain`
    the delegation chain from the nested RFC 8693 `act` claim, outermost (the current actor)
    first; empty when the client acts for itself.
    """

    subject: str
    client_id: str
    scopes: frozenset[str]
    act_chain: tuple[str, ...]
    token_id: str
    expires_at: datetime
    issued_at: datetime
    issuer: str = ""
    audience: str = ""

    def has_scopes(self, *required: str) -> bool:
        """Whether the token grants every one of `required`."""
        return self.scopes.issuperset(required)

    @property
    def delegated(self) -> bool:
        return bool(self.act_chain)


class TokenVerifier:
    """Verifies RFC 9068 JWT access tokens against pinned keys, for one audience per call.

    Checks, in this order, each failure raising `InvalidTokenError` with its `reason`:
    size and shape ("malformed"); `alg` is one of `algorithms`, never `none` or HS* (so
    "unsupported_algorithm"); the key named by `kid` is pinned and the signature verifies
    ("bad_signature"); header `typ` is `at+jwt` ("wrong_type"); the claims `iss`, `sub`,
    `client_id`, `aud`, `exp`, `iat`, `jti` are present and typed ("malformed"); `iss` equals
    `issuer` exactly ("wrong_issuer"); `exp`, `nbf` and `iat` hold within `leeway`
    ("expired", "not_yet_valid"); `aud` is, or contains, exactly `audience` ("wrong_audience");
    `jti` is not in `revocations` ("revoked"). Token headers naming key locations (`jku`,
    `x5u`, `jwk`) are never followed. A JWKS that cannot be fetched raises
    `KeySetUnavailableError` instead.

    Verification is a plain call, CPU only (about 0.1 ms), except when a `RemoteKeySet` must
    fetch keys: see its contract. Thread-safe.
    """

    def __init__(
        self,
        *,
        issuer: str,
        keys: KeySource,
        algorithms: Collection[str] = (SIGNING_ALGORITHM,),
        leeway: timedelta = timedelta(seconds=30),
        revocations: RevocationList | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        refused = set(algorithms) - _ASYMMETRIC
        if refused or not algorithms:
            raise ValueError(f"only asymmetric signature algorithms may be allowed, not {sorted(refused)}")
        self.issuer = issuer
        self._keys = keys
        self._algorithms = frozenset(algorithms)
        self._leeway = leeway.total_seconds()
        self._revocations = revocations
        self._clock = clock

    @classmethod
    def from_jwks_url(
        cls,
        *,
        issuer: str,
        jwks_url: str,
        http: httpx.Client | None = None,
        algorithms: Collection[str] = (SIGNING_ALGORITHM,),
        leeway: timedelta = timedelta(seconds=30),
        min_refresh_interval: timedelta = timedelta(seconds=10),
        clock: Callable[[], float] = time.time,
    ) -> TokenVerifier:
        """A verifier for any OAuth/OIDC provider, given its issuer and JWKS URL (configuration)."""
        keys = RemoteKeySet(jwks_url, http=http, min_interval=min_refresh_interval, clock=clock)
        return cls(issuer=issuer, keys=keys, algorithms=algorithms, leeway=leeway, clock=clock)

    def verify(self, token: str, *, audience: str) -> Principal:
        """The principal `token` proves, if it is valid for `audience`; else `InvalidTokenError`."""
        principal, _ = self.verify_claims(token, audience=audience)
        return principal

    def verify_claims(self, token: str, *, audience: str | None) -> tuple[Principal, Claims]:
        """As `verify`, returning the claims too; `audience=None` skips the audience check, for
        the authorization server's own use (token exchange, revocation) only."""
        header, claims = self._verified_parts(token)
        typ = header.get("typ")
        if not isinstance(typ, str) or typ.lower() not in _TYPES:
            raise InvalidTokenError("wrong_type", f"token type {typ!r} is not an access token (at+jwt)")
        issuer = _text(claims, "iss")
        subject = _text(claims, "sub")
        client_id = _text(claims, "azp" if "client_id" not in claims and "azp" in claims else "client_id")
        expires = _seconds(claims, "exp")
        issued = _seconds(claims, "iat")
        token_id = _text(claims, "jti")
        audiences = _audiences(claims)
        scopes = _scopes(claims)
        act_chain = _act_chain(claims.get("act"))
        not_before = _seconds(claims, "nbf") if "nbf" in claims else issued
        if issuer != self.issuer:
            raise InvalidTokenError("wrong_issuer", f"issuer {issuer!r} is not the trusted {self.issuer!r}")
        now = self._clock()
        if now > expires + self._leeway:
            raise InvalidTokenError("expired", f"token {token_id} expired at {_iso(expires)}")
        if now + self._leeway < max(not_before, issued):
            raise InvalidTokenError(
                "not_yet_valid", f"token {token_id} is not valid before {_iso(not_before)}"
            )
        if audience is not None and audience not in audiences:
            raise InvalidTokenError(
                "wrong_audience", f"token {token_id} is for {sorted(audiences)}, not for {audience!r}"
            )
        if self._revocations is not None and self._revocations.is_revoked(token_id):
            raise InvalidTokenError("revoked", f"token {token_id} was revoked")
        principal = Principal(
            subject=subject,
            client_id=client_id,
            scopes=scopes,
            act_chain=act_chain,
            token_id=token_id,
            expires_at=datetime.fromtimestamp(expires, UTC),
            issued_at=datetime.fromtimestamp(issued, UTC),
            issuer=issuer,
            audience=audience if audience is not None else (min(audiences) if audiences else ""),
        )
        return principal, claims

    def _verified_parts(self, token: str) -> tuple[dict[str, Any], Claims]:
        if not token or len(token) > MAX_TOKEN_LENGTH or token.count(".") != 2:
            raise InvalidTokenError("malformed", "not a compact JWS (three base64url parts)")
        header = _json_part(token.split(".", 1)[0], "header")
        alg = header.get("alg")
        if not isinstance(alg, str) or alg not in self._algorithms:
            raise InvalidTokenError("unsupported_algorithm", f"algorithm {alg!r} is not accepted")
        if "crit" in header:
            raise InvalidTokenError("malformed", "critical header parameters are not supported")
        kid = header.get("kid")
        if kid is not None and not isinstance(kid, str):
            raise InvalidTokenError("malformed", "header 'kid' is not a string")
        key = self._keys.key_for(kid)
        if key is None:
            raise InvalidTokenError("bad_signature", f"no trusted key with kid {kid!r}")
        try:
            signed = jws.deserialize_compact(token, key, algorithms=[alg])
        except BadSignatureError:
            raise InvalidTokenError("bad_signature", "the signature does not verify") from None
        except JoseError as error:
            raise InvalidTokenError(
                "bad_signature", f"the signature cannot be checked: {error.error}"
            ) from None
        try:
            claims = json.loads(signed.payload or b"")
        except ValueError:
            claims = None
        if not isinstance(claims, dict):
            raise InvalidTokenError("malformed", "the payload is not a JSON object")
        return header, claims


def _json_part(part: str, name: str) -> dict[str, Any]:
    try:
        value = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    except (ValueError, binascii.Error):
        value = None
    if not isinstance(value, dict):
        raise InvalidTokenError("malformed", f"the {name} is not base64url JSON")
    return value


def _number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _text(claims: Mapping[str, Any], name: str) -> str:
    value = claims.get(name)
    if not isinstance(value, str) or not value:
        raise InvalidTokenError("malformed", f"claim {name!r} is missing or not a string")
    return value


def _seconds(claims: Mapping[str, Any], name: str) -> float:
    value = claims.get(name)
    if not _number(value):
        raise InvalidTokenError("malformed", f"claim {name!r} is missing or not a number")
    return float(value)  # type: ignore[arg-type]


def _audiences(claims: Mapping[str, Any]) -> frozenset[str]:
    audience = claims.get("aud")
    if isinstance(audience, str):
        return frozenset({audience})
    if isinstance(audience, list) and audience and all(isinstance(item, str) for item in audience):
        return frozenset(audience)
    raise InvalidTokenError("malformed", "claim 'aud' is missing or not a string or list of strings")


def _scopes(claims: Mapping[str, Any]) -> frozenset[str]:
    scope = claims.get("scope", claims.get("scp", ""))
    if isinstance(scope, list) and all(isinstance(item, str) for item in scope):
        scope = " ".join(scope)
    if not isinstance(scope, str):
        raise InvalidTokenError("malformed", "claim 'scope' is not a string")
    try:
        return parse_scope(scope)
    except ValueError as error:
        raise InvalidTokenError("malformed", f"claim 'scope': {error}") from None


def _act_chain(act: object) -> tuple[str, ...]:
    chain: list[str] = []
    while act is not None:
        if not isinstance(act, dict) or not isinstance(act.get("sub"), str) or not act["sub"]:
            raise InvalidTokenError("malformed", "claim 'act' is not a chain of objects with 'sub'")
        if len(chain) == MAX_DELEGATION_DEPTH:
            raise InvalidTokenError("malformed", f"delegation chain deeper than {MAX_DELEGATION_DEPTH}")
        chain.append(act["sub"])
        act = act.get("act")
    return tuple(chain)


def _iso(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).isoformat()
