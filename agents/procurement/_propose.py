"""The procurement agent's intents: purchase orders for every warehouse and SKU whose position (on
hand plus inbound) fell to its reorder point, up to the order-up-to level.

The supplier is the procurement domain's own choice (`supplier_options`: labor compliance
verified, no outage, of the warehouse's region, qualified for critical materials, best by cost,
lead time, reliability and tier-2 transparency), read from the catalog, scorecards, compliance and
outages through the gateway. An order uses its region's purchasing allowance and the warehouse's
space; it can be cut to half in quarter steps, then wait up to 12 hours. Orders stay within the
single-supplier cap. Urgency grows as the position falls below the reorder point.
"""

from __future__ import annotations

from collections.abc import Sequence

from agents._mcp import GatewayTools
from agents._proposals import ReferenceReader, clamp, intent_id, perceive, telemetry_evidence
from agents.procurement._logic import active_outages, supplier_options
from agents.procurement._wire import SupplierWeights
from mesh.negotiation import (
    CycleCall,
    Delay,
    HardLimit,
    IntentContract,
    IntentFacts,
    ResourceUse,
    ScaleQuantity,
)
from mesh.policy import ImpactFacts, SupplierFacts

MAX_UNITS_PER_ORDER = 5000
"""Stay within `domains.procurement.single_supplier_cap` rather than be denied by it."""
MIN_UNITS = 50


class ProcurementProposer:
    def __init__(self, tools: GatewayTools) -> None:
        self.reference = ReferenceReader(
            tools,
            {
                "catalog": ("procurement", "get_supplier_catalog", {"limit": 1000}),
                "scorecards": ("procurement", "get_supplier_scorecards", {}),
                "compliance": ("procurement", "get_compliance_status", {}),
                "outages": ("procurement", "list_supply_outages", {}),
            },
        )

    async def __call__(self, call: CycleCall) -> Sequence[IntentContract]:
        perception = perceive(call)
        reference = await self.reference.get(f"{call.cycle_id}.procurement.read")
        scorecards = {str(row["supplier_id"]): row for row in reference.rows("scorecards")}
        compliance = {str(row["supplier_id"]): row for row in reference.rows("compliance")}
        outages = active_outages(reference.rows("outages"), perception.at)
        catalog = reference.rows("catalog")
        intents = []
        for view in perception.stock:
            if view.position > view.reorder_point:
                continue
            quantity = min(view.order_up_to - view.position, MAX_UNITS_PER_ORDER)
            if quantity < MIN_UNITS:
                continue
            offers = [offer for offer in catalog if offer["sku_id"] == view.sku_id]
            options, _ = supplier_options(
                offers=offers,
                scorecards=scorecards,
                compliance=compliance,
                outages=outages,
                quantity=quantity,
                region=view.region,
                max_lead_time_days=None,
                weights=SupplierWeights(),
            )
            if not options:
                continue
            best = options[0]
            critical = any(bool(offer.get("critical_material")) for offer in offers)
            shortfall = (view.reorder_point - view.position) / max(view.reorder_point, 1)
            intents.append(
                IntentContract(
                    intent_id=intent_id(call, "procurement", "po", view.warehouse_id, view.sku_id),
                    agent="agent:procurement",
                    domain="procurement",
                    decision_type="purchase_order",
                    proposed_action={
                        "sku_id": view.sku_id,
                        "quantity": quantity,
                        "supplier_id": best.supplier_id,
                        "region": view.region,
                        "warehouse_id": view.warehouse_id,
                    },
                    evidence=[
                        telemetry_evidence(perception, view),
                        reference.evidence(
                            "catalog",
                            summary=f"{best.supplier_id} sells {view.sku_id} at {best.unit_price:g}",
                        ),
                        reference.evidence(
                            "compliance", summary=f"{best.supplier_id}: {best.labor_compliance}"
                        ),
                    ],
                    constraints=[
                        ResourceUse(resource=f"spend:{view.region}", amount=best.order_value),
                        ResourceUse(resource=f"capacity:{view.warehouse_id}", amount=quantity),
                        HardLimit(limit="max_delay_hours", value=12),
                    ],
                    acceptable_modifications=[
                        ScaleQuantity(field="quantity", min_fraction=0.5, step=0.25, utility_cost=1.0),
                        Delay(max_hours=12, utility_cost=1.5),
                    ],
                    facts=IntentFacts(
                        supplier=SupplierFacts(
                            supplier_id=best.supplier_id,
                            labor_compliance=best.labor_compliance,  # type: ignore[arg-type]
                            is_new=best.is_new,
                            tier2_transparency=best.tier2_transparency,
                            critical_material=critical,
                        ),
                        impact=ImpactFacts(order_value=best.order_value, units=quantity),
                    ),
                    priority=round(clamp(0.3 + shortfall, 0.3, 1.0), 3),
                    created_at=perception.at,
                )
            )
        return intents


def proposer(tools: GatewayTools) -> ProcurementProposer:
    return ProcurementProposer(tools)
