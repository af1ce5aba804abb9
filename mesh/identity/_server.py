"""The embedded OAuth 2.1 authorization server: client credentials and token exchange, JWT
access tokens (RFC 9068), metadata (RFC 8414), JWKS, revocation (RFC 7009)."""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import hmac
import logging
import re
import secrets
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qsl, unquote_plus, urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from ._clients import ClientConfig, hash_secret, verify_secret
from ._errors import IdentityError, InvalidTokenError
from ._keys import PinnedKeys, SigningKey
from ._revocation import RevocationList
from ._verifier import MAX_DELEGATION_DEPTH, Claims, Principal, TokenVerifier
from ._wire import (
    ACCESS_TOKEN_TYPE,
    CLIENT_CREDENTIALS,
    JWT_TOKEN_TYPE,
    TOKEN_EXCHANGE,
    TokenResponse,
    format_scope,
    parse_scope,
    resource_allowed,
    resource_problem,
)

logger = logging.getLogger(__name__)

METADATA_PATH = "/.well-known/oauth-authorization-server"
TOKEN_PATH = "/oauth/token"  # noqa: S105
REVOCATION_PATH = "/oauth/revoke"
JWKS_PATH = "/oauth/jwks.json"
AUTHORIZATION_PATH = "/oauth/authorize"

MAX_FORM_BYTES = 64 * 1024
AUTH_METHODS = ["client_secret_basic", "client_secret_post"]
_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
_SUBJECT_TOKEN_TYPES = frozenset({ACCESS_TOKEN_TYPE, JWT_TOKEN_TYPE})
_DESCRIPTION_FORBIDDEN = re.compile(r"[^\x20\x21\x23-\x5b\x5d-\x7e]")  # RFC 6749 §5.2


class _Refusal(IdentityError):
    """An RFC 6749 §5.2 error response."""

    def __init__(self, error: str, description: str, *, status: int = 400) -> None:
        super().__init__(f"{error}: {description}")
        self.error = error
        self.description = description
        self.status = status

    def response(self) -> JSONResponse:
        headers = dict(_NO_STORE)
        if self.status == 401:
            headers["WWW-Authenticate"] = 'Basic realm="oauth", charset="UTF-8"'
        body = {"error": self.error, "error_description": _DESCRIPTION_FORBIDDEN.sub("?", self.description)}
        return JSONResponse(body, status_code=self.status, headers=headers)


def _invalid_client() -> _Refusal:
    return _Refusal("invalid_client", "client authentication failed", status=401)


class _Form:
    """A form-encoded body; a parameter sent without a value counts as omitted (RFC 6749 §3.1)."""

    def __init__(self, pairs: Iterable[tuple[str, str]]) -> None:
        self._values: dict[str, list[str]] = {}
        for name, value in pairs:
            if value:
                self._values.setdefault(name, []).append(value)

    def one(self, name: str) -> str | None:
        values = self._values.get(name, [])
        if len(values) > 1:
            raise _Refusal("invalid_request", f"parameter {name!r} is repeated")
        return values[0] if values else None

    def required(self, name: str) -> str:
        value = self.one(name)
        if value is None:
            raise _Refusal("invalid_request", f"parameter {name!r} is required")
        return value

    def every(self, name: str) -> list[str]:
        return list(self._values.get(name, []))


class AuthorizationServer:
    """The embedded authorization server, served by `router` at the root of the gateway app.

    Token endpoint contract (`POST /oauth/token`, form-encoded, client authenticated by
    `client_secret_basic` or `client_secret_post`, never both):

    - `client_credentials`: `scope` must be a subset of the client's allowed scopes (omitted:
      all of them); `resource` is required, exactly once, and must be allowed for the client
      (`invalid_target` otherwise). The token's `sub` is the client's subject.
    - token exchange (RFC 8693), the authenticated client being the actor: `subject_token` must
      be an access token this server issued, still valid and not revoked; `actor_token`, when
      given, a valid token of the authenticated client itself; a `may_act` claim on the subject
      token must name the actor. Otherwise `invalid_request` (RFC 8693 §2.2.2). The subject
      token's own audience does not matter: the actor names its target by `resource`, within
      its own allowed resources. `scope` must be
      within both the subject token's scopes and the actor's allowed scopes (omitted: that
      intersection). The new token keeps the subject's `sub`, names the actor as `client_id`,
      and nests `act` = {"sub": actor subject, "act": <subject token's act>}; chains deeper than
      `MAX_DELEGATION_DEPTH` are refused. It never outlives the subject token.

    Tokens are ES256 JWTs with `typ: at+jwt` and `iss`, `sub`, `aud` (the resource),
    `client_id`, `scope`, `iat`, `nbf`, `exp`, `jti`. Responses carry `Cache-Control: no-store`.
    Errors are RFC 6749 §5.2 JSON; `invalid_client` is 401 with `WWW-Authenticate: Basic`.
    Secrets and tokens are never logged.
    """

    def __init__(
        self,
        *,
        issuer: str,
        clients: Iterable[ClientConfig],
        signing_key: SigningKey,
        token_lifetime: timedelta = timedelta(minutes=5),
        leeway: timedelta = timedelta(seconds=30),
        clock: Callable[[], float] = time.time,
    ) -> None:
        parts = urlsplit(issuer)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
            raise ValueError(f"issuer {issuer!r} must be an http(s) URL without query or fragment")
        if token_lifetime <= timedelta(0):
            raise ValueError("token_lifetime must be positive")
        self.issuer = issuer.rstrip("/")
        self.signing_key = signing_key
        self.token_lifetime = token_lifetime
        self.leeway = leeway
        self.revocations = RevocationList(clock=clock)
        self._clock = clock
        self._clients: dict[str, ClientConfig] = {}
        for client in clients:
            if client.client_id in self._clients:
                raise ValueError(f"duplicate client id {client.client_id!r}")
            self._clients[client.client_id] = client
        self._verified_secrets: dict[str, bytes] = {}
        self._dummy_hash: str | None = None
        self._own_tokens = self.verifier()
        self._live_tokens = self.verifier(leeway=timedelta(0))  # this server is their clock
        self.router = self._build_router(urlsplit(self.issuer).path)

    @property
    def token_endpoint(self) -> str:
        return self.issuer + TOKEN_PATH

    @property
    def revocation_endpoint(self) -> str:
        return self.issuer + REVOCATION_PATH

    @property
    def jwks_uri(self) -> str:
        return self.issuer + JWKS_PATH

    @property
    def clients(self) -> Mapping[str, ClientConfig]:
        return dict(self._clients)

    def metadata(self) -> dict[str, Any]:
        """RFC 8414 metadata. The authorization endpoint supports no response type (this server
        has no user-facing flow) and is advertised only because MCP clients' metadata model
        requires one; `response_types_supported` is therefore empty."""
        scopes = sorted({scope for client in self._clients.values() for scope in client.allowed_scopes})
        return {
            "issuer": self.issuer,
            "authorization_endpoint": self.issuer + AUTHORIZATION_PATH,
            "token_endpoint": self.token_endpoint,
            "jwks_uri": self.jwks_uri,
            "revocation_endpoint": self.revocation_endpoint,
            "scopes_supported": scopes,
            "response_types_supported": [],
            "grant_types_supported": [CLIENT_CREDENTIALS, TOKEN_EXCHANGE],
            "token_endpoint_auth_methods_supported": AUTH_METHODS,
            "revocation_endpoint_auth_methods_supported": AUTH_METHODS,
        }

    def jwks(self) -> dict[str, Any]:
        return {"keys": [self.signing_key.public_jwk()]}

    def verifier(self, *, leeway: timedelta | None = None) -> TokenVerifier:
        """A verifier pinned to this server's key, consulting its revocation list."""
        return TokenVerifier(
            issuer=self.issuer,
            keys=PinnedKeys([self.signing_key]),
            leeway=self.leeway if leeway is None else leeway,
            revocations=self.revocations,
            clock=self._clock,
        )

    def issue(
        self,
        *,
        subject: str,
        client_id: str,
        scopes: Iterable[str],
        audience: str,
        act: Mapping[str, Any] | None = None,
        may_act: Mapping[str, str] | None = None,
        not_after: float | None = None,
    ) -> TokenResponse:
        """Sign an access token, in process (the token endpoint uses this after its checks; the
        gateway may use it for its own upstream calls). `not_after` caps `exp` (epoch seconds)."""
        if (problem := resource_problem(audience)) is not None:
            raise ValueError(f"audience {audience!r} {problem}")
        scope = format_scope(parse_scope(" ".join(scopes)))
        now = int(self._clock())
        expires = now + int(self.token_lifetime.total_seconds())
        if not_after is not None:
            expires = min(expires, int(not_after))
        claims: Claims = {
            "iss": self.issuer,
            "sub": subject,
            "aud": audience,
            "client_id": client_id,
            "scope": scope,
            "iat": now,
            "nbf": now,
            "exp": expires,
            "jti": secrets.token_urlsafe(16),
        }
        if act is not None:
            claims["act"] = dict(act)
        if may_act is not None:
            claims["may_act"] = dict(may_act)
        logger.info(
            "issued token %s to client %s for %s: aud %s, scope %r, act %s",
            claims["jti"],
            client_id,
            subject,
            audience,
            scope,
            act,
        )
        return TokenResponse(
            access_token=self.signing_key.sign(claims),
            token_type="Bearer",  # noqa: S106
            expires_in=max(0, expires - now),
            scope=scope,
        )

    def _build_router(self, issuer_path: str) -> APIRouter:
        router = APIRouter()
        router.add_api_route(
            METADATA_PATH + issuer_path.rstrip("/"), self._metadata_endpoint, methods=["GET"]
        )
        router.add_api_route(JWKS_PATH, self._jwks_endpoint, methods=["GET"])
        router.add_api_route(TOKEN_PATH, self._token_endpoint, methods=["POST"])
        router.add_api_route(REVOCATION_PATH, self._revocation_endpoint, methods=["POST"])
        router.add_api_route(AUTHORIZATION_PATH, self._authorization_endpoint, methods=["GET", "POST"])
        return router

    async def _metadata_endpoint(self) -> JSONResponse:
        return JSONResponse(self.metadata(), headers={"Cache-Control": "public, max-age=300"})

    async def _jwks_endpoint(self) -> JSONResponse:
        return JSONResponse(self.jwks(), headers={"Cache-Control": "public, max-age=60"})

    async def _authorization_endpoint(self) -> JSONResponse:
        description = "no response type is supported: use client_credentials or token exchange"
        return JSONResponse({"error": "unsupported_response_type", "error_description": description}, 400)

    async def _token_endpoint(self, request: Request) -> Response:
        try:
            form = await _read_form(request)
            client = await self._authenticate(request, form)
            grant_type = form.required("grant_type")
            if grant_type not in (CLIENT_CREDENTIALS, TOKEN_EXCHANGE):
                raise _Refusal("unsupported_grant_type", f"grant type {grant_type!r} is not supported")
            if grant_type not in client.grant_types:
                raise _Refusal("unauthorized_client", f"client may not use the {grant_type!r} grant")
            if grant_type == CLIENT_CREDENTIALS:
                issued = self._client_credentials(client, form)
            else:
                issued = self._token_exchange(client, form)
        except _Refusal as refusal:
            logger.info("token request refused: %s", refusal)
            return refusal.response()
        return JSONResponse(issued.model_dump(exclude_none=True), headers=_NO_STORE)

    def _client_credentials(self, client: ClientConfig, form: _Form) -> TokenResponse:
        scopes = _granted(form.one("scope"), frozenset(client.allowed_scopes))
        resource = _target(form, client)
        return self.issue(
            subject=client.subject, client_id=client.client_id, scopes=scopes, audience=resource
        )

    def _token_exchange(self, client: ClientConfig, form: _Form) -> TokenResponse:
        requested_type = form.one("requested_token_type")
        if requested_type is not None and requested_type not in _SUBJECT_TOKEN_TYPES:
            raise _Refusal("invalid_request", f"requested_token_type {requested_type!r} is not supported")
        if form.one("audience") is not None:
            raise _Refusal("invalid_target", "name the target with 'resource', not 'audience'")
        subject, subject_claims = self._presented(form, "subject_token")
        if form.one("actor_token") is not None:
            actor, _ = self._presented(form, "actor_token")
            if actor.client_id != client.client_id or actor.subject != client.subject:
                raise _Refusal("invalid_request", "actor_token is not a token of the authenticated client")
        elif form.one("actor_token_type") is not None:
            raise _Refusal("invalid_request", "actor_token_type without actor_token")
        _check_may_act(subject_claims.get("may_act"), client)
        if len(subject.act_chain) >= MAX_DELEGATION_DEPTH:
            raise _Refusal("invalid_request", f"delegation chain would exceed {MAX_DELEGATION_DEPTH}")
        scopes = _granted(form.one("scope"), subject.scopes & frozenset(client.allowed_scopes))
        resource = _target(form, client)
        act: dict[str, Any] = {"sub": client.subject}
        if "act" in subject_claims:
            act["act"] = subject_claims["act"]
        issued = self.issue(
            subject=subject.subject,
            client_id=client.client_id,
            scopes=scopes,
            audience=resource,
            act=act,
            not_after=subject.expires_at.timestamp(),
        )
        return issued.model_copy(update={"issued_token_type": ACCESS_TOKEN_TYPE})

    def _presented(self, form: _Form, name: str) -> tuple[Principal, Claims]:
        token = form.required(name)
        token_type = form.required(f"{name}_type")
        if token_type not in _SUBJECT_TOKEN_TYPES:
            raise _Refusal("invalid_request", f"{name}_type {token_type!r} is not supported")
        try:
            return self._live_tokens.verify_claims(token, audience=None)
        except InvalidTokenError as error:
            raise _Refusal("invalid_request", f"{name} is not acceptable ({error.reason})") from None

    async def _revocation_endpoint(self, request: Request) -> Response:
        """RFC 7009: revoke a token issued to the authenticated client, or one naming the
        client's subject as `sub` (a principal may revoke what acts on its behalf). An invalid,
        expired or unknown token is answered 200 as the RFC requires; `token_type_hint` is ignored."""
        try:
            form = await _read_form(request)
            client = await self._authenticate(request, form)
            token = form.required("token")
            try:
                principal, _ = self._own_tokens.verify_claims(token, audience=None)
            except InvalidTokenError:
                return Response(status_code=200, headers=_NO_STORE)
            if client.client_id != principal.client_id and client.subject != principal.subject:
                raise _Refusal(
                    "unauthorized_client", "the token was not issued to this client or its subject"
                )
        except _Refusal as refusal:
            logger.info("revocation refused: %s", refusal)
            return refusal.response()
        until = principal.expires_at.timestamp() + self.leeway.total_seconds()
        self.revocations.revoke(principal.token_id, until=until)
        logger.info("revoked token %s at the request of client %s", principal.token_id, client.client_id)
        return Response(status_code=200, headers=_NO_STORE)

    async def _authenticate(self, request: Request, form: _Form) -> ClientConfig:
        header = request.headers.get("authorization")
        if header is not None:
            scheme, _, credentials = header.partition(" ")
            if scheme.lower() != "basic":
                raise _invalid_client()
            if form.one("client_secret") is not None:
                raise _Refusal("invalid_request", "more than one client authentication method")
            try:
                decoded = base64.b64decode(credentials.strip(), validate=True).decode()
            except (binascii.Error, UnicodeDecodeError):
                raise _invalid_client() from None
            raw_id, separator, raw_secret = decoded.partition(":")
            if not separator:
                raise _invalid_client()
            client_id, secret = unquote_plus(raw_id), unquote_plus(raw_secret)
            body_id = form.one("client_id")
            if body_id is not None and body_id != client_id:
                raise _invalid_client()
        else:
            client_id_or_none, secret_or_none = form.one("client_id"), form.one("client_secret")
            if client_id_or_none is None or secret_or_none is None:
                raise _invalid_client()
            client_id, secret = client_id_or_none, secret_or_none
        client = self._clients.get(client_id)
        if not await self._secret_matches(client, secret):
            logger.info("client authentication failed for client id %r", client_id[:64])
            raise _invalid_client()
        assert client is not None
        return client

    async def _secret_matches(self, client: ClientConfig | None, secret: str) -> bool:
        """scrypt once per client and process (in a thread), then a constant-time digest compare."""
        fingerprint = hashlib.sha256(secret.encode()).digest()
        if client is not None:
            known = self._verified_secrets.get(client.client_id)
            if known is not None:
                return hmac.compare_digest(known, fingerprint)
        else:
            if self._dummy_hash is None:
                self._dummy_hash = await asyncio.to_thread(hash_secret, secrets.token_urlsafe(32))
            await asyncio.to_thread(verify_secret, secret, self._dummy_hash)
            return False
        if not await asyncio.to_thread(verify_secret, secret, client.secret_hash):
            return False
        self._verified_secrets[client.client_id] = fingerprint
        return True


async def _read_form(request: Request) -> _Form:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/x-www-form-urlencoded":
        raise _Refusal("invalid_request", "the body must be application/x-www-form-urlencoded")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            raise _Refusal("invalid_request", f"the body exceeds {MAX_FORM_BYTES} bytes")
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=bool(body))
    except (UnicodeDecodeError, ValueError):
        raise _Refusal("invalid_request", "the body is not a valid form") from None
    return _Form(pairs)


def _granted(requested: str | None, grantable: frozenset[str]) -> frozenset[str]:
    if requested is None:
        scopes = grantable
    else:
        try:
            scopes = parse_scope(requested)
        except ValueError as error:
            raise _Refusal("invalid_scope", str(error)) from None
        beyond = scopes - grantable
        if beyond:
            raise _Refusal("invalid_scope", f"scope(s) not grantable here: {format_scope(beyond)}")
    if not scopes:
        raise _Refusal("invalid_scope", "no scope can be granted")
    return scopes


def _target(form: _Form, client: ClientConfig) -> str:
    resources = form.every("resource")
    if len(resources) != 1:
        raise _Refusal("invalid_target", "exactly one 'resource' (RFC 8707) must name the audience")
    resource = resources[0]
    if (problem := resource_problem(resource)) is not None:
        raise _Refusal("invalid_target", f"resource {problem}")
    if not resource_allowed(resource, client.allowed_resources):
        raise _Refusal("invalid_target", f"client may not get tokens for {resource}")
    return resource


def _check_may_act(may_act: object, client: ClientConfig) -> None:
    if may_act is None:
        return
    actor = {"sub": client.subject, "client_id": client.client_id}
    if not isinstance(may_act, dict) or not may_act or any(actor.get(k) != v for k, v in may_act.items()):
        raise _Refusal("invalid_request", "the subject token's may_act does not allow this actor")
