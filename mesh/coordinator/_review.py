"""The auto-reviewer: who stands in for the human operator so that an unattended run (the demo, CI)
finishes. It decides each escalation by a stated rule, and everything it decides is recorded as a
human decision would be (the gateway's escalation API, the ledger), under its own identity.

Rules (`MESH_REVIEWER`):
- `credible` (default): approve when the proposing agent is not quarantined and its credibility
  is at least `min_credibility`, and the intent's content was not denied by any rule; deny
  otherwise.
- `approve`: approve everything. `deny`: deny everything.
"""

from __future__ import annotations

from dataclasses import dataclass

from mesh.negotiation import IntentResult
from mesh.settings import REVIEW_RULES, ReviewRule
from mesh.trust import TrustRegistry

__all__ = ["REVIEWER_SUBJECT", "REVIEW_RULES", "AutoReviewer", "Review", "ReviewRule"]
REVIEWER_SUBJECT = "service:auto-reviewer"


@dataclass(frozen=True)
class Review:
    approve: bool
    reason: str


class AutoReviewer:
    def __init__(
        self, rule: ReviewRule = "credible", *, trust: TrustRegistry, min_credibility: float = 0.7
    ) -> None:
        self.rule = rule
        self.trust = trust
        self.min_credibility = min_credibility

    def review(self, result: IntentResult) -> Review:
        """An intent the decision cycle escalated."""
        refused = self._refusal(result.agent)
        if refused is not None:
            return refused
        denied = result.policy is not None and any(rule.outcome == "deny" for rule in result.policy.rules)
        if self.rule == "credible" and denied:
            return Review(False, "a policy rule denies it")
        return self._approval(result.agent, "no rule denies it")

    def review_held_call(self, agent: str, reasons: list[str]) -> Review:
        """A call the gateway held while an agent executed an intent the cycle had let through."""
        return self._refusal(agent) or self._approval(agent, f"held for: {'; '.join(reasons)}")

    def _refusal(self, agent: str) -> Review | None:
        """Why the rule denies `agent`'s escalation whatever it is; None when it may be approved."""
        if self.rule == "deny":
            return Review(False, "auto-reviewer denies every escalation (rule: deny)")
        if self.rule == "approve":
            return None
        standing = self.trust.assess(agent)
        if standing.autonomy == "quarantined":
            return Review(False, f"{agent} is quarantined")
        if standing.credibility < self.min_credibility:
            return Review(
                False, f"{agent} credibility {standing.credibility:.2f} is below {self.min_credibility:.2f}"
            )
        return None

    def _approval(self, agent: str, why: str) -> Review:
        if self.rule == "approve":
            return Review(True, "auto-reviewer approves every escalation (rule: approve)")
        standing = self.trust.assess(agent)
        return Review(True, f"{agent} is credible ({standing.credibility:.2f}, {standing.autonomy}); {why}")
