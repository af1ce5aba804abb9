"""The logistics agent's skills: carrier choice under cost and carbon, and booking (an action)."""

from __future__ import annotations

from agents._errors import SkillFailed
from agents._mcp import ToolSession
from agents._skills import Skill
from agents.logistics._logic import carrier_options
from agents.logistics._wire import (
    BookingInput,
    BudgetSnapshot,
    CarrierChoiceInput,
    CarrierRecommendation,
    ShipmentBooked,
)
from agents.sustainability._logic import budget_row, status


async def recommend_carrier(session: ToolSession, request: CarrierChoiceInput) -> CarrierRecommendation:
    rates = await session.query("logistics", "get_carrier_rates", {"lane_id": request.lane_id, "limit": 200})
    carriers = sorted({str(rate["carrier_id"]) for rate in rates.rows})
    if not carriers:
        raise SkillFailed(f"no carrier serves lane {request.lane_id}")
    quotes = []
    for carrier_id in carriers:
        arguments = {"carrier_id": carrier_id, "lane_id": request.lane_id, "units": request.units}
        if request.ship_at is not None:
            arguments["ship_at"] = request.ship_at.isoformat()
        quotes.append((await session.call("logistics", "quote_shipment", arguments)).content)
    origin, destination = str(quotes[0]["origin_region"]), str(quotes[0]["dest_region"])
    budgets = await session.query("sustainability", "get_carbon_budget_status", {"region": origin})
    ship_year = int(str(quotes[0]["ship_at"])[:4])
    row = budget_row(budgets.rows, origin, ship_year) or budget_row(budgets.rows, origin, None)
    if row is None:
        raise SkillFailed(f"{origin} has no carbon budget to check shipments against")
    budget_kg, spent_kg = float(row["budget_kg"]), float(row["spent_kg"])
    budget = BudgetSnapshot(
        region=origin,
        year=int(row["year"]),
        budget_kg=budget_kg,
        spent_kg=spent_kg,
        remaining_kg=round(budget_kg - spent_kg, 3),
        status=status(spent_kg, budget_kg),
    )
    options = carrier_options(
        quotes,
        carbon_price_per_tonne=request.carbon_price_per_tonne,
        max_transit_days=request.max_transit_days,
        budget=budget,
    )
    return CarrierRecommendation(
        lane_id=request.lane_id,
        origin_region=origin,
        dest_region=destination,
        units=request.units,
        carbon_price_per_tonne=request.carbon_price_per_tonne,
        max_transit_days=request.max_transit_days,
        chosen=options[0] if options[0].feasible else None,
        options=options,
        carbon_budget=budget,
        sources=[rates.source, budgets.source],
    )


async def book_shipment(session: ToolSession, request: BookingInput) -> ShipmentBooked:
    recommendation = await recommend_carrier(session, request)
    carrier_id = request.carrier_id or (recommendation.chosen.carrier_id if recommendation.chosen else None)
    if carrier_id is None:
        raise SkillFailed(
            f"no feasible carrier on lane {request.lane_id} for {request.units:,} units; nothing was booked",
            detail={"recommendation": recommendation.model_dump(mode="json")},
        )
    arguments = {
        "carrier_id": carrier_id,
        "lane_id": request.lane_id,
        "sku_id": request.sku_id,
        "units": request.units,
    }
    if request.ship_at is not None:
        arguments["ship_at"] = request.ship_at.isoformat()
    booked = await session.call("logistics", "book_shipment", arguments)
    fields = {name: booked.content[name] for name in ShipmentBooked.model_fields if name in booked.content}
    return ShipmentBooked.model_validate(
        fields
        | {
            "chosen_by": "caller" if request.carrier_id else "agent",
            "recommendation": recommendation,
            "policy": booked.policy,
        }
    )


RECOMMEND_CARRIER = Skill(
    id="recommend_carrier",
    name="Carrier choice",
    description=(
        "Quote every carrier on a lane and choose the one of least cost + carbon price x CO2e among "
        "those within the transit limit whose emissions fit the origin region's carbon budget; every "
        "option is listed with its figures and, when excluded, why."
    ),
    tags=("logistics", "routing", "carrier", "carbon"),
    examples=(
        '{"skill": "recommend_carrier", "input": {"lane_id": "APAC-NA", "units": 1000}}',
        '{"skill": "recommend_carrier", "input": {"lane_id": "EU-EU", "units": 500, "max_transit_days": 2.5, '
        '"carbon_price_per_tonne": 150}}',
    ),
    input_model=CarrierChoiceInput,
    output_model=CarrierRecommendation,
    run=recommend_carrier,
)

BOOK_SHIPMENT = Skill(
    id="book_shipment",
    name="Book a shipment",
    description=(
        "Choose a carrier as recommend_carrier does (or take the caller's) and book the shipment with "
        "logistics' book_shipment action, which policy governs: a warning is reported with the booking, "
        "an escalation leaves the task input-required, a denial fails it."
    ),
    tags=("logistics", "booking", "carbon", "action"),
    examples=('{"skill": "book_shipment", "input": {"lane_id": "EU-NA", "units": 800, "sku_id": "SKU-07"}}',),
    input_model=BookingInput,
    output_model=ShipmentBooked,
    run=book_shipment,
    acts=True,
)
