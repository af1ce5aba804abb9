"""The engine interface, and how rule results combine into one decision (the same for every engine)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from mesh.policy._types import SEVERITY, PolicyDecision, PolicyInput, RuleResult

DEFAULT_POLICY_ID = "mesh.default"
"""Stands for "no rule objected" in `policy_ids` and `rules` of an allow."""

ENGINE_POLICY_ID = "mesh.engine"
"""Stands for the engine itself in a fail-closed deny."""

_DEFAULT = RuleResult(policy_id=DEFAULT_POLICY_ID, outcome="allow", reasons=[])


class PolicyEngine(Protocol):
    """Decides a `PolicyInput` against one immutable policy set."""

    @property
    def policy_version(self) -> str: ...

    def decide(self, policy_input: PolicyInput) -> PolicyDecision:
        """The decision on `policy_input`; never raises, fails closed.

        Anything but a well-formed answer from the policy set (an evaluation error, an undefined
        or malformed result, an engine failure) is a deny whose reason starts with
        "policy engine error:". Safe to call from several threads at once.
        """
        ...


def combine(results: Iterable[RuleResult], policy_version: str) -> PolicyDecision:
    """One decision from the results of the rules: the most severe outcome wins."""
    rules = sorted(results, key=lambda r: (-SEVERITY[r.outcome], r.policy_id, r.reasons))
    decision = rules[0].outcome if rules else "allow"
    reasons = [reason for rule in rules if rule.outcome == decision for reason in rule.reasons]
    objecting = sorted({rule.policy_id for rule in rules if rule.outcome != "allow"})
    if decision == "allow":
        rules.append(_DEFAULT)
    return PolicyDecision(
        decision=decision,
        reasons=reasons,
        policy_ids=objecting or [DEFAULT_POLICY_ID],
        rules=rules,
        policy_version=policy_version,
    )


def fail_closed(reason: str, policy_version: str) -> PolicyDecision:
    """The deny given when the policy set could not decide."""
    message = f"policy engine error: {reason}"
    return PolicyDecision(
        decision="deny",
        reasons=[message],
        policy_ids=[ENGINE_POLICY_ID],
        rules=[RuleResult(policy_id=ENGINE_POLICY_ID, outcome="deny", reasons=[message])],
        policy_version=policy_version,
    )
