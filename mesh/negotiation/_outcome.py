"""What one decision cycle decided: per intent, per conflict, and how long each phase took."""

from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from mesh.audit import ExecutionMode, NegotiationStep
from mesh.negotiation._contract import IntentContract
from mesh.policy import Autonomy, PolicyDecision

OUTCOME_FORMAT: Literal["1"] = "1"

IntentStatus = Literal["executed", "modified", "escalated", "denied", "dropped", "failed"]
"""executed: as proposed; modified: executed after counter-proposals; escalated: held for a human
(policy, low autonomy, infeasible or incomplete); denied: by policy; dropped: infeasible, late or
malformed, per settings; failed: the executor raised."""

DropCause = Literal["infeasible", "deadline", "unknown_resource", "duplicate"]


class _Wire(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class IntentResult(_Wire):
    """What became of one intent.

    `final` is the contract as it stands at the end: the version executed, or held for a human,
    or judged and denied; None when the intent never reached a decision (dropped).
    """

    intent_id: str
    agent: str
    domain: str
    decision_type: str
    status: IntentStatus
    execution_mode: ExecutionMode
    reasons: list[str] = Field(default_factory=list)
    proposed: IntentContract
    final: IntentContract | None = None
    policy: PolicyDecision | None = None
    modifications: list[str] = Field(default_factory=list, description="the counter-proposals applied")
    utility_cost: float = Field(default=0.0, ge=0)
    deferred_hours: float = Field(default=0.0, ge=0)
    cause: DropCause | None = Field(default=None, description="why an intent left negotiation unexecuted")
    autonomy: Autonomy | None = None
    credibility: float | None = None
    metrics: dict[str, float] = Field(default_factory=dict, description="what the executor reported")
    executed_at: AwareDatetime | None = None


class Conflict(_Wire):
    """An over-subscribed resource found at the feasibility check, and how it ended."""

    resource: str
    capacity: float
    demand: float = Field(description="total demand when the conflict was found")
    settled_demand: float = Field(description="total demand of the intents admitted in the end")
    claimants: list[str] = Field(description="intent ids")
    resolution: Literal["negotiated", "admission"] = Field(
        description="negotiated: counter-proposals alone made it fit; admission: intents had to be left out"
    )


class PhaseTimings(_Wire):
    """Milliseconds per phase. In distributed cycles `proposal` is the collection over NATS and
    includes the policy screening done as intents arrive; `policy` is what remained afterwards."""

    perception: float = 0.0
    proposal: float = 0.0
    aggregation: float = 0.0
    feasibility: float = 0.0
    resolution: float = 0.0
    policy: float = 0.0
    execution: float = 0.0
    feedback: float = 0.0

    @property
    def total(self) -> float:
        return (
            self.perception
            + self.proposal
            + self.aggregation
            + self.feasibility
            + self.resolution
            + self.policy
            + self.execution
            + self.feedback
        )


class CycleOutcome(_Wire):
    """One decision cycle: results in the order intents were proposed, the negotiation trace,
    the conflicts, the round bound and the rounds used, and the agents that did not answer."""

    outcome_format: Literal["1"] = OUTCOME_FORMAT
    cycle_id: str
    started_at: AwareDatetime
    finished_at: AwareDatetime
    hierarchy: Literal["flat", "hierarchical"]
    clusters: int = Field(ge=1)
    agents: int = Field(ge=0, description="agents whose intents negotiated")
    constraints: int = Field(ge=0, description="distinct resources those intents use")
    round_bound: int = Field(ge=0, description="agents x constraints")
    rounds_used: int = Field(ge=0)
    conflicts: list[Conflict]
    results: list[IntentResult]
    trace: list[NegotiationStep]
    timings_ms: PhaseTimings
    absent_agents: dict[str, str] = Field(
        default_factory=dict, description="agents that did not finish proposing by the deadline, and why"
    )
    rejected_messages: list[str] = Field(default_factory=list)
    policy_version: str

    @property
    def conflicts_found(self) -> int:
        return len(self.conflicts)

    def result(self, intent_id: str) -> IntentResult:
        for result in self.results:
            if result.intent_id == intent_id:
                return result
        raise KeyError(intent_id)

    def with_status(self, *statuses: IntentStatus) -> list[IntentResult]:
        return [result for result in self.results if result.status in statuses]
