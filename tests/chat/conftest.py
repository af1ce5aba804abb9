"""A ledger holding a small simulated run, written with the records the coordinator writes: an
autonomous transfer, a purchase order escalated by policy and then reviewed, the agents' governed
calls through the gateway, and the agents' standings (`standing_record`)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from mesh.audit import AuditRecord, Caller, DataProductInput, Ledger, PolicyEvaluation
from mesh.chat import OperatorRecords
from mesh.coordinator._week import standing_record
from mesh.gateway import CallBinding, EscalationStore
from mesh.trust import TrustRegistry
from tests.model_guard import model_guard
from tests.models.conftest import LITELLM_SILENCED

__all__ = ["model_guard"]

RUN = "5e1f00aa"
TRANSFER = f"{RUN}-h002.inventory.transfer.WH-EU-2.WH-EU-1.SKU-08"
ORDER = f"{RUN}-h030.procurement.po.WH-EU-1.SKU-17"
"""Hour 30 of the run: day 2."""
POLICY_VERSION = "1.0.0+test"
TIER2 = "critical material from supplier SUP-EU-2: tier-2 transparency 0.41 is below the minimum of 0.6"
START = datetime(2026, 2, 2, tzinfo=UTC)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in item.path.parents:
            for message in LITELLM_SILENCED:
                item.add_marker(pytest.mark.filterwarnings(f"ignore:{message}"))


def _intent(
    decision_id: str, agent: str, action: str, proposed: dict[str, Any], **fields: Any
) -> AuditRecord:
    step = int(decision_id.split("-h")[1][:3])
    return AuditRecord.model_validate(
        {
            "decision_id": decision_id,
            "occurred_at": datetime.now(UTC),
            "agent": agent,
            "domain": agent.removeprefix("agent:"),
            "action": action,
            "parameters": {
                "cycle_id": f"{RUN}-h{step:03d}",
                "intent_version": 1,
                "proposed_action": proposed,
            },
            "inputs": [
                DataProductInput(
                    product_id=f"telemetry.stock:{proposed.get('warehouse_id', 'WH-EU-1')}:{proposed['sku_id']}",
                    version=f"step-{step}",
                    as_of=START + timedelta(hours=step),
                )
            ],
            "caller": Caller(subject=agent),
            **fields,
        }
    )


def _call(decision_id: str, client: str, tool: str) -> AuditRecord:
    return AuditRecord(
        decision_id=decision_id,
        occurred_at=datetime.now(UTC),
        agent=client,
        domain=client.removesuffix("-agent"),
        action="tools/call",
        parameters={"method": "tools/call", "tool": tool, "arguments": {}},
        policies=[PolicyEvaluation(policy_id="mesh.default", outcome="allow", policy_version=POLICY_VERSION)],
        execution_mode="autonomous",
        status="executed",
        caller=Caller(subject=f"agent:{client.removesuffix('-agent')}", client_id=client),
    )


def run_records() -> list[AuditRecord]:
    transfer = {
        "from_warehouse_id": "WH-EU-2",
        "to_warehouse_id": "WH-EU-1",
        "sku_id": "SKU-08",
        "units": 215,
        "due_at": "2026-02-02T14:00:00Z",
    }
    order = {
        "sku_id": "SKU-17",
        "quantity": 900,
        "supplier_id": "SUP-EU-2",
        "region": "EU",
        "warehouse_id": "WH-EU-1",
    }
    trust = TrustRegistry()
    trust.record_policy_outcome("agent:inventory", "allow")
    trust.record_policy_outcome("agent:procurement", "escalate")
    return [
        _call(TRANSFER, "inventory-agent", "transfer_stock"),
        _intent(
            TRANSFER,
            "agent:inventory",
            "transfer",
            transfer,
            policies=[
                PolicyEvaluation(policy_id="mesh.default", outcome="allow", policy_version=POLICY_VERSION)
            ],
            execution_mode="autonomous",
            final_action={"intent_version": 1, "proposed_action": transfer, "modifications": []},
            executed_at=datetime.now(UTC),
            status="executed",
            outcome={"units": 215.0, "held_at_gateway": 0.0},
        ),
        _intent(
            ORDER,
            "agent:procurement",
            "purchase_order",
            order,
            policies=[
                PolicyEvaluation(
                    policy_id="decisions.purchase_order.tier2_transparency",
                    outcome="escalate",
                    reasons=[TIER2],
                    policy_version=POLICY_VERSION,
                )
            ],
            execution_mode="escalated",
            status="escalated",
        ),
        AuditRecord(
            decision_id=ORDER,
            occurred_at=datetime.now(UTC),
            agent="agent:procurement",
            domain="procurement",
            action="review",
            parameters={
                "reviewer": "service:auto-reviewer",
                "rule": "credible",
                "verdict": "deny",
                "reason": "agent:procurement is not credible enough (0.62, low)",
                "escalated_for": [TIER2],
            },
            execution_mode="human",
            status="rejected",
            caller=Caller(subject="service:auto-reviewer", client_id="auto-reviewer"),
        ),
        standing_record(trust.assess("agent:inventory"), f"{RUN}-h030"),
        standing_record(trust.assess("agent:procurement"), f"{RUN}-h030"),
    ]


@dataclass
class Filled:
    ledger: Ledger
    records: OperatorRecords
    escalations: EscalationStore
    pending_id: str


@pytest.fixture
async def filled(tmp_path: Path) -> AsyncIterator[Filled]:
    ledger = Ledger.sqlite(tmp_path / "audit" / "ledger.sqlite", tmp_path / "keys")
    for record in run_records():
        await ledger.append(record)
    escalations = EscalationStore(tmp_path / "escalations.sqlite")
    binding = CallBinding.of(
        subject="agent:procurement",
        client_id="procurement-agent",
        domain="procurement",
        method="tools/call",
        tool="place_purchase_order",
        arguments={"sku_id": "SKU-17", "quantity": 900},
        policy_version=POLICY_VERSION,
    )
    pending, _ = escalations.hold(binding, reasons=[TIER2], policy_ids=["x"], decision_id=ORDER)
    records = OperatorRecords(ledger, escalations=escalations.list)
    try:
        yield Filled(ledger, records, escalations, pending.id)
    finally:
        ledger.close()
