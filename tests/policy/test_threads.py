"""Decisions from several threads at once are the decisions made one at a time."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from mesh.policy import PolicyDecision, PolicyInput, RegoPolicyEngine
from tests.policy.inputs import make_input, purchase_order, shipment

INPUTS: list[PolicyInput] = [
    make_input(),
    make_input(request={"required_scope": "procurement:write"}),
    make_input(caller={"autonomy": "low"}, request={"writes": True}),
    make_input(context={"quarantined": ["logistics-agent"]}),
    *(shipment(spent_kg=float(spent)) for spent in range(7_000, 11_000, 500)),
    purchase_order(is_new=True, labor_compliance="pending"),
    purchase_order(critical_material=True, tier2_transparency=0.2, units=8_000),
    purchase_order(order_value=400_000.0, affected_regions=("EU", "NA", "APAC")),
]


def test_4_threads_of_500_decisions_decide_as_serial(engine: RegoPolicyEngine) -> None:
    serial = [engine.decide(policy_input) for policy_input in INPUTS]
    assert len({decision.decision for decision in serial}) == 4

    def run(offset: int) -> list[tuple[int, PolicyDecision]]:
        picks = [(offset + step * 7) % len(INPUTS) for step in range(500)]
        return [(index, engine.decide(INPUTS[index])) for index in picks]

    with ThreadPoolExecutor(max_workers=4) as pool:
        outcomes = [pair for batch in pool.map(run, range(4)) for pair in batch]
    assert len(outcomes) == 2_000
    assert all(decision == serial[index] for index, decision in outcomes)
