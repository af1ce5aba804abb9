"""Fixtures for the decision cycle.

- `engine`: the real policy set (`policies/`), compiled once per session, no decision cache.
- `make_intent(...)`: an `IntentContract` for a reorder on one warehouse, every field overridable.
- `Recorder`: an executor that records what it was asked to execute.
- `nats_url` (module): a real nats-server on a free loopback port.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from mesh.negotiation import IntentContract
from mesh.policy import RegoPolicyEngine
from tests.net import nats_server

POLICIES = Path(__file__).resolve().parents[2] / "policies"
EPOCH = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
BOUND = 10.0
"""Seconds any one wait in these tests may take before giving up."""


@pytest.fixture(scope="session")
def engine() -> RegoPolicyEngine:
    return RegoPolicyEngine.from_directory(POLICIES, cache_size=0)


def make_intent(
    intent_id: str,
    agent: str,
    amount: float,
    *,
    priority: float = 0.5,
    resource: str = "capacity:WH-EU-1",
    quantity: int | None = None,
    modifications: list[dict[str, Any]] | None = None,
    constraints: list[dict[str, Any]] | None = None,
    decision_type: str = "reorder",
    domain: str = "inventory",
    facts: dict[str, Any] | None = None,
    evidence: list[dict[str, Any]] | None = None,
    created: int = 0,
) -> IntentContract:
    """A reorder of `quantity` (default: `amount`) units using `amount` of `resource`, which may
    scale down to half in quarter steps unless `modifications` says otherwise."""
    return IntentContract.model_validate(
        {
            "intent_id": intent_id,
            "agent": agent,
            "domain": domain,
            "decision_type": decision_type,
            "proposed_action": {"sku_id": "SKU-17", "quantity": quantity or int(amount), "mode": "road"},
            "evidence": evidence or [],
            "constraints": constraints or [{"resource": resource, "amount": amount}],
            "acceptable_modifications": (
                [{"kind": "scale_quantity", "min_fraction": 0.5, "step": 0.25, "utility_cost": 1.0}]
                if modifications is None
                else modifications
            ),
            "facts": facts or {},
            "priority": priority,
            "created_at": EPOCH + timedelta(seconds=created),
        }
    )


class Recorder:
    """An executor that records the intents it runs and answers with their quantity."""

    def __init__(self) -> None:
        self.executed: list[IntentContract] = []

    async def __call__(self, intent: IntentContract) -> Mapping[str, float]:
        self.executed.append(intent)
        await asyncio.sleep(0)
        return {"units": float(intent.proposed_action.get("quantity", 0))}


def demand_of(intents: list[IntentContract]) -> dict[str, float]:
    total: dict[str, float] = {}
    for intent in intents:
        for use in intent.uses:
            total[use.resource] = total.get(use.resource, 0.0) + use.amount
    return total


@pytest.fixture(scope="module")
def nats_url() -> Iterator[str]:
    with nats_server(BOUND) as url:
        yield url
