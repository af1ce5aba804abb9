"""OAuth wire values: grant and token type URIs, the token response, scope strings, resources."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Final, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator

CLIENT_CREDENTIALS: Final = "client_credentials"
TOKEN_EXCHANGE: Final = "urn:ietf:params:oauth:grant-type:token-exchange"  # noqa: S105
ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token"  # noqa: S105
JWT_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:jwt"  # noqa: S105

GrantType = Literal["client_credentials", "urn:ietf:params:oauth:grant-type:token-exchange"]

_SCOPE_TOKEN = re.compile(r"[\x21\x23-\x5b\x5d-\x7e]+")


class TokenResponse(BaseModel):
    """A successful token response (RFC 6749 §5.1, RFC 8693 §2.2.1). The token is left out of
    `repr`, so logging the response does not leak it."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    access_token: str = Field(min_length=1, repr=False)
    token_type: str
    expires_in: int | None = Field(default=None, ge=0)
    scope: str | None = None
    issued_token_type: str | None = None

    @field_validator("token_type")
    @classmethod
    def _bearer(cls, token_type: str) -> str:
        if token_type.lower() != "bearer":
            raise ValueError(f"token_type {token_type!r} is not Bearer")
        return token_type

    @property
    def scopes(self) -> frozenset[str]:
        return parse_scope(self.scope or "")


def parse_scope(scope: str) -> frozenset[str]:
    """The scopes of a space-separated `scope` string (RFC 6749 §3.3); ValueError if malformed."""
    scopes = frozenset(scope.split())
    for item in scopes:
        if _SCOPE_TOKEN.fullmatch(item) is None:
            raise ValueError(f"malformed scope token {item!r}")
    return scopes


def format_scope(scopes: Iterable[str]) -> str:
    return " ".join(sorted(scopes))


def resource_problem(resource: str) -> str | None:
    """Why `resource` is not an acceptable RFC 8707 resource indicator, or None.

    It must be an absolute http(s) URL without fragment, user info or dot segments (a dot
    segment would let `https://gw/mcp/demand/../admin` pass a `https://gw/mcp/` prefix).
    """
    try:
        parts = urlsplit(resource)
    except ValueError:
        return "not a URL"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "not an absolute http(s) URL"
    if parts.fragment or "#" in resource:
        return "has a fragment"
    if parts.username is not None or parts.password is not None:
        return "has user information"
    if any(segment in (".", "..") for segment in parts.path.split("/")):
        return "has dot segments"
    if any(ord(character) <= 0x20 or ord(character) == 0x7F for character in resource):
        return "has spaces or control characters"
    return None


def resource_allowed(resource: str, allowed: Iterable[str]) -> bool:
    """Whether `resource` is one of `allowed`: equal to an entry, or under an entry as a path
    prefix (an entry ending in "/", or followed by "/" in the resource: `https://gw/mcp` allows
    `https://gw/mcp/demand` but not `https://gw/mcpx`)."""
    for entry in allowed:
        if resource == entry:
            return True
        prefix = entry if entry.endswith("/") else entry + "/"
        if resource.startswith(prefix):
            return True
    return False
