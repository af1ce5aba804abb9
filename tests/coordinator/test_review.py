"""The auto-reviewer's rules: `credible` approves a credible agent's escalation unless a rule
denied its content, and refuses a quarantined or low-credibility agent; `approve` and `deny` are
what they say; a call held at the gateway is judged on the agent alone."""

from __future__ import annotations

import pytest

from mesh.coordinator import AutoReviewer
from mesh.negotiation import IntentResult
from mesh.policy import PolicyDecision
from mesh.trust import TrustRegistry
from tests.negotiation.conftest import make_intent


def _escalated(agent: str, *, denied_by: str | None = None) -> IntentResult:
    rules = [
        {"policy_id": "decisions.purchase_order.tier2_transparency", "outcome": "escalate", "reasons": ["x"]}
    ]
    if denied_by is not None:
        rules.append({"policy_id": denied_by, "outcome": "deny", "reasons": ["y"]})
    decision = PolicyDecision.model_validate(
        {
            "decision": "deny" if denied_by else "escalate",
            "reasons": ["x"],
            "policy_ids": [rule["policy_id"] for rule in rules],
            "rules": rules,
            "policy_version": "test",
        }
    )
    return IntentResult(
        intent_id=f"i-{agent}",
        agent=agent,
        domain="procurement",
        decision_type="purchase_order",
        status="escalated",
        execution_mode="escalated",
        proposed=make_intent(f"i-{agent}", agent, 10),
        policy=decision,
    )


@pytest.fixture
def trust() -> TrustRegistry:
    registry = TrustRegistry()
    for _ in range(60):
        registry.record_compliance("agent:shady", 0.0)
        registry.record_consistency("agent:shady", 0.0)
    return registry


def test_credible_approves_a_credible_agent_and_refuses_the_others(trust: TrustRegistry) -> None:
    reviewer = AutoReviewer("credible", trust=trust)
    assert reviewer.review(_escalated("agent:honest")).approve
    refused = reviewer.review(_escalated("agent:shady"))
    assert not refused.approve
    assert "agent:shady" in refused.reason
    denied = reviewer.review(_escalated("agent:honest", denied_by="decisions.shipment.carbon_budget"))
    assert (denied.approve, denied.reason) == (False, "a policy rule denies it")
    assert reviewer.review_held_call("agent:honest", ["over the impact threshold"]).approve
    assert (
        "over the impact threshold"
        in reviewer.review_held_call("agent:honest", ["over the impact threshold"]).reason
    )
    assert not reviewer.review_held_call("agent:shady", ["x"]).approve


def test_fixed_rules_ignore_standing(trust: TrustRegistry) -> None:
    assert AutoReviewer("approve", trust=trust).review(_escalated("agent:shady")).approve
    assert AutoReviewer("approve", trust=trust).review_held_call("agent:shady", []).approve
    assert not AutoReviewer("deny", trust=trust).review(_escalated("agent:honest")).approve
    assert not AutoReviewer("deny", trust=trust).review_held_call("agent:honest", []).approve
