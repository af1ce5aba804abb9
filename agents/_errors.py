"""Every way an agent can fail, with structured fields; the executor maps them to task states once
(`agents._executor.OUTCOMES`)."""

from __future__ import annotations

from typing import Any, Literal


class AgentError(Exception):
    """Base error of the agents package."""


class AgentConfigError(AgentError):
    """The agent cannot start as configured, e.g. it has a model but no prompt asset to use it with."""


class SkillFailed(AgentError):
    """The skill ran but has no result to give, e.g. no carrier is feasible for a booking."""

    def __init__(self, message: str, *, detail: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail or {}


class ToolCallError(AgentError):
    """A tool call through the gateway did not produce a result."""

    def __init__(self, domain: str, tool: str, message: str) -> None:
        super().__init__(f"{domain}.{tool}: {message}")
        self.domain = domain
        self.tool = tool
        self.message = message


class PolicyDenied(ToolCallError):
    """The gateway denied the call by policy (MCP error -32010); nothing was executed."""

    def __init__(
        self,
        domain: str,
        tool: str,
        message: str,
        *,
        reasons: list[str],
        policy_ids: list[str],
        policy_version: str | None,
        decision_id: str | None,
    ) -> None:
        super().__init__(domain, tool, message)
        self.reasons = reasons
        self.policy_ids = policy_ids
        self.policy_version = policy_version
        self.decision_id = decision_id


class PolicyEscalated(ToolCallError):
    """The gateway holds the call for a human (MCP error -32011); it goes through once approved."""

    def __init__(
        self,
        domain: str,
        tool: str,
        message: str,
        *,
        escalation_id: str,
        expires_at: str | None,
        reasons: list[str],
        policy_ids: list[str],
        decision_id: str | None,
    ) -> None:
        super().__init__(domain, tool, message)
        self.escalation_id = escalation_id
        self.expires_at = expires_at
        self.reasons = reasons
        self.policy_ids = policy_ids
        self.decision_id = decision_id


class ToolFailed(ToolCallError):
    """The domain answered with an error result (bad arguments, not enough stock, a held tool
    definition): the call was decided and refused or failed, and nothing was changed."""

    def __init__(self, domain: str, tool: str, message: str, *, code: int | None = None) -> None:
        super().__init__(domain, tool, message)
        self.code = code


class GatewayUnavailable(ToolCallError):
    """The gateway could not be reached, refused this agent's credentials, or rate-limited it."""


CardProblem = Literal["unsigned", "untrusted_key", "bad_signature", "malformed"]


class CardError(AgentError):
    """An Agent Card could not be built, signed or written."""


class CardKeyError(CardError):
    """The agent's card signing key file is unusable (unreadable, not a P-256 key, readable by others)."""


class CardVerificationError(CardError):
    """An Agent Card's signature does not verify against the pinned keys.

    `reason`: `unsigned` (no signature), `untrusted_key` (no signature names a pinned key; a `jku`
    in the card is never followed), `bad_signature` (a pinned key, but the card was altered or
    signed by another key), `malformed` (not an Agent Card).
    """

    def __init__(self, reason: CardProblem, message: str) -> None:
        super().__init__(message)
        self.reason: CardProblem = reason
