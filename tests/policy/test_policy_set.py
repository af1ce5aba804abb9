"""The policy set's own conventions: what keeps it valid for OPA and each rule reachable."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from mesh.policy import PolicySet
from tests.policy.conftest import POLICIES

RULE_FILES = sorted(
    path
    for path in POLICIES.rglob("*.rego")
    if path.name != "mesh.rego" and not path.name.endswith("_test.rego")
)


def policy_id(path_relative: str) -> str:
    return path_relative.removesuffix(".rego").replace("/", ".")


def test_the_policy_set_has_every_rule_of_the_architecture() -> None:
    ids = {policy_id(path.relative_to(POLICIES).as_posix()) for path in RULE_FILES}
    assert ids == {
        "global.scope",
        "global.quarantine",
        "global.autonomy",
        "decisions.shipment.carbon_budget",
        "decisions.purchase_order.labor_compliance",
        "decisions.purchase_order.tier2_transparency",
        "decisions.stakeholder_impact",
        "domains.procurement.single_supplier_cap",
    }


@pytest.mark.parametrize("path", RULE_FILES, ids=lambda path: path.relative_to(POLICIES).as_posix())
def test_each_rule_lives_in_the_package_of_its_path_and_emits_its_own_policy_id(path: Path) -> None:
    source = path.read_text()
    expected = policy_id(path.relative_to(POLICIES).as_posix())
    assert re.search(rf"^package mesh\.rules\.{re.escape(expected)}$", source, re.MULTILINE)
    assert re.search(r"^import rego\.v1$", source, re.MULTILINE), (
        "rego.v1 keeps the rule valid for OPA 0.x and 1.x"
    )
    assert set(re.findall(r'"policy_id": "([^"]+)"', source)) == {expected}
    assert re.findall(r"^\s*results contains", source, re.MULTILINE)


def test_every_rule_is_collected_by_the_entrypoint_once() -> None:
    collector = (POLICIES / "mesh.rego").read_text()
    collected = re.findall(r"some result in data\.mesh\.rules\.([\w.]+)\.results", collector)
    assert sorted(collected) == sorted(policy_id(p.relative_to(POLICIES).as_posix()) for p in RULE_FILES)


def test_thresholds_live_in_data_not_in_rules() -> None:
    policy_set = PolicySet.read(POLICIES)
    params = policy_set.data["mesh"]["params"]
    assert params["decisions"]["shipment"]["carbon_budget"] == {"warn_ratio": 0.9}
    assert params["decisions"]["purchase_order"]["tier2_transparency"] == {"min": 0.6}
    assert params["decisions"]["stakeholder_impact"] == {"max_order_value": 250000, "max_affected_regions": 1}
    assert params["domains"]["procurement"]["single_supplier_cap"] == {"max_units_per_order": 5000}
    for path in RULE_FILES:
        source = re.sub(r"#.*", "", path.read_text())
        assert not re.search(r"\b(0\.9|0\.6|250000|5000)\b", source), path
