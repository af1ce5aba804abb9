"""Statistical detection of agents that send false data or erratic proposals."""

from __future__ import annotations

import random
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path

import pytest

from mesh.negotiation import Capacities, DecisionCycle, Evidence, IntentContract
from mesh.policy import RegoPolicyEngine
from mesh.trust import Cusum, TrustRegistry, robust_z

POLICIES = Path(__file__).resolve().parents[2] / "policies"
HONEST = ("agent:demand", "agent:inventory", "agent:logistics", "agent:procurement")
BYZANTINE = "agent:sustainability"


def _truth(version: str) -> float:
    return 100.0 + 7 * int(version.rsplit(".", 1)[1])


def _intent(agent: str, cycle: int, on_hand: float) -> IntentContract:
    return IntentContract.model_validate(
        {
            "intent_id": f"{agent}-{cycle}",
            "agent": agent,
            "domain": agent.split(":")[1],
            "decision_type": "reorder",
            "proposed_action": {"sku_id": "SKU-17", "quantity": 100},
            "evidence": [
                {
                    "product_id": "inventory.stock_levels",
                    "version": f"1.0.{cycle}",
                    "as_of": datetime(2026, 3, 1, tzinfo=UTC),
                    "figures": {"on_hand": on_hand},
                }
            ],
            "constraints": [{"resource": f"capacity:WH-{agent.split(':')[1]}", "amount": 100}],
            "priority": 0.5,
            "created_at": datetime(2026, 3, 1, tzinfo=UTC),
        }
    )


async def test_a_byzantine_agent_reporting_false_figures_loses_autonomy_and_ends_quarantined() -> None:
    engine = RegoPolicyEngine.from_directory(POLICIES)
    trust = TrustRegistry()
    rng = random.Random(3)

    def figures(intent: IntentContract, evidence: Evidence) -> Mapping[str, float]:
        return {"on_hand": _truth(evidence.version)}

    async def execute(intent: IntentContract) -> None:
        return None

    cycle = DecisionCycle(engine, execute, trust=trust, figures=figures)
    capacities = Capacities(available={f"capacity:WH-{a.split(':')[1]}": 1000 for a in (*HONEST, BYZANTINE)})
    levels: list[str] = []
    last = None
    for number in range(10):
        truth = _truth(f"1.0.{number}")
        intents = [_intent(agent, number, truth * (1 + rng.uniform(-0.01, 0.01))) for agent in HONEST]
        intents.append(_intent(BYZANTINE, number, truth * 2.5))
        last = await cycle.run(intents, capacities)
        levels.append(trust.assess(BYZANTINE).autonomy)
        for agent in HONEST:
            assert trust.assess(agent).autonomy == "high", (number, agent)

    assert levels[0] == "high"
    assert "mediated" in levels
    assert levels[-1] == "quarantined"
    assert levels.index("quarantined") > levels.index("mediated"), "repeated evidence, not one report"
    assessment = trust.assess(BYZANTINE)
    assert assessment.strikes >= 3
    assert assessment.reasons[0].startswith("3 CUSUM alarms on inconsistent figures")
    assert trust.quarantined() == [BYZANTINE]
    assert trust.anomalies(BYZANTINE)[-1].expected == _truth("1.0.9")

    # Once quarantined, the real policy set denies the agent's intents; the honest execute.
    assert last is not None
    outcome = await cycle.run([_intent(a, 99, 100.0) for a in (*HONEST, BYZANTINE)], capacities)
    denied = outcome.result(f"{BYZANTINE}-99")
    assert denied.status == "denied"
    assert denied.policy is not None
    assert "global.quarantine" in denied.policy.policy_ids
    assert {outcome.result(f"{a}-99").execution_mode for a in HONEST} == {"autonomous"}


def test_one_false_report_is_not_enough_to_quarantine() -> None:
    trust = TrustRegistry()
    assert trust.check_figures("agent:a", {"on_hand": 1000}, {"on_hand": 100})
    for _ in range(20):
        trust.check_figures("agent:a", {"on_hand": 100}, {"on_hand": 100})
    assessment = trust.assess("agent:a")
    assert (assessment.strikes, assessment.autonomy) == (0, "high")


def test_a_drift_every_agent_shares_does_not_quarantine_anyone() -> None:
    trust = TrustRegistry()
    agents = [f"agent:{n}" for n in range(5)]
    for _ in range(10):
        for agent in agents:
            trust.check_figures(agent, {"on_hand": 100}, {"on_hand": 100})
    for _ in range(30):  # the product moved on after they read it: everyone is 30% off
        for agent in agents:
            trust.check_figures(agent, {"on_hand": 130}, {"on_hand": 100})
    assert trust.quarantined() == []
    assert {trust.assess(a).autonomy for a in agents} == {"high"}


def test_erratic_proposals_stand_out_against_the_agents_own_history() -> None:
    trust = TrustRegistry()
    rng = random.Random(11)
    for _ in range(40):  # the volatile scenario: +-15% around the usual order
        assert (
            trust.observe_proposal("agent:steady", "reorder|sku_id=SKU-17", 100 * rng.uniform(0.85, 1.15))
            is None
        )
    for _ in range(10):
        trust.observe_proposal("agent:erratic", "reorder|sku_id=SKU-17", 100 * rng.uniform(0.95, 1.05))
    anomaly = trust.observe_proposal("agent:erratic", "reorder|sku_id=SKU-17", 5000)
    assert anomaly is not None
    assert anomaly.kind == "proposal"
    assert anomaly.z > 10
    for value in (10, 4000, 20, 6000, 5, 9000):
        trust.observe_proposal("agent:erratic", "reorder|sku_id=SKU-17", value)
    assert trust.assess("agent:erratic").consistency < trust.assess("agent:steady").consistency
    assert trust.assess("agent:steady").autonomy == "high"


def test_robust_z_uses_median_and_mad_with_a_floor() -> None:
    z, median = robust_z(10.0, [1.0, 2.0, 3.0, 4.0, 100.0], floor=0.1)
    assert median == 3.0
    assert z == pytest.approx((10.0 - 3.0) / (1.4826 * 1.0))
    assert robust_z(1.2, [1.0, 1.0, 1.0], floor=0.05)[0] == pytest.approx(4.0)


def test_cusum_needs_repeated_evidence_to_alarm() -> None:
    cusum = Cusum(slack=3.0, threshold=12.0, cap=6.0)
    assert not cusum.observe(1000.0)
    assert cusum.level == 6.0
    assert not cusum.observe(1.0)
    assert cusum.level == 4.0
    assert not cusum.observe(10.0)
    assert cusum.observe(10.0)
    assert cusum.level == 0.0
