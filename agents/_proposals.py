"""An agent's part in decision cycles: from the hour's perception and its own data products, the
Intent Contracts it proposes (mesh.negotiation).

The perception (`mesh.simulation.WeekPerception`) says what is physically true now: stock, what is
inbound, recent demand, carbon and spending allowances. Reference data (reorder policies, the
supplier catalog and compliance, carrier rates) each agent reads from its own domain's products
through the gateway, with its own credentials, and cites by product version in each intent's
evidence. The logic is deterministic; each proposer answers within the cycle's deadline or not at
all (the coordinator then goes on without it).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from agents._mcp import GatewayTools, Query
from mesh.negotiation import CycleCall, Evidence
from mesh.simulation import PERCEPTION_FORMAT, StockView, WeekPerception

REFERENCE_TTL = 300.0
"""Seconds a proposer reuses reference data it read through the gateway before reading it again."""


class NotAWeekCycle(ValueError):
    """A call whose perception is not the `week/1` format this agent proposes on."""


def perceive(call: CycleCall) -> WeekPerception:
    if call.perception.get("perception_format") != PERCEPTION_FORMAT:
        raise NotAWeekCycle(
            f"cycle {call.cycle_id}: perception format {call.perception.get('perception_format')!r}, "
            f"expected {PERCEPTION_FORMAT!r}"
        )
    return WeekPerception.model_validate(call.perception)


@dataclass(frozen=True)
class Reference:
    """Query results read through the gateway, by name, and when they were read."""

    queries: Mapping[str, Query]
    read_at: float

    def rows(self, name: str) -> list[dict[str, Any]]:
        return self.queries[name].rows

    def evidence(
        self, name: str, *, summary: str = "", figures: Mapping[str, float] | None = None
    ) -> Evidence:
        query = self.queries[name]
        return Evidence(
            product_id=query.product_id,
            version=query.version,
            as_of=query.as_of,
            summary=summary,
            figures=dict(figures or {}),
        )


class ReferenceReader:
    """Reads a fixed set of query tools through the gateway and caches them for `ttl` seconds."""

    def __init__(
        self,
        tools: GatewayTools,
        reads: Mapping[str, tuple[str, str, Mapping[str, Any]]],
        *,
        ttl: float = REFERENCE_TTL,
    ) -> None:
        self.tools = tools
        self.reads = dict(reads)
        self.ttl = ttl
        self._cached: Reference | None = None
        self._lock = asyncio.Lock()

    async def get(self, decision_id: str) -> Reference:
        async with self._lock:
            cached = self._cached
            if cached is not None and time.monotonic() - cached.read_at < self.ttl:
                return cached
            queries: dict[str, Query] = {}
            async with self.tools.session(decision_id) as session:
                for name, (domain, tool, arguments) in self.reads.items():
                    queries[name] = await session.query(domain, tool, arguments)
            self._cached = Reference(queries, time.monotonic())
            return self._cached


def telemetry_evidence(perception: WeekPerception, view: StockView) -> Evidence:
    """The hour's stock telemetry an intent rests on, with the figures the coordinator checks."""
    return Evidence(
        product_id=f"telemetry.stock:{view.warehouse_id}:{view.sku_id}",
        version=f"step-{perception.step}",
        as_of=perception.at,
        summary=f"{view.warehouse_id} {view.sku_id} at the start of hour {perception.step}",
        figures={
            "on_hand": float(view.on_hand),
            "inbound": float(view.inbound),
            "demand_24h": view.demand_24h,
        },
    )


def intent_id(call: CycleCall, domain: str, *parts: str) -> str:
    """Unique per cycle (the cycle id is), readable, and a valid audit decision id."""
    return ".".join((call.cycle_id, domain, *parts))


def clamp(value: float, low: float, high: float) -> float:
    return max(low, min(high, value))


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
