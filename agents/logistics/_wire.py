"""The logistics agent's skill inputs and outputs."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from agents._ids import CarrierId, LaneId, ShipmentUnits, SkuId
from agents._wire import PolicyNote, ProductSource, Record, SkillInput, SkillOutput
from agents.sustainability._wire import BudgetStatus

DEFAULT_CARBON_PRICE = 100.0
"""Price of a tonne of CO2e in the carriers' rate currency, added to each quote's cost."""


class CarrierChoiceInput(SkillInput):
    lane_id: LaneId
    units: ShipmentUnits
    ship_at: datetime | None = Field(default=None, description="departure; default: now (the domain's clock)")
    carbon_price_per_tonne: float = Field(
        default=DEFAULT_CARBON_PRICE, ge=0, le=10_000, description="added to cost per tonne of CO2e"
    )
    max_transit_days: float | None = Field(default=None, gt=0, description="leave out slower carriers")


class BookingInput(CarrierChoiceInput):
    sku_id: SkuId
    carrier_id: CarrierId | None = Field(
        default=None, description="book this carrier instead of the agent's choice; policy decides as always"
    )


class CarrierOption(Record):
    carrier_id: str
    carrier_name: str
    mode: str
    cost: float
    co2e_kg: float
    carbon_cost: float = Field(description="co2e_kg / 1000 x carbon_price_per_tonne")
    weighted_cost: float = Field(description="cost + carbon_cost: what the choice minimises")
    transit_days: float
    eta: datetime
    feasible: bool
    excluded_because: list[str] = Field(default_factory=list)
    budget_status_after: BudgetStatus = Field(description="the origin region's carbon budget status after it")


class BudgetSnapshot(Record):
    region: str
    year: int
    budget_kg: float
    spent_kg: float
    remaining_kg: float
    status: BudgetStatus


class CarrierRecommendation(SkillOutput):
    lane_id: str
    origin_region: str
    dest_region: str
    units: int
    carbon_price_per_tonne: float
    max_transit_days: float | None
    chosen: CarrierOption | None = Field(
        description="the feasible option of least weighted cost; none if none is"
    )
    options: list[CarrierOption] = Field(description="feasible ones by weighted cost, then the excluded ones")
    carbon_budget: BudgetSnapshot
    sources: list[ProductSource]

    def summary(self) -> str:
        excluded = [o for o in self.options if not o.feasible]
        why = "; ".join(f"{o.carrier_id}: {', '.join(o.excluded_because)}" for o in excluded)
        tail = f"; excluded {why}" if excluded else ""
        if self.chosen is None:
            return f"lane {self.lane_id}, {self.units:,} units: no feasible carrier{tail}"
        c = self.chosen
        return (
            f"lane {self.lane_id}, {self.units:,} units: {c.carrier_id} {c.carrier_name} ({c.mode}), "
            f"cost {c.cost:,.2f} + CO2e {c.carbon_cost:,.2f} ({c.co2e_kg:,.1f} kg) = {c.weighted_cost:,.2f}, "
            f"{c.transit_days:g} days{tail}"
        )


class ShipmentBooked(SkillOutput):
    shipment_id: str
    carrier_id: str
    carrier_name: str
    mode: str
    lane_id: str
    sku_id: str
    units: int
    cost: float
    co2e_kg: float
    ship_at: datetime
    eta: datetime
    status: str
    chosen_by: Literal["agent", "caller"]
    recommendation: CarrierRecommendation
    policy: PolicyNote | None = Field(default=None, description="the gateway's note when it warned")

    def summary(self) -> str:
        text = (
            f"booked {self.shipment_id}: {self.units:,} units of {self.sku_id} with {self.carrier_id} "
            f"{self.carrier_name} ({self.mode}) on {self.lane_id}, cost {self.cost:,.2f}, "
            f"{self.co2e_kg:,.1f} kg CO2e, ETA {self.eta:%Y-%m-%d}"
        )
        if self.policy is not None:
            text += f"; policy {self.policy.decision}: {'; '.join(self.policy.reasons)}"
        return text
