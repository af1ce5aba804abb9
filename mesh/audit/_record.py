"""The audit record: the provenance of one decision step, as the DMAS paper's audit schema lists it."""

from __future__ import annotations

from datetime import UTC
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field

RECORD_FORMAT: Literal["1"] = "1"

PolicyOutcome = Literal["allow", "warn", "escalate", "deny"]
ExecutionMode = Literal["autonomous", "mediated", "escalated", "human", "blocked", "refused"]
"""How the action was (or was not) carried out: by the agent alone, after mediation, held for a
human, decided by a human, blocked by policy or autonomy, or refused at the boundary."""
Status = Literal[
    "proposed", "executed", "denied", "escalated", "approved", "rejected", "expired", "failed", "refused"
]


def _sorted_deep(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _sorted_deep(value[key]) for key in sorted(value)}
    if isinstance(value, list):
        return [_sorted_deep(item) for item in value]
    return value


FreeForm = Annotated[dict[str, Any], AfterValidator(_sorted_deep)]
"""A free-form map, its keys sorted at every depth so that its JSON text is unique."""

UtcDatetime = Annotated[AwareDatetime, AfterValidator(lambda moment: moment.astimezone(UTC))]
"""A timezone-aware instant, normalised to UTC so that its canonical text is unique."""

_HEX32 = r"^[0-9a-f]{32}$"
_HEX16 = r"^[0-9a-f]{16}$"


class _Part(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DataProductInput(_Part):
    """A data product an action was based on, at the version and freshness it had then."""

    product_id: str = Field(min_length=1)
    version: str = Field(min_length=1)
    as_of: UtcDatetime | None = None
    freshness_seconds: float | None = Field(default=None, ge=0)
    lineage: list[str] = Field(default_factory=list)


class PolicyEvaluation(_Part):
    policy_id: str = Field(min_length=1)
    outcome: PolicyOutcome
    reasons: list[str] = Field(default_factory=list)
    policy_version: str = Field(min_length=1)


class Caller(_Part):
    """Who asked: the authenticated subject, its client, its scopes, and the delegation chain."""

    subject: str = Field(min_length=1)
    client_id: str | None = None
    scopes: list[str] = Field(default_factory=list)
    act_chain: list[str] = Field(default_factory=list, description="RFC 8693 `act` chain, outermost first")


class NegotiationStep(_Part):
    round: int = Field(ge=0)
    agent: str = Field(min_length=1)
    move: str = Field(min_length=1, description="propose, counter, accept, reject, withdraw ...")
    detail: FreeForm = Field(default_factory=dict)


class AuditRecord(_Part):
    """One appended fact about a decision. Several records may share a decision id (proposal,
    policy outcome, escalation, approval, execution); each is immutable once appended."""

    record_format: Literal["1"] = RECORD_FORMAT
    decision_id: str = Field(min_length=1, max_length=200)
    occurred_at: UtcDatetime
    agent: str | None = None
    domain: str | None = None
    action: str = Field(min_length=1, max_length=200, description="action type, e.g. reorder, tools/call")
    parameters: FreeForm = Field(default_factory=dict)
    inputs: list[DataProductInput] = Field(default_factory=list)
    policies: list[PolicyEvaluation] = Field(default_factory=list)
    execution_mode: ExecutionMode
    negotiation: list[NegotiationStep] = Field(default_factory=list)
    final_action: FreeForm | None = None
    executed_at: UtcDatetime | None = None
    status: Status
    outcome: Annotated[dict[str, float], AfterValidator(_sorted_deep)] = Field(
        default_factory=dict, description="outcome metrics"
    )
    caller: Caller | None = None
    trace_id: str | None = Field(default=None, pattern=_HEX32)
    span_id: str | None = Field(default=None, pattern=_HEX16)
    assets: Annotated[dict[str, str], AfterValidator(_sorted_deep)] | None = Field(
        default=None,
        description="versions of the assets the step used (prompts, model settings, tool definitions...), "
        "by key, as `mesh.assets` names them",
    )

    def canonical_json(self) -> str:
        """The exact text that is stored and hashed, unique for a record's value: fields in
        declaration order, free-form maps with sorted keys, no spaces, timestamps in UTC.
        Parsing it and rendering again gives the same text. `assets` is left out when absent, so
        records written before it existed keep their text and hash."""
        return self.model_dump_json(exclude={"assets"} if self.assets is None else None)
