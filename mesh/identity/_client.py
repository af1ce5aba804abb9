"""Getting tokens: the token request functions and an httpx auth that keeps a token fresh."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import re
import time
from collections.abc import AsyncGenerator, Callable, Generator, Iterable, Mapping
from datetime import timedelta
from typing import Any
from urllib.parse import quote_plus

import httpx
import httpx2
from pydantic import ValidationError

from ._errors import TokenRequestError
from ._wire import ACCESS_TOKEN_TYPE, CLIENT_CREDENTIALS, TOKEN_EXCHANGE, TokenResponse

logger = logging.getLogger(__name__)

DEFAULT_EXPIRES_IN = 60
"""Seconds a token is assumed to live when the response has no `expires_in`."""

_INVALID_TOKEN = re.compile(r'error="?invalid_token\b')

AsyncHTTP = httpx.AsyncClient | httpx2.AsyncClient
Scope = str | Iterable[str] | None


def client_credentials_form(*, scope: Scope, resource: str) -> dict[str, str]:
    form = {"grant_type": CLIENT_CREDENTIALS, "resource": resource}
    if (text := _scope_text(scope)) is not None:
        form["scope"] = text
    return form


def token_exchange_form(
    *, subject_token: str, scope: Scope, resource: str, actor_token: str | None = None
) -> dict[str, str]:
    form = {
        "grant_type": TOKEN_EXCHANGE,
        "subject_token": subject_token,
        "subject_token_type": ACCESS_TOKEN_TYPE,
        "requested_token_type": ACCESS_TOKEN_TYPE,
        "resource": resource,
    }
    if actor_token is not None:
        form["actor_token"] = actor_token
        form["actor_token_type"] = ACCESS_TOKEN_TYPE
    if (text := _scope_text(scope)) is not None:
        form["scope"] = text
    return form


def basic_credentials(client_id: str, client_secret: str) -> str:
    """The `Authorization` value for `client_secret_basic` (RFC 6749 §2.3.1: each part
    form-urlencoded before base64)."""
    pair = f"{quote_plus(client_id)}:{quote_plus(client_secret)}"
    return "Basic " + base64.b64encode(pair.encode()).decode()


def _scope_text(scope: Scope) -> str | None:
    if scope is None:
        return None
    text = scope if isinstance(scope, str) else " ".join(scope)
    return text or None


def token_response(status_code: int, content: bytes) -> TokenResponse:
    """The token in a token endpoint's answer, or `TokenRequestError` with its error code."""
    try:
        document = json.loads(content)
    except ValueError:
        document = None
    if status_code != 200:
        error = document.get("error") if isinstance(document, dict) else None
        description = document.get("error_description") if isinstance(document, dict) else None
        raise TokenRequestError(
            str(error) if error else f"http_{status_code}",
            str(description) if description else None,
            status_code=status_code,
        )
    try:
        return TokenResponse.model_validate(document)
    except ValidationError as problem:
        fields = ", ".join(".".join(map(str, item["loc"])) or "body" for item in problem.errors())
        raise TokenRequestError(
            "invalid_response", f"bad token response ({fields})", status_code=200
        ) from None


async def request_token(
    token_url: str,
    form: Mapping[str, str],
    *,
    client_id: str,
    client_secret: str,
    http: AsyncHTTP | None = None,
    request_timeout: float = 10.0,
) -> TokenResponse:
    """POST `form` to the token endpoint with `client_secret_basic`; the parsed answer."""
    headers = {"Authorization": basic_credentials(client_id, client_secret), "Accept": "application/json"}
    try:
        if http is None:
            async with httpx.AsyncClient() as own:
                status_code, content = await _post(own, token_url, form, headers, request_timeout)
        else:
            status_code, content = await _post(http, token_url, form, headers, request_timeout)
    except (httpx.HTTPError, httpx2.HTTPError) as error:
        reason = str(error) or type(error).__name__
        raise TokenRequestError("unreachable", f"{token_url}: {reason}", status_code=None) from None
    return token_response(status_code, content)


async def _post(
    http: AsyncHTTP, url: str, form: Mapping[str, str], headers: dict[str, str], seconds: float
) -> tuple[int, bytes]:
    response = await http.post(url, data=dict(form), headers=headers, timeout=seconds)
    return response.status_code, response.content


async def fetch_token(
    token_url: str,
    *,
    client_id: str,
    client_secret: str,
    scope: Scope,
    resource: str,
    http: AsyncHTTP | None = None,
) -> TokenResponse:
    """A client credentials token for `resource` (RFC 8707) with `scope` (None: all allowed)."""
    form = client_credentials_form(scope=scope, resource=resource)
    return await request_token(token_url, form, client_id=client_id, client_secret=client_secret, http=http)


async def exchange_token(
    token_url: str,
    *,
    client_id: str,
    client_secret: str,
    subject_token: str,
    scope: Scope,
    resource: str,
    actor_token: str | None = None,
    http: AsyncHTTP | None = None,
) -> TokenResponse:
    """An RFC 8693 exchange: a token for `resource` acting for the subject of `subject_token`."""
    form = token_exchange_form(
        subject_token=subject_token, scope=scope, resource=resource, actor_token=actor_token
    )
    return await request_token(token_url, form, client_id=client_id, client_secret=client_secret, http=http)


class ClientCredentialsAuth(httpx.Auth, httpx2.Auth):
    """Bearer auth for `httpx.AsyncClient` and `httpx2.AsyncClient` (the MCP SDK's) alike, with a
    client credentials token fetched on first use and again before it expires.

    A token is renewed once less than `refresh_margin` of its life is left (or half of it, for
    short-lived tokens). Concurrent requests share one fetch. A 401 answer with
    `error="invalid_token"` (revoked, or keys rotated) drops the token, and the request is sent
    once more with a fresh one. The request body is read into memory so that it can be resent.
    Async clients only.
    """

    def __init__(
        self,
        token_url: str,
        *,
        client_id: str,
        client_secret: str,
        scope: Scope,
        resource: str,
        http: AsyncHTTP | None = None,
        refresh_margin: timedelta = timedelta(seconds=30),
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.token_url = token_url
        self.client_id = client_id
        self._client_secret = client_secret
        self._form = client_credentials_form(scope=scope, resource=resource)
        self._http = http
        self._margin = refresh_margin.total_seconds()
        self._clock = clock
        self._token: str | None = None
        self._refresh_at = 0.0
        self._lock = asyncio.Lock()

    def __repr__(self) -> str:
        return f"ClientCredentialsAuth({self.token_url!r}, client_id={self.client_id!r})"

    async def token(self) -> str:
        """A token with enough life left, fetched if needed; `TokenRequestError` if refused."""
        async with self._lock:
            if self._token is None or self._clock() >= self._refresh_at:
                started = self._clock()
                response = await request_token(
                    self.token_url,
                    self._form,
                    client_id=self.client_id,
                    client_secret=self._client_secret,
                    http=self._http,
                )
                lifetime = response.expires_in if response.expires_in is not None else DEFAULT_EXPIRES_IN
                self._token = response.access_token
                self._refresh_at = started + max(lifetime - self._margin, lifetime / 2)
            return self._token

    def forget(self, token: str) -> None:
        """Drop `token` if it is the cached one, so the next request fetches another."""
        if self._token == token:
            self._token = None

    async def async_auth_flow(self, request: Any) -> AsyncGenerator[Any, Any]:
        await request.aread()
        token = await self.token()
        request.headers["Authorization"] = f"Bearer {token}"
        response = yield request
        if response.status_code == 401 and _INVALID_TOKEN.search(
            response.headers.get("www-authenticate", "")
        ):
            self.forget(token)
            request.headers["Authorization"] = f"Bearer {await self.token()}"
            yield request

    def sync_auth_flow(self, request: Any) -> Generator[Any, Any, None]:
        raise RuntimeError("ClientCredentialsAuth works with async clients only")

    def auth_flow(self, request: Any) -> Generator[Any, Any, None]:
        raise RuntimeError("ClientCredentialsAuth works with async clients only")
