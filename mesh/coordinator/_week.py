"""The coordinator of a simulated week: one decision cycle per simulated hour over the real mesh.

Each hour:

1. **Perception.** The twin's state at the start of the hour goes out in the `CycleCall` over NATS
   to the agents on the roster (inventory, logistics, procurement); the hour's capacities are
   what the twin can give (warehouse space, transport carbon and purchasing allowances).
2. **Proposals.** Each agent answers with a signed batch of Intent Contracts, reading its
   reference data through the gateway. A batch whose signature does not verify, or that claims
   another agent, is refused and recorded in the ledger; an agent that does not answer by the
   deadline is left out and the cycle says so.
3. **Policy, negotiation, execution.** The cycle (`mesh.negotiation`) screens every intent with
   the policy engine, settles conflicts in bounded rounds, and executes what passed by asking the
   proposing agent, over the A2A-over-NATS binding, to run its acting skill: the agent calls the
   action through the gateway with its own credentials, where policy judges it again and the
   call is audited. A call the gateway holds is put to the reviewer through the escalation API.
4. **Review.** Intents the cycle escalated go to the reviewer (the configurable auto-reviewer in
   unattended runs): approved ones execute if the hour's capacities still hold them.
5. **Feedback and records.** Trust is updated by the cycle; every intent's record (contract,
   evidence, policy results, negotiation trace, execution mode, outcome) and every review goes to
   the ledger, under the cycle's trace. Then the twin plays the hour.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import nats
from opentelemetry import context as otel_context
from opentelemetry import trace

from agents import load_or_create_card_key, public_keys_dir
from agents._peers import TaskAnswer
from mesh.assets import load_assets
from mesh.audit import AuditRecord, Caller, open_ledger
from mesh.bus import SenderSigner, SenderVerifier
from mesh.coordinator._agents import AgentCallError, AgentClients, EscalationDesk
from mesh.coordinator._report import WeekReport
from mesh.coordinator._review import REVIEWER_SUBJECT, AutoReviewer, ReviewRule
from mesh.negotiation import (
    CycleOutcome,
    DecisionCycle,
    Evidence,
    IntentContract,
    IntentResult,
    NatsCycleCoordinator,
    NegotiationSettings,
    to_audit_records,
)
from mesh.policy import RegoPolicyEngine
from mesh.registry import PinnedAgentKeys
from mesh.settings import MeshSettings
from mesh.simulation import Twin
from mesh.supervisor import MeshState
from mesh.tracing import TRACER_NAME
from mesh.trust import STANDING_ACTION, TrustAssessment, TrustRegistry
from mesh.world import generate_world

POLICY_DIR = Path(__file__).resolve().parents[2] / "policies"
COORDINATOR_ID = "coordinator"
COORDINATOR_SUBJECT = "service:coordinator"
ROSTER = ("agent:inventory", "agent:logistics", "agent:procurement")
ACTIONS = {
    "transfer": (
        "inventory",
        "transfer_stock",
        ("from_warehouse_id", "to_warehouse_id", "sku_id", "units", "due_at"),
    ),
    "purchase_order": (
        "procurement",
        "place_purchase_order",
        ("sku_id", "quantity", "supplier_id", "region"),
    ),
    "shipment": ("logistics", "book_shipment", ("lane_id", "sku_id", "units")),
}
"""Decision type -> the agent and acting skill that carry it out, and the action fields it takes."""

tracer = trace.get_tracer(TRACER_NAME)


@dataclass(frozen=True)
class WeekOptions:
    hours: int = 168
    deadline: float = 2.0
    reviewer: ReviewRule = "credible"
    carbon_allowance: float = 1.0
    spend_allowance: float = 1.0
    roster: tuple[str, ...] = ROSTER
    """The agents each cycle waits for (until `deadline`); an agent on it that does not answer
    keeps every cycle open until the deadline."""


CREDIBILITY_STEP = 0.001
"""A change of credibility smaller than this is not recorded as a new standing."""


def standing_changed(before: TrustAssessment, now: TrustAssessment) -> bool:
    """Whether an agent's standing moved: its autonomy level, its strikes, or its credibility by
    at least `CREDIBILITY_STEP`."""
    return (
        before.autonomy != now.autonomy
        or before.strikes != now.strikes
        or abs(before.credibility - now.credibility) >= CREDIBILITY_STEP
    )


def standing_record(
    assessment: TrustAssessment, cycle_id: str, *, trace_id: str | None = None, span_id: str | None = None
) -> AuditRecord:
    """An agent's standing at the end of cycle `cycle_id`: decision id
    `<cycle>.trust.<agent without "agent:">`, action `trust/standing`; outcome: `credibility` and
    its components (`prediction_accuracy`, `consistency`, `policy_compliance`); parameters:
    `autonomy`, `strikes` (and `reasons` when it is quarantined)."""
    parameters: dict[str, Any] = {"autonomy": assessment.autonomy, "strikes": assessment.strikes}
    if assessment.reasons:
        parameters["reasons"] = assessment.reasons
    agent = assessment.agent
    return AuditRecord(
        decision_id=f"{cycle_id}.trust.{agent.removeprefix('agent:')}",
        occurred_at=datetime.now(UTC),
        agent=agent,
        domain=agent.removeprefix("agent:") if agent.startswith("agent:") else None,
        action=STANDING_ACTION,
        parameters=parameters,
        execution_mode="autonomous",
        status="executed",
        outcome={
            "credibility": assessment.credibility,
            "prediction_accuracy": assessment.prediction_accuracy,
            "consistency": assessment.consistency,
            "policy_compliance": assessment.policy_compliance,
        },
        caller=Caller(subject=COORDINATOR_SUBJECT),
        trace_id=trace_id,
        span_id=span_id,
    )


class ExecutionRefused(RuntimeError):
    """The agent's skill did not carry out the action: the gateway denied it, a reviewer refused
    the held call, or the domain refused it."""


def skill_request(intent: IntentContract, now: datetime) -> tuple[str, str, dict[str, Any]]:
    """The agent, skill and input that carry out `intent` as agreed."""
    if intent.decision_type not in ACTIONS:
        raise ExecutionRefused(f"no acting skill carries out a {intent.decision_type!r} decision")
    domain, skill, fields = ACTIONS[intent.decision_type]
    action = intent.proposed_action
    arguments = {name: action[name] for name in fields if name in action}
    if intent.decision_type == "shipment":
        arguments["carrier_id"] = action["carriers"][action["mode"]]
        arguments["ship_at"] = now.strftime("%Y-%m-%dT%H:%M:%SZ")
    return domain, skill, arguments


def telemetry_figures(
    twin_perception: Mapping[tuple[str, str], Mapping[str, float]],
) -> Callable[[IntentContract, Evidence], Mapping[str, float] | None]:
    """A `FigureSource` for the hour's stock telemetry: what the twin really showed."""

    def figures(_intent: IntentContract, evidence: Evidence) -> Mapping[str, float] | None:
        kind, _, subject = evidence.product_id.partition(":")
        if kind != "telemetry.stock":
            return None
        warehouse, _, sku = subject.partition(":")
        return twin_perception.get((warehouse, sku))

    return figures


class WeekRun:
    """One simulated week against a running mesh (`state`)."""

    def __init__(self, settings: MeshSettings, state: MeshState, options: WeekOptions) -> None:
        if state.nats_endpoint is None or state.gateway_endpoint is None:
            raise RuntimeError("the running mesh has no NATS server or no gateway")
        self.settings = settings
        self.state = state
        self.options = options
        self.run_id = uuid.uuid4().hex[:8]
        self.twin = Twin(
            generate_world(settings.seed, settings.scenario),
            hours=options.hours,
            carbon_allowance=options.carbon_allowance,
            spend_allowance=options.spend_allowance,
        )
        self.trust = TrustRegistry()
        self.reviewer = AutoReviewer(options.reviewer, trust=self.trust)
        self.report = WeekReport(hours=options.hours, run_id=self.run_id, reviewer=options.reviewer)
        self._clients: AgentClients | None = None
        self._desk: EscalationDesk | None = None
        self._telemetry: dict[tuple[str, str], Mapping[str, float]] = {}
        self._recorded_standings: dict[str, TrustAssessment] = {}
        self.assets = load_assets()

    def _with_agent_assets(self, records: list[AuditRecord]) -> list[AuditRecord]:
        """Each intent's record names the version of its agent's configuration (`agent/<domain>`)."""
        marked = []
        for record in records:
            key = f"agent/{record.domain}"
            if record.domain is not None and key in self.assets:
                record = record.model_copy(update={"assets": self.assets.versions([key])})
            marked.append(record)
        return marked

    def agent_endpoints(self) -> dict[str, str]:
        return {
            component.name.removeprefix("agent-"): component.endpoint
            for component in self.state.components
            if component.kind == "agent" and component.endpoint
        }

    async def run(self, on_cycle: Callable[[int, CycleOutcome], None] | None = None) -> WeekReport:
        settings = self.settings
        assert self.state.nats_endpoint is not None
        assert self.state.gateway_endpoint is not None
        key = load_or_create_card_key(settings.key_dir, COORDINATOR_ID)
        signer = SenderSigner(COORDINATOR_ID, key.key)
        verifier = SenderVerifier(PinnedAgentKeys(public_keys_dir(settings.key_dir)))
        connection = await nats.connect(self.state.nats_endpoint, name="coordinator", connect_timeout=5)
        ledger = open_ledger(settings)
        began = time.perf_counter()
        try:
            async with httpx.AsyncClient(timeout=30) as http:
                self._clients = await AgentClients.connect(
                    self.agent_endpoints(), nc=connection, signer=signer, key_dir=settings.key_dir, http=http
                )
                self._desk = EscalationDesk(
                    self.state.gateway_endpoint, clients_file=settings.oauth_clients_file, http=http
                )
                cycle = DecisionCycle(
                    RegoPolicyEngine.from_directory(POLICY_DIR),
                    self._execute,
                    trust=self.trust,
                    figures=telemetry_figures(self._telemetry),
                    settings=NegotiationSettings(execution_timeout=30.0),
                )
                refused: list[AuditRecord] = []

                async def on_refused(claimed: str | None, reason: str) -> None:
                    refused.append(self._refused_record(claimed, reason))

                coordinator = NatsCycleCoordinator(
                    connection,
                    cycle,
                    deadline=self.options.deadline,
                    verifier=verifier,
                    on_refused=on_refused,
                )
                try:
                    while not self.twin.done:
                        step = self.twin.step
                        outcome = await self._hour(coordinator, ledger, refused)
                        refused.clear()
                        if on_cycle is not None:
                            on_cycle(step, outcome)
                finally:
                    await self._clients.close()
        finally:
            self.report.finish(self.twin, self.trust, time.perf_counter() - began)
            await asyncio.to_thread(ledger.close)
            await connection.drain()
        return self.report

    async def _hour(
        self, coordinator: NatsCycleCoordinator, ledger: Any, refused: list[AuditRecord]
    ) -> CycleOutcome:
        twin = self.twin
        perception = twin.perception()
        self._telemetry.clear()
        for view in perception.stock:
            self._telemetry[(view.warehouse_id, view.sku_id)] = {
                "on_hand": float(view.on_hand),
                "inbound": float(view.inbound),
                "demand_24h": view.demand_24h,
            }
        cycle_id = f"{self.run_id}-h{twin.step:03d}"
        attributes = {"mesh.cycle_id": cycle_id, "mesh.simulated_hour": perception.at.isoformat()}
        # Each cycle is a trace of its own (`mesh trace <decision-id>` shows one hour), linked to
        # the run's span when there is one.
        run_span = trace.get_current_span().get_span_context()
        links = [trace.Link(run_span)] if run_span.is_valid else []
        with tracer.start_as_current_span(
            "decision_cycle", context=otel_context.Context(), links=links, attributes=attributes
        ) as span:
            started = time.perf_counter()
            outcome = await coordinator.run(
                self.options.roster,
                twin.capacities(),
                perception=perception.model_dump(mode="json"),
                cycle_id=cycle_id,
            )
            decided = time.perf_counter()
            reviews = await self._review(outcome)
            finished = time.perf_counter()
            context = span.get_span_context()
            trace_id, span_id = f"{context.trace_id:032x}", f"{context.span_id:016x}"
        records = [
            *self._with_agent_assets(to_audit_records(outcome, trace_id=trace_id, span_id=span_id)),
            *reviews,
            *refused,
            *self._standings(cycle_id, trace_id, span_id),
        ]
        for record in records:
            await ledger.append(record)
        self.report.add(
            outcome,
            cycle_ms=(finished - started) * 1000,
            decision_ms=(decided - started) * 1000 - outcome.timings_ms.execution,
            reviews=reviews,
            refused=len(refused),
        )
        twin.advance()
        return outcome

    async def _execute(self, intent: IntentContract) -> Mapping[str, float]:
        """Carry out one agreed intent through its agent; what the twin should know of it, back."""
        deferred = float(intent.proposed_action.get("delay_hours", 0) or 0)
        if deferred > 0:
            return {"deferred_hours": deferred}
        assert self._clients is not None
        assert self._desk is not None
        domain, skill, arguments = skill_request(intent, self.twin.now)
        answer = await self._clients.ask(domain, skill, arguments, decision_id=intent.intent_id)
        held = 0.0
        if answer.held:
            held = 1.0
            answer = await self._settle_held(domain, intent, answer)
        if not answer.completed:
            raise ExecutionRefused(
                str(answer.problem.get("message") or f"the {skill} task ended {answer.state}")
            )
        self.twin.apply(intent.decision_type, intent.proposed_action, answer.output)
        metrics = {
            name: float(answer.output[name])
            for name in ("units", "quantity", "co2e_kg", "cost", "order_value")
            if isinstance(answer.output.get(name), int | float)
        }
        return {**metrics, "held_at_gateway": held}

    async def _settle_held(self, domain: str, intent: IntentContract, answer: TaskAnswer) -> TaskAnswer:
        assert self._clients is not None
        assert self._desk is not None
        escalation = answer.problem.get("escalation_id")
        if not isinstance(escalation, str):
            raise ExecutionRefused(f"the gateway held the call without an escalation id: {answer.problem}")
        reasons = [str(reason) for reason in answer.problem.get("reasons", [])]
        review = self.reviewer.review_held_call(intent.agent, reasons)
        self.report.gateway_held(approved=review.approve)
        await self._desk.decide(escalation, approve=review.approve)
        if not review.approve:
            raise ExecutionRefused(f"held at the gateway as {escalation} and denied: {review.reason}")
        return await self._clients.resume(domain, answer)

    async def _review(self, outcome: CycleOutcome) -> list[AuditRecord]:
        """Put the cycle's escalated intents to the reviewer; run the approved ones that still fit."""
        remaining = dict(self.twin.capacities().available)
        for result in outcome.results:
            if result.status in ("executed", "modified") and result.final is not None:
                for use in result.final.uses:
                    remaining[use.resource] = remaining.get(use.resource, 0.0) - use.amount
        records = []
        for result in outcome.with_status("escalated"):
            review = self.reviewer.review(result)
            intent = result.final or result.proposed
            status, mode, metrics, note = "rejected", "human", {}, review.reason
            if review.approve:
                short = [u.resource for u in intent.uses if remaining.get(u.resource, 0.0) < u.amount]
                if short:
                    note = f"{review.reason}; but no capacity is left on {', '.join(short)}"
                else:
                    try:
                        metrics = dict(await self._execute(intent))
                        status = "executed"
                        for use in intent.uses:
                            remaining[use.resource] = remaining.get(use.resource, 0.0) - use.amount
                    except (ExecutionRefused, AgentCallError) as error:
                        status, note = "failed", f"{review.reason}; execution failed: {error}"
            records.append(self._review_record(result, intent, review.approve, status, mode, metrics, note))
        return records

    def _review_record(
        self,
        result: IntentResult,
        intent: IntentContract,
        approved: bool,
        status: str,
        mode: str,
        metrics: Mapping[str, float],
        note: str,
    ) -> AuditRecord:
        now = datetime.now(UTC)
        return AuditRecord.model_validate(
            {
                "decision_id": result.intent_id,
                "occurred_at": now,
                "agent": result.agent,
                "domain": result.domain,
                "action": "review",
                "parameters": {
                    "reviewer": REVIEWER_SUBJECT,
                    "rule": self.options.reviewer,
                    "verdict": "approve" if approved else "deny",
                    "reason": note,
                    "escalated_for": result.reasons,
                },
                "execution_mode": mode,
                "final_action": intent.proposed_action if status == "executed" else None,
                "executed_at": now if status == "executed" else None,
                "status": status,
                "outcome": dict(metrics),
                "caller": Caller(subject=REVIEWER_SUBJECT, client_id="auto-reviewer"),
            }
        )

    def _standings(self, cycle_id: str, trace_id: str, span_id: str) -> list[AuditRecord]:
        """A `trust/standing` record for each agent whose standing changed in this cycle (see
        `standing_record`), so the operator's console and chat can read standings later."""
        records = []
        for agent in self.trust.agents():
            assessment = self.trust.assess(agent)
            last = self._recorded_standings.get(agent)
            if last is not None and not standing_changed(last, assessment):
                continue
            self._recorded_standings[agent] = assessment
            records.append(standing_record(assessment, cycle_id, trace_id=trace_id, span_id=span_id))
        return records

    def _refused_record(self, claimed: str | None, reason: str) -> AuditRecord:
        return AuditRecord(
            decision_id=f"{self.run_id}-h{self.twin.step:03d}.refused.{uuid.uuid4().hex[:8]}",
            occurred_at=datetime.now(UTC),
            agent=claimed,
            action="intent_batch",
            parameters={"reason": reason, "claimed_sender": claimed or ""},
            execution_mode="refused",
            status="refused",
        )
