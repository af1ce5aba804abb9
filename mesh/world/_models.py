from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Mode = Literal["road", "rail", "ocean", "air"]
LaborCompliance = Literal["verified", "pending", "failed"]


class _Entity(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Sku(_Entity):
    sku_id: str
    name: str
    category: str
    critical_material: bool
    unit_cost: float


class Warehouse(_Entity):
    warehouse_id: str
    region: str
    capacity_units: int
    demand_share: float = Field(description="share of its region's demand this warehouse serves")


class Supplier(_Entity):
    supplier_id: str
    name: str
    region: str
    lead_time_days: float
    lead_time_std_days: float
    on_time_rate: float = Field(ge=0, le=1)
    unit_cost_index: float
    capacity_units_per_day: int
    is_new: bool
    labor_compliance: LaborCompliance
    last_audit: date
    tier2_transparency: float = Field(ge=0, le=1)
    critical_materials: bool = Field(description="whether it supplies critical-material SKUs")


class SupplierSku(_Entity):
    supplier_id: str
    sku_id: str
    unit_price: float


class Carrier(_Entity):
    carrier_id: str
    name: str
    mode: Mode


class Lane(_Entity):
    lane_id: str
    origin_region: str
    dest_region: str
    distance_km: float


class CarrierRate(_Entity):
    carrier_id: str
    lane_id: str
    cost_per_unit: float
    co2e_kg_per_unit: float
    transit_days: float
    capacity_units_per_day: int


class ReorderPolicy(_Entity):
    warehouse_id: str
    sku_id: str
    supplier_id: str
    service_level: float
    safety_stock: int
    reorder_point: int
    order_up_to: int
    lead_time_days: float


class Spike(_Entity):
    """A demand spike: every SKU of `region` sells `magnitude` times its usual rate in [start, end)."""

    region: str
    start: datetime
    end: datetime
    magnitude: float


class Outage(_Entity):
    """A supply outage: every supplier of `region` delivers nothing in [start, end)."""

    region: str
    start: datetime
    end: datetime
    supplier_ids: tuple[str, ...]
