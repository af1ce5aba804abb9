"""Each intent lands in the ledger with its negotiation trace, execution mode and status."""

from __future__ import annotations

from pathlib import Path

from mesh.audit import Ledger
from mesh.negotiation import (
    AUTONOMY_GATE_POLICY_ID,
    Capacities,
    DecisionCycle,
    NegotiationSettings,
    to_audit_records,
)
from mesh.policy import PolicyDecision, PolicyInput, RegoPolicyEngine, combine
from mesh.trust import TrustRegistry

from .conftest import Recorder, make_intent

WAREHOUSE = "capacity:WH-EU-1"


async def test_every_intent_lands_in_the_ledger_with_its_negotiation_trace(
    engine: RegoPolicyEngine, tmp_path: Path
) -> None:
    trust = TrustRegistry()
    for _ in range(30):
        trust.record_compliance("agent:low", 0.0)
        trust.record_consistency("agent:low", 0.6)
    cycle = DecisionCycle(engine, Recorder(), trust=trust, settings=NegotiationSettings(unresolved="drop"))
    evidence = [{"product_id": "inventory.stock_levels", "version": "1.2.0", "as_of": "2026-03-01T07:00:00Z"}]
    intents = [
        make_intent("urgent", "agent:inventory", 240, priority=0.9, evidence=evidence),
        make_intent("patient", "agent:logistics", 200, priority=0.4),
        make_intent("stuck", "agent:procurement", 300, priority=0.1, modifications=[]),
        make_intent("held", "agent:low", 10, resource="capacity:WH-NA-1"),
    ]
    outcome = await cycle.run(
        intents, Capacities(available={WAREHOUSE: 360, "capacity:WH-NA-1": 100}), cycle_id="c-1"
    )
    records = to_audit_records(outcome, trace_id="ab" * 16, span_id="cd" * 8)
    assert [r.decision_id for r in records] == ["urgent", "patient", "stuck", "held"]

    ledger = Ledger.sqlite(tmp_path / "ledger.sqlite", tmp_path / "keys")
    try:
        for record in records:
            await ledger.append(record)
        urgent, patient, stuck, held = (
            ledger.records_for(i)[0].record for i in ("urgent", "patient", "stuck", "held")
        )
        assert ledger.verify().ok
    finally:
        ledger.close()

    assert (urgent.status, urgent.execution_mode) == ("executed", "autonomous")
    assert urgent.inputs[0].product_id == "inventory.stock_levels"
    assert urgent.parameters["proposed_action"]["quantity"] == 240
    assert urgent.parameters["cycle_id"] == "c-1"
    assert urgent.policies[0].policy_id == "mesh.default"

    assert (patient.status, patient.execution_mode) == ("executed", "autonomous")
    assert patient.final_action is not None
    assert patient.final_action["proposed_action"]["quantity"] == 100
    assert patient.final_action["intent_version"] == 2
    assert patient.outcome["utility_cost"] == 2.0
    moves = [(s.agent, s.move) for s in patient.negotiation]
    assert ("coordinator", "conflict") in moves
    assert ("agent:logistics", "counter") in moves
    assert moves[-1] == ("agent:logistics", "accept")
    assert patient.trace_id == "ab" * 16

    assert (stuck.status, stuck.execution_mode) == ("rejected", "blocked")
    assert stuck.final_action is None
    assert stuck.negotiation[-1].move == "drop"

    assert (held.status, held.execution_mode) == ("escalated", "escalated")
    assert held.negotiation == []
    assert [p.policy_id for p in held.policies] == ["global.autonomy"]


async def test_the_cycles_own_autonomy_gate_is_named_in_the_record() -> None:
    class AllowEverything:
        policy_version = "test"

        def decide(self, policy_input: PolicyInput) -> PolicyDecision:
            return combine([], "test")

    trust = TrustRegistry()
    trust.quarantine("agent:rogue", "operator")
    cycle = DecisionCycle(AllowEverything(), Recorder(), trust=trust)
    outcome = await cycle.run([make_intent("a", "agent:rogue", 10)], Capacities(available={WAREHOUSE: 100}))
    (record,) = to_audit_records(outcome)
    assert record.status == "denied"
    assert [(p.policy_id, p.outcome) for p in record.policies] == [
        ("mesh.default", "allow"),
        (AUTONOMY_GATE_POLICY_ID, "deny"),
    ]
