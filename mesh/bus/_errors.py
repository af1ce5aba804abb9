"""Errors of the bus package: one base, small leaves with structured fields, one table of wire codes.

The client-side leaves are also `A2AClientError`s (timeouts `A2AClientTimeoutError`), so code
written against the A2A SDK's client catches them as it catches the HTTP transports' errors.
The binding's own JSON-RPC error codes (-32040..-32042, beside A2A's -32001..-32009 and the
gateway's -32010..-32019) are mapped to those leaves in `BUS_ERROR_CODES`, in one place.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from a2a.client.errors import A2AClientError, A2AClientTimeoutError

SENDER_REFUSED_CODE = -32040
SERVER_BUSY_CODE = -32041
PAYLOAD_TOO_LARGE_CODE = -32042

ERROR_DOMAIN = "agentic-mesh.dev"
"""`domain` of the `google.rpc.ErrorInfo` detail in the binding's own error replies."""


class RefusalReason(StrEnum):
    """Why a server refused a request's sender identity (`ErrorInfo.metadata.reason` on the wire)."""

    UNSIGNED = "unsigned"
    """A2A-Sender, A2A-Timestamp, A2A-Nonce or A2A-Signature is missing."""
    MALFORMED = "malformed"
    """An identity header is present but not of the binding's form."""
    UNKNOWN_SENDER = "unknown-sender"
    """No pinned key for the claimed agent id."""
    BAD_SIGNATURE = "bad-signature"
    """The signature does not verify with the claimed sender's key (another agent's key, a change)."""
    STALE = "stale-timestamp"
    """A2A-Timestamp is outside the accepted window."""
    REPLAYED = "replayed-nonce"
    """The nonce was already accepted from this sender within the window."""
    REPLAY_CACHE_FULL = "replay-cache-full"
    """The nonce cache is full: fail closed rather than forget nonces."""


class BusError(Exception):
    """Base of every error the bus package raises on purpose."""


class InvalidInterfaceUrlError(BusError, ValueError):
    """An interface URL or subject that the binding does not define."""

    def __init__(self, url: str, reason: str) -> None:
        self.url = url
        self.reason = reason
        super().__init__(f"{url!r} is not a NATS binding interface: {reason}")


class SenderKeyError(BusError):
    """A sender key (a signer's private key, a pinned public key) cannot be used."""

    def __init__(self, source: str, reason: str) -> None:
        self.source = source
        self.reason = reason
        super().__init__(f"sender key {source}: {reason}")


class SenderRefusedError(BusError, A2AClientError):
    """The sender's identity was refused: raised by the verifier, and by a client whose request was."""

    def __init__(self, sender: str | None, reason: RefusalReason, detail: str = "") -> None:
        self.sender = sender
        self.reason = reason
        self.detail = detail
        who = f"sender {sender!r}" if sender else "an anonymous sender"
        A2AClientError.__init__(self, f"{who} refused ({reason}){': ' + detail if detail else ''}")


class ServerBusyError(BusError, A2AClientError):
    """The agent's server has no room for another request now; retrying later may succeed."""

    def __init__(self, subject: str) -> None:
        self.subject = subject
        A2AClientError.__init__(self, f"the agent on {subject} is busy; retry later")


class PayloadTooLargeError(BusError, A2AClientError):
    """A request or response larger than the NATS system's max_payload (or the server's limit)."""

    def __init__(self, size: int, max_payload: int) -> None:
        self.size = size
        self.max_payload = max_payload
        A2AClientError.__init__(self, f"payload of {size} bytes exceeds the limit of {max_payload} bytes")


class AgentUnreachableError(BusError, A2AClientError):
    """No server subscribes to the agent's subject (NATS answered 503 no responders)."""

    def __init__(self, subject: str) -> None:
        self.subject = subject
        A2AClientError.__init__(self, f"no agent serves {subject} (NATS: no responders)")


class BusTimeoutError(BusError, A2AClientTimeoutError):
    """No reply (or, in a stream, no message) within the timeout."""

    def __init__(self, subject: str, timeout: float, waiting_for: str = "a reply") -> None:
        self.subject = subject
        self.timeout = timeout
        A2AClientTimeoutError.__init__(self, f"no {waiting_for} from {subject} within {timeout:g} s")


class StreamBrokenError(BusError, A2AClientError):
    """A stream lost a message, ended with an error marker but no error event, or was malformed."""

    def __init__(self, subject: str, reason: str) -> None:
        self.subject = subject
        self.reason = reason
        A2AClientError.__init__(self, f"stream from {subject} broke: {reason}")


class BusProtocolError(BusError, A2AClientError):
    """A reply that is not what the binding defines (not JSON, not a JSON-RPC response)."""

    def __init__(self, subject: str, reason: str) -> None:
        self.subject = subject
        self.reason = reason
        A2AClientError.__init__(self, f"invalid reply from {subject}: {reason}")


@dataclass(frozen=True, slots=True)
class BusErrorCode:
    """One row of the table: a JSON-RPC code of the binding, its reason and its client error."""

    code: int
    reason: str
    message: str
    client_error: Callable[[str, Mapping[str, str]], BusError]


def _refused(_subject: str, metadata: Mapping[str, str]) -> BusError:
    try:
        reason = RefusalReason(metadata.get("reason", ""))
    except ValueError:
        reason = RefusalReason.MALFORMED
    return SenderRefusedError(metadata.get("sender") or None, reason, metadata.get("detail", ""))


def _too_large(_subject: str, metadata: Mapping[str, str]) -> BusError:
    def number(name: str) -> int:
        value = metadata.get(name, "")
        return int(value) if value.isdigit() else 0

    return PayloadTooLargeError(number("size"), number("maxPayload"))


BUS_ERROR_CODES: Mapping[int, BusErrorCode] = {
    row.code: row
    for row in (
        BusErrorCode(SENDER_REFUSED_CODE, "SENDER_REFUSED", "Sender refused", _refused),
        BusErrorCode(SERVER_BUSY_CODE, "SERVER_BUSY", "Server busy", lambda s, _m: ServerBusyError(s)),
        BusErrorCode(PAYLOAD_TOO_LARGE_CODE, "PAYLOAD_TOO_LARGE", "Payload too large", _too_large),
    )
}


def error_details(code: int, metadata: Mapping[str, str]) -> list[dict[str, Any]]:
    """The `data` of a binding error reply: one `google.rpc.ErrorInfo`, as the A2A SDK shapes its own."""
    return [
        {
            "@type": "type.googleapis.com/google.rpc.ErrorInfo",
            "reason": BUS_ERROR_CODES[code].reason,
            "domain": ERROR_DOMAIN,
            "metadata": dict(metadata),
        }
    ]
