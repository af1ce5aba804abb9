"""Signing key of the embedded server, and the sources of verification keys a verifier pins:
keys handed over in process, or a JWKS URL taken from configuration (never from a token)."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, Protocol

import httpx
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, OKPKey, RSAKey

from ._errors import KeySetUnavailableError, SigningKeyError
from ._files import create_private_file, loose_permissions

logger = logging.getLogger(__name__)

SIGNING_KEY_FILE = "oauth-es256.jwk.json"
SIGNING_ALGORITHM = "ES256"
ACCESS_TOKEN_JWT_TYPE = "at+jwt"  # noqa: S105
"""The `typ` header of an RFC 9068 access token."""

PublicKey = ECKey | RSAKey | OKPKey

_PRIVATE_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})


@dataclass(frozen=True)
class SigningKey:
    """A P-256 private key and its key id (the RFC 7638 thumbprint of its public part)."""

    key: ECKey
    kid: str

    @classmethod
    def generate(cls) -> SigningKey:
        return cls.from_key(ECKey.generate_key("P-256", private=True))

    @classmethod
    def from_key(cls, key: ECKey) -> SigningKey:
        if not key.is_private or key.curve_name != "P-256":
            raise SigningKeyError("the signing key must be a P-256 private key")
        return cls(key, key.thumbprint())

    def public_jwk(self) -> dict[str, Any]:
        """The public key as a JWK with `kid`, `alg` and `use`, as the JWKS publishes it."""
        return {**self.key.as_dict(private=False), "kid": self.kid, "alg": SIGNING_ALGORITHM, "use": "sig"}

    def sign(self, claims: Mapping[str, Any], *, typ: str = ACCESS_TOKEN_JWT_TYPE) -> str:
        header = {"alg": SIGNING_ALGORITHM, "kid": self.kid, "typ": typ}
        return jwt.encode(header, dict(claims), self.key, algorithms=[SIGNING_ALGORITHM])


def load_or_create_signing_key(key_dir: Path) -> SigningKey:
    """The ES256 signing key in `key_dir`, created on first start (file 0600, directory 0700).

    Several processes starting together end up with the same key. A key file readable by group
    or others is refused.
    """
    path = key_dir / SIGNING_KEY_FILE
    if not path.exists():
        fresh = SigningKey.generate()
        private = {
            **fresh.key.as_dict(private=True),
            "kid": fresh.kid,
            "alg": SIGNING_ALGORITHM,
            "use": "sig",
        }
        if create_private_file(path, json.dumps(private, indent=2).encode() + b"\n"):
            logger.info("created the token signing key %s (kid %s)", path, fresh.kid)
    mode = loose_permissions(path)
    if mode is not None:
        raise SigningKeyError(f"{path} is readable by others (mode {mode:o}); chmod 600 it")
    try:
        data = json.loads(path.read_bytes())
        key = ECKey.import_key(data)
    except (OSError, ValueError, TypeError, JoseError) as error:
        raise SigningKeyError(f"{path} is not an EC private JWK: {error}") from None
    return SigningKey.from_key(key)


class KeySource(Protocol):
    """Where a verifier finds the public key a token names by `kid`."""

    def key_for(self, kid: str | None) -> PublicKey | None:
        """The pinned key with that key id; with no `kid`, the only key if there is exactly one."""
        ...


def _select(keys: Mapping[str | None, PublicKey], kid: str | None) -> PublicKey | None:
    if kid is not None:
        return keys.get(kid)
    return next(iter(keys.values())) if len(keys) == 1 else None


def public_keys(jwks: Mapping[str, Any]) -> dict[str | None, PublicKey]:
    """The usable signature keys of a JWKS document, by kid.

    Symmetric keys and keys marked for encryption are skipped; private members are dropped.
    """
    entries = jwks.get("keys")
    if not isinstance(entries, list):
        raise ValueError("a JWKS needs a 'keys' list")
    found: dict[str | None, PublicKey] = {}
    for entry in entries:
        if not isinstance(entry, dict) or entry.get("use", "sig") != "sig":
            continue
        public = {name: value for name, value in entry.items() if name not in _PRIVATE_MEMBERS}
        try:
            key = _import_public(public)
        except (JoseError, ValueError, TypeError, KeyError) as error:
            logger.warning("skipping an unusable JWKS key (kid %r): %s", entry.get("kid"), error)
            continue
        if key is not None:
            kid = entry.get("kid")
            found[kid if isinstance(kid, str) else None] = key
    return found


def _import_public(data: dict[str, Any]) -> PublicKey | None:
    kty = data.get("kty")
    if kty == "EC":
        return ECKey.import_key(data)
    if kty == "RSA":
        return RSAKey.import_key(data)
    if kty == "OKP":
        return OKPKey.import_key(data)
    return None


class PinnedKeys:
    """Verification keys handed over in process: the embedded server's key, or configured ones."""

    def __init__(self, keys: Iterable[PublicKey | SigningKey]) -> None:
        pinned: dict[str | None, PublicKey] = {}
        for key in keys:
            if isinstance(key, SigningKey):
                pinned[key.kid] = ECKey.import_key(key.key.as_dict(private=False))
            else:
                pinned[key.kid or key.thumbprint()] = key
        self._keys = pinned

    @classmethod
    def from_jwks(cls, jwks: Mapping[str, Any]) -> PinnedKeys:
        pinned = cls(())
        pinned._keys = public_keys(jwks)
        return pinned

    def key_for(self, kid: str | None) -> PublicKey | None:
        return _select(self._keys, kid)


class RemoteKeySet:
    """Keys fetched from a configured JWKS URL with httpx, cached.

    Fetched on first use, again after `max_age`, and again when a token names an unknown `kid`
    (key rotation), but never more often than every `min_interval`, however many unknown kids
    or failures arrive. When a refetch fails, the keys already cached stay in use; with none
    cached, `KeySetUnavailableError` is raised. The URL comes from configuration only: headers
    of a token (`jku`, `x5u`, `jwk`) are never followed.

    Fetching is synchronous (so that verification is a plain call): a verification that needs a
    fetch waits for it, at most `timeout` seconds and at most once per `min_interval`; call
    `refresh()` at start-up to have the keys before the first request. Thread-safe.
    """

    def __init__(
        self,
        url: str,
        *,
        http: httpx.Client | None = None,
        min_interval: timedelta = timedelta(seconds=10),
        max_age: timedelta = timedelta(minutes=10),
        timeout: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.url = url
        self._http = http
        self._min_interval = min_interval.total_seconds()
        self._max_age = max_age.total_seconds()
        self._timeout = timeout
        self._clock = clock
        self._keys: dict[str | None, PublicKey] | None = None
        self._fetched_at = 0.0
        self._attempted_at: float | None = None
        self._failure = "not fetched yet"
        self._lock = threading.Lock()

    def key_for(self, kid: str | None) -> PublicKey | None:
        stale = self._keys is None or self._clock() - self._fetched_at >= self._max_age
        if stale and self._may_refetch():
            self._refresh(self._attempted_at)
        if self._keys is None:
            raise KeySetUnavailableError(self.url, self._failure)
        key = _select(self._keys, kid)
        if key is None and self._may_refetch():
            self._refresh(self._attempted_at)
            key = _select(self._keys, kid)
        return key

    def refresh(self) -> None:
        """Fetch the keys now; `KeySetUnavailableError` if that fails and none are cached."""
        self._refresh(self._attempted_at)
        if self._keys is None:
            raise KeySetUnavailableError(self.url, self._failure)

    def _may_refetch(self) -> bool:
        return self._attempted_at is None or self._clock() - self._attempted_at >= self._min_interval

    def _refresh(self, attempted: float | None) -> None:
        with self._lock:
            if self._attempted_at != attempted:
                return  # another thread refreshed while this one waited
            started = self._attempted_at = self._clock()
            try:
                keys = self._fetch()
            except (httpx.HTTPError, ValueError) as error:
                self._failure = str(error) or type(error).__name__
                if self._keys is not None:
                    logger.warning(
                        "refreshing the JWKS from %s failed, keeping cached keys: %s", self.url, error
                    )
                return
            self._keys = keys
            self._fetched_at = started

    def _fetch(self) -> dict[str | None, PublicKey]:
        headers = {"Accept": "application/json"}
        if self._http is not None:
            response = self._http.get(self.url, headers=headers, timeout=self._timeout)
        else:
            with httpx.Client(timeout=self._timeout) as http:
                response = http.get(self.url, headers=headers)
        if response.status_code != httpx.codes.OK:
            raise ValueError(f"HTTP {response.status_code}")
        document = response.json()
        if not isinstance(document, dict):
            raise ValueError("the JWKS is not a JSON object")
        return public_keys(document)
