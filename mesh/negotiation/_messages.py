"""The messages of a distributed decision cycle on NATS (format "1").

The coordinator publishes a `CycleCall` on `<prefix>cycles.open`; each agent answers with one or
more `IntentBatch`es on `<prefix>intents.<cycle-id>`, the last with `final` set.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from mesh.negotiation._contract import IntentContract

MESSAGE_FORMAT: Literal["1"] = "1"
CYCLE_ID_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"


class _Wire(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class CycleCall(_Wire):
    """A call for proposals: what the agents should perceive, and until when they may answer."""

    message_format: Literal["1"] = MESSAGE_FORMAT
    cycle_id: str = Field(pattern=CYCLE_ID_PATTERN)
    opened_at: AwareDatetime
    deadline_at: AwareDatetime
    intents_subject: str = Field(min_length=1)
    perception: dict[str, Any] = Field(default_factory=dict)


class IntentBatch(_Wire):
    """Some or all of one agent's intents for a cycle; `final` says the agent has no more.
    `error` says why an agent that failed to propose sent none."""

    message_format: Literal["1"] = MESSAGE_FORMAT
    cycle_id: str = Field(pattern=CYCLE_ID_PATTERN)
    agent: str = Field(min_length=1, max_length=200)
    intents: list[IntentContract] = Field(default_factory=list)
    final: bool = True
    error: str | None = Field(default=None, max_length=2000)
