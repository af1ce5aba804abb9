"""What agents perceive each hour of a simulated week: the `CycleCall.perception` the coordinator
sends, format `week/1`. It is the physical world's telemetry (stock on hand, what is on its way,
demand just served, emissions so far); reference data (carrier rates, supplier catalogs,
budgets) the agents read from their data products through the gateway."""

from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

PERCEPTION_FORMAT: Literal["week/1"] = "week/1"


class _Wire(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class StockView(_Wire):
    """One warehouse's position in one SKU at the start of the hour."""

    warehouse_id: str
    region: str
    sku_id: str
    on_hand: int = Field(ge=0)
    inbound: int = Field(ge=0, description="units ordered or shipped here, not yet arrived")
    inbound_24h: int = Field(ge=0, description="of those, the units arriving within 24 hours")
    inbound_72h: int = Field(ge=0, description="of those, the units arriving within 72 hours")
    inbound_moves: int = Field(ge=0, description="of all inbound, the units moved from other warehouses")
    demand_24h: float = Field(ge=0, description="units demanded here over the last 24 hours")
    reorder_point: int = Field(ge=0)
    order_up_to: int = Field(ge=0)
    free_capacity: int = Field(description="the warehouse's space left after what is on hand and inbound")

    @property
    def position(self) -> int:
        return self.on_hand + self.inbound

    @property
    def hourly_demand(self) -> float:
        return self.demand_24h / 24


class CarbonView(_Wire):
    """A region's carbon account: the annual budget, what was emitted so far this year, and the
    transport allowance this hour (the week's pacing line less what transport already used)."""

    region: str
    budget_kg: float = Field(ge=0)
    spent_kg: float = Field(ge=0)
    transport_allowance_kg: float


class SpendView(_Wire):
    """A region's purchasing allowance this hour (the week's pacing line less what was ordered)."""

    region: str
    allowance: float


class WeekPerception(_Wire):
    """The state of the world at the start of hour `step` of `hours`."""

    perception_format: Literal["week/1"] = PERCEPTION_FORMAT
    step: int = Field(ge=0)
    hours: int = Field(ge=1)
    at: AwareDatetime
    stock: list[StockView]
    carbon: list[CarbonView]
    spend: list[SpendView]

    def carbon_of(self, region: str) -> CarbonView | None:
        return next((view for view in self.carbon if view.region == region), None)
