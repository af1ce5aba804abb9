"""Intent Contracts and the decision cycle that negotiates them (DMAS paper, 2.1 and 2.3).

Agents propose `IntentContract`s; a `DecisionCycle` aggregates them by the resources they use,
checks feasibility against `Capacities`, resolves conflicts in bounded rounds of counter-proposals
within each agent's acceptable modifications (at most agents x constraints rounds; hierarchically
in clusters above a configurable size), has policy judge every intent before an `Executor` runs it,
and feeds outcomes to the trust registry. `NatsCycleCoordinator` runs the same cycle with the
proposals collected over NATS under a deadline; `serve_proposals` is the agents' side.
`to_audit_records` turns a `CycleOutcome` into one ledger record per intent.
"""

from mesh.negotiation._audit import AUTONOMY_GATE_POLICY_ID, audit_status, to_audit_records
from mesh.negotiation._capacities import CAPACITIES_FORMAT, Capacities
from mesh.negotiation._cluster import ClusterKey, by_primary_resource, cluster_agents
from mesh.negotiation._contract import (
    INTENT_FORMAT,
    RESOURCE_PATTERN,
    Constraint,
    Delay,
    Evidence,
    HardLimit,
    HardLimitName,
    IntentContract,
    IntentFacts,
    ModeOption,
    Modification,
    ResourceUse,
    ScaleQuantity,
    SwitchMode,
)
from mesh.negotiation._cycle import (
    TRUST_GATE_POLICIES,
    DecisionCycle,
    Executor,
    FigureSource,
    NegotiationSettings,
    ProposalKey,
    ProposalSet,
    Screener,
    content_outcome,
    default_proposal_key,
    intent_policy_input,
)
from mesh.negotiation._errors import CycleIdError, NegotiationError
from mesh.negotiation._messages import MESSAGE_FORMAT, CycleCall, IntentBatch
from mesh.negotiation._nats import (
    CALL_SUBJECT,
    INTENTS_SUBJECT,
    OUTCOME_SUBJECT,
    NatsCycleCoordinator,
    Proposer,
    RefusedBatch,
    bus_agent_id,
    serve_proposals,
)
from mesh.negotiation._outcome import (
    OUTCOME_FORMAT,
    Conflict,
    CycleOutcome,
    DropCause,
    IntentResult,
    IntentStatus,
    PhaseTimings,
)
from mesh.negotiation._resolve import COORDINATOR

__all__ = [
    "AUTONOMY_GATE_POLICY_ID",
    "CALL_SUBJECT",
    "CAPACITIES_FORMAT",
    "COORDINATOR",
    "INTENTS_SUBJECT",
    "INTENT_FORMAT",
    "MESSAGE_FORMAT",
    "OUTCOME_FORMAT",
    "OUTCOME_SUBJECT",
    "RESOURCE_PATTERN",
    "TRUST_GATE_POLICIES",
    "Capacities",
    "ClusterKey",
    "Conflict",
    "Constraint",
    "CycleCall",
    "CycleIdError",
    "CycleOutcome",
    "DecisionCycle",
    "Delay",
    "DropCause",
    "Evidence",
    "Executor",
    "FigureSource",
    "HardLimit",
    "HardLimitName",
    "IntentBatch",
    "IntentContract",
    "IntentFacts",
    "IntentResult",
    "IntentStatus",
    "ModeOption",
    "Modification",
    "NatsCycleCoordinator",
    "NegotiationError",
    "NegotiationSettings",
    "PhaseTimings",
    "ProposalKey",
    "ProposalSet",
    "Proposer",
    "RefusedBatch",
    "ResourceUse",
    "ScaleQuantity",
    "Screener",
    "SwitchMode",
    "audit_status",
    "bus_agent_id",
    "by_primary_resource",
    "cluster_agents",
    "content_outcome",
    "default_proposal_key",
    "intent_policy_input",
    "serve_proposals",
    "to_audit_records",
]
