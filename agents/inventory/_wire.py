"""The inventory agent's skill inputs and outputs."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field, model_validator

from agents._ids import SkuId, TransferUnits, WarehouseId
from agents._wire import PolicyNote, ProductSource, Record, SkillInput, SkillOutput


class ReorderInput(SkillInput):
    sku_id: SkuId
    warehouse_id: WarehouseId
    service_level: float | None = Field(
        default=None,
        gt=0.5,
        lt=1.0,
        description="cycle service level; default: the warehouse's reorder policy",
    )
    review_period_days: float = Field(default=7.0, gt=0, le=28, description="days between order reviews")


class InventoryPosition(Record):
    on_hand: int
    allocated: int
    in_transit: int = Field(description="units on their way (shipped supplier orders and transfers)")
    on_order: int = Field(description="supplier orders placed but not yet shipped (open or delayed)")
    position: int = Field(description="on_hand - allocated + in_transit + on_order")


class PolicyLevels(Record):
    """The warehouse's reorder policy as the inventory domain publishes it (from base rates)."""

    service_level: float
    safety_stock: int
    reorder_point: int
    order_up_to: int
    lead_time_days: float


class ReorderRecommendation(SkillOutput):
    sku_id: str
    warehouse_id: str
    region: str
    as_of: datetime
    service_level: float
    z: float = Field(description="standard normal quantile of the service level")
    lead_time_days: float
    review_period_days: float
    demand_share: float = Field(description="this warehouse's share of its region's demand for the SKU")
    daily_demand: float = Field(description="mean forecast daily demand at this warehouse")
    daily_sigma: float = Field(description="standard deviation of one day's demand at this warehouse")
    lead_time_demand: float = Field(description="forecast demand at this warehouse over the lead time")
    review_period_demand: float = Field(
        description="forecast demand over the review period after the lead time"
    )
    safety_stock: int
    reorder_point: int
    order_up_to: int
    position: InventoryPosition
    reorder: bool
    order_quantity: int
    days_of_cover: float | None = Field(description="available units / daily demand")
    published_policy: PolicyLevels
    sources: list[ProductSource]

    def summary(self) -> str:
        where = f"{self.sku_id} at {self.warehouse_id}"
        levels = (
            f"reorder point {self.reorder_point:,}, order-up-to {self.order_up_to:,} "
            f"at a {self.service_level:.0%} service level"
        )
        if self.reorder:
            return (
                f"{where}: reorder {self.order_quantity:,} units; position {self.position.position:,} "
                f"is at or below the {levels}"
            )
        return f"{where}: no reorder; position {self.position.position:,} is above the {levels}"


class TransferInput(SkillInput):
    from_warehouse_id: WarehouseId
    to_warehouse_id: WarehouseId
    sku_id: SkuId
    units: TransferUnits
    due_at: datetime | None = Field(default=None, description="default: 3 days within a region, 21 across")

    @model_validator(mode="after")
    def _two_warehouses(self) -> TransferInput:
        if self.from_warehouse_id == self.to_warehouse_id:
            raise ValueError("from_warehouse_id and to_warehouse_id must differ")
        return self


class TransferResult(SkillOutput):
    order_id: str
    from_warehouse_id: str
    to_warehouse_id: str
    sku_id: str
    units: int
    lane_id: str
    needs_shipment: bool
    ordered_at: datetime
    due_at: datetime
    from_available: int
    to_in_transit: int
    policy: PolicyNote | None = Field(default=None, description="the gateway's note when it warned")

    def summary(self) -> str:
        text = (
            f"moved {self.units:,} units of {self.sku_id} from {self.from_warehouse_id} to "
            f"{self.to_warehouse_id} ({self.order_id}, due {self.due_at:%Y-%m-%d})"
        )
        if self.needs_shipment:
            text += f"; across regions: book a shipment on lane {self.lane_id}"
        if self.policy is not None:
            text += f"; policy {self.policy.decision}: {'; '.join(self.policy.reasons)}"
        return text
