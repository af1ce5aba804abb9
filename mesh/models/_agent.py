"""pydantic-ai agents whose tools are the gateway's MCP proxies (`<gateway>/mcp/<domain>`).

The model reaches a domain only through the gateway, with the caller's credential: it can do
exactly what the caller's scopes and the policy allow. A call the gateway refuses comes back to the
model as a failed tool result it can read (and is kept in the run's messages), never as an
exception that ends the run.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Generator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Self

import httpx2
from fastmcp.client import Client as FastMCPClient
from fastmcp.client.transports import StreamableHttpTransport
from fastmcp.exceptions import ToolError
from mcp import MCPError
from opentelemetry.trace import TracerProvider
from pydantic_ai import Agent, Tool
from pydantic_ai.capabilities import Instrumentation
from pydantic_ai.exceptions import ModelRetry, ToolFailed
from pydantic_ai.mcp import CallToolFunc, MCPToolset, ToolResult
from pydantic_ai.models import Model
from pydantic_ai.models.instrumented import InstrumentationSettings
from pydantic_ai.tools import RunContext
from pydantic_ai.toolsets import AbstractToolset, WrapperToolset
from pydantic_ai.toolsets.abstract import ToolsetTool

from mesh.assets import ASSETS_META
from mesh.identity import ClientCredentialsAuth
from mesh.models._config import ModelConfig
from mesh.models._errors import GatewayToolsUnavailableError
from mesh.models._model import build_model
from mesh.tracing import trace_event_hooks

DECISION_META = "mesh/decision_id"
"""The `_meta` key under which the gateway files a call under the caller's decision."""
CALL_TIMEOUT = 60.0
"""Seconds one tool call may take through the gateway."""
MCP_HTTP_TIMEOUT = httpx2.Timeout(30.0, read=300.0)

DENIED_BY_POLICY = -32010
HELD_FOR_APPROVAL = -32011
RATE_LIMITED = -32012
UPSTREAM_UNAVAILABLE = -32013
TOOL_DEFINITION_HELD = -32014
"""The gateway's own MCP error codes (docs/gateway.md), repeated here because importing
`mesh.gateway` loads the whole gateway app."""

DomainAuth = Callable[[str], httpx2.Auth]
"""The credential for the caller's calls to one domain: `auth(domain)` is an `httpx2.Auth` whose
tokens have `<gateway>/mcp/<domain>` as audience. `bearer_tokens` and `client_credentials` make
one; an agent's `GatewayTools.auth` is one too."""


class _Bearer(httpx2.Auth):
    def __init__(self, token: str) -> None:
        self._token = token

    def __repr__(self) -> str:
        return "_Bearer(***)"

    def auth_flow(self, request: httpx2.Request) -> Generator[httpx2.Request, httpx2.Response, None]:
        request.headers["Authorization"] = f"Bearer {self._token}"
        yield request


def bearer_tokens(tokens: Mapping[str, str]) -> DomainAuth:
    """The caller's own tokens, one per domain (each token's audience is that domain's URL)."""
    held = dict(tokens)

    def auth(domain: str) -> httpx2.Auth:
        if domain not in held:
            raise ValueError(f"no token for the {domain} domain; tokens are held for {sorted(held)}")
        return _Bearer(held[domain])

    return auth


def client_credentials(
    gateway_url: str, *, client_id: str, client_secret: str, scopes: Mapping[str, Sequence[str]]
) -> DomainAuth:
    """Tokens fetched with a client's own credentials (and renewed before they expire), asking
    for exactly `scopes[domain]` for each domain."""
    base = gateway_url.rstrip("/")
    held: dict[str, ClientCredentialsAuth] = {}

    def auth(domain: str) -> httpx2.Auth:
        if domain not in scopes:
            raise ValueError(f"{client_id} asks for no scope in the {domain} domain; it has {sorted(scopes)}")
        if domain not in held:
            held[domain] = ClientCredentialsAuth(
                f"{base}/oauth/token",
                client_id=client_id,
                client_secret=client_secret,
                scope=scopes[domain],
                resource=f"{base}/mcp/{domain}",
            )
        return held[domain]

    return auth


@dataclass(frozen=True, slots=True)
class _Refusal:
    status: int
    error: str | None
    scope: str | None
    description: str | None

    def explain(self) -> str:
        if self.error == "insufficient_scope":
            needs = f" the scope {self.scope} this tool needs" if self.scope else " the scope this tool needs"
            return f"the caller's token lacks{needs} (HTTP 403, insufficient_scope)"
        if self.status == 401:
            return f"the caller's token was not accepted ({self.description or self.error or 'HTTP 401'})"
        return f"HTTP {self.status}" + (f": {self.description}" if self.description else "")


@dataclass
class _RefusalNotes:
    """What the gateway said when it refused a call at the HTTP level (401, 403): the MCP client
    turns those answers into a bare "Server returned an error response", so the reason is read
    from the response here, keyed by the call (tool and arguments) and taken by its failure."""

    by_call: dict[tuple[str, str], _Refusal] = field(default_factory=dict)
    session: _Refusal | None = None
    """The latest refusal of anything but a tool call (opening the session, listing tools)."""

    async def on_response(self, response: httpx2.Response) -> None:
        if response.status_code not in (401, 403):
            return
        challenge = _challenge(response.headers.get("www-authenticate", ""))
        refusal = _Refusal(
            response.status_code,
            challenge.get("error"),
            challenge.get("scope"),
            challenge.get("error_description"),
        )
        call = _called_tool(response.request)
        if call is None:
            self.session = refusal
        else:
            self.by_call[call] = refusal

    def take(self, tool: str, arguments: dict[str, Any]) -> _Refusal | None:
        return self.by_call.pop((tool, _canonical(arguments)), None)


def _called_tool(request: httpx2.Request) -> tuple[str, str] | None:
    try:
        message = json.loads(request.content)
    except (ValueError, httpx2.RequestNotRead):
        return None
    if not isinstance(message, dict) or message.get("method") != "tools/call":
        return None
    params = message.get("params")
    if not isinstance(params, dict) or not isinstance(params.get("name"), str):
        return None
    arguments = params.get("arguments")
    return params["name"], _canonical(arguments if isinstance(arguments, dict) else {})


def _canonical(arguments: dict[str, Any]) -> str:
    return json.dumps(arguments, sort_keys=True, separators=(",", ":"), default=str)


def _challenge(header: str) -> dict[str, str]:
    """The parameters of a `Bearer` challenge (RFC 6750 §3; every value a quoted string)."""
    parameters: dict[str, str] = {}
    for part in header.removeprefix("Bearer").split('",'):
        name, _, value = part.strip().partition("=")
        if name:
            parameters[name.strip().lower()] = value.strip().strip('"')
    return parameters


class GatewayRefused(ToolFailed):
    """A failed tool result for a call the gateway did not let through: a missing scope or a
    rejected token, a policy denial, an escalation, rate limiting, a tool definition held for
    review. The model reads it like any failed result; a caller that keeps account of a run's
    tool calls can tell it from the tool's own failure."""


@dataclass
class GatewayRefusals(WrapperToolset[Any]):
    """Turns what the gateway refuses into failed tool results the model reads, wrapping one
    domain's `MCPToolset` (built with `tool_error_behavior='error'`).

    Contract of `call_tool`: the tool's result, or
    - `GatewayRefused` (a `ToolFailed`: the model sees a failed result, the run goes on) for a
      refusal: a missing scope or rejected token (HTTP 401/403), a policy denial (`-32010`, with
      its reasons, policy ids and decision id), an escalation (`-32011`, with its id), rate
      limiting (`-32012`), a tool definition held for review (`-32014`);
    - `ToolFailed` for the domain server not answering (`-32013`) or the tool's own error result;
    - `ModelRetry` for any other MCP error (for example arguments the tool's schema rejects), so
      the model may correct the call within the tool's retry budget.

    Opening the toolset (a run does at its start) or listing its tools raises
    `GatewayToolsUnavailableError` when the gateway does not answer or refuses the caller's
    credential: without its tools the run would answer from nothing.
    """

    domain: str
    url: str
    notes: _RefusalNotes = field(default_factory=_RefusalNotes)

    async def __aenter__(self) -> Self:
        self.notes.session = None
        try:
            await self.wrapped.__aenter__()
        except Exception as error:
            raise self._unavailable(error) from error
        return self

    async def get_tools(self, ctx: RunContext[Any]) -> dict[str, ToolsetTool[Any]]:
        try:
            return await self.wrapped.get_tools(ctx)
        except Exception as error:
            raise self._unavailable(error) from error

    def _unavailable(self, error: Exception) -> GatewayToolsUnavailableError:
        if self.notes.session is not None:
            reason = f"the gateway refused the caller: {self.notes.session.explain()}"
        elif any(isinstance(e, httpx2.TransportError) for e in _chain(error)):
            reason = "the gateway does not answer"
        else:
            leaf = _leaf(error) if isinstance(error, BaseExceptionGroup) else error
            reason = f"{type(leaf).__name__}: {leaf}"
        return GatewayToolsUnavailableError(self.domain, self.url, reason)

    async def call_tool(
        self, name: str, tool_args: dict[str, Any], ctx: RunContext[Any], tool: ToolsetTool[Any]
    ) -> Any:
        try:
            return await self.wrapped.call_tool(name, tool_args, ctx, tool)
        except BaseExceptionGroup as group:  # the MCP client's task group may wrap what it raised
            leaf = _leaf(group)
            if not isinstance(leaf, ToolError | MCPError):
                raise
            raise self._failure(name, tool_args, leaf) from None
        except (ToolError, MCPError) as error:
            raise self._failure(name, tool_args, error) from None

    def _failure(
        self, tool: str, arguments: dict[str, Any], error: ToolError | MCPError
    ) -> GatewayRefused | ToolFailed | ModelRetry:
        where = f"{self.domain}.{tool}"
        if isinstance(error, ToolError):
            return ToolFailed(f"{where} failed: {error}")
        refusal = self.notes.take(tool, arguments)
        if refusal is not None:
            return GatewayRefused(f"refused by the gateway, {where} was not called: {refusal.explain()}")
        data = error.data if isinstance(error.data, dict) else {}
        reasons = "; ".join(str(r) for r in data.get("reasons", [])) or error.message
        if error.code == DENIED_BY_POLICY:
            policies = ", ".join(str(p) for p in data.get("policy_ids", []))
            return GatewayRefused(
                f"denied by policy, {where} was not called: {reasons}"
                + (f" (policies: {policies}; decision {data.get('decision_id')})" if policies else "")
            )
        if error.code == HELD_FOR_APPROVAL:
            return GatewayRefused(
                f"held for human approval as escalation {data.get('escalation_id')}, {where} was not "
                f"called: {reasons}; the identical call goes through once an operator approves it"
            )
        if error.code == RATE_LIMITED:
            return GatewayRefused(f"rate-limited by the gateway, {where} was not called: {error.message}")
        if error.code == UPSTREAM_UNAVAILABLE:
            return ToolFailed(f"the {self.domain} domain's server did not answer: {error.message}")
        if error.code == TOOL_DEFINITION_HELD:
            return GatewayRefused(f"{where} changed upstream and is held until an operator reviews it")
        return ModelRetry(f"{where}: {error.message} (MCP error {error.code})")


def _chain(error: BaseException) -> list[BaseException]:
    found: list[BaseException] = []
    pending: list[BaseException] = [error]
    while pending:
        current = pending.pop()
        if current in found:
            continue
        found.append(current)
        if isinstance(current, BaseExceptionGroup):
            pending.extend(current.exceptions)
        pending.extend(e for e in (current.__cause__, current.__context__) if e is not None)
    return found


def _leaf(group: BaseExceptionGroup[BaseException]) -> BaseException:
    error: BaseException = group
    while isinstance(error, BaseExceptionGroup) and error.exceptions:
        error = error.exceptions[0]
    return error


def gateway_toolset(
    gateway_url: str,
    domain: str,
    auth: httpx2.Auth,
    *,
    decision_id: str | None = None,
    assets: Mapping[str, str] | None = None,
    timeout: float = CALL_TIMEOUT,
) -> AbstractToolset[Any]:
    """The tools `<gateway>/mcp/<domain>` offers this caller, named `<domain>_<tool>`.

    Every call carries `auth`, the W3C trace context (so the gateway's spans join the run's trace),
    with `decision_id` `_meta["mesh/decision_id"]` (so the gateway files the call under that
    decision) and with `assets` `_meta["mesh/assets"]` (the versions of the prompt and settings
    the run used, kept on the call's audit record). Refusals become failed tool results
    (`GatewayRefusals`).
    """
    notes = _RefusalNotes()

    def http_client(
        headers: dict[str, str] | None = None,
        timeout: httpx2.Timeout | None = None,
        auth: httpx2.Auth | None = None,
        **options: Any,
    ) -> httpx2.AsyncClient:
        return httpx2.AsyncClient(
            headers=headers,
            timeout=timeout or MCP_HTTP_TIMEOUT,
            auth=auth,
            event_hooks={**trace_event_hooks(), "response": [notes.on_response]},
            **options,
        )

    url = f"{gateway_url.rstrip('/')}/mcp/{domain}"
    client = FastMCPClient(
        StreamableHttpTransport(url, auth=auth, httpx_client_factory=http_client),
        timeout=timeout,
        init_timeout=timeout,
    )

    meta: dict[str, Any] = {}
    if decision_id is not None:
        meta[DECISION_META] = decision_id
    if assets:
        meta[ASSETS_META] = dict(assets)

    async def file_under_decision(
        ctx: RunContext[Any], call_tool: CallToolFunc, name: str, tool_args: dict[str, Any]
    ) -> ToolResult:
        return await call_tool(name, tool_args, metadata={**meta} if meta else None)

    mcp = MCPToolset[Any](
        client, id=domain, tool_error_behavior="error", process_tool_call=file_under_decision
    )
    return GatewayRefusals(mcp, domain=domain, url=url, notes=notes).prefixed(domain)


def build_mesh_agent(
    model: Model | ModelConfig,
    *,
    gateway_url: str | None = None,
    domains: Sequence[str] = (),
    auth: DomainAuth | None = None,
    tools: Sequence[Tool[Any] | Callable[..., Any]] = (),
    instructions: str | None = None,
    decision_id: str | None = None,
    assets: Mapping[str, str] | None = None,
    name: str | None = None,
    feature: str | None = None,
    tracer_provider: TracerProvider | None = None,
    include_content: bool = False,
) -> Agent[None, str]:
    """A pydantic-ai agent reasoning with `model`, whose tools are the gateway's MCP tools of
    `domains` (as `<domain>_<tool>`, called with `auth(domain)`) plus `tools`, plain Python
    functions that only read (the operator console's ledger, trace and registry readers). Every
    gateway call carries `decision_id` and `assets` in its `_meta` (see `gateway_toolset`).

    A `ModelConfig` without a model raises `ModelNotConfiguredError` naming `feature`.

    Each run is traced with OpenTelemetry GenAI conventions through `tracer_provider` (default:
    the global one `configure_tracing` sets): an `invoke_agent` span, a `chat <model>` CLIENT span
    per model call (`gen_ai.provider.name`, `gen_ai.request.model`, `gen_ai.response.model`,
    `gen_ai.usage.input_tokens`, `gen_ai.usage.output_tokens`, `gen_ai.response.finish_reasons`)
    and an `execute_tool` span per tool call. Prompts, answers and tool arguments stay out of
    spans unless `include_content`. Record the run's token use with `record_usage`.
    """
    if isinstance(model, ModelConfig):
        model = build_model(model, feature=feature)
    toolsets: list[AbstractToolset[None]] = []
    if domains:
        if gateway_url is None or auth is None:
            raise ValueError("tools of domains need the gateway's URL and the caller's auth")
        toolsets = [
            gateway_toolset(gateway_url, domain, auth(domain), decision_id=decision_id, assets=assets)
            for domain in domains
        ]
    instrumentation = Instrumentation(
        settings=InstrumentationSettings(
            tracer_provider=tracer_provider, include_content=include_content, include_binary_content=False
        )
    )
    return Agent(
        model,
        instructions=instructions,
        name=name,
        tools=tools,
        toolsets=toolsets,
        capabilities=[instrumentation],
    )
