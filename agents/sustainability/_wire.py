"""The sustainability agent's skill inputs and outputs."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field, model_validator

from agents._ids import CarrierId, LaneId, Region, ShipmentUnits
from agents._wire import ProductSource, Record, SkillInput, SkillOutput

Year = Annotated[int, Field(ge=2000, le=2100)]
BudgetStatus = Literal["ok", "warning", "exceeded"]
Verdict = Literal["within_budget", "warning", "exceeds_budget"]


class BudgetInput(SkillInput):
    region: Region | None = Field(default=None, description="one region; default: every region")
    year: Year | None = Field(default=None, description="default: the latest year with a budget")


class BudgetHeadroom(Record):
    region: str
    year: int
    budget_kg: float
    spent_kg: float
    remaining_kg: float = Field(description="budget - spent; negative once exceeded")
    utilization: float
    status: BudgetStatus
    headroom_to_warning_kg: float = Field(description="kg that may still be emitted before the warning band")
    as_of: datetime


class CarbonBudgetReport(SkillOutput):
    budgets: list[BudgetHeadroom]
    warning_utilization: float = Field(description="the share of the budget where the warning band starts")
    sources: list[ProductSource]

    def summary(self) -> str:
        return "; ".join(
            f"{b.region} {b.year} {b.status}: {b.utilization:.1%} used, {b.remaining_kg:,.0f} kg left"
            for b in self.budgets
        )


class ShipmentCheckInput(SkillInput):
    """Either a shipment's emissions (`origin_region`, `co2e_kg`), or the shipment itself
    (`carrier_id`, `lane_id`, `units`, optional `ship_at`) for the agent to have it quoted."""

    origin_region: Region | None = None
    co2e_kg: float | None = Field(default=None, ge=0)
    carrier_id: CarrierId | None = None
    lane_id: LaneId | None = None
    units: ShipmentUnits | None = None
    ship_at: datetime | None = None
    year: Year | None = None

    @model_validator(mode="after")
    def _one_way(self) -> ShipmentCheckInput:
        emissions_fields = (self.origin_region, self.co2e_kg)
        shipment_fields = (self.carrier_id, self.lane_id, self.units)
        emissions = all(value is not None for value in emissions_fields)
        shipment = all(value is not None for value in shipment_fields)
        mixed = any(v is not None for v in emissions_fields) and any(v is not None for v in shipment_fields)
        if emissions == shipment or mixed:
            raise ValueError(
                "give either origin_region and co2e_kg, or carrier_id, lane_id and units "
                "(and optionally ship_at)"
            )
        return self


class QuotedShipment(Record):
    carrier_id: str
    lane_id: str
    mode: str
    units: int
    cost: float
    co2e_kg: float
    ship_at: datetime


class ShipmentCheck(SkillOutput):
    region: str
    year: int
    co2e_kg: float
    budget_kg: float
    spent_kg: float
    projected_kg: float = Field(description="spent + this shipment")
    utilization_before: float
    utilization_after: float
    status_before: BudgetStatus
    status_after: BudgetStatus
    verdict: Verdict = Field(
        description=(
            "within_budget, warning (within 10% of the budget: policy warns) or exceeds_budget "
            "(policy denies)"
        )
    )
    headroom_after_kg: float = Field(description="budget - projected")
    quote: QuotedShipment | None = None
    sources: list[ProductSource]

    def summary(self) -> str:
        return (
            f"{self.co2e_kg:,.1f} kg CO2e charged to {self.region}: {self.verdict.replace('_', ' ')} "
            f"({self.utilization_before:.1%} -> {self.utilization_after:.1%} of the {self.year} budget, "
            f"{self.headroom_after_kg:,.0f} kg left after)"
        )
