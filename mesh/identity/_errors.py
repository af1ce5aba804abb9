"""The identity package's errors: one base, small leaves with structured fields."""

from __future__ import annotations

from typing import Literal

InvalidTokenReason = Literal[
    "malformed",
    "unsupported_algorithm",
    "bad_signature",
    "wrong_type",
    "wrong_issuer",
    "wrong_audience",
    "expired",
    "not_yet_valid",
    "revoked",
]
"""Why a bearer token was refused; stable codes for logs, metrics and audit records."""


class IdentityError(Exception):
    """Base error of the identity package."""


class InvalidTokenError(IdentityError):
    """A bearer token that must not be accepted.

    `reason` is a machine-stable code; the message is for people and never contains the token.
    A resource server answers 401 with `error="invalid_token"` (RFC 6750 §3.1).
    """

    def __init__(self, reason: InvalidTokenReason, message: str) -> None:
        super().__init__(message)
        self.reason: InvalidTokenReason = reason


class KeySetUnavailableError(IdentityError):
    """No verification key could be obtained (the JWKS URL failed and nothing is cached).

    Not the caller's fault: a resource server answers 503, and still refuses the request.
    """

    def __init__(self, url: str, cause: str) -> None:
        super().__init__(f"no verification keys: fetching {url} failed: {cause}")
        self.url = url
        self.cause = cause


class TokenRequestError(IdentityError):
    """The token endpoint refused a request (`error` is its RFC 6749 §5.2 code), or could not be
    reached (`status_code` is None and `error` is "unreachable")."""

    def __init__(self, error: str, description: str | None = None, *, status_code: int | None) -> None:
        detail = f": {description}" if description else ""
        where = f"HTTP {status_code}" if status_code is not None else "no response"
        super().__init__(f"token request refused ({where}): {error}{detail}")
        self.error = error
        self.description = description
        self.status_code = status_code


class ClientsFileError(IdentityError):
    """The OAuth clients file is missing, unreadable, too widely readable, or lacks a client."""


class SigningKeyError(IdentityError):
    """The token signing key is unreadable, too widely readable, or not a P-256 private key."""
