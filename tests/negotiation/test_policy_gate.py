"""Every intent passes the policy engine before execution: deny drops, escalate holds, warn passes."""

from __future__ import annotations

from typing import Any

from mesh.negotiation import Capacities, DecisionCycle, IntentContract, intent_policy_input
from mesh.policy import (
    CallerFacts,
    PolicyDecision,
    PolicyInput,
    RegoPolicyEngine,
    combine,
)
from mesh.trust import TrustRegistry

from .conftest import Recorder, make_intent

LANE = "capacity:lane-APAC-EU"
CAPACITY = Capacities(available={LANE: 1000, "carbon:APAC": 100_000})


def _shipment(
    intent_id: str, agent: str, *, spent_kg: float, projected_kg: float, **extra: Any
) -> IntentContract:
    return make_intent(
        intent_id,
        agent,
        200,
        decision_type="shipment",
        domain="logistics",
        constraints=[{"resource": LANE, "amount": 200}, {"resource": "carbon:APAC", "amount": projected_kg}],
        facts={
            "carbon": {
                "region": "APAC",
                "budget_kg": 10_000,
                "spent_kg": spent_kg,
                "projected_kg": projected_kg,
            }
        }
        | extra,
    )


async def test_a_shipment_over_the_carbon_budget_is_denied_by_the_real_policy_set(
    engine: RegoPolicyEngine,
) -> None:
    recorder = Recorder()
    cycle = DecisionCycle(engine, recorder)
    over = _shipment("ship-over", "agent:logistics", spent_kg=9_800, projected_kg=350)
    within = _shipment("ship-ok", "agent:logistics-2", spent_kg=1_000, projected_kg=350)

    outcome = await cycle.run([over, within], CAPACITY)

    denied = outcome.result("ship-over")
    assert denied.status == "denied"
    assert denied.execution_mode == "blocked"
    assert denied.policy is not None
    assert denied.policy.policy_ids == ["decisions.shipment.carbon_budget"]
    assert denied.reasons == [
        "APAC: 9800.0 kg spent + 350.0 kg projected = 10150.0 kg, 101.5% of the annual carbon budget of 10000.0 kg"
    ]
    assert outcome.result("ship-ok").status == "executed"
    assert [intent.intent_id for intent in recorder.executed] == ["ship-ok"]


async def test_a_denied_intent_takes_no_capacity(engine: RegoPolicyEngine) -> None:
    cycle = DecisionCycle(engine, Recorder())
    over = _shipment("ship-over", "agent:a", spent_kg=9_800, projected_kg=350)
    other = _shipment("ship-ok", "agent:b", spent_kg=0, projected_kg=10)
    tight = Capacities(available={LANE: 200, "carbon:APAC": 100_000})
    outcome = await cycle.run([over, other], tight)
    assert outcome.conflicts == []
    assert outcome.result("ship-ok").status == "executed"


async def test_a_warning_passes_with_its_reason(engine: RegoPolicyEngine) -> None:
    cycle = DecisionCycle(engine, Recorder())
    outcome = await cycle.run([_shipment("ship", "agent:a", spent_kg=8_800, projected_kg=350)], CAPACITY)
    result = outcome.result("ship")
    assert result.status == "executed"
    assert result.policy is not None
    assert result.policy.decision == "warn"
    assert result.reasons[0].startswith("APAC: 8800.0 kg spent + 350.0 kg projected")


async def test_an_escalation_holds_the_intent(engine: RegoPolicyEngine) -> None:
    recorder = Recorder()
    cycle = DecisionCycle(engine, recorder)
    big = _shipment(
        "ship", "agent:a", spent_kg=0, projected_kg=1, impact={"order_value": 400_000, "units": 200}
    )
    outcome = await cycle.run([big], CAPACITY)
    result = outcome.result("ship")
    assert (result.status, result.execution_mode) == ("escalated", "escalated")
    assert result.policy is not None
    assert result.policy.policy_ids == ["decisions.stakeholder_impact"]
    assert recorder.executed == []


async def test_a_modified_intent_is_judged_again_as_modified(engine: RegoPolicyEngine) -> None:
    decided: list[PolicyInput] = []

    class Watching:
        policy_version = engine.policy_version

        def decide(self, policy_input: PolicyInput) -> PolicyDecision:
            decided.append(policy_input)
            return engine.decide(policy_input)

    cycle = DecisionCycle(Watching(), Recorder())
    # As proposed it warns (8,700 + 400 kg is 91% of the budget); halved (89%) it does not.
    warned = _shipment("ship-1", "agent:a", spent_kg=8_700, projected_kg=400)
    rival = make_intent("rival", "agent:b", 900, priority=0.9, resource=LANE, modifications=[])
    outcome = await cycle.run([warned, rival], CAPACITY)

    result = outcome.result("ship-1")
    assert result.status == "modified"
    assert result.policy is not None
    assert result.policy.decision == "allow"
    assert [i.request.arguments["quantity"] for i in decided if i.request.tool == "shipment"] == [200, 100]
    assert decided[-1].context.carbon is not None
    assert decided[-1].context.carbon.projected_kg == 200


async def test_the_policy_input_of_an_intent(engine: RegoPolicyEngine) -> None:
    intent = _shipment("ship", "agent:logistics", spent_kg=1, projected_kg=2)
    caller = CallerFacts(subject="agent:logistics", autonomy="high", credibility=0.9)
    policy_input = intent_policy_input(intent, caller, ["agent:rogue"])
    assert policy_input.caller == caller
    assert policy_input.request.model_dump() == {
        "method": "intent",
        "domain": "logistics",
        "required_scope": None,
        "writes": True,
        "tool": "shipment",
        "resource": None,
        "arguments": intent.proposed_action,
    }
    assert policy_input.context.carbon == intent.facts.carbon
    assert policy_input.context.quarantined == ["agent:rogue"]


async def test_trust_levels_reach_the_policy_engine(engine: RegoPolicyEngine) -> None:
    trust = TrustRegistry()
    for _ in range(20):
        trust.record_compliance("agent:mediated", 0.4)  # about 0.3 + 0.3 + 0.4 x 0.45
        trust.record_compliance("agent:low", 0.0)
        trust.record_consistency("agent:low", 0.6)
    trust.quarantine("agent:rogue", "operator")
    assert trust.assess("agent:mediated").autonomy == "mediated"
    assert trust.assess("agent:low").autonomy == "low"

    recorder = Recorder()
    cycle = DecisionCycle(engine, recorder, trust=trust)
    agents = ["agent:high", "agent:mediated", "agent:low", "agent:rogue"]
    intents = [make_intent(f"i-{n}", agent, 10) for n, agent in enumerate(agents)]
    outcome = await cycle.run(intents, Capacities(available={"capacity:WH-EU-1": 1000}))

    statuses = {
        r.agent: (r.status, r.execution_mode, r.policy and r.policy.policy_ids) for r in outcome.results
    }
    assert statuses == {
        "agent:high": ("executed", "autonomous", ["mesh.default"]),
        "agent:mediated": ("executed", "mediated", ["global.autonomy"]),
        "agent:low": ("escalated", "escalated", ["global.autonomy"]),
        "agent:rogue": ("denied", "blocked", ["global.quarantine"]),
    }
    assert outcome.result("i-1").reasons == ["mediated autonomy: agent:mediated acts under review"]
    assert [i.agent for i in recorder.executed] == ["agent:high", "agent:mediated"]


async def test_the_cycle_applies_autonomy_even_under_a_policy_set_without_those_rules() -> None:
    class AllowEverything:
        policy_version = "test"

        def decide(self, policy_input: PolicyInput) -> PolicyDecision:
            return combine([], "test")

    trust = TrustRegistry()
    trust.quarantine("agent:rogue", "operator")
    for _ in range(30):
        trust.record_compliance("agent:low", 0.0)
        trust.record_consistency("agent:low", 0.6)
    cycle = DecisionCycle(AllowEverything(), Recorder(), trust=trust)
    intents = [make_intent("a", "agent:rogue", 10), make_intent("b", "agent:low", 10)]
    outcome = await cycle.run(intents, Capacities(available={"capacity:WH-EU-1": 100}))
    assert outcome.result("a").status == "denied"
    assert outcome.result("a").reasons == ["agent:rogue is quarantined"]
    assert outcome.result("b").status == "escalated"
    assert outcome.result("b").reasons == ["low autonomy: a human decides (agent:low)"]


async def test_policy_compliance_judges_the_proposal_not_the_agents_autonomy(
    engine: RegoPolicyEngine,
) -> None:
    trust = TrustRegistry()
    for _ in range(30):
        trust.record_compliance("agent:low", 0.0)
        trust.record_consistency("agent:low", 0.6)
    before = trust.assess("agent:low")
    cycle = DecisionCycle(engine, Recorder(), trust=trust, proposal_key=None)
    outcome = await cycle.run(
        [
            make_intent("benign", "agent:low", 10),
            _shipment("over", "agent:b", spent_kg=9_800, projected_kg=350),
        ],
        Capacities(available=CAPACITY.available | {"capacity:WH-EU-1": 100}),
    )
    assert outcome.result("benign").status == "escalated"  # by global.autonomy
    after = trust.assess("agent:low")
    assert after.policy_compliance > before.policy_compliance  # its proposal itself was compliant
    assert trust.assess("agent:b").policy_compliance < 1.0  # a carbon-budget deny counts
