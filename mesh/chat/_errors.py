"""Errors of the operator chat: one base, small leaves with structured fields."""

from __future__ import annotations


class ChatError(Exception):
    """Base error of the operator chat."""


class QuestionError(ChatError, ValueError):
    """A question the chat refuses to read: empty, or too long. `field` names the input."""

    def __init__(self, field: str, reason: str) -> None:
        self.field = field
        self.reason = reason
        super().__init__(f"{field}: {reason}")


class DecisionNotFoundError(ChatError, LookupError):
    """The ledger holds no record of `decision_id`."""

    def __init__(self, decision_id: str) -> None:
        self.decision_id = decision_id
        super().__init__(f"the ledger holds no record of decision {decision_id!r}")
