"""The Intent Contract: what an agent proposes to do, why, what it consumes and what it would concede.

An Intent Contract is a decision product (DMAS paper, 2.1): versioned and discoverable like a data
product. Format "1". `version` is the revision of one intent: 1 as proposed, one more with each
counter-proposal applied during negotiation; `intent_id` stays the same across revisions.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    model_validator,
)

from mesh.policy import CarbonFacts, ImpactFacts, SupplierFacts

INTENT_FORMAT: Literal["1"] = "1"

RESOURCE_PATTERN = r"^[a-z][a-z0-9_]*:[A-Za-z0-9._-]+$"
"""`<kind>:<name>`, such as `capacity:WH-EU-1`, `carbon:APAC`, `budget:procurement`."""

_INTENT_ID = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,199}$"


class _Wire(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class Evidence(_Wire):
    """A data product the proposal rests on, at the version read, with the figures taken from it."""

    product_id: str = Field(min_length=1)
    version: str = Field(min_length=1)
    as_of: AwareDatetime
    summary: str = Field(default="", max_length=2000)
    figures: dict[str, float] = Field(
        default_factory=dict,
        description="numbers the agent read from the product (checked against it for credibility)",
    )


class ResourceUse(_Wire):
    """A shared resource the action consumes in this cycle's window (a capacity, a carbon budget,
    a spending budget), in the resource's own unit."""

    resource: str = Field(pattern=RESOURCE_PATTERN)
    amount: float = Field(ge=0)
    scales_with_quantity: bool = Field(
        default=True, description="the amount shrinks in proportion when the quantity is scaled down"
    )


HardLimitName = Literal["min_quantity", "max_delay_hours", "max_utility_cost"]


class HardLimit(_Wire):
    """A bound no counter-proposal may cross: the smallest quantity still worth doing, the longest
    acceptable delay, the most utility the agent gives up in total."""

    limit: HardLimitName
    value: float = Field(ge=0)


def _constraint_tag(value: Any) -> str | None:
    if isinstance(value, dict):
        return "resource" if "resource" in value else "limit" if "limit" in value else None
    if isinstance(value, ResourceUse):
        return "resource"
    if isinstance(value, HardLimit):
        return "limit"
    return None


Constraint = Annotated[
    Annotated[ResourceUse, Tag("resource")] | Annotated[HardLimit, Tag("limit")],
    Discriminator(_constraint_tag),
]
"""`{"resource": ..., "amount": ...}` or `{"limit": ..., "value": ...}`."""


class ScaleQuantity(_Wire):
    """Scale `proposed_action[field]` down in steps of `step` (a share of the proposed quantity),
    no lower than `min_fraction` of it; each step costs `utility_cost`. Integer quantities are
    rounded down."""

    kind: Literal["scale_quantity"] = "scale_quantity"
    field: str = Field(default="quantity", min_length=1)
    min_fraction: float = Field(gt=0, le=1)
    step: float = Field(default=0.25, gt=0, le=1)
    utility_cost: float = Field(default=1.0, ge=0, description="per step")


class Delay(_Wire):
    """Start up to `max_hours` later: the action leaves this cycle's window (it no longer draws on
    this cycle's capacities) and `proposed_action[field]` says by how much it was deferred."""

    kind: Literal["delay"] = "delay"
    field: str = Field(default="delay_hours", min_length=1)
    max_hours: float = Field(gt=0)
    utility_cost: float = Field(default=1.0, ge=0)


class ModeOption(_Wire):
    """One alternative mode: the resources it uses at the full quantity, replacing the proposed
    ones, and its projected CO2e at the full quantity when it differs."""

    mode: str = Field(min_length=1)
    uses: list[ResourceUse]
    utility_cost: float = Field(default=1.0, ge=0)
    carbon_kg: float | None = None


class SwitchMode(_Wire):
    """Switch `proposed_action[field]` to each option in turn (such as air, then sea, then rail)."""

    kind: Literal["switch_mode"] = "switch_mode"
    field: str = Field(default="mode", min_length=1)
    options: list[ModeOption] = Field(min_length=1)


Modification = Annotated[ScaleQuantity | Delay | SwitchMode, Field(discriminator="kind")]


class IntentFacts(_Wire):
    """The facts policy judges the action on (`PolicyContext` without the quarantine list)."""

    carbon: CarbonFacts | None = None
    supplier: SupplierFacts | None = None
    impact: ImpactFacts | None = None


class IntentContract(_Wire):
    """An agent's proposed action for one decision cycle.

    - `constraints`: the resources the action consumes (`ResourceUse`, at most one per resource)
      and the hard limits on what negotiation may do to it (`HardLimit`, at most one per name).
    - `acceptable_modifications`: the concessions the agent accepts, at most one of each kind,
      tried in the order listed (each on top of the ones before); a delay ends the list.
    - `priority`: 0 (can wait) to 1 (urgent); the lower one concedes first.
    """

    contract_format: Literal["1"] = INTENT_FORMAT
    intent_id: str = Field(pattern=_INTENT_ID)
    agent: str = Field(min_length=1, max_length=200, description="the agent's subject, e.g. agent:inventory")
    domain: str = Field(min_length=1, max_length=100)
    decision_type: str = Field(pattern=r"^[a-z][a-z0-9_]{0,62}$", description="reorder, shipment ...")
    proposed_action: dict[str, Any]
    evidence: list[Evidence] = Field(default_factory=list)
    constraints: list[Constraint] = Field(default_factory=list)
    acceptable_modifications: list[Modification] = Field(default_factory=list)
    facts: IntentFacts = Field(default_factory=IntentFacts)
    priority: float = Field(ge=0, le=1)
    created_at: AwareDatetime
    version: int = Field(default=1, ge=1)

    @property
    def uses(self) -> list[ResourceUse]:
        return [c for c in self.constraints if isinstance(c, ResourceUse)]

    @property
    def limits(self) -> dict[HardLimitName, float]:
        return {c.limit: c.value for c in self.constraints if isinstance(c, HardLimit)}

    @property
    def resources(self) -> list[str]:
        return [use.resource for use in self.uses]

    @model_validator(mode="after")
    def _coherent(self) -> IntentContract:
        resources = self.resources
        if len(resources) != len(set(resources)):
            raise ValueError("constraints: a resource may be used once per intent")
        limits = [c.limit for c in self.constraints if isinstance(c, HardLimit)]
        if len(limits) != len(set(limits)):
            raise ValueError("constraints: a hard limit may be given once per intent")
        kinds = [m.kind for m in self.acceptable_modifications]
        if len(kinds) != len(set(kinds)):
            raise ValueError("acceptable_modifications: at most one of each kind")
        for modification in self.acceptable_modifications:
            if isinstance(modification, ScaleQuantity):
                quantity = self.proposed_action.get(modification.field)
                if (
                    isinstance(quantity, bool)
                    or not isinstance(quantity, int | float)
                    or not math.isfinite(quantity)
                    or quantity <= 0
                ):
                    raise ValueError(
                        f"scale_quantity: proposed_action.{modification.field} must be a positive number"
                    )
            if isinstance(modification, SwitchMode):
                modes = [option.mode for option in modification.options]
                if len(modes) != len(set(modes)) or self.proposed_action.get(modification.field) in modes:
                    raise ValueError("switch_mode: options must be distinct modes, not the proposed one")
                for option in modification.options:
                    used = [use.resource for use in option.uses]
                    if len(used) != len(set(used)):
                        raise ValueError(f"switch_mode {option.mode}: a resource may be used once")
        return self
