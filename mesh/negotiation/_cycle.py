"""The decision cycle: perception, proposal, aggregation, feasibility check, conflict resolution,
execution and feedback (DMAS paper, 2.3), with every intent judged by policy before it runs."""

from __future__ import annotations

import asyncio
import math
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

from mesh.audit import ExecutionMode
from mesh.negotiation._capacities import Capacities
from mesh.negotiation._cluster import ClusterKey, by_primary_resource
from mesh.negotiation._contract import Evidence, IntentContract, ScaleQuantity
from mesh.negotiation._ladder import at_stance, build_ladder
from mesh.negotiation._outcome import CycleOutcome, DropCause, IntentResult, IntentStatus, PhaseTimings
from mesh.negotiation._resolve import Resolution, resolve
from mesh.policy import (
    ENGINE_POLICY_ID,
    SEVERITY,
    CallerFacts,
    Outcome,
    PolicyContext,
    PolicyDecision,
    PolicyEngine,
    PolicyInput,
    RequestFacts,
)
from mesh.trust import TrustRegistry

Executor = Callable[[IntentContract], Awaitable[Mapping[str, float] | None]]
"""Carries out one resolved intent; returns outcome metrics (or None). Raising marks the intent
failed; it never stops the cycle."""

FigureSource = Callable[[IntentContract, Evidence], Mapping[str, float] | None]
"""The figures the data product an intent cites really had, at that version, for what the
intent is about (None or empty: unknown, not checked)."""

ProposalKey = Callable[[IntentContract], tuple[str, float] | None]
"""What an intent's size is compared with in its agent's history: (key, value), or None."""

TRUST_GATE_POLICIES = frozenset({"global.autonomy", "global.quarantine"})
"""Rules that judge the agent rather than the proposal: left out of policy compliance."""

_SUBJECT_FIELDS = ("sku_id", "lane_id", "supplier_id", "warehouse_id", "origin", "destination")


def default_proposal_key(intent: IntentContract) -> tuple[str, float] | None:
    """(decision type and the action's subject fields, its quantity), when it has one."""
    field_name = next(
        (m.field for m in intent.acceptable_modifications if isinstance(m, ScaleQuantity)), "quantity"
    )
    value = intent.proposed_action.get(field_name)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    subject = [f"{k}={intent.proposed_action[k]}" for k in _SUBJECT_FIELDS if k in intent.proposed_action]
    return "|".join([intent.decision_type, *subject]), float(value)


@dataclass(frozen=True, slots=True)
class NegotiationSettings:
    """How cycles negotiate and what they do with what cannot be settled.

    - `hierarchy`: "auto" negotiates hierarchically when more than `hierarchical_above` agents
      take part, in clusters of at most `cluster_size` agents.
    - `unresolved`: what becomes of intents still infeasible after the round bound.
    - `incomplete`: what becomes of intents of an agent that did not finish proposing by the
      deadline (its proposal set may be partial).
    """

    hierarchy: Literal["auto", "flat", "hierarchical"] = "auto"
    hierarchical_above: int = 16
    cluster_size: int = 16
    unresolved: Literal["escalate", "drop"] = "escalate"
    incomplete: Literal["escalate", "drop"] = "escalate"
    execution_timeout: float | None = 30.0


@dataclass(slots=True)
class ProposalSet:
    """What the perception and proposal phases gathered, for `DecisionCycle.run_collected`."""

    intents: Sequence[IntentContract]
    cycle_id: str | None = None
    started_at: datetime | None = None
    screened: Mapping[str, PolicyDecision] = field(default_factory=dict)
    """Policy decisions already taken on intents as proposed (by intent id)."""
    incomplete_agents: Mapping[str, str] = field(default_factory=dict)
    """Agents that sent intents but did not finish by the deadline, and why."""
    absent_agents: Mapping[str, str] = field(default_factory=dict)
    """Agents that sent nothing usable by the deadline, and why."""
    rejected_messages: Sequence[str] = ()
    perception_ms: float = 0.0
    proposal_ms: float = 0.0
    screener: Screener | None = None
    """The screener that took the decisions in `screened` (so the cycle reads trust once)."""


def intent_policy_input(
    intent: IntentContract, caller: CallerFacts, quarantined: Sequence[str]
) -> PolicyInput:
    """The policy input of an intent: method "intent", an action (writes), the decision type as
    the tool, the proposed action as its arguments, and the facts the intent carries."""
    return PolicyInput(
        caller=caller,
        request=RequestFacts(
            method="intent",
            domain=intent.domain,
            required_scope=None,
            writes=True,
            tool=intent.decision_type,
            arguments=intent.proposed_action,
        ),
        context=PolicyContext(
            carbon=intent.facts.carbon,
            supplier=intent.facts.supplier,
            impact=intent.facts.impact,
            quarantined=list(quarantined),
        ),
    )


class Screener:
    """Policy for one cycle: the trust registry read once (callers and quarantine list), then
    each intent decided. Also used by the NATS coordinator to decide intents as they arrive."""

    def __init__(self, policy: PolicyEngine, trust: TrustRegistry | None) -> None:
        self._policy = policy
        self._trust = trust
        self._quarantined = trust.quarantined() if trust is not None else []
        self._callers: dict[str, CallerFacts] = {}

    def caller(self, agent: str) -> CallerFacts:
        caller = self._callers.get(agent)
        if caller is None:
            caller = (
                self._trust.caller_facts(agent) if self._trust is not None else CallerFacts(subject=agent)
            )
            self._callers[agent] = caller
        return caller

    def decide(self, intent: IntentContract) -> PolicyDecision:
        return self._policy.decide(intent_policy_input(intent, self.caller(intent.agent), self._quarantined))


@dataclass(slots=True)
class _Verdict:
    status: IntentStatus
    mode: ExecutionMode
    reasons: list[str]
    final: IntentContract | None = None
    policy: PolicyDecision | None = None
    cause: DropCause | None = None


class DecisionCycle:
    """Runs decision cycles over sets of intents, in process.

    Policy judges every intent twice at most: as proposed (a deny drops it, an escalate holds
    it, and neither takes capacity), and again as modified when negotiation changed it. On top
    of policy the cycle applies the autonomy levels itself (low escalates, quarantined is
    denied), so a policy set without the autonomy rules still cannot let them through.

    A cycle keeps its state to itself; the only shared state is the trust registry (thread-safe)
    and whatever the executor touches. Cycles may run concurrently only over disjoint resources:
    each checks feasibility against the capacities it is given, not against the other's
    decisions.
    """

    def __init__(
        self,
        policy: PolicyEngine,
        executor: Executor,
        *,
        trust: TrustRegistry | None = None,
        figures: FigureSource | None = None,
        settings: NegotiationSettings | None = None,
        cluster_key: ClusterKey = by_primary_resource,
        proposal_key: ProposalKey | None = default_proposal_key,
    ) -> None:
        self.policy = policy
        self.executor = executor
        self.trust = trust
        self.figures = figures
        self.settings = settings or NegotiationSettings()
        self.cluster_key = cluster_key
        self.proposal_key = proposal_key

    def screener(self) -> Screener:
        return Screener(self.policy, self.trust)

    async def run(
        self, intents: Sequence[IntentContract], capacities: Capacities, *, cycle_id: str | None = None
    ) -> CycleOutcome:
        """One cycle over intents already proposed (perception and proposal done by the caller)."""
        return await self.run_collected(ProposalSet(intents, cycle_id=cycle_id), capacities)

    async def run_collected(self, proposals: ProposalSet, capacities: Capacities) -> CycleOutcome:
        """One cycle over what the proposal phase gathered. Never raises for a bad intent or a
        failing executor: every intent ends with a result that says what became of it."""
        started_at = proposals.started_at or datetime.now(UTC)
        cycle_id = proposals.cycle_id or uuid.uuid4().hex
        settings = self.settings
        screener = proposals.screener or self.screener()
        verdicts: dict[str, _Verdict] = {}
        screened: dict[str, PolicyDecision] = {}
        ordered: list[IntentContract] = []
        seen: set[str] = set()
        duplicates: list[str] = []

        began = time.perf_counter()
        candidates: list[IntentContract] = []
        for intent in proposals.intents:
            if intent.intent_id in seen:
                duplicates.append(f"duplicate intent {intent.intent_id} from {intent.agent} ignored")
                continue
            seen.add(intent.intent_id)
            ordered.append(intent)
            decision = proposals.screened.get(intent.intent_id) or screener.decide(intent)
            screened[intent.intent_id] = decision
            verdict = self._judged(decision, screener.caller(intent.agent), intent)
            if verdict is not None:
                verdicts[intent.intent_id] = verdict
            elif intent.agent in proposals.incomplete_agents:
                verdicts[intent.intent_id] = self._unsettled(
                    settings.incomplete,
                    "deadline",
                    f"{intent.agent} did not finish proposing by the deadline: "
                    f"{proposals.incomplete_agents[intent.agent]}",
                    intent,
                    decision,
                )
            else:
                candidates.append(intent)
        screening_ms = (time.perf_counter() - began) * 1000

        began = time.perf_counter()
        capacity = dict(capacities.available)
        negotiating: list[IntentContract] = []
        ladders = {intent.intent_id: build_ladder(intent) for intent in candidates}
        for intent in candidates:
            unknown = sorted(
                {r for stance in ladders[intent.intent_id] for r in stance.uses} - capacity.keys()
            )
            if unknown and capacities.unknown == "escalate":
                verdicts[intent.intent_id] = _Verdict(
                    "escalated",
                    "escalated",
                    [f"no capacity known for {', '.join(unknown)}"],
                    final=intent,
                    policy=screened[intent.intent_id],
                    cause="unknown_resource",
                )
                continue
            for resource in unknown:
                capacity[resource] = math.inf
            negotiating.append(intent)
        laddered_ms = (time.perf_counter() - began) * 1000

        agents = len({intent.agent for intent in negotiating})
        hierarchical = settings.hierarchy == "hierarchical" or (
            settings.hierarchy == "auto" and agents > settings.hierarchical_above
        )
        resolution = resolve(
            negotiating,
            capacity,
            ladders=ladders,
            hierarchical=hierarchical,
            cluster_size=settings.cluster_size,
            cluster_key=self.cluster_key,
            unresolved_move=settings.unresolved,
        )

        began = time.perf_counter()
        to_execute: list[IntentContract] = []
        for intent in negotiating:
            intent_id = intent.intent_id
            if intent_id not in resolution.admitted:
                verdicts[intent_id] = self._unsettled(
                    settings.unresolved,
                    "infeasible",
                    resolution.left_out[intent_id],
                    intent,
                    screened[intent_id],
                )
                continue
            stance = resolution.stances[intent_id]
            final = at_stance(intent, stance)
            decision = screened[intent_id] if final is intent else screener.decide(final)
            verdict = self._judged(decision, screener.caller(intent.agent), final)
            if verdict is None:
                caller = screener.caller(intent.agent)
                verdict = _Verdict(
                    "modified" if stance.moves else "executed",
                    "mediated" if caller.autonomy == "mediated" else "autonomous",
                    list(decision.reasons),
                    final=final,
                    policy=decision,
                )
                to_execute.append(final)
            verdicts[intent_id] = verdict
        policy_ms = screening_ms + (time.perf_counter() - began) * 1000

        began = time.perf_counter()
        metrics, executed_at = await self._execute(to_execute, verdicts)
        execution_ms = (time.perf_counter() - began) * 1000

        began = time.perf_counter()
        self._feedback(ordered, screened)
        feedback_ms = (time.perf_counter() - began) * 1000

        results = [
            self._result(intent, verdicts[intent.intent_id], resolution, screener, metrics, executed_at)
            for intent in ordered
        ]
        return CycleOutcome(
            cycle_id=cycle_id,
            started_at=started_at,
            finished_at=datetime.now(UTC),
            hierarchy=resolution.hierarchy,
            clusters=resolution.clusters,
            agents=resolution.agents,
            constraints=resolution.constraints,
            round_bound=resolution.round_bound,
            rounds_used=resolution.rounds_used,
            conflicts=resolution.conflicts,
            results=results,
            trace=resolution.trace,
            timings_ms=PhaseTimings(
                perception=proposals.perception_ms,
                proposal=proposals.proposal_ms,
                aggregation=laddered_ms + resolution.timings_ms["aggregation"],
                feasibility=resolution.timings_ms["feasibility"],
                resolution=resolution.timings_ms["resolution"],
                policy=policy_ms,
                execution=execution_ms,
                feedback=feedback_ms,
            ),
            absent_agents=dict(proposals.absent_agents) | dict(proposals.incomplete_agents),
            rejected_messages=[*proposals.rejected_messages, *duplicates],
            policy_version=self.policy.policy_version,
        )

    def _judged(
        self, decision: PolicyDecision, caller: CallerFacts, intent: IntentContract
    ) -> _Verdict | None:
        """The verdict when policy or autonomy stops the intent; None when it may proceed."""
        if decision.decision == "deny":
            return _Verdict("denied", "blocked", list(decision.reasons), final=intent, policy=decision)
        if caller.autonomy == "quarantined":
            return _Verdict(
                "denied", "blocked", [f"{caller.subject} is quarantined"], final=intent, policy=decision
            )
        if decision.decision == "escalate":
            return _Verdict("escalated", "escalated", list(decision.reasons), final=intent, policy=decision)
        if caller.autonomy == "low":
            return _Verdict(
                "escalated",
                "escalated",
                [f"low autonomy: a human decides ({caller.subject})"],
                final=intent,
                policy=decision,
            )
        return None

    @staticmethod
    def _unsettled(
        move: Literal["escalate", "drop"],
        cause: DropCause,
        reason: str,
        intent: IntentContract,
        decision: PolicyDecision,
    ) -> _Verdict:
        if move == "escalate":
            return _Verdict("escalated", "escalated", [reason], final=intent, policy=decision, cause=cause)
        mode: ExecutionMode = "refused" if cause == "deadline" else "blocked"
        return _Verdict("dropped", mode, [reason], policy=decision, cause=cause)

    async def _execute(
        self, intents: list[IntentContract], verdicts: dict[str, _Verdict]
    ) -> tuple[dict[str, dict[str, float]], dict[str, datetime]]:
        """Run the executor on every intent at once; one that raises, or is still running at
        `execution_timeout`, is cancelled and marked failed."""
        timeout = self.settings.execution_timeout
        tasks = [asyncio.ensure_future(self.executor(intent)) for intent in intents]
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=timeout)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.wait(pending, timeout=1.0)
        metrics: dict[str, dict[str, float]] = {}
        executed_at: dict[str, datetime] = {}
        now = datetime.now(UTC)
        for intent, task in zip(intents, tasks, strict=True):
            failure = (
                f"executor timed out after {timeout:g} s"
                if not task.done() or task.cancelled()
                else _failure(task.exception())
            )
            if failure is not None:
                verdict = verdicts[intent.intent_id]
                verdicts[intent.intent_id] = _Verdict(
                    "failed",
                    verdict.mode,
                    [*verdict.reasons, failure],
                    final=verdict.final,
                    policy=verdict.policy,
                )
                continue
            answer = task.result() or {}
            metrics[intent.intent_id] = {
                str(key): float(value) for key, value in answer.items() if math.isfinite(float(value))
            }
            executed_at[intent.intent_id] = now
        return metrics, executed_at

    def _feedback(self, intents: list[IntentContract], screened: Mapping[str, PolicyDecision]) -> None:
        trust = self.trust
        if trust is None:
            return
        for intent in intents:
            content = content_outcome(screened[intent.intent_id])
            if content is not None:
                trust.record_policy_outcome(intent.agent, content)
            if self.figures is not None:
                for evidence in intent.evidence:
                    if evidence.figures:
                        reference = self.figures(intent, evidence)
                        if reference:
                            trust.check_figures(intent.agent, evidence.figures, reference)
            if self.proposal_key is not None:
                keyed = self.proposal_key(intent)
                if keyed is not None:
                    trust.observe_proposal(intent.agent, *keyed)

    @staticmethod
    def _result(
        intent: IntentContract,
        verdict: _Verdict,
        resolution: Resolution,
        screener: Screener,
        metrics: Mapping[str, dict[str, float]],
        executed_at: Mapping[str, datetime],
    ) -> IntentResult:
        stance = resolution.stances.get(intent.intent_id)
        applied = verdict.final is not None and verdict.final is not intent and stance is not None
        caller = screener.caller(intent.agent)
        return IntentResult(
            intent_id=intent.intent_id,
            agent=intent.agent,
            domain=intent.domain,
            decision_type=intent.decision_type,
            status=verdict.status,
            execution_mode=verdict.mode,
            reasons=verdict.reasons,
            proposed=intent,
            final=verdict.final,
            policy=verdict.policy,
            modifications=list(stance.moves) if applied and stance is not None else [],
            utility_cost=stance.utility_cost if applied and stance is not None else 0.0,
            deferred_hours=stance.deferred_hours if applied and stance is not None else 0.0,
            cause=verdict.cause,
            autonomy=caller.autonomy,
            credibility=caller.credibility,
            metrics=metrics.get(intent.intent_id, {}),
            executed_at=executed_at.get(intent.intent_id),
        )


def _failure(error: BaseException | None) -> str | None:
    if error is None:
        return None
    if not isinstance(error, Exception):
        raise error
    return f"executor failed: {type(error).__name__}: {error}"


def content_outcome(decision: PolicyDecision) -> Outcome | None:
    """The outcome of the rules that judge what was proposed, leaving out those that judge who
    proposed it (autonomy, quarantine); None when the engine itself failed."""
    if ENGINE_POLICY_ID in decision.policy_ids:
        return None
    worst: Outcome = "allow"
    for rule in decision.rules:
        if rule.policy_id not in TRUST_GATE_POLICIES and SEVERITY[rule.outcome] > SEVERITY[worst]:
            worst = rule.outcome
    return worst
