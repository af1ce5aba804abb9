"""OAuth clients: their configuration, hashed secrets, and the clients file of the embedded default."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import re
import secrets
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ._errors import ClientsFileError
from ._files import exclusive, loose_permissions, replace_private_file
from ._wire import GrantType, parse_scope, resource_problem

logger = logging.getLogger(__name__)

CLIENTS_FILE = "oauth-clients.json"
CLIENTS_FILE_FORMAT = 1

_CLIENT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_SCRYPT_N, _SCRYPT_R, _SCRYPT_P = 2**14, 8, 1


class ClientSpec(BaseModel):
    """What a client may do: which scopes it may be granted, for which resources (audiences),
    by which grants, and the principal (`sub`) its own tokens name."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    client_id: str = Field(pattern=f"^{_CLIENT_ID.pattern}$")
    allowed_scopes: tuple[str, ...] = ()
    allowed_resources: tuple[str, ...] = Field(
        default=(), description="exact resource URLs, or URL prefixes (see `resource_allowed`)"
    )
    grant_types: tuple[GrantType, ...] = ("client_credentials",)
    subject: str = Field(default="", description='the principal name; empty means "client:<client_id>"')

    @model_validator(mode="before")
    @classmethod
    def _default_subject(cls, data: Any) -> Any:
        if isinstance(data, dict) and not data.get("subject") and isinstance(data.get("client_id"), str):
            return {**data, "subject": f"client:{data['client_id']}"}
        return data

    @field_validator("allowed_scopes")
    @classmethod
    def _scope_tokens(cls, scopes: tuple[str, ...]) -> tuple[str, ...]:
        parse_scope(" ".join(scopes))
        if any(" " in scope or not scope for scope in scopes):
            raise ValueError("each allowed scope is one scope token")
        return scopes

    @field_validator("allowed_resources")
    @classmethod
    def _resource_urls(cls, resources: tuple[str, ...]) -> tuple[str, ...]:
        for resource in resources:
            if (problem := resource_problem(resource)) is not None:
                raise ValueError(f"allowed resource {resource!r} {problem}")
        return resources


class ClientConfig(ClientSpec):
    """A client the authorization server knows: its spec and the hash of its secret."""

    secret_hash: str = Field(repr=False, description="from `hash_secret`")

    def verify_secret(self, secret: str) -> bool:
        return verify_secret(secret, self.secret_hash)


def hash_secret(secret: str, *, cost: int = _SCRYPT_N) -> str:
    """`scrypt$N$r$p$salt$hash` (base64url) of `secret` with a random salt; `cost` is scrypt's N
    (a power of two), recorded in the result so that `verify_secret` needs no parameters."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(secret.encode(), salt=salt, n=cost, r=_SCRYPT_R, p=_SCRYPT_P, dklen=32)
    return f"scrypt${cost}${_SCRYPT_R}${_SCRYPT_P}${_b64(salt)}${_b64(digest)}"


def verify_secret(secret: str, secret_hash: str) -> bool:
    """Whether `secret` matches `secret_hash`, compared in constant time; False if malformed."""
    try:
        scheme, n, r, p, salt, expected = secret_hash.split("$")
        if scheme != "scrypt":
            return False
        digest = hashlib.scrypt(
            secret.encode(), salt=_unb64(salt), n=int(n), r=int(r), p=int(p), dklen=len(_unb64(expected))
        )
    except ValueError:
        return False
    return hmac.compare_digest(digest, _unb64(expected))


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def load_or_create_clients(
    path: Path, defaults: Sequence[ClientSpec]
) -> tuple[list[ClientConfig], dict[str, str]]:
    """The clients `defaults` names, with their secrets from the clients file at `path`.

    A client the file lacks gets a random secret, written back (file 0600, directory 0700,
    replaced atomically under a lock, so concurrent starts agree); later starts reuse it. Other
    clients in the file are kept but not returned. Returns the configs (secret hashes) and the
    plain secrets by client id. A file readable by group or others is refused.
    """
    ids = [spec.client_id for spec in defaults]
    if len(set(ids)) != len(ids):
        raise ValueError(f"duplicate client ids in {ids}")
    with exclusive(path):
        stored = _read(path) if path.exists() else {}
        missing = [spec for spec in defaults if spec.client_id not in stored]
        for spec in missing:
            secret = secrets.token_urlsafe(32)
            stored[spec.client_id] = {"secret": secret, "secret_hash": hash_secret(secret)}
        if missing or not path.exists():
            document = {"format": CLIENTS_FILE_FORMAT, "clients": stored}
            replace_private_file(path, json.dumps(document, indent=2, sort_keys=True).encode() + b"\n")
            logger.info("created OAuth client secrets for %s in %s", [s.client_id for s in missing], path)
    configs = []
    for spec in defaults:
        entry = stored[spec.client_id]
        secret_hash = entry.get("secret_hash") or hash_secret(entry["secret"])
        configs.append(ClientConfig(**spec.model_dump(), secret_hash=secret_hash))
    return configs, {spec.client_id: stored[spec.client_id]["secret"] for spec in defaults}


def read_client_secret(path: Path, client_id: str) -> str:
    """The secret of `client_id` in the clients file (for `mesh token` on the same machine)."""
    if not path.exists():
        raise ClientsFileError(f"no OAuth clients file at {path}; start the mesh once to create it")
    secret = _read(path).get(client_id, {}).get("secret")
    if not secret:
        raise ClientsFileError(f"client {client_id!r} is not in {path}")
    return secret


def _read(path: Path) -> dict[str, dict[str, str]]:
    mode = loose_permissions(path)
    if mode is not None:
        raise ClientsFileError(f"{path} is readable by others (mode {mode:o}); chmod 600 it")
    try:
        document = json.loads(path.read_bytes())
    except (OSError, ValueError) as error:
        raise ClientsFileError(f"{path} is not readable JSON: {error}") from None
    if not isinstance(document, dict) or document.get("format") != CLIENTS_FILE_FORMAT:
        raise ClientsFileError(f"{path} is not an OAuth clients file (format {CLIENTS_FILE_FORMAT})")
    clients = document.get("clients")
    if not isinstance(clients, dict):
        raise ClientsFileError(f"{path} is not an OAuth clients file (format {CLIENTS_FILE_FORMAT})")
    valid: dict[str, dict[str, str]] = {}
    for client_id, entry in clients.items():
        if not isinstance(entry, dict) or not isinstance(entry.get("secret"), str) or not entry["secret"]:
            raise ClientsFileError(f"{path}: client {client_id!r} has no secret")
        valid[client_id] = {name: value for name, value in entry.items() if isinstance(value, str)}
    return valid
