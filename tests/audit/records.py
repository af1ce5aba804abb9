"""What the ledger tests share: a realistic record, and a ledger store to attack."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from mesh.audit import (
    AuditLog,
    AuditRecord,
    Caller,
    DataProductInput,
    Ledger,
    NegotiationStep,
    PolicyEvaluation,
)
from mesh.audit._ledger import BackendFactory

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


@dataclass
class LedgerEnv:
    """A fresh ledger store: how to reach it, and how an attacker with database rights edits it."""

    name: str
    factory: BackendFactory
    key_dir: Path
    attacker_sql: Callable[[str], None]
    """Runs SQL after dropping the append-only triggers, as someone with full database rights."""
    guarded_sql: Callable[[str], None]
    """Runs SQL with the triggers in place (an ordinary writer)."""

    def ledger(self, **options: object) -> Ledger:
        return Ledger(self.factory, self.key_dir, **options)  # type: ignore[arg-type]

    def log(self) -> AuditLog:
        return AuditLog(self.factory(), self.key_dir)
