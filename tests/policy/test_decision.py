"""How rule results combine into one decision, the policy version, and the decision cache."""

from __future__ import annotations

import hashlib
import re
import shutil
from pathlib import Path

import pytest

from mesh.policy import PolicyInput, RegoPolicyEngine, RuleResult, combine
from tests.policy.conftest import POLICIES
from tests.policy.inputs import make_input, purchase_order, shipment


def test_deny_beats_escalate_beats_warn(engine: RegoPolicyEngine) -> None:
    everything = purchase_order(
        is_new=True, labor_compliance="pending", critical_material=True, tier2_transparency=0.3
    )
    everything = everything.model_copy(
        update={"caller": everything.caller.model_copy(update={"autonomy": "mediated"})}
    )
    decision = engine.decide(everything)
    assert decision.decision == "deny"
    assert decision.reasons == ["new supplier SUP-07: labor compliance is pending, it must be verified"]
    assert decision.policy_ids == [
        "decisions.purchase_order.labor_compliance",
        "decisions.purchase_order.tier2_transparency",
        "global.autonomy",
    ]
    assert [(rule.policy_id, rule.outcome) for rule in decision.rules] == [
        ("decisions.purchase_order.labor_compliance", "deny"),
        ("decisions.purchase_order.tier2_transparency", "escalate"),
        ("global.autonomy", "warn"),
    ]


def test_escalate_beats_warn_and_reasons_are_those_of_the_decisive_outcome(engine: RegoPolicyEngine) -> None:
    warned = shipment(spent_kg=9_500.0)
    assert engine.decide(warned).decision == "warn"
    low = warned.model_copy(update={"caller": warned.caller.model_copy(update={"autonomy": "low"})})
    decision = engine.decide(low)
    assert decision.decision == "escalate"
    assert decision.reasons == ["low autonomy: a human decides (agent:logistics)"]
    assert decision.policy_ids == ["decisions.shipment.carbon_budget", "global.autonomy"]


def test_an_allow_names_the_default_rule(engine: RegoPolicyEngine) -> None:
    decision = engine.decide(make_input())
    assert decision.decision == "allow"
    assert decision.reasons == []
    assert decision.policy_ids == ["mesh.default"]
    assert decision.rules == [RuleResult(policy_id="mesh.default", outcome="allow", reasons=[])]


def test_combine_orders_rules_most_severe_first_and_keeps_explicit_allows() -> None:
    results = [
        RuleResult(policy_id="b.warn", outcome="warn", reasons=["w"]),
        RuleResult(policy_id="a.allow", outcome="allow", reasons=["fine"]),
        RuleResult(policy_id="c.warn", outcome="warn", reasons=["v"]),
    ]
    decision = combine(results, "1.0.0+000000000000")
    assert decision.decision == "warn"
    assert decision.reasons == ["w", "v"]
    assert decision.policy_ids == ["b.warn", "c.warn"]
    assert [rule.policy_id for rule in decision.rules] == ["b.warn", "c.warn", "a.allow"]

    allowed = combine([RuleResult(policy_id="a.allow", outcome="allow", reasons=["fine"])], "v")
    assert allowed.reasons == ["fine"]
    assert allowed.policy_ids == ["mesh.default"]
    assert [rule.policy_id for rule in allowed.rules] == ["a.allow", "mesh.default"]


def test_policy_version_is_the_release_and_a_digest_of_the_policy_files(engine: RegoPolicyEngine) -> None:
    release = (POLICIES / "VERSION").read_text().strip()
    digest = hashlib.sha256()
    files = [p for p in POLICIES.rglob("*.rego") if not p.name.endswith("_test.rego")]
    files += list((POLICIES / "data").rglob("*.json"))
    for path in sorted(files):
        digest.update(path.relative_to(POLICIES).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    assert re.fullmatch(r"\d+\.\d+\.\d+\+[0-9a-f]{12}", engine.policy_version)
    assert engine.policy_version == f"{release}+{digest.hexdigest()[:12]}"
    assert engine.decide(make_input()).policy_version == engine.policy_version


def test_policy_version_changes_with_any_rule_or_data_file(tmp_path: Path, engine: RegoPolicyEngine) -> None:
    policies = shutil.copytree(POLICIES, tmp_path / "policies")
    rule = policies / "global" / "scope.rego"
    rule.write_text(rule.read_text() + "\n")
    edited_rule = RegoPolicyEngine.from_directory(policies).policy_version
    data = policies / "data" / "domains.json"
    data.write_text(data.read_text() + "\n")
    edited_data = RegoPolicyEngine.from_directory(policies).policy_version
    assert len({engine.policy_version, edited_rule, edited_data}) == 3
    assert all(version.startswith("1.0.0+") for version in (edited_rule, edited_data))


@pytest.fixture(scope="module")
def cached() -> RegoPolicyEngine:
    return RegoPolicyEngine.from_directory(POLICIES, cache_size=2)


def test_an_equal_input_gets_the_cached_decision(cached: RegoPolicyEngine) -> None:
    first = cached.decide(shipment(spent_kg=9_000.0))
    assert cached.decide(shipment(spent_kg=9_000.0)) is first
    assert cached.decide(shipment(spent_kg=1_000.0)) is not first


def test_the_cache_forgets_the_least_recently_used_decision(cached: RegoPolicyEngine) -> None:
    inputs: list[PolicyInput] = [shipment(spent_kg=float(spent)) for spent in (1, 2, 3)]
    decisions = [cached.decide(policy_input) for policy_input in inputs]
    assert cached.decide(inputs[2]) is decisions[2]
    assert cached.decide(inputs[0]) is not decisions[0]
    assert cached.decide(inputs[0]) == decisions[0]
