"""The procurement agent's skills: supplier choice, and placing purchase orders (an action)."""

from __future__ import annotations

from agents._errors import SkillFailed
from agents._mcp import ToolSession
from agents._skills import Skill
from agents.procurement._logic import active_outages, supplier_options
from agents.procurement._wire import (
    PurchaseOrderInput,
    PurchaseOrderPlaced,
    SupplierChoiceInput,
    SupplierRecommendation,
)


async def recommend_supplier(session: ToolSession, request: SupplierChoiceInput) -> SupplierRecommendation:
    catalog = await session.query(
        "procurement", "get_supplier_catalog", {"sku_id": request.sku_id, "limit": 500}
    )
    if not catalog.rows:
        raise SkillFailed(f"no supplier in the catalog sells {request.sku_id}")
    scorecards = await session.query("procurement", "get_supplier_scorecards", {"limit": 100})
    compliance = await session.query("procurement", "get_compliance_status", {})
    outages = await session.query("procurement", "list_supply_outages", {})
    options, excluded = supplier_options(
        offers=catalog.rows,
        scorecards={str(row["supplier_id"]): row for row in scorecards.rows},
        compliance={str(row["supplier_id"]): row for row in compliance.rows},
        outages=active_outages(outages.rows, outages.as_of),
        quantity=request.quantity,
        region=request.region,
        max_lead_time_days=request.max_lead_time_days,
        weights=request.weights,
    )
    return SupplierRecommendation(
        sku_id=request.sku_id,
        quantity=request.quantity,
        critical_material=any(bool(row.get("critical_material")) for row in catalog.rows),
        weights=request.weights,
        chosen=options[0] if options else None,
        options=options,
        excluded=excluded,
        sources=[catalog.source, scorecards.source, compliance.source, outages.source],
    )


async def place_purchase_order(session: ToolSession, request: PurchaseOrderInput) -> PurchaseOrderPlaced:
    recommendation = await recommend_supplier(session, request)
    supplier_id = request.supplier_id or (
        recommendation.chosen.supplier_id if recommendation.chosen else None
    )
    if supplier_id is None:
        raise SkillFailed(
            f"no eligible supplier for {request.quantity:,} x {request.sku_id}; nothing was ordered",
            detail={"recommendation": recommendation.model_dump(mode="json")},
        )
    arguments = {"supplier_id": supplier_id, "sku_id": request.sku_id, "quantity": request.quantity}
    placed = await session.call("procurement", "place_purchase_order", arguments)
    fields = {
        name: placed.content[name] for name in PurchaseOrderPlaced.model_fields if name in placed.content
    }
    return PurchaseOrderPlaced.model_validate(
        fields
        | {
            "chosen_by": "caller" if request.supplier_id else "agent",
            "recommendation": recommendation,
            "policy": placed.policy,
        }
    )


RECOMMEND_SUPPLIER = Skill(
    id="recommend_supplier",
    name="Supplier choice",
    description=(
        "Choose a supplier for an order of a SKU: suppliers without verified labor compliance, in a "
        "supply outage, outside the region or over the lead-time limit are excluded (with reasons); "
        "the rest are scored on unit price, lead time, on-time rate and tier-2 transparency."
    ),
    tags=("procurement", "supplier", "labor-compliance", "lead-time", "cost"),
    examples=(
        '{"skill": "recommend_supplier", "input": {"sku_id": "SKU-07", "quantity": 500}}',
        '{"skill": "recommend_supplier", "input": {"sku_id": "SKU-02", "quantity": 1000, "region": "NA", '
        '"weights": {"cost": 0.7, "lead_time": 0.3, "reliability": 0, "transparency": 0}}}',
    ),
    input_model=SupplierChoiceInput,
    output_model=SupplierRecommendation,
    run=recommend_supplier,
)

PLACE_PURCHASE_ORDER = Skill(
    id="place_purchase_order",
    name="Place a purchase order",
    description=(
        "Choose a supplier as recommend_supplier does (or take the caller's) and place the order with "
        "procurement's place_purchase_order action, which policy governs: labor compliance, tier-2 "
        "transparency for critical materials and order size may deny it or hold it for an operator "
        "(the task is then input-required until a retry after approval)."
    ),
    tags=("procurement", "purchase-order", "action"),
    examples=(
        '{"skill": "place_purchase_order", "input": {"sku_id": "SKU-07", "quantity": 300, "region": "EU"}}',
    ),
    input_model=PurchaseOrderInput,
    output_model=PurchaseOrderPlaced,
    run=place_purchase_order,
    acts=True,
)
