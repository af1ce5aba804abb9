"""The inventory agent's skills: a reorder recommendation, and stock transfers (an action)."""

from __future__ import annotations

from agents._errors import SkillFailed
from agents._mcp import ToolSession
from agents._skills import Skill
from agents.inventory._logic import demand_share, inventory_position, reorder_levels
from agents.inventory._wire import (
    PolicyLevels,
    ReorderInput,
    ReorderRecommendation,
    TransferInput,
    TransferResult,
)

QUERY_LIMIT = 5000


async def recommend_reorder(session: ToolSession, request: ReorderInput) -> ReorderRecommendation:
    sku, warehouse = request.sku_id, request.warehouse_id
    warehouses = await session.query("inventory", "list_warehouses", {})
    regions = {str(row["warehouse_id"]): str(row["region"]) for row in warehouses.rows}
    if warehouse not in regions:
        raise SkillFailed(f"unknown warehouse {warehouse}; known: {', '.join(sorted(regions))}")
    region = regions[warehouse]
    stock = await session.query(
        "inventory", "get_stock_positions", {"warehouse_id": warehouse, "sku_id": sku}
    )
    policies = await session.query("inventory", "get_reorder_policies", {"sku_id": sku, "limit": QUERY_LIMIT})
    orders = await session.query(
        "inventory", "query_open_orders", {"warehouse_id": warehouse, "sku_id": sku, "limit": QUERY_LIMIT}
    )
    own = [p for p in policies.rows if p["warehouse_id"] == warehouse]
    if not stock.rows or not own:
        raise SkillFailed(f"{warehouse} does not stock {sku}")
    policy = own[0]
    forecast = await session.query(
        "demand", "get_forecast", {"sku_id": sku, "region": region, "limit": QUERY_LIMIT}
    )
    days = sorted(forecast.rows, key=lambda row: str(row["date"]))
    if not days:
        raise SkillFailed(f"the demand domain publishes no forecast for {sku} in {region}")
    service_level = request.service_level or float(policy["service_level"])
    lead_time = float(policy["lead_time_days"])
    levels = reorder_levels(
        share=demand_share(
            warehouse, [p for p in policies.rows if regions.get(str(p["warehouse_id"])) == region]
        ),
        forecast_units=[float(day["units"]) for day in days],
        first_day_upper=float(days[0]["upper"]),
        lead_time_days=lead_time,
        review_period_days=request.review_period_days,
        service_level=service_level,
    )
    position = inventory_position(stock.rows[0], orders.rows)
    reorder = position.position <= levels.reorder_point
    available = position.on_hand - position.allocated
    return ReorderRecommendation(
        sku_id=sku,
        warehouse_id=warehouse,
        region=region,
        as_of=stock.as_of,
        service_level=service_level,
        z=round(levels.z, 4),
        lead_time_days=lead_time,
        review_period_days=request.review_period_days,
        demand_share=round(levels.share, 4),
        daily_demand=round(levels.daily_demand, 3),
        daily_sigma=round(levels.daily_sigma, 3),
        lead_time_demand=round(levels.lead_time_demand, 3),
        review_period_demand=round(levels.review_period_demand, 3),
        safety_stock=levels.safety_stock,
        reorder_point=levels.reorder_point,
        order_up_to=levels.order_up_to,
        position=position,
        reorder=reorder,
        order_quantity=max(levels.order_up_to - position.position, 0) if reorder else 0,
        days_of_cover=round(available / levels.daily_demand, 2) if levels.daily_demand > 0 else None,
        published_policy=PolicyLevels(
            service_level=float(policy["service_level"]),
            safety_stock=int(policy["safety_stock"]),
            reorder_point=int(policy["reorder_point"]),
            order_up_to=int(policy["order_up_to"]),
            lead_time_days=lead_time,
        ),
        sources=[warehouses.source, stock.source, policies.source, orders.source, forecast.source],
    )


async def transfer_stock(session: ToolSession, request: TransferInput) -> TransferResult:
    result = await session.call(
        "inventory", "transfer_stock", request.model_dump(mode="json", exclude_none=True)
    )
    fields = {name: result.content[name] for name in TransferResult.model_fields if name in result.content}
    return TransferResult.model_validate(fields | {"policy": result.policy})


RECOMMEND_REORDER = Skill(
    id="recommend_reorder",
    name="Reorder recommendation",
    description=(
        "Reorder point and order-up-to level for one SKU at one warehouse under a service level "
        "(periodic review), from the demand forecast, the stock position, open orders and the "
        "warehouse's reorder policy; says whether to reorder now and how many units."
    ),
    tags=("inventory", "reorder", "safety-stock", "service-level"),
    examples=(
        '{"skill": "recommend_reorder", "input": {"sku_id": "SKU-07", "warehouse_id": "WH-EU-1"}}',
        '{"skill": "recommend_reorder", "input": {"sku_id": "SKU-01", "warehouse_id": "WH-NA-2", '
        '"service_level": 0.99}}',
    ),
    input_model=ReorderInput,
    output_model=ReorderRecommendation,
    run=recommend_reorder,
)

TRANSFER_STOCK = Skill(
    id="transfer_stock",
    name="Transfer stock",
    description=(
        "Move available units of a SKU between two warehouses (the inventory domain's transfer_stock "
        "action, governed by policy). Across regions the transfer needs a shipment booked with logistics."
    ),
    tags=("inventory", "transfer", "action"),
    examples=(
        '{"skill": "transfer_stock", "input": {"from_warehouse_id": "WH-EU-1", "to_warehouse_id": "WH-EU-2", '
        '"sku_id": "SKU-07", "units": 200}}',
    ),
    input_model=TransferInput,
    output_model=TransferResult,
    run=transfer_stock,
    acts=True,
)
