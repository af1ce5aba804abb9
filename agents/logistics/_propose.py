"""The logistics agent's intents: shipments between regions when one region is about to run out of
a SKU that another holds plenty of.

A region is short of a SKU when its warehouses' stock, what arrives within three days and what is
already being moved there from other warehouses cover less than `SHORT_HOURS` of recent demand; a
region can give what its best-stocked warehouse holds beyond `KEEP_HOURS` of its own demand. The
shipment (up to a day of the air carrier's capacity on the lane) goes by air when the shortage is
acute (under `AIR_HOURS` of cover), else by the cheapest carrier; but by the cleanest when the
sustainability agent, asked over A2A on NATS, says the origin's carbon budget is in its warning
band or exceeded. It uses the origin region's
transport carbon allowance and the destination's space, and concedes by switching to cleaner modes
(rail, ocean: slower, a fraction of air's CO2e), then shipping less, then waiting. Carbon and
impact facts are what the gateway's fact finders would find, so policy judges the intent as it
will judge the booking.
"""

from __future__ import annotations

import logging
import math
import time
from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

from agents._mcp import GatewayTools
from agents._peers import PeerError, Peers
from agents._proposals import REFERENCE_TTL, ReferenceReader, clamp, intent_id, perceive, telemetry_evidence
from mesh.negotiation import (
    CycleCall,
    Delay,
    Evidence,
    IntentContract,
    IntentFacts,
    ModeOption,
    ResourceUse,
    ScaleQuantity,
    SwitchMode,
)
from mesh.policy import CarbonFacts, ImpactFacts
from mesh.simulation import StockView

logger = logging.getLogger("agents")

SHORT_HOURS = 72.0
AIR_HOURS = 48.0
KEEP_HOURS = 120.0
TARGET_HOURS = 96.0
MIN_UNITS = 50
MODE_ORDER = ("air", "rail", "road", "ocean")


class LogisticsProposer:
    def __init__(self, tools: GatewayTools) -> None:
        self.reference = ReferenceReader(
            tools, {"rates": ("logistics", "get_carrier_rates", {"limit": 1000})}
        )
        self.peers: Peers | None = None
        self._budgets: dict[str, tuple[float, Mapping[str, Any]]] = {}

    def attach_peers(self, peers: Peers) -> None:
        self.peers = peers

    async def budget(self, region: str, decision_id: str) -> Mapping[str, Any] | None:
        """The sustainability agent's view of `region`'s carbon budget (asked at most every
        `REFERENCE_TTL` seconds); None when it cannot be asked."""
        cached = self._budgets.get(region)
        if cached is not None and time.monotonic() - cached[0] < REFERENCE_TTL:
            return cached[1]
        if self.peers is None:
            return None
        try:
            report = await self.peers.ask(
                "sustainability", "carbon_budget_status", {"region": region}, decision_id=decision_id
            )
        except PeerError as error:
            logger.warning("proposing without the sustainability agent's budget for %s: %s", region, error)
            return None
        budgets = [b for b in report.get("budgets", []) if isinstance(b, dict) and b.get("region") == region]
        if not budgets:
            return None
        sources = [s for s in report.get("sources", []) if isinstance(s, dict)]
        found = {**budgets[0], "source": sources[0] if sources else None}
        self._budgets[region] = (time.monotonic(), found)
        return found

    async def __call__(self, call: CycleCall) -> Sequence[IntentContract]:
        perception = perceive(call)
        reference = await self.reference.get(f"{call.cycle_id}.logistics.read")
        cheapest: dict[tuple[str, str], dict[str, Any]] = {}
        for row in reference.rows("rates"):
            key = (str(row["lane_id"]), str(row["mode"]))
            if key not in cheapest or float(row["cost_per_unit"]) < float(cheapest[key]["cost_per_unit"]):
                cheapest[key] = row
        stock: dict[str, dict[str, list[StockView]]] = defaultdict(lambda: defaultdict(list))
        for view in perception.stock:
            stock[view.sku_id][view.region].append(view)
        intents = []
        for sku, regions in sorted(stock.items()):
            cover = {region: _cover(views) for region, views in regions.items()}
            for region, views in sorted(regions.items()):
                if cover[region] >= SHORT_HOURS:
                    continue
                donors = sorted(
                    (r for r in regions if r != region and cover[r] >= KEEP_HOURS), key=lambda r: -cover[r]
                )
                if not donors:
                    continue
                origin = donors[0]
                donor = max(regions[origin], key=lambda v: v.on_hand - KEEP_HOURS * v.hourly_demand)
                target = min(views, key=lambda v: (_held(v)) / max(v.hourly_demand, 1e-9))
                lane = f"{origin}-{region}"
                modes = {mode: cheapest[(lane, mode)] for mode in MODE_ORDER if (lane, mode) in cheapest}
                if not modes:
                    continue
                rate = sum(v.hourly_demand for v in views)
                spare = donor.on_hand - math.ceil(KEEP_HOURS * donor.hourly_demand)
                need = math.ceil(TARGET_HOURS * rate) - sum(_held(v) for v in views)
                air_day = int(modes["air"]["capacity_units_per_day"]) if "air" in modes else need
                units = min(spare, need, air_day)
                if units < MIN_UNITS:
                    continue
                acute = cover[region] < AIR_HOURS
                budget = await self.budget(origin, f"{call.cycle_id}.logistics.budget")
                if budget is not None and budget.get("status") in ("warning", "exceeded"):
                    mode = min(modes, key=lambda m: float(modes[m]["co2e_kg_per_unit"]))
                elif acute and "air" in modes:
                    mode = "air"
                else:
                    mode = min(modes, key=lambda m: float(modes[m]["cost_per_unit"]))
                chosen = modes[mode]
                carbon = perception.carbon_of(origin)
                co2e = round(units * float(chosen["co2e_kg_per_unit"]), 3)
                cost = round(units * float(chosen["cost_per_unit"]), 2)
                others = sorted(
                    (m for m in modes if m != mode), key=lambda m: float(modes[m]["co2e_kg_per_unit"])
                )
                intents.append(
                    IntentContract(
                        intent_id=intent_id(call, "logistics", "ship", lane, sku),
                        agent="agent:logistics",
                        domain="logistics",
                        decision_type="shipment",
                        proposed_action={
                            "lane_id": lane,
                            "sku_id": sku,
                            "units": units,
                            "mode": mode,
                            "carriers": {m: str(modes[m]["carrier_id"]) for m in modes},
                            "from_warehouse_id": donor.warehouse_id,
                            "to_warehouse_id": target.warehouse_id,
                        },
                        evidence=[
                            telemetry_evidence(perception, donor),
                            telemetry_evidence(perception, target),
                            reference.evidence("rates", summary=f"{lane} rates by mode"),
                            *_budget_evidence(origin, budget),
                        ],
                        constraints=[
                            ResourceUse(resource=f"carbon:{origin}", amount=co2e),
                            ResourceUse(resource=f"capacity:{target.warehouse_id}", amount=units),
                        ],
                        acceptable_modifications=[
                            SwitchMode(
                                field="mode",
                                options=[
                                    ModeOption(
                                        mode=other,
                                        uses=[
                                            ResourceUse(
                                                resource=f"carbon:{origin}",
                                                amount=round(
                                                    units * float(modes[other]["co2e_kg_per_unit"]), 3
                                                ),
                                            ),
                                            ResourceUse(
                                                resource=f"capacity:{target.warehouse_id}", amount=units
                                            ),
                                        ],
                                        utility_cost=2.0 if acute else 0.5,
                                        carbon_kg=round(units * float(modes[other]["co2e_kg_per_unit"]), 3),
                                    )
                                    for other in others
                                ],
                            ),
                            ScaleQuantity(field="units", min_fraction=0.5, step=0.25, utility_cost=1.0),
                            Delay(max_hours=6, utility_cost=1.0),
                        ],
                        facts=IntentFacts(
                            carbon=CarbonFacts(
                                region=origin,
                                budget_kg=carbon.budget_kg,
                                spent_kg=carbon.spent_kg,
                                projected_kg=co2e,
                            )
                            if carbon is not None
                            else None,
                            impact=ImpactFacts(order_value=cost, units=units),
                        ),
                        priority=round(clamp(1 - cover[region] / SHORT_HOURS, 0.3, 1.0), 3),
                        created_at=perception.at,
                    )
                )
        return intents


def _budget_evidence(region: str, budget: Mapping[str, Any] | None) -> list[Evidence]:
    """The sustainability agent's answer, cited by the product it read (when it named it)."""
    source = budget.get("source") if budget is not None else None
    if budget is None or not isinstance(source, dict):
        return []
    return [
        Evidence(
            product_id=str(source["product_id"]),
            version=str(source["version"]),
            as_of=source["as_of"],
            summary=f"sustainability agent: {region} carbon budget {budget.get('status')}",
        )
    ]


def _held(view: StockView) -> int:
    """Stock a warehouse can count on: on hand, arriving within three days, or being moved there."""
    return view.on_hand + max(view.inbound_72h, view.inbound_moves)


def _cover(views: Sequence[StockView]) -> float:
    rate = sum(view.hourly_demand for view in views)
    held = sum(_held(view) for view in views)
    return held / rate if rate > 0 else math.inf


def proposer(tools: GatewayTools) -> LogisticsProposer:
    return LogisticsProposer(tools)
