"""The procurement agent's skill inputs and outputs."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field, model_validator

from agents._ids import OrderQuantity, Region, SkuId, SupplierId
from agents._wire import PolicyNote, ProductSource, Record, SkillInput, SkillOutput


class SupplierWeights(SkillInput):
    """Relative weights of the score's parts (normalised by their sum)."""

    cost: float = Field(
        default=0.4, ge=0, description="cheapest unit price among eligible suppliers scores 1"
    )
    lead_time: float = Field(default=0.3, ge=0, description="shortest lead time scores 1")
    reliability: float = Field(default=0.2, ge=0, description="the on-time rate")
    transparency: float = Field(default=0.1, ge=0, description="tier-2 transparency")

    @model_validator(mode="after")
    def _some_weight(self) -> SupplierWeights:
        if self.cost + self.lead_time + self.reliability + self.transparency <= 0:
            raise ValueError("at least one weight must be positive")
        return self


class SupplierChoiceInput(SkillInput):
    sku_id: SkuId
    quantity: OrderQuantity
    region: Region | None = Field(
        default=None, description="only suppliers of this region (they serve its warehouses)"
    )
    max_lead_time_days: float | None = Field(default=None, gt=0)
    weights: SupplierWeights = Field(default_factory=SupplierWeights)


class PurchaseOrderInput(SupplierChoiceInput):
    supplier_id: SupplierId | None = Field(
        default=None,
        description="order from this supplier instead of the agent's choice; policy decides as always",
    )


class SupplierOption(Record):
    supplier_id: str
    name: str
    region: str
    unit_price: float
    order_value: float
    lead_time_days: float
    on_time_rate: float
    is_new: bool
    labor_compliance: str
    tier2_transparency: float
    score: float = Field(description="0-100, the weighted sum of score_parts")
    score_parts: dict[str, float] = Field(description="cost, lead_time, reliability, transparency, each 0-1")


class ExcludedSupplier(Record):
    supplier_id: str
    name: str
    reasons: list[str]


class SupplierRecommendation(SkillOutput):
    sku_id: str
    quantity: int
    critical_material: bool
    weights: SupplierWeights
    chosen: SupplierOption | None = Field(
        description="the eligible supplier of highest score; none if none is"
    )
    options: list[SupplierOption] = Field(description="eligible suppliers, best first")
    excluded: list[ExcludedSupplier] = Field(description="suppliers of the SKU left out, with why")
    sources: list[ProductSource]

    def summary(self) -> str:
        left_out = "; ".join(f"{e.supplier_id}: {', '.join(e.reasons)}" for e in self.excluded)
        tail = f"; excluded {left_out}" if left_out else ""
        if self.chosen is None:
            return f"{self.quantity:,} x {self.sku_id}: no eligible supplier{tail}"
        c = self.chosen
        return (
            f"{self.quantity:,} x {self.sku_id}: {c.supplier_id} {c.name} (score {c.score:.1f}), "
            f"{c.unit_price:,.2f} a unit = {c.order_value:,.2f}, {c.lead_time_days:g} days lead time, "
            f"labor compliance {c.labor_compliance}{tail}"
        )


class PurchaseOrderPlaced(SkillOutput):
    po_id: str
    supplier_id: str
    sku_id: str
    quantity: int
    unit_price: float
    order_value: float
    lead_time_days: float
    ordered_at: datetime
    promised_at: datetime
    status: str
    chosen_by: Literal["agent", "caller"]
    recommendation: SupplierRecommendation
    policy: PolicyNote | None = Field(
        default=None, description="the gateway's note when it warned or after an approval"
    )

    def summary(self) -> str:
        text = (
            f"placed {self.po_id}: {self.quantity:,} x {self.sku_id} from {self.supplier_id} at "
            f"{self.unit_price:,.2f} = {self.order_value:,.2f}, promised {self.promised_at:%Y-%m-%d}"
        )
        if self.policy is not None:
            text += f"; policy {self.policy.decision}"
            if self.policy.approved_escalation:
                text += f" (approved escalation {self.policy.approved_escalation})"
        return text
