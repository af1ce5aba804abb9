"""Agent Card signatures: each agent's ES256 key (created on first start, kept 0600 under the data
dir's keys), signing with the a2a-sdk's signing extra (JWS over the RFC 8785 canonical card), and
verification against pinned public keys only.

A verifier never fetches a key: a `jku` (or `x5u`, `jwk`) in a signature's header is ignored, so a
card signed by a key that is not pinned fails whatever URL it points at.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, cast

from a2a.client.card_resolver import parse_agent_card
from a2a.types import AgentCard
from a2a.utils.signing import (
    InvalidSignaturesError,
    NoSignatureError,
    ProtectedHeader,
    create_agent_card_signer,
    create_signature_verifier,
)
from joserfc.errors import JoseError
from joserfc.jwk import ECKey
from jwt.api_jwk import PyJWK
from jwt.exceptions import InvalidKeyError, PyJWKError

from agents._errors import CardKeyError, CardVerificationError
from mesh.bus import CARD_KEYS_DIR
from mesh.bus import public_keys_dir as public_keys_dir
from mesh.identity import IdentityError, SigningKey
from mesh.identity._files import create_private_file, loose_permissions, replace_private_file

CARD_ALGORITHM = "ES256"
"""Under the data dir's `keys/`: `<domain>.es256.jwk.json` (private, 0600) per agent, and
`public/<domain>.jwk.json`, the public keys a verifier on this machine may pin."""

_PRIVATE_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})


def card_key_path(key_dir: Path, domain: str) -> Path:
    return key_dir / CARD_KEYS_DIR / f"{domain}.es256.jwk.json"


def load_or_create_card_key(key_dir: Path, domain: str) -> SigningKey:
    """The agent's card signing key, created on first start (file 0600 in a 0700 directory; several
    processes starting together end up with the same key), and its public JWK published beside it
    in `public_keys_dir(key_dir)`. A key file readable by group or others is refused."""
    path = card_key_path(key_dir, domain)
    if not path.exists():
        fresh = SigningKey.generate()
        private = {**fresh.key.as_dict(private=True), "kid": fresh.kid, "alg": CARD_ALGORITHM, "use": "sig"}
        create_private_file(path, json.dumps(private, indent=2).encode() + b"\n")
    mode = loose_permissions(path)
    if mode is not None:
        raise CardKeyError(f"{path} is readable by others (mode {mode:o}); chmod 600 it")
    try:
        key = SigningKey.from_key(ECKey.import_key(json.loads(path.read_bytes())))
    except (OSError, ValueError, TypeError, JoseError, IdentityError) as error:
        raise CardKeyError(f"{path} is not a P-256 private JWK: {error}") from None
    public = public_keys_dir(key_dir) / f"{domain}.jwk.json"
    document = json.dumps(key.public_jwk(), indent=2, sort_keys=True).encode() + b"\n"
    if not public.exists() or public.read_bytes() != document:
        public.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        replace_private_file(public, document)
    return key


def sign_card(card: AgentCard, key: SigningKey) -> AgentCard:
    """A copy of `card` with one JWS signature (ES256, `kid` = the key's thumbprint, `typ` JOSE,
    no `jku`) over its canonical form; signatures it had are dropped."""
    unsigned = AgentCard()
    unsigned.CopyFrom(card)
    unsigned.ClearField("signatures")
    private = {**key.key.as_dict(private=True), "kid": key.kid, "alg": CARD_ALGORITHM}
    header = cast(ProtectedHeader, {"alg": CARD_ALGORITHM, "kid": key.kid, "typ": "JOSE"})
    return create_agent_card_signer(PyJWK(private), header)(unsigned)


class PinnedCardKeys:
    """Public keys trusted to sign Agent Cards, by key id (a JWK's `kid`, else its RFC 7638
    thumbprint). Private members of a JWK handed in are dropped."""

    def __init__(self, keys: Mapping[str, Mapping[str, Any]] | Iterable[Mapping[str, Any]] = ()) -> None:
        entries = list(keys.items()) if isinstance(keys, Mapping) else [(None, jwk) for jwk in keys]
        self._keys: dict[str, PyJWK] = {}
        for kid, jwk in entries:
            public = {name: value for name, value in jwk.items() if name not in _PRIVATE_MEMBERS}
            try:
                key_id = kid or public.get("kid") or ECKey.import_key(public).thumbprint()
                self._keys[str(key_id)] = PyJWK({**public, "alg": CARD_ALGORITHM})
            except (JoseError, PyJWKError, ValueError, TypeError) as error:
                raise CardKeyError(
                    f"pinned key {kid or public.get('kid')!r} is not a usable EC key: {error}"
                ) from None

    @classmethod
    def from_directory(cls, directory: Path) -> PinnedCardKeys:
        """Every `*.jwk.json` in `directory` (e.g. `public_keys_dir(settings.key_dir)`)."""
        keys = []
        for path in sorted(directory.glob("*.jwk.json")):
            try:
                keys.append(json.loads(path.read_bytes()))
            except (OSError, ValueError) as error:
                raise CardKeyError(f"{path} is not a JWK: {error}") from None
        return cls(keys)

    @property
    def kids(self) -> frozenset[str]:
        return frozenset(self._keys)

    def key_for(self, kid: str | None) -> PyJWK | None:
        return self._keys.get(kid) if kid is not None else None


def verify_card(
    card: AgentCard | Mapping[str, Any], pinned: PinnedCardKeys | Mapping[str, Mapping[str, Any]]
) -> None:
    """Return when at least one of the card's signatures verifies (ES256 only) with a pinned key;
    raise `CardVerificationError` otherwise (`reason`: unsigned, untrusted_key, bad_signature,
    malformed). `card` may be the JSON served at the well-known path (0.3 fields included).

    Nothing is fetched: the key comes from `pinned` by the signature's `kid`; a `jku` naming a key
    set elsewhere is ignored.
    """
    if isinstance(card, AgentCard):
        parsed = card
    else:
        try:
            parsed = parse_agent_card(copy.deepcopy(dict(card)))
        except Exception as error:  # protobuf's ParseError and friends
            raise CardVerificationError("malformed", f"not an Agent Card: {error}") from None
    keys = pinned if isinstance(pinned, PinnedCardKeys) else PinnedCardKeys(pinned)
    unknown: list[str | None] = []

    def pinned_key(kid: str | None, _jku: str | None) -> PyJWK:  # the jku is never followed
        key = keys.key_for(kid)
        if key is None:
            unknown.append(kid)
            raise InvalidKeyError(f"no pinned key with kid {kid!r}")
        return key

    try:
        create_signature_verifier(pinned_key, [CARD_ALGORITHM])(parsed)
    except NoSignatureError:
        raise CardVerificationError("unsigned", f"the card of {parsed.name!r} is not signed") from None
    except InvalidSignaturesError:
        if unknown and len(unknown) == len(parsed.signatures):
            raise CardVerificationError(
                "untrusted_key",
                f"the card of {parsed.name!r} is signed only by keys not pinned here: {unknown}",
            ) from None
        raise CardVerificationError(
            "bad_signature", f"no signature on the card of {parsed.name!r} verifies with a pinned key"
        ) from None


def card_verifier(pinned: PinnedCardKeys) -> Callable[[AgentCard], None]:
    """`verify_card` for the SDK's `signature_verifier=` hooks (`A2ACardResolver.get_agent_card`,
    `ClientFactory.create_from_url`)."""

    def verify(card: AgentCard) -> None:
        verify_card(card, pinned)

    return verify
