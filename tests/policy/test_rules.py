"""Each rule of the policy set, on its allow side and its deny, escalate or warn side."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from mesh.policy import PolicyDecision, RegoPolicyEngine
from tests.policy.conftest import POLICIES
from tests.policy.inputs import make_input, purchase_order, shipment


def said(decision: PolicyDecision, policy_id: str) -> tuple[str, list[str]] | None:
    """The outcome and reasons of `policy_id` in `decision`, or None when it said nothing."""
    found = [rule for rule in decision.rules if rule.policy_id == policy_id]
    if not found:
        return None
    return found[0].outcome, [reason for rule in found for reason in rule.reasons]


def test_a_benign_read_is_allowed_by_default(engine: RegoPolicyEngine) -> None:
    decision = engine.decide(make_input())
    assert decision.decision == "allow"
    assert decision.policy_ids == ["mesh.default"]


def test_an_unknown_method_with_no_rule_objecting_is_allowed(engine: RegoPolicyEngine) -> None:
    decision = engine.decide(make_input(request={"method": "notifications/whatever", "required_scope": None}))
    assert decision.decision == "allow"


# global.scope


def test_scope_allows_a_caller_holding_the_required_scope(engine: RegoPolicyEngine) -> None:
    assert said(engine.decide(make_input()), "global.scope") is None


def test_scope_allows_a_request_that_needs_no_scope(engine: RegoPolicyEngine) -> None:
    decision = engine.decide(
        make_input(caller={"scopes": []}, request={"method": "initialize", "required_scope": None})
    )
    assert decision.decision == "allow"


def test_scope_denies_without_the_required_scope_naming_it(engine: RegoPolicyEngine) -> None:
    decision = engine.decide(make_input(request={"required_scope": "procurement:write"}))
    assert decision.decision == "deny"
    assert said(decision, "global.scope") == (
        "deny",
        ["scope procurement:write is required for tools/call and was not granted"],
    )


def test_scope_denies_reading_a_data_product_without_its_access_scope(engine: RegoPolicyEngine) -> None:
    products = [
        {"id": "logistics.routes", "version": "1.0.0", "access_scope": "logistics:read"},
        {"id": "procurement.suppliers", "version": "1.2.0", "access_scope": "procurement:read"},
    ]
    decision = engine.decide(make_input(data_products=products))
    assert decision.decision == "deny"
    assert said(decision, "global.scope") == (
        "deny",
        ["data product procurement.suppliers needs scope procurement:read, which was not granted"],
    )


def test_scope_allows_reading_data_products_with_their_access_scopes(engine: RegoPolicyEngine) -> None:
    products = [{"id": "sustainability.carbon", "version": "1.0.0", "access_scope": "sustainability:read"}]
    assert engine.decide(make_input(data_products=products)).decision == "allow"


# global.quarantine


def test_quarantine_denies_a_caller_whose_autonomy_is_quarantined(engine: RegoPolicyEngine) -> None:
    decision = engine.decide(make_input(caller={"autonomy": "quarantined"}))
    assert decision.decision == "deny"
    assert said(decision, "global.quarantine") == (
        "deny",
        ["agent:logistics is quarantined (autonomy level)"],
    )


def test_quarantine_denies_a_listed_client_id(engine: RegoPolicyEngine) -> None:
    decision = engine.decide(make_input(context={"quarantined": ["logistics-agent"]}))
    assert said(decision, "global.quarantine") == ("deny", ["logistics-agent is quarantined"])


def test_quarantine_denies_a_listed_subject(engine: RegoPolicyEngine) -> None:
    decision = engine.decide(make_input(context={"quarantined": ["agent:logistics"]}))
    assert said(decision, "global.quarantine") == ("deny", ["agent:logistics is quarantined"])


def test_quarantine_denies_a_listed_actor_in_the_delegation_chain(engine: RegoPolicyEngine) -> None:
    decision = engine.decide(
        make_input(
            caller={"act_chain": ["agent:orchestrator"]}, context={"quarantined": ["agent:orchestrator"]}
        )
    )
    assert said(decision, "global.quarantine") == ("deny", ["agent:orchestrator is quarantined"])


def test_quarantine_allows_a_caller_not_listed(engine: RegoPolicyEngine) -> None:
    decision = engine.decide(make_input(context={"quarantined": ["agent:inventory", "inventory-agent"]}))
    assert decision.decision == "allow"


# global.autonomy


def test_autonomy_escalates_an_action_by_a_low_autonomy_caller(engine: RegoPolicyEngine) -> None:
    decision = engine.decide(make_input(caller={"autonomy": "low"}, request={"writes": True}))
    assert decision.decision == "escalate"
    assert said(decision, "global.autonomy") == (
        "escalate",
        ["low autonomy: a human decides (agent:logistics)"],
    )


def test_autonomy_warns_on_an_action_by_a_mediated_caller(engine: RegoPolicyEngine) -> None:
    decision = engine.decide(make_input(caller={"autonomy": "mediated"}, request={"writes": True}))
    assert decision.decision == "warn"
    assert said(decision, "global.autonomy") == (
        "warn",
        ["mediated autonomy: agent:logistics acts under review"],
    )


def test_autonomy_allows_a_read_by_a_low_autonomy_caller(engine: RegoPolicyEngine) -> None:
    assert engine.decide(make_input(caller={"autonomy": "low"})).decision == "allow"


def test_autonomy_allows_an_action_by_a_high_or_unknown_autonomy_caller(engine: RegoPolicyEngine) -> None:
    for autonomy in ("high", None):
        decision = engine.decide(make_input(caller={"autonomy": autonomy}, request={"writes": True}))
        assert decision.decision == "allow", autonomy


# decisions.shipment.carbon_budget (annual budget 10,000 kg; warn_ratio 0.9)


def test_carbon_budget_denies_above_the_annual_budget(engine: RegoPolicyEngine) -> None:
    decision = engine.decide(shipment(spent_kg=9_950.0, projected_kg=100.0))
    assert decision.decision == "deny"
    assert said(decision, "decisions.shipment.carbon_budget") == (
        "deny",
        [
            "EU: 9950.0 kg spent + 100.0 kg projected = 10050.0 kg, 100.5% of the annual carbon budget"
            " of 10000.0 kg"
        ],
    )


def test_carbon_budget_warns_within_10_percent_of_the_budget(engine: RegoPolicyEngine) -> None:
    decision = engine.decide(shipment(spent_kg=8_800.0, projected_kg=350.0))
    assert decision.decision == "warn"
    assert said(decision, "decisions.shipment.carbon_budget") == (
        "warn",
        [
            "EU: 8800.0 kg spent + 350.0 kg projected = 9150.0 kg, 91.5% of the annual carbon budget"
            " of 10000.0 kg"
        ],
    )


def test_carbon_budget_warns_at_exactly_the_budget_and_at_exactly_90_percent(
    engine: RegoPolicyEngine,
) -> None:
    assert engine.decide(shipment(spent_kg=9_900.0, projected_kg=100.0)).decision == "warn"
    assert engine.decide(shipment(spent_kg=8_900.0, projected_kg=100.0)).decision == "warn"


def test_carbon_budget_allows_below_90_percent_of_the_budget(engine: RegoPolicyEngine) -> None:
    decision = engine.decide(shipment(spent_kg=8_000.0, projected_kg=100.0))
    assert decision.decision == "allow"
    assert said(decision, "decisions.shipment.carbon_budget") is None


def test_carbon_budget_denies_any_emission_against_a_zero_budget(engine: RegoPolicyEngine) -> None:
    decision = engine.decide(shipment(spent_kg=0.0, projected_kg=1.0, budget_kg=0.0))
    assert said(decision, "decisions.shipment.carbon_budget") == (
        "deny",
        ["EU: 0.0 kg spent + 1.0 kg projected = 1.0 kg, no budget of the annual carbon budget of 0.0 kg"],
    )


def test_carbon_budget_is_silent_without_carbon_facts(engine: RegoPolicyEngine) -> None:
    assert (
        said(engine.decide(make_input(request={"writes": True})), "decisions.shipment.carbon_budget") is None
    )


def test_carbon_budget_threshold_comes_from_the_policy_data(tmp_path: Path) -> None:
    policies = shutil.copytree(POLICIES, tmp_path / "policies")
    data_file = policies / "data" / "decisions.json"
    data = json.loads(data_file.read_text())
    data["mesh"]["params"]["decisions"]["shipment"]["carbon_budget"]["warn_ratio"] = 0.5
    data_file.write_text(json.dumps(data))
    stricter = RegoPolicyEngine.from_directory(policies, cache_size=0)
    assert stricter.decide(shipment(spent_kg=6_000.0)).decision == "warn"


# decisions.purchase_order.labor_compliance


def test_labor_compliance_denies_a_new_supplier_not_yet_verified(engine: RegoPolicyEngine) -> None:
    decision = engine.decide(purchase_order(is_new=True, labor_compliance="pending"))
    assert decision.decision == "deny"
    assert said(decision, "decisions.purchase_order.labor_compliance") == (
        "deny",
        ["new supplier SUP-07: labor compliance is pending, it must be verified"],
    )


def test_labor_compliance_denies_any_supplier_that_failed(engine: RegoPolicyEngine) -> None:
    for is_new in (True, False):
        decision = engine.decide(purchase_order(is_new=is_new, labor_compliance="failed"))
        assert said(decision, "decisions.purchase_order.labor_compliance") == (
            "deny",
            ["supplier SUP-07 failed its labor compliance check"],
        ), is_new


def test_labor_compliance_allows_a_verified_new_supplier(engine: RegoPolicyEngine) -> None:
    assert engine.decide(purchase_order(is_new=True, labor_compliance="verified")).decision == "allow"


def test_labor_compliance_allows_an_existing_supplier_pending_review(engine: RegoPolicyEngine) -> None:
    assert engine.decide(purchase_order(is_new=False, labor_compliance="pending")).decision == "allow"


# decisions.purchase_order.tier2_transparency (minimum 0.6)


def test_tier2_transparency_escalates_a_critical_material_below_the_minimum(engine: RegoPolicyEngine) -> None:
    decision = engine.decide(purchase_order(critical_material=True, tier2_transparency=0.45))
    assert decision.decision == "escalate"
    assert said(decision, "decisions.purchase_order.tier2_transparency") == (
        "escalate",
        ["critical material from supplier SUP-07: tier-2 transparency 0.45 is below the minimum of 0.6"],
    )


def test_tier2_transparency_allows_a_critical_material_at_the_minimum(engine: RegoPolicyEngine) -> None:
    assert engine.decide(purchase_order(critical_material=True, tier2_transparency=0.6)).decision == "allow"


def test_tier2_transparency_allows_a_material_that_is_not_critical(engine: RegoPolicyEngine) -> None:
    assert engine.decide(purchase_order(critical_material=False, tier2_transparency=0.1)).decision == "allow"


# decisions.stakeholder_impact (order value 250,000; one region)


def test_stakeholder_impact_escalates_an_order_above_the_value_threshold(engine: RegoPolicyEngine) -> None:
    decision = engine.decide(purchase_order(order_value=300_000.0))
    assert decision.decision == "escalate"
    assert said(decision, "decisions.stakeholder_impact") == (
        "escalate",
        ["order value 300000 is above the stakeholder review threshold of 250000"],
    )


def test_stakeholder_impact_escalates_a_decision_affecting_several_regions(engine: RegoPolicyEngine) -> None:
    decision = engine.decide(purchase_order(affected_regions=("EU", "NA")))
    assert said(decision, "decisions.stakeholder_impact") == (
        "escalate",
        ["affects 2 regions (EU, NA), more than 1"],
    )


def test_stakeholder_impact_allows_an_order_at_the_thresholds(engine: RegoPolicyEngine) -> None:
    assert (
        engine.decide(purchase_order(order_value=250_000.0, affected_regions=("APAC",))).decision == "allow"
    )


# domains.procurement.single_supplier_cap (5,000 units per order)


def test_single_supplier_cap_escalates_an_order_above_the_cap(engine: RegoPolicyEngine) -> None:
    decision = engine.decide(purchase_order(units=5_001))
    assert decision.decision == "escalate"
    assert said(decision, "domains.procurement.single_supplier_cap") == (
        "escalate",
        ["order of 5001 units to supplier SUP-07 exceeds the single-supplier cap of 5000 units per order"],
    )


def test_single_supplier_cap_allows_an_order_at_the_cap(engine: RegoPolicyEngine) -> None:
    assert engine.decide(purchase_order(units=5_000)).decision == "allow"


def test_single_supplier_cap_applies_to_the_procurement_domain_only(engine: RegoPolicyEngine) -> None:
    decision = engine.decide(purchase_order(units=9_000, domain="inventory"))
    assert said(decision, "domains.procurement.single_supplier_cap") is None
