from __future__ import annotations


class NegotiationError(Exception):
    """Base error of the negotiation package."""


class CycleIdError(NegotiationError, ValueError):
    """A cycle id that cannot name a NATS subject token."""

    def __init__(self, cycle_id: str) -> None:
        super().__init__(f"cycle id {cycle_id!r} must be 1 to 64 letters, digits, '-' or '_'")
        self.cycle_id = cycle_id
