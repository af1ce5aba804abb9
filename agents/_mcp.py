"""How an agent reads and acts: MCP through the governance gateway at `<gateway>/mcp/<domain>`,
with the agent's own client credentials (`<domain>-agent`), never straight at a domain server."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, cast

from mcp import Client, MCPError
from mcp_types import RequestParamsMeta
from pydantic import BaseModel, ConfigDict, ValidationError

from agents._errors import AgentError, GatewayUnavailable, PolicyDenied, PolicyEscalated, ToolFailed
from agents._wire import PolicyNote, ProductSource
from mesh.assets import ASSETS_META
from mesh.identity import ClientCredentialsAuth, IdentityError, read_client_secret
from mesh.tracing import traced_mcp_transport

logger = logging.getLogger("agents")

DENIED_BY_POLICY = -32010
HELD_FOR_APPROVAL = -32011
RATE_LIMITED = -32012
UPSTREAM_UNAVAILABLE = -32013
"""The gateway's own MCP error codes (docs/gateway.md; `mesh.gateway._errors`, not imported here
because the gateway package loads its whole app)."""
DECISION_META = "mesh/decision_id"
"""The `_meta` key of the decision a call is filed under (the same as `mesh.models`); the assets a
free-text answer used go under `mesh.assets.ASSETS_META`."""
POLICY_META = "mesh/policy"
CALL_TIMEOUT = 60.0
"""Seconds one tool call may take through the gateway before the skill gives up on it."""


class ToolResult(BaseModel):
    """A tool's structured result, and the gateway's policy note when it warned or an approval let
    the call through."""

    model_config = ConfigDict(frozen=True)

    content: dict[str, Any]
    policy: PolicyNote | None = None


class Query(BaseModel):
    """A domain query tool's result (`mcp_servers.QueryResult` on the wire)."""

    model_config = ConfigDict(frozen=True)

    product_id: str
    version: str
    as_of: datetime
    returned: int
    total_matching: int
    truncated: bool
    rows: list[dict[str, Any]]

    @property
    def source(self) -> ProductSource:
        return ProductSource(product_id=self.product_id, version=self.version, as_of=self.as_of)


class GatewayTools:
    """The domains this agent may reach, with one token per domain (its audience is that domain's
    `/mcp/<domain>` URL, RFC 8707) asked for with exactly the scopes in `scopes[domain]`.

    Tokens are fetched on first use and renewed 30 s before they expire (`ClientCredentialsAuth`);
    the client secret is read when the first token is needed, so an agent may start before the
    gateway has created the clients file.
    """

    def __init__(
        self,
        gateway_url: str,
        *,
        client_id: str,
        secret: Callable[[], str],
        scopes: Mapping[str, Sequence[str]],
    ) -> None:
        self.gateway_url = gateway_url.rstrip("/")
        self.client_id = client_id
        self.scopes = {domain: tuple(wanted) for domain, wanted in scopes.items()}
        self._secret = secret
        self._auth: dict[str, ClientCredentialsAuth] = {}

    @classmethod
    def from_clients_file(
        cls, gateway_url: str, *, client_id: str, clients_file: Path, scopes: Mapping[str, Sequence[str]]
    ) -> GatewayTools:
        return cls(
            gateway_url,
            client_id=client_id,
            secret=lambda: read_client_secret(clients_file, client_id),
            scopes=scopes,
        )

    def read_only(self) -> GatewayTools:
        """The same client asking only for its read scopes (`*:read`) in the domains it reads:
        what free-text requests run with, so that no token they hold could act."""
        reads = {
            domain: tuple(scope for scope in wanted if scope.endswith(":read"))
            for domain, wanted in self.scopes.items()
        }
        return GatewayTools(
            self.gateway_url,
            client_id=self.client_id,
            secret=self._secret,
            scopes={domain: wanted for domain, wanted in reads.items() if wanted},
        )

    def url(self, domain: str) -> str:
        return f"{self.gateway_url}/mcp/{domain}"

    def auth(self, domain: str) -> ClientCredentialsAuth:
        if domain not in self.scopes:
            raise ValueError(
                f"{self.client_id} does not reach the {domain} domain; it reaches {sorted(self.scopes)}"
            )
        if domain not in self._auth:
            self._auth[domain] = ClientCredentialsAuth(
                f"{self.gateway_url}/oauth/token",
                client_id=self.client_id,
                client_secret=self._secret(),
                scope=self.scopes[domain],
                resource=self.url(domain),
            )
        return self._auth[domain]

    @asynccontextmanager
    async def session(
        self, decision_id: str, *, assets: Mapping[str, str] | None = None
    ) -> AsyncIterator[ToolSession]:
        """MCP sessions for one skill run, opened per domain on first use and closed on exit.

        Every call carries `_meta["mesh/decision_id"] = decision_id`, so the gateway records all of
        the run's calls under that decision, and with `assets` `_meta["mesh/assets"]`. Use the
        session from the task that entered it (the MCP client's task group belongs to that task).
        """
        try:
            async with AsyncExitStack() as stack:
                yield ToolSession(self, decision_id, stack, assets=assets)
        except BaseExceptionGroup as group:  # the MCP client's task group wraps what the run raised
            raise _leaf(group) from None


class ToolSession:
    """Tool calls of one skill run; see `GatewayTools.session`.

    Contract of `call`: a structured result, or one of
    - `PolicyDenied` (gateway `-32010`): nothing was executed; reasons, policy ids and version kept;
    - `PolicyEscalated` (gateway `-32011`): held for an operator; the escalation id is kept, and
      the identical call goes through once after approval;
    - `ToolFailed`: the domain's error result, or any other JSON-RPC error (bad arguments, a tool
      definition held after a change upstream);
    - `GatewayUnavailable`: no connection, no token (unknown client, refused scope), rate-limited
      (`-32012`) or the domain server down (`-32013`).
    """

    def __init__(
        self,
        tools: GatewayTools,
        decision_id: str,
        stack: AsyncExitStack,
        *,
        assets: Mapping[str, str] | None = None,
    ) -> None:
        self.tools = tools
        self.decision_id = decision_id
        self._meta: dict[str, Any] = {DECISION_META: decision_id}
        if assets:
            self._meta[ASSETS_META] = dict(assets)
        self._stack = stack
        self._clients: dict[str, Client] = {}

    async def call(self, domain: str, tool: str, arguments: Mapping[str, Any]) -> ToolResult:
        try:
            client = await self._client(domain)
            result = await client.call_tool(
                tool,
                dict(arguments),
                read_timeout_seconds=CALL_TIMEOUT,
                meta=cast(RequestParamsMeta, dict(self._meta)),
            )
        except MCPError as error:
            raise _refusal(domain, tool, error) from None
        except (IdentityError, OSError, TimeoutError) as error:
            raise GatewayUnavailable(domain, tool, _describe(error)) from None
        except Exception as error:  # the MCP transport surfaces HTTP failures as various errors
            logger.warning("%s.%s through the gateway failed: %s", domain, tool, _describe(error))
            raise GatewayUnavailable(domain, tool, _describe(error)) from None
        if result.is_error:
            text = " ".join(getattr(block, "text", "") for block in result.content).strip()
            raise ToolFailed(domain, tool, text or "the tool reported an error")
        if result.structured_content is None:
            raise ToolFailed(domain, tool, "the tool returned no structured result")
        note = (result.meta or {}).get(POLICY_META)
        policy = PolicyNote.model_validate(note) if isinstance(note, dict) else None
        return ToolResult(content=result.structured_content, policy=policy)

    async def query(
        self, domain: str, tool: str, arguments: Mapping[str, Any], *, complete: bool = True
    ) -> Query:
        """A query tool's rows; with `complete`, a truncated answer is a `ToolFailed`."""
        result = await self.call(domain, tool, arguments)
        try:
            query = Query.model_validate(result.content)
        except ValidationError as error:
            raise ToolFailed(domain, tool, f"not a query result: {error.error_count()} problem(s)") from None
        if complete and query.truncated:
            raise ToolFailed(
                domain, tool, f"{query.total_matching} rows match, more than the {query.returned} returned"
            )
        return query

    async def _client(self, domain: str) -> Client:
        if domain not in self._clients:
            transport = traced_mcp_transport(self.tools.url(domain), auth=self.tools.auth(domain))
            self._clients[domain] = await self._stack.enter_async_context(
                Client(transport, read_timeout_seconds=CALL_TIMEOUT)
            )
        return self._clients[domain]


def _refusal(domain: str, tool: str, error: MCPError) -> Exception:
    data = error.error.data if isinstance(error.error.data, dict) else {}
    reasons = [str(r) for r in data.get("reasons", [])] or [error.message]
    policy_ids = [str(p) for p in data.get("policy_ids", [])]
    decision_id = data.get("decision_id")
    if error.code == DENIED_BY_POLICY:
        return PolicyDenied(
            domain,
            tool,
            error.message,
            reasons=reasons,
            policy_ids=policy_ids,
            policy_version=data.get("policy_version"),
            decision_id=decision_id,
        )
    if error.code == HELD_FOR_APPROVAL and isinstance(data.get("escalation_id"), str):
        return PolicyEscalated(
            domain,
            tool,
            error.message,
            escalation_id=data["escalation_id"],
            expires_at=data.get("expires_at"),
            reasons=reasons,
            policy_ids=policy_ids,
            decision_id=decision_id,
        )
    if error.code in (RATE_LIMITED, UPSTREAM_UNAVAILABLE):
        return GatewayUnavailable(domain, tool, error.message)
    return ToolFailed(domain, tool, error.message, code=error.code)


def _leaf(group: BaseExceptionGroup[BaseException]) -> BaseException:
    """The error a skill run raised inside the sessions' task groups: the first agent error among
    the group's leaves, else its only leaf, else the group itself."""
    leaves: list[BaseException] = []
    pending: list[BaseException] = [group]
    while pending:
        error = pending.pop(0)
        if isinstance(error, BaseExceptionGroup):
            pending.extend(error.exceptions)
        else:
            leaves.append(error)
    chosen = next((e for e in leaves if isinstance(e, AgentError)), None)
    if chosen is not None:
        return chosen
    return leaves[0] if len(leaves) == 1 else group


def _describe(error: BaseException) -> str:
    if isinstance(error, BaseExceptionGroup) and error.exceptions:
        return _describe(error.exceptions[0])
    return str(error) or type(error).__name__
