"""The policy engine's wire types: what a decision is asked about, and what it answers.

`PolicyInput` is the Rego `input` document (format "1"), the same for the in-process engine and
for an OPA server; `PolicyDecision` is the answer, with the results of the rules that spoke.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

INPUT_FORMAT: Literal["1"] = "1"
DECISION_FORMAT: Literal["1"] = "1"

Outcome = Literal["allow", "warn", "escalate", "deny"]
"""allow: proceed; warn: proceed, with the warning logged; escalate: a human decides; deny: blocked."""

Autonomy = Literal["high", "mediated", "low", "quarantined"]

SEVERITY: dict[str, int] = {"allow": 0, "warn": 1, "escalate": 2, "deny": 3}
"""How outcomes combine: the most severe wins."""


class _Wire(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class CallerFacts(_Wire):
    """Who asks: the token's subject and client, its scopes, its trust, and its delegation chain."""

    subject: str = Field(min_length=1)
    client_id: str | None = None
    scopes: list[str] = Field(default_factory=list)
    autonomy: Autonomy | None = None
    credibility: float | None = Field(default=None, ge=0, le=1)
    act_chain: list[str] = Field(default_factory=list, description="RFC 8693 `act` chain, outermost first")


class RequestFacts(_Wire):
    """What is asked: the JSON-RPC method, the domain, the scope it needs, whether it changes state,
    and the tool or resource with its arguments."""

    method: str = Field(
        description='"tools/call", "resources/read", "tools/list", "intent" ...; any other: no rule'
    )
    domain: str = Field(min_length=1)
    required_scope: str | None = Field(
        description="the scope the gateway's scope map says this request needs"
    )
    writes: bool = Field(default=False, description="the tool changes state (an action), rather than reads")
    tool: str | None = None
    resource: str | None = None
    arguments: dict[str, Any] = Field(default_factory=dict)


class DataProductFacts(_Wire):
    """A data product the request reads, from its contract."""

    id: str = Field(min_length=1)
    version: str = Field(min_length=1)
    access_scope: str = Field(min_length=1)


class CarbonFacts(_Wire):
    """The region's carbon account this year, and what the action would add to it."""

    region: str = Field(min_length=1)
    budget_kg: float = Field(ge=0)
    spent_kg: float = Field(ge=0)
    projected_kg: float = Field(description="what this action adds (negative when it saves emissions)")


class SupplierFacts(_Wire):
    """The supplier an order goes to."""

    supplier_id: str = Field(min_length=1)
    labor_compliance: Literal["verified", "pending", "failed"]
    is_new: bool
    tier2_transparency: float = Field(ge=0, le=1)
    critical_material: bool = Field(description="the SKU ordered is a critical material")


class ImpactFacts(_Wire):
    """The size of what a decision touches, for stakeholder review."""

    order_value: float | None = Field(default=None, ge=0)
    units: int | None = Field(default=None, ge=0)
    affected_regions: list[str] = Field(default_factory=list)


class PolicyContext(_Wire):
    """Facts about the world the gateway or orchestrator looked up for this request."""

    carbon: CarbonFacts | None = None
    supplier: SupplierFacts | None = None
    impact: ImpactFacts | None = None
    quarantined: list[str] = Field(default_factory=list, description="quarantined client ids and subjects")


class PolicyInput(_Wire):
    """The Rego `input` document of one decision."""

    input_format: Literal["1"] = INPUT_FORMAT
    caller: CallerFacts
    request: RequestFacts
    data_products: list[DataProductFacts] = Field(default_factory=list)
    context: PolicyContext = Field(default_factory=PolicyContext)


class RuleResult(_Wire):
    """What one rule said: its policy id, its outcome and why."""

    policy_id: str = Field(min_length=1)
    outcome: Outcome
    reasons: list[str]


class PolicyDecision(_Wire):
    """The combined answer: the most severe outcome of the rules, with the rules that spoke.

    - `decision`: the most severe outcome among `rules` (deny > escalate > warn > allow).
    - `reasons`: the reasons of the rules whose outcome is `decision`, in policy-id order.
    - `policy_ids`: every rule that objected (outcome other than allow), or `["mesh.default"]`
      when none did.
    - `rules`: every result the rules emitted, most severe first, plus `mesh.default` (allow)
      when the decision is allow, so that each of `policy_ids` has its entry here.
    - `policy_version`: the version of the policy set that decided.
    """

    decision_format: Literal["1"] = DECISION_FORMAT
    decision: Outcome
    reasons: list[str]
    policy_ids: list[str]
    rules: list[RuleResult]
    policy_version: str = Field(min_length=1)
