"""A decision cycle in the audit ledger: one record per intent, with its negotiation trace."""

from __future__ import annotations

from typing import Any

from mesh.audit import AuditRecord, Caller, DataProductInput, NegotiationStep, PolicyEvaluation, Status
from mesh.negotiation._contract import IntentContract
from mesh.negotiation._outcome import CycleOutcome, IntentResult

AUTONOMY_GATE_POLICY_ID = "negotiation.autonomy_gate"
"""Stands for the cycle's own autonomy check in a record's policies, when it (not a rule) stopped
an intent: low autonomy escalates, quarantine denies."""

_STATUS: dict[str, Status] = {
    "executed": "executed",
    "modified": "executed",
    "escalated": "escalated",
    "denied": "denied",
    "failed": "failed",
}


def audit_status(result: IntentResult) -> Status:
    """executed and modified: executed; dropped at the deadline: expired; otherwise dropped:
    rejected; the rest by the same name."""
    if result.status == "dropped":
        return "expired" if result.cause == "deadline" else "rejected"
    return _STATUS[result.status]


def _intent_parameters(intent: IntentContract, cycle_id: str) -> dict[str, Any]:
    return {
        "cycle_id": cycle_id,
        "intent_version": intent.version,
        "priority": intent.priority,
        "proposed_action": intent.proposed_action,
        "constraints": [c.model_dump(mode="json") for c in intent.constraints],
        "acceptable_modifications": [m.model_dump(mode="json") for m in intent.acceptable_modifications],
    }


def _steps_for(result: IntentResult, trace: list[NegotiationStep]) -> list[NegotiationStep]:
    """The steps of this intent, and the conflicts and concessions on the resources it uses."""
    resources = set(result.proposed.resources)
    if result.final is not None:
        resources |= set(result.final.resources)
    steps = []
    for step in trace:
        detail = step.detail
        if detail.get("intent_id") == result.intent_id or (
            step.move in ("conflict", "counter") and detail.get("resource") in resources
        ):
            steps.append(step)
    return steps


def _policies(result: IntentResult) -> list[PolicyEvaluation]:
    decision = result.policy
    evaluations = (
        []
        if decision is None
        else [
            PolicyEvaluation(
                policy_id=rule.policy_id,
                outcome=rule.outcome,
                reasons=rule.reasons,
                policy_version=decision.policy_version,
            )
            for rule in decision.rules
        ]
    )
    gated = (result.status == "escalated" and result.cause is None and result.autonomy == "low") or (
        result.status == "denied" and result.autonomy == "quarantined"
    )
    if gated and decision is not None and decision.decision in ("allow", "warn"):
        evaluations.append(
            PolicyEvaluation(
                policy_id=AUTONOMY_GATE_POLICY_ID,
                outcome="escalate" if result.status == "escalated" else "deny",
                reasons=result.reasons,
                policy_version=decision.policy_version,
            )
        )
    return evaluations


def to_audit_records(
    outcome: CycleOutcome, *, trace_id: str | None = None, span_id: str | None = None
) -> list[AuditRecord]:
    """One record per intent of the cycle (decision id = intent id): the contract as proposed
    (parameters), its evidence (inputs), every rule's outcome (policies), execution mode, its
    negotiation trace, the action executed (final action), the status and outcome metrics."""
    records = []
    for result in outcome.results:
        executed = result.status in ("executed", "modified")
        final = result.final
        metrics = dict(result.metrics)
        if result.utility_cost:
            metrics["utility_cost"] = result.utility_cost
        if result.deferred_hours:
            metrics["deferred_hours"] = result.deferred_hours
        records.append(
            AuditRecord(
                decision_id=result.intent_id,
                occurred_at=outcome.finished_at,
                agent=result.agent,
                domain=result.domain,
                action=result.decision_type,
                parameters=_intent_parameters(result.proposed, outcome.cycle_id),
                inputs=[
                    DataProductInput(product_id=e.product_id, version=e.version, as_of=e.as_of)
                    for e in result.proposed.evidence
                ],
                policies=_policies(result),
                execution_mode=result.execution_mode,
                negotiation=_steps_for(result, outcome.trace),
                final_action=(
                    {
                        "intent_version": final.version,
                        "proposed_action": final.proposed_action,
                        "modifications": result.modifications,
                    }
                    if executed and final is not None
                    else None
                ),
                executed_at=result.executed_at if executed else None,
                status=audit_status(result),
                outcome=metrics,
                caller=Caller(subject=result.agent),
                trace_id=trace_id,
                span_id=span_id,
            )
        )
    return records
