"""Sender identity on the bus: ES256 detached JWS over what a request means, pinned keys, replay window.

A sender signs, with its agent's P-256 key, a canonical text of the request: the subject it is
published to, the claimed agent id, a timestamp, a nonce, the A2A version, the stream inbox and
the SHA-256 of the body. The JWS travels in `A2A-Signature` with its payload detached (RFC 7515
appendix F); the server rebuilds the text from the message and verifies it against the key it
has pinned for the claimed agent id. A wrong key, a changed byte, another subject, an old
timestamp or a nonce seen before is refused.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import ECKey

from ._binding import (
    NONCE_HEADER,
    PROTOCOL_VERSION,
    SENDER_HEADER,
    SIGNATURE_HEADER,
    STREAM_INBOX_HEADER,
    TIMESTAMP_HEADER,
    VERSION_HEADER,
    is_agent_id,
)
from ._errors import RefusalReason, SenderKeyError, SenderRefusedError

PublicKey = ECKey
"""A pinned sender key: a P-256 public key as a joserfc `ECKey`."""

KeyResolver = Callable[[str], PublicKey | None]
"""Agent id -> its pinned public key, or None for an unknown sender."""

SIGNING_ALGORITHM = "ES256"
SIGNATURE_TYPE = "a2a-nats+jws"
SIGNING_INPUT_TAG = "A2A-NATS-SIG/1"
DEFAULT_WINDOW = 60.0
CARD_KEYS_DIR = "agent-cards"
"""Under the mesh's key directory: each agent's card (and bus) signing key, and `public/` with the
public keys every verifier pins (`<agent>.jwk.json`)."""


def public_keys_dir(key_dir: Path) -> Path:
    """Where the agents' public keys are pinned: `<key_dir>/agent-cards/public`."""
    return key_dir / CARD_KEYS_DIR / "public"


DEFAULT_MAX_NONCES = 1_000_000
KEY_FILE_SUFFIXES = (".jwk.json", ".json")

_PROTECTED = {"alg": SIGNING_ALGORITHM, "typ": SIGNATURE_TYPE}
_PRIVATE_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})
_NONCE = re.compile(r"[A-Za-z0-9_-]{16,64}")


def signing_input(
    *,
    subject: str,
    sender: str,
    timestamp: str,
    nonce: str,
    version: str,
    stream_inbox: str,
    body: bytes,
) -> bytes:
    """The detached JWS payload: one line per signed part, the body as its SHA-256 (base64url)."""
    digest = base64.urlsafe_b64encode(hashlib.sha256(body).digest()).rstrip(b"=").decode()
    return "\n".join(
        (SIGNING_INPUT_TAG, subject, sender, timestamp, nonce, version, stream_inbox, digest)
    ).encode()


def _p256(key: ECKey, source: str, *, private: bool) -> ECKey:
    if key.curve_name != "P-256":
        raise SenderKeyError(source, f"an ES256 key must be on P-256, not {key.curve_name}")
    if private and not key.is_private:
        raise SenderKeyError(source, "signing needs the private key")
    return key


class SenderSigner:
    """Signs an agent's requests: the identity headers to send with each one.

    `key` is the agent's P-256 private key (the one its Agent Card is signed with, so the pinned
    public keys can be taken from the cards' signing keys).
    """

    def __init__(self, agent_id: str, key: ECKey, *, clock: Callable[[], float] = time.time) -> None:
        if not is_agent_id(agent_id):
            raise SenderKeyError(agent_id, "an agent id is one NATS subject token ([A-Za-z0-9_-]+)")
        self.agent_id = agent_id
        self._key = _p256(key, agent_id, private=True)
        self._clock = clock

    @classmethod
    def load(cls, agent_id: str, path: Path) -> SenderSigner:
        """The signer of `agent_id` with the private key in `path` (a JWK JSON file or PEM)."""
        try:
            data = path.read_bytes()
            key = ECKey.import_key(json.loads(data) if data.lstrip().startswith(b"{") else data)
        except (OSError, ValueError, TypeError, JoseError) as error:
            raise SenderKeyError(str(path), f"not an EC private key: {error}") from None
        return cls(agent_id, key)

    def public_jwk(self) -> dict[str, Any]:
        """The public key as a JWK: what a server pins for this agent."""
        return self._key.as_dict(private=False)

    def headers(
        self, subject: str, body: bytes, *, stream_inbox: str = "", version: str = PROTOCOL_VERSION
    ) -> dict[str, str]:
        """`A2A-Version`, `A2A-Sender`, `A2A-Timestamp`, `A2A-Nonce` and `A2A-Signature` for one request."""
        timestamp = str(int(self._clock()))
        nonce = secrets.token_urlsafe(16)
        payload = signing_input(
            subject=subject,
            sender=self.agent_id,
            timestamp=timestamp,
            nonce=nonce,
            version=version,
            stream_inbox=stream_inbox,
            body=body,
        )
        compact = jws.serialize_compact(_PROTECTED, payload, self._key, algorithms=[SIGNING_ALGORITHM])
        headers = {
            VERSION_HEADER: version,
            SENDER_HEADER: self.agent_id,
            TIMESTAMP_HEADER: timestamp,
            NONCE_HEADER: nonce,
            SIGNATURE_HEADER: jws.detach_content(compact),
        }
        if stream_inbox:
            headers[STREAM_INBOX_HEADER] = stream_inbox
        return headers


class PinnedSenderKeys:
    """The pinned key set: agent id -> P-256 public key. Callable, so it is a `KeyResolver`."""

    def __init__(self, keys: Mapping[str, PublicKey]) -> None:
        self._keys = {agent: _p256(key, agent, private=False) for agent, key in keys.items()}

    def __call__(self, agent_id: str) -> PublicKey | None:
        return self._keys.get(agent_id)

    def __len__(self) -> int:
        return len(self._keys)

    @property
    def agents(self) -> frozenset[str]:
        return frozenset(self._keys)

    @classmethod
    def from_jwks(cls, jwks: Mapping[str, Mapping[str, Any]]) -> PinnedSenderKeys:
        """From agent id -> public JWK (dict); a JWK with private members is refused."""
        return cls({agent: _import_public(jwk, agent) for agent, jwk in jwks.items()})

    @classmethod
    def from_directory(cls, directory: Path) -> PinnedSenderKeys:
        """One public JWK per file, `<agent-id>.jwk.json` (or `<agent-id>.json`); other files are ignored.

        A file that is not a P-256 public JWK, holds private members, or is named after no valid
        agent id stops loading with `SenderKeyError` naming it: a pinned key set is all or nothing.
        """
        if not directory.is_dir():
            raise SenderKeyError(str(directory), "no such directory")
        keys: dict[str, PublicKey] = {}
        for path in sorted(directory.iterdir()):
            agent = _agent_of(path.name)
            if agent is None or not path.is_file():
                continue
            if not is_agent_id(agent):
                raise SenderKeyError(str(path), f"{agent!r} is not an agent id ([A-Za-z0-9_-]+)")
            if agent in keys:
                raise SenderKeyError(str(path), f"a second key for {agent!r}")
            try:
                jwk = json.loads(path.read_bytes())
            except (OSError, ValueError) as error:
                raise SenderKeyError(str(path), f"unreadable: {error}") from None
            keys[agent] = _import_public(jwk, str(path))
        return cls(keys)


def _agent_of(filename: str) -> str | None:
    for suffix in KEY_FILE_SUFFIXES:
        if filename.endswith(suffix) and not filename.startswith("."):
            return filename.removesuffix(suffix)
    return None


def _import_public(jwk: Any, source: str) -> PublicKey:
    if not isinstance(jwk, Mapping):
        raise SenderKeyError(source, "a pinned key is one JWK object")
    if _PRIVATE_MEMBERS & jwk.keys():
        raise SenderKeyError(source, "holds a private key; pin the public JWK only")
    if jwk.get("kty") != "EC":
        raise SenderKeyError(source, f"an ES256 key has kty EC, not {jwk.get('kty')!r}")
    try:
        key = ECKey.import_key(dict(jwk))
    except (JoseError, ValueError, TypeError, KeyError) as error:
        raise SenderKeyError(source, f"not a usable EC JWK: {error}") from None
    return _p256(key, source, private=False)


class _NonceCache:
    """Nonces accepted within the window, per sender, forgotten once their timestamp is out of it."""

    def __init__(self, max_entries: int) -> None:
        self._max_entries = max_entries
        self._expiry: OrderedDict[tuple[str, str], float] = OrderedDict()

    def __len__(self) -> int:
        return len(self._expiry)

    def add(self, sender: str, nonce: str, expires_at: float, now: float) -> RefusalReason | None:
        expired = self._expiry
        while expired:
            key, expiry = next(iter(expired.items()))
            if expiry > now:
                break
            del expired[key]
        key = (sender, nonce)
        if key in expired:
            return RefusalReason.REPLAYED
        if len(expired) >= self._max_entries:
            return RefusalReason.REPLAY_CACHE_FULL
        expired[key] = expires_at
        return None


class SenderVerifier:
    """Checks a request's identity headers against pinned keys; returns the verified agent id.

    Checks, in order: every identity header present (`unsigned`) and of the binding's form
    (`malformed`), a pinned key for the claimed sender (`unknown-sender`), the timestamp within
    `window` seconds of now either way (`stale-timestamp`), the ES256 signature over the signing
    input rebuilt from the message (`bad-signature`), then the nonce unseen from that sender
    (`replayed-nonce`); only a request that passed every other check has its nonce remembered,
    so forged traffic cannot fill the cache. Nonces are kept until their timestamp leaves the
    window, at most `max_nonces` at a time; when full, requests are refused (`replay-cache-full`)
    rather than nonces forgotten. Each failure raises `SenderRefusedError`.

    The nonce cache is this object's: servers sharing a verifier share it (one per process is
    right), but replicas of an agent in other processes do not, so a request replayed within
    the window to the queue group can reach a replica that has not seen it. Not thread-safe:
    use it from one event loop.
    """

    def __init__(
        self,
        keys: KeyResolver,
        *,
        window: float = DEFAULT_WINDOW,
        max_nonces: int = DEFAULT_MAX_NONCES,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if window <= 0 or max_nonces <= 0:
            raise ValueError("window and max_nonces must be positive")
        self._keys = keys
        self._window = window
        self._clock = clock
        self._nonces = _NonceCache(max_nonces)

    @property
    def remembered_nonces(self) -> int:
        return len(self._nonces)

    def verify(self, subject: str, headers: Mapping[str, str], body: bytes) -> str:
        """The verified sender of a request published to `subject`; `headers` have lower-case names."""
        claimed = headers.get(SENDER_HEADER.lower())
        timestamp = headers.get(TIMESTAMP_HEADER.lower())
        nonce = headers.get(NONCE_HEADER.lower())
        signature = headers.get(SIGNATURE_HEADER.lower())
        if not (claimed and timestamp and nonce and signature):
            raise SenderRefusedError(claimed or None, RefusalReason.UNSIGNED)
        if not is_agent_id(claimed) or not timestamp.isdigit() or not _is_nonce(nonce):
            raise SenderRefusedError(claimed, RefusalReason.MALFORMED)
        key = self._keys(claimed)
        if key is None:
            raise SenderRefusedError(claimed, RefusalReason.UNKNOWN_SENDER)
        now = self._clock()
        signed_at = int(timestamp)
        if abs(now - signed_at) > self._window:
            raise SenderRefusedError(
                claimed, RefusalReason.STALE, f"{signed_at} is {now - signed_at:+.0f} s off"
            )
        payload = signing_input(
            subject=subject,
            sender=claimed,
            timestamp=timestamp,
            nonce=nonce,
            version=headers.get(VERSION_HEADER.lower(), ""),
            stream_inbox=headers.get(STREAM_INBOX_HEADER.lower(), ""),
            body=body,
        )
        try:
            verified = jws.deserialize_compact(
                signature, key, algorithms=[SIGNING_ALGORITHM], payload=payload
            )
        except (JoseError, ValueError, TypeError, KeyError):
            raise SenderRefusedError(claimed, RefusalReason.BAD_SIGNATURE) from None
        if verified.protected.get("typ") != SIGNATURE_TYPE:
            raise SenderRefusedError(
                claimed, RefusalReason.BAD_SIGNATURE, "not an A2A NATS request signature"
            )
        refusal = self._nonces.add(claimed, nonce, signed_at + self._window, now)
        if refusal is not None:
            raise SenderRefusedError(claimed, refusal)
        return claimed


def _is_nonce(value: str) -> bool:
    return _NONCE.fullmatch(value) is not None
