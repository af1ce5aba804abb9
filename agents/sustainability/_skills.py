"""The sustainability agent's skills: carbon budget status and headroom, and the budget check of a
proposed shipment."""

from __future__ import annotations

from agents._errors import SkillFailed
from agents._mcp import ToolSession
from agents._skills import Skill
from agents.sustainability._logic import (
    VERDICTS,
    WARNING_UTILIZATION,
    budget_row,
    headroom,
    status,
    utilization,
)
from agents.sustainability._wire import (
    BudgetInput,
    CarbonBudgetReport,
    QuotedShipment,
    ShipmentCheck,
    ShipmentCheckInput,
)


async def carbon_budget_status(session: ToolSession, request: BudgetInput) -> CarbonBudgetReport:
    query = await session.query(
        "sustainability", "get_carbon_budget_status", request.model_dump(exclude_none=True)
    )
    rows = query.rows
    if request.year is None and rows:
        latest = max(int(row["year"]) for row in rows)
        rows = [row for row in rows if int(row["year"]) == latest]
    if not rows:
        raise SkillFailed("no carbon budget matches", detail=request.model_dump(exclude_none=True))
    return CarbonBudgetReport(
        budgets=[headroom(row) for row in sorted(rows, key=lambda row: str(row["region"]))],
        warning_utilization=WARNING_UTILIZATION,
        sources=[query.source],
    )


async def check_shipment(session: ToolSession, request: ShipmentCheckInput) -> ShipmentCheck:
    quote: QuotedShipment | None = None
    sources = []
    if request.carrier_id is not None:
        arguments = request.model_dump(
            mode="json", include={"carrier_id", "lane_id", "units", "ship_at"}, exclude_none=True
        )
        quoted = (await session.call("logistics", "quote_shipment", arguments)).content
        quote = QuotedShipment.model_validate({k: quoted[k] for k in QuotedShipment.model_fields})
        region, co2e = str(quoted["origin_region"]), float(quoted["co2e_kg"])
    elif request.origin_region is not None and request.co2e_kg is not None:
        region, co2e = request.origin_region, request.co2e_kg
    else:  # the input model allows nothing else
        raise SkillFailed("give either origin_region and co2e_kg, or carrier_id, lane_id and units")
    query = await session.query("sustainability", "get_carbon_budget_status", {"region": region})
    sources.append(query.source)
    year = request.year if request.year is not None else (quote.ship_at.year if quote is not None else None)
    row = budget_row(query.rows, region, year) or budget_row(query.rows, region, None)
    if row is None:
        raise SkillFailed(f"{region} has no carbon budget")
    budget, spent = float(row["budget_kg"]), float(row["spent_kg"])
    projected = spent + co2e
    after = status(projected, budget)
    return ShipmentCheck(
        region=region,
        year=int(row["year"]),
        co2e_kg=round(co2e, 3),
        budget_kg=budget,
        spent_kg=spent,
        projected_kg=round(projected, 3),
        utilization_before=utilization(spent, budget),
        utilization_after=utilization(projected, budget),
        status_before=status(spent, budget),
        status_after=after,
        verdict=VERDICTS[after],
        headroom_after_kg=round(budget - projected, 3),
        quote=quote,
        sources=sources,
    )


CARBON_BUDGET_STATUS = Skill(
    id="carbon_budget_status",
    name="Carbon budget status",
    description=(
        "Each region's annual carbon budget: spent, remaining, utilization, status (ok, warning within "
        "10% of the budget, exceeded) and the headroom left before the warning band."
    ),
    tags=("sustainability", "carbon", "budget"),
    examples=(
        '{"skill": "carbon_budget_status", "input": {}}',
        '{"skill": "carbon_budget_status", "input": {"region": "APAC"}}',
    ),
    input_model=BudgetInput,
    output_model=CarbonBudgetReport,
    run=carbon_budget_status,
)

CHECK_SHIPMENT = Skill(
    id="check_shipment",
    name="Shipment carbon check",
    description=(
        "Whether a proposed shipment's CO2e fits its origin region's carbon budget: within budget, "
        "warning (policy warns) or exceeds budget (policy denies), with the headroom left after it. "
        "Takes the emissions, or a carrier, lane and units to have logistics quote them."
    ),
    tags=("sustainability", "carbon", "shipment", "limit-check"),
    examples=(
        '{"skill": "check_shipment", "input": {"origin_region": "APAC", "co2e_kg": 1200}}',
        '{"skill": "check_shipment", "input": {"carrier_id": "CAR-6", "lane_id": "APAC-NA", "units": 1000}}',
    ),
    input_model=ShipmentCheckInput,
    output_model=ShipmentCheck,
    run=check_shipment,
)
