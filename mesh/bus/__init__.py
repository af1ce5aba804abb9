"""The bus: A2A over NATS, a custom A2A protocol binding (`NATS_BINDING_URI`, docs/a2a-nats-binding.md).

An agent serves its A2A request handler on its subject with `NatsA2AServer` (the same handler
object its HTTP routes use) and lists `nats_agent_interface(server, agent_subject(agent_id))`
first in its card's `supported_interfaces`. A caller registers the binding with the SDK's
`ClientFactory` (`register_nats_transport`) and lists `NATS_BINDING_URI` in
`ClientConfig.supported_protocol_bindings`; `factory.create(card)` then talks NATS. Requests
are signed with the sender agent's key (`SenderSigner`); servers verify them against pinned
keys (`SenderVerifier`, `PinnedSenderKeys`) and refuse the rest.
"""

from mesh.bus._binding import (
    DEFAULT_QUEUE_GROUP,
    NATS_BINDING_URI,
    PROTOCOL_VERSION,
    agent_subject,
    is_agent_id,
    nats_agent_interface,
    nats_interface_url,
    subject_of,
)
from mesh.bus._client import (
    DEFAULT_STREAM_IDLE_TIMEOUT,
    DEFAULT_TIMEOUT,
    NatsClientTransport,
    nats_transport_producer,
    register_nats_transport,
)
from mesh.bus._errors import (
    BUS_ERROR_CODES,
    PAYLOAD_TOO_LARGE_CODE,
    SENDER_REFUSED_CODE,
    SERVER_BUSY_CODE,
    AgentUnreachableError,
    BusError,
    BusErrorCode,
    BusProtocolError,
    BusTimeoutError,
    InvalidInterfaceUrlError,
    PayloadTooLargeError,
    RefusalReason,
    SenderKeyError,
    SenderRefusedError,
    ServerBusyError,
    StreamBrokenError,
)
from mesh.bus._identity import (
    CARD_KEYS_DIR,
    DEFAULT_WINDOW,
    KeyResolver,
    PinnedSenderKeys,
    PublicKey,
    SenderSigner,
    SenderVerifier,
    public_keys_dir,
)
from mesh.bus._server import (
    SCOPE_KEY,
    SENDER_STATE_KEY,
    SUBJECT_STATE_KEY,
    NatsA2AServer,
    NatsRequestInfo,
    NatsSender,
    RefusalHook,
)

__all__ = [
    "BUS_ERROR_CODES",
    "CARD_KEYS_DIR",
    "DEFAULT_QUEUE_GROUP",
    "DEFAULT_STREAM_IDLE_TIMEOUT",
    "DEFAULT_TIMEOUT",
    "DEFAULT_WINDOW",
    "NATS_BINDING_URI",
    "PAYLOAD_TOO_LARGE_CODE",
    "PROTOCOL_VERSION",
    "SCOPE_KEY",
    "SENDER_REFUSED_CODE",
    "SENDER_STATE_KEY",
    "SERVER_BUSY_CODE",
    "SUBJECT_STATE_KEY",
    "AgentUnreachableError",
    "BusError",
    "BusErrorCode",
    "BusProtocolError",
    "BusTimeoutError",
    "InvalidInterfaceUrlError",
    "KeyResolver",
    "NatsA2AServer",
    "NatsClientTransport",
    "NatsRequestInfo",
    "NatsSender",
    "PayloadTooLargeError",
    "PinnedSenderKeys",
    "PublicKey",
    "RefusalHook",
    "RefusalReason",
    "SenderKeyError",
    "SenderRefusedError",
    "SenderSigner",
    "SenderVerifier",
    "ServerBusyError",
    "StreamBrokenError",
    "agent_subject",
    "is_agent_id",
    "nats_agent_interface",
    "nats_interface_url",
    "nats_transport_producer",
    "public_keys_dir",
    "register_nats_transport",
    "subject_of",
]
