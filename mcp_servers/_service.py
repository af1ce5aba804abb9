"""A domain's MCP server as a running service: refresh on start and on request over NATS, each
refresh checked against the contracts and recorded in the audit ledger, all of it traced."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

import nats
from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg
from opentelemetry import trace
from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.types import ASGIApp

from mcp_servers._server import DomainSpec, UpstreamAuth, build_server, refresh
from mcp_servers._store import DomainStore
from mesh.audit import AuditRecord, DataProductInput, Ledger, PolicyEvaluation
from mesh.dataproducts import ProductRefresh, QualityReport, RefreshReply, RefreshRequest, refresh_subject
from mesh.tracing import TRACER_NAME, TraceContextMiddleware, current_trace_ids, traced_nats_handler
from mesh.world import World

logger = logging.getLogger("mcp_servers")
tracer = trace.get_tracer(TRACER_NAME)


class DomainService:
    """Owns one domain's store and serialises its refreshes; the MCP server reads the store."""

    def __init__(self, spec: DomainSpec, store: DomainStore, world: World, ledger: Ledger | None) -> None:
        self.spec = spec
        self.store = store
        self.world = world
        self.ledger = ledger
        self._refreshing = asyncio.Lock()

    async def refresh(self, request: RefreshRequest) -> RefreshReply:
        """Derive every product again, check it against its contract, replace the store, audit it.

        Refreshes of one domain run one at a time. A failure is a reply with `error`, not a crash.
        """
        attributes = {"mesh.domain": self.spec.domain, "mesh.decision_id": request.decision_id}
        with tracer.start_as_current_span("dataproduct.refresh", attributes=attributes) as span:
            began = time.perf_counter()
            try:
                async with self._refreshing:
                    reports = await asyncio.to_thread(refresh, self.spec, self.store, self.world)
                seq = await self._audit(request, reports)
            except Exception as error:
                logger.exception("refresh %s failed", request.decision_id)
                span.record_exception(error)
                span.set_status(trace.StatusCode.ERROR, str(error))
                return RefreshReply(
                    decision_id=request.decision_id, domain=self.spec.domain, error=str(error)
                )
            return RefreshReply(
                decision_id=request.decision_id,
                domain=self.spec.domain,
                products=[_summary(report) for report in reports.values()],
                audit_seq=seq,
                seconds=round(time.perf_counter() - began, 3),
            )

    async def on_refresh_message(self, msg: Msg) -> None:
        try:
            request = RefreshRequest.model_validate_json(msg.data)
        except ValidationError as error:
            problem = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors())
            reply = RefreshReply(
                decision_id="", domain=self.spec.domain, error=f"bad refresh request: {problem}"
            )
        else:
            reply = await self.refresh(request)
        if msg.reply:
            await msg.respond(reply.model_dump_json().encode())

    async def _audit(self, request: RefreshRequest, reports: dict[str, QualityReport]) -> int | None:
        if self.ledger is None:
            return None
        ids = current_trace_ids()
        failing = [r for r in reports.values() if not r.passed]
        with tracer.start_as_current_span("audit.append"):
            receipt = await self.ledger.append(
                AuditRecord(
                    decision_id=request.decision_id,
                    occurred_at=datetime.now(UTC),
                    agent=f"mcp-{self.spec.domain}",
                    domain=self.spec.domain,
                    action="dataproduct.refresh",
                    parameters={
                        "requested_by": request.requested_by,
                        "seed": self.world.seed,
                        "scenario": str(self.world.scenario),
                    },
                    inputs=[
                        DataProductInput(
                            product_id=r.product_id,
                            version=r.version,
                            as_of=r.as_of,
                            freshness_seconds=r.check("freshness").measured,
                        )
                        for r in reports.values()
                    ],
                    policies=[
                        PolicyEvaluation(
                            policy_id=f"contract:{r.product_id}",
                            outcome="allow" if r.passed else "warn",
                            reasons=[f"{c.name}: {c.detail}" for c in r.checks if not c.passed],
                            policy_version=r.version,
                        )
                        for r in reports.values()
                    ],
                    execution_mode="autonomous",
                    status="executed",
                    outcome={
                        "products": float(len(reports)),
                        "rows": float(sum(r.row_count for r in reports.values())),
                        "below_contract": float(len(failing)),
                    },
                    trace_id=ids.trace_id if ids else None,
                    span_id=ids.span_id if ids else None,
                )
            )
        return receipt.seq


def _summary(report: QualityReport) -> ProductRefresh:
    return ProductRefresh(
        product_id=report.product_id,
        version=report.version,
        rows=report.row_count,
        passed=report.passed,
        failing=[f"{c.name}: {c.detail}" for c in report.checks if not c.passed],
    )


def startup_request(domain: str) -> RefreshRequest:
    return RefreshRequest(decision_id=f"refresh-{domain}-{uuid.uuid4().hex[:12]}", requested_by="startup")


def service_app(
    service: DomainService, *, host: str, nats_url: str | None, auth: UpstreamAuth | None = None
) -> ASGIApp:
    """The MCP server's streamable-HTTP app, traced, with the NATS refresh subscription alive for
    as long as the app runs (subscribed at start-up, drained at shutdown)."""
    mcp_app = build_server(service.spec, service.store, auth=auth).streamable_http_app(host=host)

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        async with mcp_app.router.lifespan_context(mcp_app):
            connection: NatsClient | None = None
            if nats_url is not None:
                connection = await nats.connect(
                    nats_url, name=f"mcp-{service.spec.domain}", connect_timeout=5
                )
                await connection.subscribe(
                    refresh_subject(service.spec.domain),
                    queue=f"mcp-{service.spec.domain}",
                    cb=traced_nats_handler(service.on_refresh_message),
                )
            try:
                yield
            finally:
                if connection is not None:
                    await connection.drain()

    app = Starlette(routes=[Mount("/", app=mcp_app)], lifespan=lifespan)
    return TraceContextMiddleware(app)
