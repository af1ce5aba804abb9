"""A realistic audit record for the ledger tests."""

from __future__ import annotations

from datetime import UTC, datetime

from mesh.audit import AuditRecord, Caller, DataProductInput, NegotiationStep, PolicyEvaluation

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"


def record(decision: str = "dec-1", **changes: object) -> AuditRecord:
    fields: dict[str, object] = {
        "decision_id": decision,
        "occurred_at": datetime(2026, 2, 2, 15, 0, tzinfo=UTC),
        "agent": "inventory-agent",
        "domain": "inventory",
        "action": "reorder",
        "parameters": {"sku_id": "SKU-17", "region": "EU", "quantity": 240},
        "inputs": [
            DataProductInput(product_id="inventory.stock_positions", version="1.0.0", freshness_seconds=60)
        ],
        "policies": [
            PolicyEvaluation(
                policy_id="global.carbon_budget", outcome="warn", reasons=["EU at 94%"], policy_version="1"
            )
        ],
        "execution_mode": "autonomous",
        "negotiation": [
            NegotiationStep(round=1, agent="logistics-agent", move="counter", detail={"mode": "rail"})
        ],
        "final_action": {"quantity": 240, "carrier": "rail"},
        "status": "executed",
        "outcome": {"service_level": 0.97},
        "caller": Caller(subject="agent:inventory", client_id="inventory-agent", scopes=["inventory:read"]),
        "trace_id": TRACE_ID,
        "span_id": "00f067aa0ba902b7",
    }
    return AuditRecord.model_validate(fields | changes)
