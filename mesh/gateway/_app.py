"""The gateway service: authorization server, governed MCP proxy, escalation API, health."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

import httpx
from fastapi import FastAPI, HTTPException, Query, Request
from fastapi.responses import JSONResponse, Response

from mesh.assets import LOCK_FILE_NAME, AssetError, ToolLock
from mesh.audit import Ledger
from mesh.gateway._agents import AgentsService, mount_agents
from mesh.gateway._bearer import scoped_bearer
from mesh.gateway._clients import DIRECTORY_SCOPE, OPERATOR_SCOPE, UPSTREAM_SCOPE, builtin_clients
from mesh.gateway._console import mount_console
from mesh.gateway._directory import UpstreamDirectory
from mesh.gateway._errors import GatewayConfigError
from mesh.gateway._escalations import (
    Escalation,
    EscalationClosedError,
    EscalationNotFoundError,
    EscalationStatus,
    EscalationStore,
)
from mesh.gateway._operator import mount_operator
from mesh.gateway._pinning import HeldChange, ToolPins
from mesh.gateway._proxy import GovernedProxy, escalation_record
from mesh.gateway._ratelimit import Rate, RateLimiter
from mesh.gateway._scopes import domain_scopes
from mesh.identity import (
    AuthorizationServer,
    TokenVerifier,
    load_or_create_clients,
    load_or_create_signing_key,
)
from mesh.policy import PolicyEngine, RegoPolicyEngine
from mesh.settings import MeshSettings
from mesh.tracing import TraceContextMiddleware

POLICY_DIR = Path(__file__).resolve().parents[2] / "policies"
UPSTREAM_TIMEOUT = httpx.Timeout(connect=2.0, read=60.0, write=10.0, pool=5.0)
_CREDENTIAL_MARGIN = 30.0


class InProcessCredentials:
    """The gateway's own upstream tokens, issued by the embedded authorization server in process
    and reused until shortly before they expire."""

    def __init__(self, server: AuthorizationServer) -> None:
        self._server = server
        self._cache: dict[str, tuple[str, float]] = {}

    async def bearer(self, resource: str) -> str:
        cached = self._cache.get(resource)
        if cached is not None and cached[1] - time.time() > _CREDENTIAL_MARGIN:
            return cached[0]
        issued = self._server.issue(
            subject="service:gateway", client_id="gateway", scopes=[UPSTREAM_SCOPE], audience=resource
        )
        self._cache[resource] = (issued.access_token, time.time() + (issued.expires_in or 60))
        return issued.access_token


@dataclass
class Gateway:
    app: FastAPI
    proxy: GovernedProxy
    authorization_server: AuthorizationServer | None
    agents: AgentsService | None = None


def build_gateway(
    settings: MeshSettings,
    *,
    public_base_url: str,
    upstreams: Mapping[str, str],
    ledger: Ledger,
    engine: PolicyEngine | None = None,
    nats_url: str | None = None,
    tool_lock: ToolLock | None = None,
) -> Gateway:
    """Everything the gateway serves, wired from settings; nothing listens until the app is run.

    Tool pins are seeded from `tool_lock`, else from `<gateway dir>/tools.lock.json` when there is
    one (`mesh up` installs the repository's lock there): see `ToolPins`."""
    base = public_base_url.rstrip("/")
    issuer = settings.oauth_issuer or base
    if settings.oauth_jwks_url is not None:
        raise GatewayConfigError(
            "an external OIDC provider (oauth_jwks_url) needs the gateway's own client credentials for "
            "the domain servers, which this version does not take yet; use the embedded server"
        )
    upstream_prefix = _origin_prefix(next(iter(upstreams.values())))
    configs, _ = load_or_create_clients(settings.oauth_clients_file, builtin_clients(base, upstream_prefix))
    server = AuthorizationServer(
        issuer=issuer,
        clients=configs,
        signing_key=load_or_create_signing_key(settings.key_dir),
        token_lifetime=timedelta(seconds=settings.oauth_token_lifetime),
        leeway=timedelta(seconds=settings.oauth_leeway),
    )
    verifier = server.verifier()
    credentials = InProcessCredentials(server)
    http = httpx.AsyncClient(timeout=UPSTREAM_TIMEOUT, trust_env=False, follow_redirects=False)
    escalations = EscalationStore(
        settings.gateway_dir / "escalations.sqlite", ttl=timedelta(seconds=settings.escalation_ttl)
    )
    lock = tool_lock if tool_lock is not None else _installed_tool_lock(settings)
    pins = ToolPins(settings.gateway_dir / "pins.sqlite", lock)
    proxy = GovernedProxy(
        public_base_url=base,
        upstreams=upstreams,
        verifier=verifier,
        engine=engine or RegoPolicyEngine.from_directory(POLICY_DIR),
        ledger=ledger,
        escalations=escalations,
        pins=pins,
        limiter=RateLimiter(
            Rate(settings.rate_per_client, settings.rate_burst_per_client),
            Rate(settings.rate_per_tool, settings.rate_burst_per_tool),
        ),
        credentials=credentials,
        directory=UpstreamDirectory(upstreams, credentials),
        http=http,
    )

    agents = AgentsService(settings.key_dir, nats_url)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        warming = asyncio.create_task(chat.warm())  # the chat's model, when there is one
        try:
            async with agents.running():
                yield
        finally:
            warming.cancel()
            await http.aclose()

    app = FastAPI(
        title="Mesh governance gateway",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        lifespan=lifespan,
        telemetry={"tracing": False, "metrics": False, "logs": False},  # TraceContextMiddleware traces
    )
    app.include_router(server.router)
    _mount_resources(app, proxy, issuer, list(upstreams))
    _mount_escalations(app, proxy, verifier, escalations, pins, f"{base}/api")
    mount_agents(app, agents, verifier, base)
    chat = mount_operator(
        app, settings=settings, proxy=proxy, verifier=verifier, escalations=escalations, agents=agents
    )
    mount_console(app, base)
    return Gateway(app=app, proxy=proxy, authorization_server=server, agents=agents)


def traced(gateway: Gateway) -> Any:
    return TraceContextMiddleware(gateway.app)


def _installed_tool_lock(settings: MeshSettings) -> ToolLock | None:
    path = settings.gateway_dir / LOCK_FILE_NAME
    if not path.exists():
        return None
    try:
        return ToolLock.read(path)
    except AssetError as error:
        raise GatewayConfigError(f"the tool lock cannot be used: {error}") from None


def _origin_prefix(url: str) -> str:
    """`http://127.0.0.1:` for `http://127.0.0.1:4101/mcp`: the domain servers' host, any port."""
    scheme, _, rest = url.partition("://")
    host = rest.split("/", 1)[0].rsplit(":", 1)[0]
    return f"{scheme}://{host}:"


def _mount_resources(app: FastAPI, proxy: GovernedProxy, issuer: str, domains: list[str]) -> None:
    @app.get("/.well-known/oauth-protected-resource/mcp/{domain}")
    async def protected_resource_metadata(domain: str) -> JSONResponse:
        """RFC 9728 metadata of `/mcp/<domain>`: who issues its tokens and which scopes it knows."""
        if domain not in domains:
            raise HTTPException(404, f"no protected resource /mcp/{domain}")
        facts_scopes: set[str] = set()
        try:
            facts = await proxy.directory.facts(domain)
            facts_scopes = {str(p["access_scope"]) for p in facts.products.values()}
        except Exception:  # metadata stays useful while a domain server is down
            facts_scopes = set()
        return JSONResponse(
            {
                "resource": proxy.resource_url(domain),
                "authorization_servers": [issuer],
                "scopes_supported": sorted({*domain_scopes(domain), *facts_scopes}),
                "bearer_methods_supported": ["header"],
                "resource_name": f"Mesh {domain} data products and actions",
            },
            headers={"Cache-Control": "max-age=300"},
        )

    @app.api_route("/mcp/{domain}", methods=["GET", "POST", "DELETE"], include_in_schema=False)
    async def mcp(domain: str, request: Request) -> Response:
        return await proxy.handle(request, domain)

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, Any]:
        return {"status": "ok", "domains": domains, "policy_version": proxy.engine.policy_version}


def _mount_escalations(
    app: FastAPI,
    proxy: GovernedProxy,
    verifier: TokenVerifier,
    escalations: EscalationStore,
    pins: ToolPins,
    audience: str,
) -> None:
    metadata = f"{proxy.public_base_url}/.well-known/oauth-protected-resource/api"

    operator = scoped_bearer(
        verifier, audience=audience, resource_metadata=metadata, scope=OPERATOR_SCOPE, who="operators only"
    )

    @app.get("/.well-known/oauth-protected-resource/api")
    async def api_metadata() -> dict[str, Any]:
        return {
            "resource": audience,
            "authorization_servers": [verifier.issuer],
            "scopes_supported": [OPERATOR_SCOPE, DIRECTORY_SCOPE],
            "bearer_methods_supported": ["header"],
        }

    @app.get("/api/escalations")
    async def list_escalations(
        request: Request, status: Annotated[EscalationStatus | None, Query()] = None
    ) -> list[dict[str, Any]]:
        operator(request)
        return [e.model_dump(mode="json") for e in escalations.list(status)]

    @app.get("/api/escalations/{escalation_id}")
    async def get_escalation(request: Request, escalation_id: str) -> dict[str, Any]:
        operator(request)
        return _found(escalations, escalation_id).model_dump(mode="json")

    @app.post("/api/escalations/{escalation_id}/{verdict}")
    async def decide(
        request: Request, escalation_id: str, verdict: Literal["approve", "deny"]
    ) -> dict[str, Any]:
        principal = operator(request)
        by = principal.subject + "".join(f" (for {actor})" for actor in principal.act_chain)
        try:
            decided = escalations.decide(escalation_id, approve=verdict == "approve", by=by)
        except EscalationNotFoundError as error:
            raise HTTPException(404, str(error)) from None
        except EscalationClosedError as error:
            raise HTTPException(409, str(error)) from None
        if decided.kind == "tool_change" and decided.status == "approved" and decided.tool is not None:
            pins.approve(
                HeldChange(
                    decided.domain, decided.tool, decided.detail["pinned_hash"], decided.detail["new_hash"]
                ),
                by=by,
            )
        proxy.ledger.submit(
            escalation_record(decided, "approved" if decided.status == "approved" else "rejected")
        )
        return decided.model_dump(mode="json")


def _found(escalations: EscalationStore, escalation_id: str) -> Escalation:
    try:
        return escalations.get(escalation_id)
    except EscalationNotFoundError as error:
        raise HTTPException(404, str(error)) from None
