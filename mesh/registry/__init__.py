"""The agent registry: agents announce their signed cards on NATS (`CardAnnouncer`), a directory
takes the ones whose signatures verify with pinned keys and knows who is up (`AgentDirectory`),
the gateway serves it at `/api/agents`, and `mesh agents` lists it. See docs/registry.md.
"""

from mesh.registry._announcer import DEFAULT_HEARTBEAT, CardAnnouncer
from mesh.registry._cards import card_document, check_identity, summarise, verify_agent_card
from mesh.registry._directory import DEFAULT_MISSED_HEARTBEATS, AgentDirectory, RefusalHook
from mesh.registry._errors import (
    AnnouncementRefusedError,
    AnnouncerError,
    RefusalReason,
    RegistryError,
    UnknownAgentError,
)
from mesh.registry._keys import PinnedAgentKeys
from mesh.registry._wire import (
    ANNOUNCE_SUBJECT,
    QUERY_SUBJECT,
    REGISTRY_FORMAT,
    AgentDetail,
    AgentEntry,
    AgentStatus,
    Announcement,
    CardSummary,
    DownReason,
    InterfaceSummary,
    RegistryQuery,
    SkillSummary,
    announce_subject,
)

__all__ = [
    "ANNOUNCE_SUBJECT",
    "DEFAULT_HEARTBEAT",
    "DEFAULT_MISSED_HEARTBEATS",
    "QUERY_SUBJECT",
    "REGISTRY_FORMAT",
    "AgentDetail",
    "AgentDirectory",
    "AgentEntry",
    "AgentStatus",
    "Announcement",
    "AnnouncementRefusedError",
    "AnnouncerError",
    "CardAnnouncer",
    "CardSummary",
    "DownReason",
    "InterfaceSummary",
    "PinnedAgentKeys",
    "RefusalHook",
    "RefusalReason",
    "RegistryError",
    "RegistryQuery",
    "SkillSummary",
    "UnknownAgentError",
    "announce_subject",
    "card_document",
    "check_identity",
    "summarise",
    "verify_agent_card",
]
