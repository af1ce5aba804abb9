"""The inventory agent's intents: transfers between a region's two warehouses when one of them is
about to run short of a SKU and the other holds more than it needs.

A warehouse is short when what it has and receives within 24 hours covers less than
`SHORT_HOURS` of its recent demand; its sister can give what it holds beyond `KEEP_HOURS` of its
own demand. The transfer brings the short one up to `TARGET_HOURS`. Each transfer uses the
destination's space and its region's transport carbon allowance (road, the lane's cleanest
road rate); it can be scaled down to half, then delayed up to 6 hours. Urgency (priority) grows
as cover falls.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from datetime import timedelta

from agents._mcp import GatewayTools
from agents._proposals import (
    ReferenceReader,
    clamp,
    intent_id,
    iso,
    perceive,
    telemetry_evidence,
)
from mesh.negotiation import (
    CycleCall,
    Delay,
    HardLimit,
    IntentContract,
    IntentFacts,
    ResourceUse,
    ScaleQuantity,
)
from mesh.policy import ImpactFacts
from mesh.simulation import StockView

SHORT_HOURS = 48.0
KEEP_HOURS = 120.0
TARGET_HOURS = 72.0
MIN_UNITS = 20
TRANSFER_HOURS = 12


class InventoryProposer:
    def __init__(self, tools: GatewayTools) -> None:
        self.reference = ReferenceReader(
            tools,
            {
                "policies": ("inventory", "get_reorder_policies", {"limit": 1000}),
                "road": ("logistics", "get_carrier_rates", {"mode": "road"}),
            },
        )

    async def __call__(self, call: CycleCall) -> Sequence[IntentContract]:
        perception = perceive(call)
        reference = await self.reference.get(f"{call.cycle_id}.inventory.read")
        road: dict[str, float] = {}
        for row in reference.rows("road"):
            lane = str(row["lane_id"])
            road[lane] = min(road.get(lane, math.inf), float(row["co2e_kg_per_unit"]))
        by_sku: dict[tuple[str, str], list[StockView]] = defaultdict(list)
        for view in perception.stock:
            by_sku[(view.region, view.sku_id)].append(view)
        intents = []
        for (region, sku), views in sorted(by_sku.items()):
            for short in views:
                rate = short.hourly_demand
                if rate <= 0:
                    continue
                cover = (short.on_hand + short.inbound_24h) / rate
                if cover >= SHORT_HOURS:
                    continue
                donors = [v for v in views if v.warehouse_id != short.warehouse_id]
                for donor in donors:
                    spare = donor.on_hand - math.ceil(KEEP_HOURS * donor.hourly_demand)
                    need = math.ceil(TARGET_HOURS * rate) - short.on_hand - short.inbound_24h
                    units = min(spare, need)
                    if units < MIN_UNITS:
                        continue
                    co2e = road.get(f"{region}-{region}", 0.0)
                    intents.append(
                        IntentContract(
                            intent_id=intent_id(
                                call, "inventory", "transfer", donor.warehouse_id, short.warehouse_id, sku
                            ),
                            agent="agent:inventory",
                            domain="inventory",
                            decision_type="transfer",
                            proposed_action={
                                "from_warehouse_id": donor.warehouse_id,
                                "to_warehouse_id": short.warehouse_id,
                                "sku_id": sku,
                                "units": units,
                                "due_at": iso(perception.at + timedelta(hours=TRANSFER_HOURS)),
                            },
                            evidence=[
                                telemetry_evidence(perception, short),
                                telemetry_evidence(perception, donor),
                                reference.evidence("policies", summary=f"reorder policies of {sku}"),
                            ],
                            constraints=[
                                ResourceUse(resource=f"capacity:{short.warehouse_id}", amount=units),
                                ResourceUse(resource=f"carbon:{region}", amount=round(units * co2e, 3)),
                                HardLimit(limit="max_delay_hours", value=6),
                            ],
                            acceptable_modifications=[
                                ScaleQuantity(field="units", min_fraction=0.5, step=0.25, utility_cost=1.0),
                                Delay(max_hours=6, utility_cost=2.0),
                            ],
                            facts=IntentFacts(impact=ImpactFacts(units=units, affected_regions=[region])),
                            priority=round(clamp(1 - cover / SHORT_HOURS, 0.2, 1.0), 3),
                            created_at=perception.at,
                        )
                    )
                    break
        return intents


def proposer(tools: GatewayTools) -> InventoryProposer:
    return InventoryProposer(tools)
