"""Policy as code: Rego rules that allow, warn, escalate or deny each request and intent.

`RegoPolicyEngine.from_directory(Path("policies"))` compiles the policy set once and decides in
process (`decide(PolicyInput) -> PolicyDecision`); any engine implements `PolicyEngine`.
Decisions fail closed: anything but a well-formed answer from the policy set is a deny.
"""

from mesh.policy._engine import DEFAULT_POLICY_ID, ENGINE_POLICY_ID, PolicyEngine, combine, fail_closed
from mesh.policy._errors import PolicyError, PolicyLoadError
from mesh.policy._policyset import ENTRYPOINT, PolicySet
from mesh.policy._rego import RegoPolicyEngine
from mesh.policy._types import (
    DECISION_FORMAT,
    INPUT_FORMAT,
    SEVERITY,
    Autonomy,
    CallerFacts,
    CarbonFacts,
    DataProductFacts,
    ImpactFacts,
    Outcome,
    PolicyContext,
    PolicyDecision,
    PolicyInput,
    RequestFacts,
    RuleResult,
    SupplierFacts,
)

__all__ = [
    "DECISION_FORMAT",
    "DEFAULT_POLICY_ID",
    "ENGINE_POLICY_ID",
    "ENTRYPOINT",
    "INPUT_FORMAT",
    "SEVERITY",
    "Autonomy",
    "CallerFacts",
    "CarbonFacts",
    "DataProductFacts",
    "ImpactFacts",
    "Outcome",
    "PolicyContext",
    "PolicyDecision",
    "PolicyEngine",
    "PolicyError",
    "PolicyInput",
    "PolicyLoadError",
    "PolicySet",
    "RegoPolicyEngine",
    "RequestFacts",
    "RuleResult",
    "SupplierFacts",
    "combine",
    "fail_closed",
]
