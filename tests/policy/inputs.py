"""Inputs for the policy tests: a benign read by a trusted agent, changed one part at a time."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mesh.policy import PolicyInput

BASELINE: dict[str, Any] = {
    "caller": {
        "subject": "agent:logistics",
        "client_id": "logistics-agent",
        "scopes": ["logistics:read", "logistics:write", "sustainability:read"],
        "autonomy": "high",
        "credibility": 0.92,
    },
    "request": {
        "method": "tools/call",
        "domain": "logistics",
        "tool": "get_routes",
        "arguments": {"origin": "WH-EU-1"},
        "required_scope": "logistics:read",
        "writes": False,
    },
    "data_products": [],
    "context": {},
}


def make_input(
    *,
    caller: dict[str, Any] | None = None,
    request: dict[str, Any] | None = None,
    data_products: list[dict[str, Any]] | None = None,
    context: dict[str, Any] | None = None,
) -> PolicyInput:
    return PolicyInput.model_validate(
        {
            "caller": {**BASELINE["caller"], **(caller or {})},
            "request": {**BASELINE["request"], **(request or {})},
            "data_products": BASELINE["data_products"] if data_products is None else data_products,
            "context": {**BASELINE["context"], **(context or {})},
        }
    )


def shipment(spent_kg: float, projected_kg: float = 100.0, budget_kg: float = 10_000.0) -> PolicyInput:
    return make_input(
        request={"tool": "book_shipment", "required_scope": "logistics:write", "writes": True},
        context={
            "carbon": {
                "region": "EU",
                "budget_kg": budget_kg,
                "spent_kg": spent_kg,
                "projected_kg": projected_kg,
            }
        },
    )


def purchase_order(
    *,
    labor_compliance: str = "verified",
    is_new: bool = False,
    tier2_transparency: float = 0.9,
    critical_material: bool = False,
    order_value: float = 50_000.0,
    units: int = 1_000,
    affected_regions: tuple[str, ...] = ("EU",),
    domain: str = "procurement",
) -> PolicyInput:
    return make_input(
        caller={
            "subject": "agent:procurement",
            "client_id": "procurement-agent",
            "scopes": ["procurement:write"],
        },
        request={
            "domain": domain,
            "tool": "place_purchase_order",
            "required_scope": "procurement:write",
            "writes": True,
        },
        context={
            "supplier": {
                "supplier_id": "SUP-07",
                "labor_compliance": labor_compliance,
                "is_new": is_new,
                "tier2_transparency": tier2_transparency,
                "critical_material": critical_material,
            },
            "impact": {
                "order_value": order_value,
                "units": units,
                "affected_regions": list(affected_regions),
            },
        },
    )


MINIMAL_RULE = """package mesh.rules.global.always

import rego.v1

results contains {"policy_id": "global.always", "outcome": "warn", "reasons": ["always"]}
"""


def write_policy_set(directory: Path, rules: dict[str, str], *, collector: str | None = None) -> Path:
    """A policy set in `directory`: VERSION 0.1.0, `rules` (relative path to Rego source) and a
    `mesh.rego` that collects `data.mesh.rules.<path>.results` of each rule (or `collector`)."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "VERSION").write_text("0.1.0\n")
    for relative, source in rules.items():
        path = directory / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(source)
    if collector is None:
        packages = [relative.removesuffix(".rego").replace("/", ".") for relative in rules]
        collector = "package mesh\n\nimport rego.v1\n\n" + "".join(
            f"results contains r if some r in data.mesh.rules.{package}.results\n" for package in packages
        )
    (directory / "mesh.rego").write_text(collector)
    return directory
