"""The binding's names: its URI, subjects, interface URLs and headers (docs/a2a-nats-binding.md)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from urllib.parse import urlsplit

from a2a.types import AgentInterface
from a2a.utils.constants import PROTOCOL_VERSION_1_0

from ._errors import InvalidInterfaceUrlError

NATS_BINDING_URI = "https://agentic-mesh.dev/a2a/bindings/nats/v1"
"""`protocolBinding` of the binding in an Agent Card's `supportedInterfaces`."""

PROTOCOL_VERSION = PROTOCOL_VERSION_1_0
"""The A2A protocol version the binding carries (the `A2A-Version` header)."""

URL_SCHEME = "nats"
DEFAULT_QUEUE_GROUP = "a2a"
"""Queue group of a server's subscription: the replicas of one agent share its requests."""

STREAMING_METHODS = frozenset({"SendStreamingMessage", "SubscribeToTask"})

# Request headers (canonical spelling; receivers match names case-insensitively).
VERSION_HEADER = "A2A-Version"
SENDER_HEADER = "A2A-Sender"
TIMESTAMP_HEADER = "A2A-Timestamp"
NONCE_HEADER = "A2A-Nonce"
SIGNATURE_HEADER = "A2A-Signature"
STREAM_INBOX_HEADER = "A2A-Stream-Inbox"
# Stream headers (server to client).
STREAM_HEADER = "A2A-Stream"
STREAM_OPEN = "open"
STREAM_SEQ_HEADER = "A2A-Stream-Seq"
STREAM_END_HEADER = "A2A-Stream-End"
STREAM_END_COMPLETE = "complete"
STREAM_END_ERROR = "error"
STREAM_HEARTBEAT_HEADER = "A2A-Stream-Heartbeat"

RESERVED_HEADERS = frozenset(
    name.lower()
    for name in (
        VERSION_HEADER,
        SENDER_HEADER,
        TIMESTAMP_HEADER,
        NONCE_HEADER,
        SIGNATURE_HEADER,
        STREAM_INBOX_HEADER,
        STREAM_HEADER,
        STREAM_SEQ_HEADER,
        STREAM_END_HEADER,
        STREAM_HEARTBEAT_HEADER,
    )
)
"""Header names the binding sets itself; a service parameter of that name is replaced."""

_TOKEN = re.compile(r"[A-Za-z0-9_-]+")
_SUBJECT = re.compile(r"[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*")
_NATS_HEADER_BLOCK = len(b"NATS/1.0\r\n\r\n")


def is_agent_id(value: str) -> bool:
    """An agent id is one NATS subject token: letters, digits, `_` and `-`."""
    return _TOKEN.fullmatch(value) is not None


def is_subject(value: str) -> bool:
    """A literal NATS subject: dot-separated tokens as in `is_agent_id`, no wildcards."""
    return _SUBJECT.fullmatch(value) is not None


def agent_subject(agent_id: str) -> str:
    """The request subject of an agent: `a2a.<agent-id>.rpc`."""
    if not is_agent_id(agent_id):
        raise ValueError(f"agent id {agent_id!r} is not one NATS subject token ([A-Za-z0-9_-]+)")
    return f"a2a.{agent_id}.rpc"


def nats_interface_url(server: str, subject: str) -> str:
    """The interface URL of `subject` on the NATS system at `server` (`nats://host:port`).

    `nats_interface_url("nats://127.0.0.1:4222", "a2a.inventory.rpc")` is
    `nats://127.0.0.1:4222/a2a.inventory.rpc`.
    """
    if not is_subject(subject):
        raise InvalidInterfaceUrlError(subject, "the subject is not a literal NATS subject")
    parts = urlsplit(server if "://" in server else f"{URL_SCHEME}://{server}")
    if parts.scheme not in {URL_SCHEME, "tls"} or not parts.hostname:
        raise InvalidInterfaceUrlError(server, "the server must be nats://host[:port] or tls://host[:port]")
    return f"{parts.scheme}://{parts.netloc}/{subject}"


def subject_of(url: str) -> str:
    """The request subject an interface URL names (its path without the leading `/`)."""
    parts = urlsplit(url)
    if parts.scheme not in {URL_SCHEME, "tls"}:
        raise InvalidInterfaceUrlError(url, "the scheme must be nats:// or tls://")
    if parts.query or parts.fragment:
        raise InvalidInterfaceUrlError(url, "an interface URL has no query or fragment")
    subject = parts.path.removeprefix("/")
    if not is_subject(subject):
        raise InvalidInterfaceUrlError(url, "the path must be a literal NATS subject")
    return subject


def nats_agent_interface(server: str, subject: str, *, tenant: str = "") -> AgentInterface:
    """The `supportedInterfaces` entry of an agent served on `subject`; list it first to prefer NATS."""
    return AgentInterface(
        url=nats_interface_url(server, subject),
        protocol_binding=NATS_BINDING_URI,
        protocol_version=PROTOCOL_VERSION,
        tenant=tenant,
    )


def header_block_size(headers: Mapping[str, str] | None) -> int:
    """Bytes the NATS header block of `headers` takes on the wire (it counts against max_payload)."""
    if not headers:
        return 0
    return _NATS_HEADER_BLOCK + sum(len(name) + len(value.encode()) + 4 for name, value in headers.items())


def lower_headers(headers: Mapping[str, str] | None) -> dict[str, str]:
    return {name.lower(): value for name, value in (headers or {}).items()}
