"""The registry's wire shapes: subjects, the announcement and the re-announce query on NATS, and
the directory entries the gateway serves over HTTP (docs/registry.md)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

REGISTRY_FORMAT: Literal["1"] = "1"
ANNOUNCE_SUBJECT = "mesh.registry.announce"
"""An agent announces on `mesh.registry.announce.<agent-id>`; directories subscribe to `.*`."""
QUERY_SUBJECT = "mesh.registry.query"
"""A directory asks the agents to announce themselves again (a `RegistryQuery`)."""

AGENT_ID_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"
INSTANCE_PATTERN = r"^[A-Za-z0-9_-]{8,64}$"
MIN_HEARTBEAT = 0.01
MAX_HEARTBEAT = 3600.0

AgentStatus = Literal["up", "down"]
DownReason = Literal["goodbye", "missed-heartbeats"]


def announce_subject(agent: str, *, prefix: str = "") -> str:
    """`mesh.registry.announce.<agent>` (after `prefix`, for tests or tenants)."""
    return f"{prefix}{ANNOUNCE_SUBJECT}.{agent}"


class Announcement(BaseModel):
    """What an agent publishes at start, every heartbeat, when its card changes, when asked, and
    (`status` down, no card) when it stops. The message carries the agent's sender signature in
    its headers (docs/a2a-nats-binding.md section 5, over this subject), so the directory knows
    who sent it; the card inside carries its own JWS signature."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    registry_format: Literal["1"] = REGISTRY_FORMAT
    agent: str = Field(pattern=AGENT_ID_PATTERN, description="the agent id, one NATS subject token")
    status: AgentStatus
    instance: str = Field(
        pattern=INSTANCE_PATTERN, description="random per announcer run: a restart is a new instance"
    )
    seq: int = Field(ge=0, description="counts this instance's announcements from 0")
    sent_at: AwareDatetime
    heartbeat: float = Field(
        ge=MIN_HEARTBEAT, le=MAX_HEARTBEAT, description="seconds until this instance announces again"
    )
    card: dict[str, Any] | None = Field(
        default=None, description="the signed Agent Card, A2A 1.0 JSON; required when up, absent when down"
    )

    @model_validator(mode="after")
    def _card_when_up(self) -> Announcement:
        if self.status == "up" and self.card is None:
            raise ValueError("an `up` announcement carries the agent's card")
        if self.status == "down" and self.card is not None:
            raise ValueError("a `down` announcement carries no card")
        return self


class RegistryQuery(BaseModel):
    """Asks agents to announce themselves now: those named in `agents`, or all when it is empty."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    registry_format: Literal["1"] = REGISTRY_FORMAT
    agents: list[str] = Field(default_factory=list, max_length=1000)


class SkillSummary(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    name: str
    description: str
    tags: list[str]


class InterfaceSummary(BaseModel):
    model_config = ConfigDict(frozen=True)

    url: str
    protocol_binding: str
    protocol_version: str


class CardSummary(BaseModel):
    """The parts of a card a directory listing shows; `url` is the preferred interface's."""

    model_config = ConfigDict(frozen=True)

    name: str
    description: str
    version: str
    url: str | None
    skills: list[SkillSummary]
    interfaces: list[InterfaceSummary]


class AgentEntry(BaseModel):
    """One agent in the directory, as `GET /api/agents` lists it. `since` is when `status` last
    changed; `down_reason` says why an agent is down. `key_id` is the pinned key that verified
    the card. Times are UTC."""

    model_config = ConfigDict(frozen=True)

    agent: str
    status: AgentStatus
    last_seen: datetime
    since: datetime
    down_reason: DownReason | None
    instance: str
    seq: int
    heartbeat: float
    key_id: str
    summary: CardSummary


class AgentDetail(AgentEntry):
    """One agent with its full signed card (A2A 1.0 JSON), as `GET /api/agents/{agent}` gives it."""

    card: dict[str, Any]
