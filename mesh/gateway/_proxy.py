"""The governed MCP proxy: every JSON-RPC message to `/mcp/<domain>` is authenticated, scoped,
decided by policy, forwarded (or not) and recorded."""

from __future__ import annotations

import hashlib
import json
import logging
import time
import uuid
from collections import OrderedDict
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
from opentelemetry import trace
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from mesh.assets import ASSETS_META, read_recorded_assets, tool_version
from mesh.audit import AuditRecord, Caller, DataProductInput, Ledger, PolicyEvaluation
from mesh.gateway._context import FactsUnavailableError, action_context
from mesh.gateway._directory import UpstreamCredentials, UpstreamDirectory
from mesh.gateway._errors import Refusal
from mesh.gateway._escalations import CallBinding, Escalation, EscalationStore
from mesh.gateway._jsonrpc import (
    KNOWN_METHODS,
    KNOWN_NOTIFICATIONS,
    Message,
    MessageError,
    error_body,
    parse_message,
)
from mesh.gateway._pinning import Review, ToolPins
from mesh.gateway._ratelimit import RateLimiter, retry_after_header
from mesh.gateway._rewrite import rewrite_response
from mesh.gateway._scopes import Requirement, requirement
from mesh.identity import InvalidTokenError, Principal, TokenVerifier, bearer_challenge
from mesh.policy import (
    CallerFacts,
    DataProductFacts,
    PolicyContext,
    PolicyDecision,
    PolicyEngine,
    PolicyInput,
    RequestFacts,
)
from mesh.tracing import TRACER_NAME, current_trace_ids, inject_trace_headers

logger = logging.getLogger("mesh.gateway")
tracer = trace.get_tracer(TRACER_NAME)

MAX_BODY_BYTES = 1024 * 1024
MAX_AUDITED_ARGUMENTS = 4096
POLICY_META = "mesh/policy"
DECISION_META = "mesh/decision_id"
_FORWARDED_REQUEST_HEADERS = frozenset({"accept", "content-type", "last-event-id", "accept-language"})
_FORWARDED_RESPONSE_HEADERS = frozenset(
    {"content-type", "cache-control", "mcp-session-id", "mcp-protocol-version"}
)
_UPSTREAM_TIMEOUT = httpx.Timeout(connect=2.0, read=60.0, write=10.0, pool=5.0)


@dataclass
class _Call:
    """One message on its way through the gateway, and what was decided about it."""

    domain: str
    decision_id: str
    began: float
    principal: Principal | None = None
    message: Message | None = None
    need: Requirement | None = None
    decision: PolicyDecision | None = None
    approval: Escalation | None = None
    outcome: dict[str, float] = field(default_factory=dict)
    assets: dict[str, str] = field(default_factory=dict)
    """Of a tools/call: versions of the assets it used (the caller's, and the tool's definition)."""
    assets_dropped: list[str] = field(default_factory=list)


class GovernedProxy:
    """Contract, per request to `/mcp/<domain>`:

    1. Nothing reaches the domain's server before a decision. Order: body size (413), bearer
       token (401 with `WWW-Authenticate: Bearer resource_metadata=..., scope=...`; signature,
       issuer, audience = this exact `/mcp/<domain>` URL, expiry and revocation checked on every
       request), JSON-RPC shape (400 parse error / invalid request, 404 unknown method), MCP session
       ownership (a session id is usable only by the caller that opened it), rate limit (429 with
       `Retry-After`), scope (403 `insufficient_scope` naming the scope), held tool definitions,
       then policy on the facts of the call.
    2. Policy outcomes: allow forwards; warn forwards and adds `_meta["mesh/policy"]` with the
       reasons to the response; escalate holds the call (JSON-RPC error naming the escalation id)
       unless an operator approved this exact call, which then goes through once; deny answers a
       JSON-RPC error with the reasons, policy ids and policy version.
    3. Forwarding uses the gateway's own token for the upstream server; the caller's token never
       leaves the gateway. Streams are passed through as they arrive; an upstream that cannot be
       reached or times out is a 502 with a JSON-RPC error, never a hang.
    4. Every message decided, refused or failed appends one audit record joined to the current
       trace. Records of actions (tools that write) are committed before the answer is returned;
       records of reads are queued without waiting, so auditing never slows reads down.
    """

    def __init__(
        self,
        *,
        public_base_url: str,
        upstreams: Mapping[str, str],
        verifier: TokenVerifier,
        engine: PolicyEngine,
        ledger: Ledger,
        escalations: EscalationStore,
        pins: ToolPins,
        limiter: RateLimiter,
        credentials: UpstreamCredentials,
        directory: UpstreamDirectory,
        http: httpx.AsyncClient,
        max_body_bytes: int = MAX_BODY_BYTES,
    ) -> None:
        self.public_base_url = public_base_url.rstrip("/")
        self.upstreams = dict(upstreams)
        self.verifier = verifier
        self.engine = engine
        self.ledger = ledger
        self.escalations = escalations
        self.pins = pins
        self.limiter = limiter
        self.credentials = credentials
        self.directory = directory
        self.http = http
        self.max_body_bytes = max_body_bytes
        self._sessions: OrderedDict[str, str] = OrderedDict()
        directory.review = self._review_loaded_tools

    def resource_url(self, domain: str) -> str:
        return f"{self.public_base_url}/mcp/{domain}"

    def metadata_url(self, domain: str) -> str:
        return f"{self.public_base_url}/.well-known/oauth-protected-resource/mcp/{domain}"

    async def handle(self, request: Request, domain: str) -> Response:
        call = _Call(domain=domain, decision_id=f"call-{uuid.uuid4().hex[:16]}", began=time.perf_counter())
        if domain not in self.upstreams:
            return self._refuse(call, Refusal.UNKNOWN_DOMAIN, f"no domain {domain!r} behind this gateway")
        with tracer.start_as_current_span("gateway.govern", attributes={"mesh.domain": domain}) as span:
            response = await self._govern(request, call)
            span.set_attribute("mesh.decision_id", call.decision_id)
            if call.decision is not None:
                span.set_attribute("mesh.policy.decision", call.decision.decision)
            return response

    async def _govern(self, request: Request, call: _Call) -> Response:
        body = await self._read_body(request)
        if body is None:
            return self._refuse(call, Refusal.BODY_TOO_LARGE, f"body larger than {self.max_body_bytes} bytes")
        principal = self._authenticate(request, call)
        if isinstance(principal, Response):
            return principal
        call.principal = principal
        owner = self._session_owner(request)
        if owner is not None and owner != principal.subject:
            return self._refuse(call, Refusal.SESSION_OF_ANOTHER_CALLER, "unknown session")
        if request.method != "POST":
            return await self._forward(request, call, body=None)
        try:
            message = parse_message(body)
        except MessageError as error:
            refusal = Refusal.MALFORMED_JSON if error.malformed else Refusal.INVALID_REQUEST
            return self._refuse(call, refusal, error.problem, request_id=error.request_id)
        call.message = message
        call.decision_id = _decision_id(message) or call.decision_id
        if message.tool is not None:
            recorded = read_recorded_assets(message.meta.get(ASSETS_META))
            call.assets, call.assets_dropped = recorded.assets, recorded.dropped
        if message.kind == "request" and message.method not in KNOWN_METHODS:
            return self._refuse(call, Refusal.UNKNOWN_METHOD, f"unknown method {message.method!r}")
        if message.kind == "notification" and message.method not in KNOWN_NOTIFICATIONS:
            return self._refuse(call, Refusal.UNKNOWN_METHOD, f"unknown notification {message.method!r}")
        wait = self.limiter.check(principal.client_id or principal.subject, message.tool)
        if wait is not None:
            return self._refuse(
                call,
                Refusal.RATE_LIMITED,
                "too many requests",
                headers={"Retry-After": retry_after_header(wait)},
            )
        try:
            facts = await self.directory.facts(call.domain)
        except Exception as error:
            logger.warning("domain %s unreachable for its tool list: %s", call.domain, error)
            return self._refuse(call, Refusal.UPSTREAM_UNAVAILABLE, f"{call.domain} server unreachable")
        call.need = requirement(call.domain, message, facts)
        if message.tool is not None:
            self._record_tool_asset(call, message.tool, facts.tools.get(message.tool))
        if call.need.scope not in principal.scopes:
            return self._refuse(
                call, Refusal.INSUFFICIENT_SCOPE, f"this call needs the scope {call.need.scope}"
            )
        if message.tool is not None and self.pins.held(call.domain, message.tool):
            return self._refuse(
                call,
                Refusal.TOOL_HELD,
                f"the definition of {message.tool} changed upstream and awaits approval",
            )
        if message.kind != "request":
            return await self._forward(request, call, body=body)
        return await self._decide_and_forward(request, call, body)

    async def _decide_and_forward(self, request: Request, call: _Call, body: bytes) -> Response:
        message, principal, need = call.message, call.principal, call.need
        assert message is not None
        assert principal is not None
        assert need is not None
        try:
            context = await action_context(self.directory, call.domain, message.tool, message.arguments)
        except FactsUnavailableError as error:
            return self._refuse(call, Refusal.DENIED, f"policy facts unavailable: {error}")
        decision = call.decision = self._decide(call, context)
        if decision.decision == "deny":
            return self._refuse(call, Refusal.DENIED, "; ".join(decision.reasons) or "denied by policy")
        if decision.decision == "escalate":
            binding = self._binding(call, decision)
            call.approval = self.escalations.take_approval(binding)
            if call.approval is None:
                lapsed = self.escalations.expired_for(binding)
                if lapsed is not None:
                    self._audit_escalation(lapsed, "expired")
                    return self._refuse(
                        call,
                        Refusal.DENIED,
                        f"escalation {lapsed.id} expired at {lapsed.expires_at.isoformat()}",
                    )
                escalation, new = self.escalations.hold(
                    binding,
                    reasons=decision.reasons,
                    policy_ids=decision.policy_ids,
                    decision_id=call.decision_id,
                )
                return self._refuse(
                    call,
                    Refusal.ESCALATED,
                    f"held for human approval as escalation {escalation.id}",
                    data={"escalation_id": escalation.id, "expires_at": escalation.expires_at.isoformat()},
                    new_escalation=new,
                )
        return await self._forward(request, call, body=body)

    def _decide(self, call: _Call, context: PolicyContext) -> PolicyDecision:
        message, principal, need = call.message, call.principal, call.need
        assert message is not None
        assert principal is not None
        assert need is not None
        policy_input = PolicyInput(
            caller=CallerFacts(
                subject=principal.subject,
                client_id=principal.client_id,
                scopes=sorted(principal.scopes),
                act_chain=list(principal.act_chain),
            ),
            request=RequestFacts(
                method=message.method or "",
                domain=call.domain,
                tool=message.tool,
                resource=message.resource,
                arguments=message.arguments,
                required_scope=need.scope,
                writes=need.writes,
            ),
            data_products=[
                DataProductFacts(id=p["id"], version=p["version"], access_scope=p["access_scope"])
                for p in need.products
            ],
            context=context,
        )
        with tracer.start_as_current_span("policy.decide") as span:
            decision = self.engine.decide(policy_input)
            span.set_attribute("mesh.policy.decision", decision.decision)
        return decision

    async def _forward(self, request: Request, call: _Call, *, body: bytes | None) -> Response:
        url = self.upstreams[call.domain]
        headers = {
            name: value
            for name, value in request.headers.items()
            if name in _FORWARDED_REQUEST_HEADERS or name.startswith("mcp-") or name.startswith("x-mcp-")
        }
        headers["authorization"] = f"Bearer {await self.credentials.bearer(url)}"
        inject_trace_headers(headers)
        upstream_request = self.http.build_request(request.method, url, headers=headers, content=body)
        try:
            upstream = await self.http.send(upstream_request, stream=True)
        except httpx.HTTPError as error:
            logger.warning("upstream %s failed: %s", call.domain, type(error).__name__)
            return self._refuse(call, Refusal.UPSTREAM_UNAVAILABLE, f"{call.domain} server did not answer")
        if upstream.status_code in (401, 403):
            await upstream.aclose()
            logger.error(
                "upstream %s refused the gateway's credential (%d)", call.domain, upstream.status_code
            )
            return self._refuse(
                call, Refusal.UPSTREAM_UNAVAILABLE, f"{call.domain} server refused the gateway"
            )
        call.outcome = {
            "upstream_status": float(upstream.status_code),
            "upstream_ms": round((time.perf_counter() - call.began) * 1000, 3),
        }
        response_headers = {
            k: v for k, v in upstream.headers.items() if k.lower() in _FORWARDED_RESPONSE_HEADERS
        }
        self._remember_session(call, response_headers.get("mcp-session-id"))
        await self._audit_forwarded(call)
        chunks: AsyncIterator[bytes] = upstream.aiter_raw()
        rewrite = self._response_rewrite(call)
        if rewrite is not None and call.message is not None and call.message.id is not None:
            content_type = upstream.headers.get("content-type", "")
            chunks = rewrite_response(upstream.aiter_raw(), content_type, call.message.id, rewrite)
            response_headers.pop("content-length", None)
        return StreamingResponse(
            chunks,
            status_code=upstream.status_code,
            headers=response_headers,
            background=BackgroundTask(upstream.aclose),
        )

    def _response_rewrite(self, call: _Call) -> Any:
        message, decision = call.message, call.decision
        if message is None:
            return None
        if message.method == "tools/list":
            return lambda response: self._filter_tools(call, response)
        if decision is not None and (decision.decision == "warn" or call.approval is not None):
            note = {
                "decision": decision.decision,
                "reasons": decision.reasons,
                "policy_ids": decision.policy_ids,
                "policy_version": decision.policy_version,
                "decision_id": call.decision_id,
            }
            if call.approval is not None:
                note["approved_escalation"] = call.approval.id

            def add_note(response: dict[str, Any]) -> dict[str, Any]:
                result = response.get("result")
                if isinstance(result, dict):
                    result.setdefault("_meta", {})[POLICY_META] = note
                return response

            return add_note
        return None

    def _review_loaded_tools(self, domain: str, tools: list[dict[str, Any]]) -> list[dict[str, Any]]:
        call = _Call(domain=domain, decision_id=f"pins-{uuid.uuid4().hex[:16]}", began=time.perf_counter())
        review = self.pins.review(domain, tools)
        self._audit_pin_review(call, review)
        return review.offered

    def _filter_tools(self, call: _Call, response: dict[str, Any]) -> dict[str, Any]:
        result = response.get("result")
        if not isinstance(result, dict) or not isinstance(result.get("tools"), list):
            return response
        review = self.pins.review(call.domain, result["tools"])
        result["tools"] = review.offered
        self.directory.remember_tools(call.domain, review.offered)
        self._audit_pin_review(call, review)
        return response

    @staticmethod
    def _record_tool_asset(call: _Call, tool: str, offered: dict[str, Any] | None) -> None:
        """The version of the definition the gateway offers of `tool` wins over the caller's word."""
        if offered is None:
            return
        key, version = f"tool/{call.domain}/{tool}", tool_version(offered)
        claimed = call.assets.get(key)
        if claimed is not None and claimed != version:
            call.assets_dropped.append(f"{key}: the caller said {claimed}; the gateway offered {version}")
        call.assets[key] = version

    # --- refusals, sessions, audit ------------------------------------------------------------

    def _refuse(
        self,
        call: _Call,
        refusal: Refusal,
        reason: str,
        *,
        request_id: Any = None,
        data: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        new_escalation: bool = True,
    ) -> Response:
        headers = dict(headers or {})
        message = call.message
        if refusal in (Refusal.UNAUTHENTICATED, Refusal.INVALID_TOKEN, Refusal.INSUFFICIENT_SCOPE):
            error = {
                Refusal.UNAUTHENTICATED: None,
                Refusal.INVALID_TOKEN: "invalid_token",
                Refusal.INSUFFICIENT_SCOPE: "insufficient_scope",
            }[refusal]
            scope = call.need.scope if call.need is not None else f"{call.domain}:read"
            headers["WWW-Authenticate"] = bearer_challenge(
                resource_metadata=self.metadata_url(call.domain),
                scope=scope,
                error=error,
                error_description=reason if error else None,
            )
            body: dict[str, Any] = {"error": error or "unauthorized", "error_description": reason}
        else:
            details = dict(data or {})
            if call.decision is not None and refusal in (Refusal.DENIED, Refusal.ESCALATED):
                details |= {
                    "reasons": call.decision.reasons,
                    "policy_ids": call.decision.policy_ids,
                    "policy_version": call.decision.policy_version,
                }
            details["decision_id"] = call.decision_id
            code = refusal.jsonrpc_code or -32000
            body = error_body(message.id if message else request_id, code, reason, details)
        if refusal is not Refusal.ESCALATED or new_escalation:
            self._audit_refusal(call, refusal, reason)
        return JSONResponse(body, status_code=refusal.http_status, headers=headers)

    def _authenticate(self, request: Request, call: _Call) -> Principal | Response:
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return self._refuse(call, Refusal.UNAUTHENTICATED, "a bearer token is required")
        try:
            return self.verifier.verify(token.strip(), audience=self.resource_url(call.domain))
        except InvalidTokenError as error:
            return self._refuse(call, Refusal.INVALID_TOKEN, str(error))

    def _session_owner(self, request: Request) -> str | None:
        session = request.headers.get("mcp-session-id")
        return None if session is None else self._sessions.get(session, "")

    def _remember_session(self, call: _Call, session: str | None) -> None:
        if session is None or call.principal is None or session in self._sessions:
            return
        self._sessions[session] = call.principal.subject
        while len(self._sessions) > 100_000:
            self._sessions.popitem(last=False)

    def _binding(self, call: _Call, decision: PolicyDecision) -> CallBinding:
        message, principal = call.message, call.principal
        assert message is not None
        assert principal is not None
        return CallBinding.of(
            subject=principal.subject,
            client_id=principal.client_id,
            domain=call.domain,
            method=message.method or "",
            tool=message.tool,
            arguments=message.arguments,
            policy_version=decision.policy_version,
        )

    async def _audit_forwarded(self, call: _Call) -> None:
        human = call.approval is not None
        record = self._record(call, status="executed", mode="human" if human else "autonomous")
        if call.need is not None and call.need.writes:
            await self.ledger.append(record)
        else:
            self._submit(record)

    def _audit_refusal(self, call: _Call, refusal: Refusal, reason: str) -> None:
        mapping = refusal.value
        self._submit(
            self._record(call, status=mapping.audit_status, mode=mapping.execution_mode, reason=reason)
        )

    def _audit_escalation(self, escalation: Escalation, status: str) -> None:
        self._submit(escalation_record(escalation, status))

    def _audit_pin_review(self, call: _Call, review: Review) -> None:
        for change in review.newly_held:
            escalation, _ = self.escalations.hold(
                CallBinding(
                    change.domain, None, change.domain, "tool_change", change.tool, change.new_hash, ""
                ),
                reasons=[f"definition of {change.domain}.{change.tool} changed upstream"],
                policy_ids=["gateway.tool_pinning"],
                decision_id=call.decision_id,
                kind="tool_change",
                detail={"pinned_hash": change.pinned_hash, "new_hash": change.new_hash},
            )
            self._submit(escalation_record(escalation, "escalated"))
        if review.newly_pinned:
            self._submit(
                AuditRecord(
                    decision_id=call.decision_id,
                    occurred_at=datetime.now(UTC),
                    agent="gateway",
                    domain=call.domain,
                    action="tools/pin",
                    parameters={"pinned": review.newly_pinned},
                    execution_mode="autonomous",
                    status="executed",
                )
            )

    def _record(self, call: _Call, *, status: Any, mode: Any, reason: str | None = None) -> AuditRecord:
        message, principal, decision = call.message, call.principal, call.decision
        ids = current_trace_ids()
        parameters: dict[str, Any] = {}
        if message is not None:
            parameters["method"] = message.method or message.kind
            if message.tool is not None:
                parameters["tool"] = message.tool
                parameters |= _audited_arguments(message.arguments)
            if message.resource is not None:
                parameters["uri"] = message.resource
        if reason is not None:
            parameters["reason"] = reason
        if call.approval is not None:
            parameters["approved_escalation"] = call.approval.id
        if call.assets_dropped:
            parameters["assets_dropped"] = call.assets_dropped
        return AuditRecord(
            decision_id=call.decision_id,
            occurred_at=datetime.now(UTC),
            agent=principal.client_id if principal else None,
            domain=call.domain,
            action=(message.method or message.kind) if message else "http",
            parameters=parameters,
            inputs=[
                DataProductInput(product_id=p["id"], version=p["version"])
                for p in (call.need.products if call.need else [])
            ],
            policies=[
                PolicyEvaluation(
                    policy_id=r.policy_id,
                    outcome=r.outcome,
                    reasons=r.reasons,
                    policy_version=decision.policy_version,
                )
                for r in decision.rules
            ]
            if decision is not None
            else [],
            execution_mode=mode,
            status=status,
            outcome=call.outcome | {"gateway_ms": round((time.perf_counter() - call.began) * 1000, 3)},
            caller=Caller(
                subject=principal.subject,
                client_id=principal.client_id,
                scopes=sorted(principal.scopes),
                act_chain=list(principal.act_chain),
            )
            if principal
            else None,
            trace_id=ids.trace_id if ids else None,
            span_id=ids.span_id if ids else None,
            assets=dict(call.assets) or None,
        )

    def _submit(self, record: AuditRecord) -> None:
        future = self.ledger.submit(record)
        future.add_done_callback(_log_audit_failure)

    async def _read_body(self, request: Request) -> bytes | None:
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_body_bytes:
            return None
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > self.max_body_bytes:
                return None
        return bytes(body)


def escalation_record(escalation: Escalation, status: Any) -> AuditRecord:
    ids = current_trace_ids()
    return AuditRecord(
        decision_id=escalation.decision_id,
        occurred_at=datetime.now(UTC),
        agent=escalation.client_id,
        domain=escalation.domain,
        action=f"escalation/{escalation.kind}",
        parameters={
            "escalation_id": escalation.id,
            "method": escalation.method,
            "tool": escalation.tool,
            "arguments_sha256": escalation.arguments_hash,
            "expires_at": escalation.expires_at.isoformat(),
            **escalation.detail,
        },
        policies=[
            PolicyEvaluation(
                policy_id=p,
                outcome="escalate",
                reasons=escalation.reasons,
                policy_version=escalation.policy_version or "-",
            )
            for p in escalation.policy_ids
        ],
        execution_mode="human" if escalation.decided_by else "escalated",
        status=status,
        caller=Caller(subject=escalation.decided_by or escalation.subject, client_id=escalation.client_id),
        trace_id=ids.trace_id if ids else None,
        span_id=ids.span_id if ids else None,
    )


def _decision_id(message: Message) -> str | None:
    """A caller (an agent) may join its calls to its own decision by `_meta["mesh/decision_id"]`."""
    value = message.meta.get(DECISION_META)
    if isinstance(value, str) and 0 < len(value) <= 200 and all(c.isalnum() or c in "._:-" for c in value):
        return value
    return None


def _audited_arguments(arguments: dict[str, Any]) -> dict[str, Any]:
    text = json.dumps(arguments, sort_keys=True, separators=(",", ":"), default=str)
    if len(text) <= MAX_AUDITED_ARGUMENTS:
        return {"arguments": arguments}
    return {"arguments_sha256": hashlib.sha256(text.encode()).hexdigest(), "arguments_bytes": len(text)}


def _log_audit_failure(future: Any) -> None:
    error = future.exception()
    if error is not None:
        logger.error("audit record not written: %s", error)


__all__ = ["GovernedProxy", "escalation_record"]
