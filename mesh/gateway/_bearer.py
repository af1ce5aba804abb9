"""The bearer check of the gateway's own HTTP APIs (`/api/...`): a token from the mesh's
authorization server, for the API's audience, carrying the API's scope; RFC 6750 challenges
otherwise (401 without or with a bad token, 403 without the scope)."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import HTTPException, Request

from mesh.identity import InvalidTokenError, Principal, TokenVerifier, bearer_challenge


def scoped_bearer(
    verifier: TokenVerifier, *, audience: str, resource_metadata: str, scope: str, who: str
) -> Callable[[Request], Principal]:
    """A check that returns the request's verified principal, or raises the HTTP error; `who`
    names the callers the scope is for, in the 403's `error_description`."""
    challenge = {"resource_metadata": resource_metadata, "scope": scope}

    def check(request: Request) -> Principal:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise HTTPException(
                401, "a bearer token is required", {"WWW-Authenticate": bearer_challenge(**challenge)}
            )
        try:
            principal = verifier.verify(token.strip(), audience=audience)
        except InvalidTokenError as error:
            header = bearer_challenge(**challenge, error="invalid_token", error_description=str(error))
            raise HTTPException(401, str(error), {"WWW-Authenticate": header}) from None
        if scope not in principal.scopes:
            header = bearer_challenge(**challenge, error="insufficient_scope", error_description=who)
            raise HTTPException(403, f"needs the scope {scope}", {"WWW-Authenticate": header})
        return principal

    return check
