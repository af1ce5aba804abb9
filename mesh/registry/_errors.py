"""Every way the registry refuses an announcement or a lookup, with structured fields."""

from __future__ import annotations

from enum import StrEnum


class RegistryError(Exception):
    """Base error of the registry package."""


class RefusalReason(StrEnum):
    """Why the directory refused an announcement (logged, and given to `on_refused`)."""

    TOO_LARGE = "too-large"
    """The message is over the directory's size limit; it was not read."""
    BAD_SUBJECT = "bad-subject"
    """Not `mesh.registry.announce.<agent-id>`."""
    SENDER_REFUSED = "sender-refused"
    """The message's sender signature did not verify (the detail names the binding's reason)."""
    MALFORMED = "malformed"
    """Not an announcement of this format, or a card that is not an Agent Card."""
    WRONG_IDENTITY = "wrong-identity"
    """Subject, signed sender, announced agent and card do not all name the same agent."""
    UNSIGNED = "unsigned"
    """The card carries no signature."""
    UNTRUSTED_KEY = "untrusted-key"
    """The card is not signed by the key pinned for the announcing agent (none pinned, or another)."""
    BAD_SIGNATURE = "bad-signature"
    """The card's signature by the agent's key does not verify: the card was changed after signing."""
    OUT_OF_ORDER = "out-of-order"
    """An announcement older than one already taken from the same agent instance."""


class AnnouncementRefusedError(RegistryError):
    """An announcement the directory did not take. `agent` is the claimed agent id (unverified
    unless `reason` comes after the sender check), `detail` a sentence for the log."""

    def __init__(self, agent: str | None, reason: RefusalReason, detail: str) -> None:
        super().__init__(f"announcement of {agent or '(no agent)'} refused ({reason}): {detail}")
        self.agent = agent
        self.reason = reason
        self.detail = detail


class UnknownAgentError(RegistryError, LookupError):
    """No agent of that id has announced itself to this directory."""

    def __init__(self, agent: str, known: list[str]) -> None:
        listed = ", ".join(known) if known else "none yet"
        super().__init__(f"no agent {agent!r} in the directory (known: {listed})")
        self.agent = agent
        self.known = known


class AnnouncerError(RegistryError, ValueError):
    """A card or setting the announcer cannot announce (unsigned, another agent's, not a card)."""
