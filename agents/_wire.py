"""The wire shapes every agent shares: how a skill is asked for, where its numbers came from, the
policy note on an action, and the problem report of a failed or held task.

Each domain's skill inputs and outputs live in `agents/<domain>/_wire.py`; their JSON Schemas are
published in the Agent Card (extension `SKILL_SCHEMAS_EXTENSION`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

SKILL_REQUEST_FORMAT = "1"
"""Version of the request envelope and problem report below."""

DATA_MEDIA_TYPE = "application/json"
TEXT_MEDIA_TYPE = "text/plain"


class SkillRequest(BaseModel):
    """What a client sends: one DataPart (`application/json`) whose data is this object."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    skill: str = Field(min_length=1, max_length=64, description="a skill id from the Agent Card")
    input: dict[str, Any] = Field(default_factory=dict, description="the skill's input object")


class SkillInput(BaseModel):
    """Base of every skill's input: unknown fields are refused, so a typo is an error, not a default."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class SkillOutput(BaseModel):
    """Base of every skill's output; `summary()` is the short text part sent beside the data."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    def summary(self) -> str:
        raise NotImplementedError


class Record(BaseModel):
    """A part of a skill's output (a row, an option, a breakdown)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class ProductSource(BaseModel):
    """A data product a result was computed from, at the version and domain clock it was read at."""

    model_config = ConfigDict(frozen=True)

    product_id: str
    version: str
    as_of: datetime


class PolicyNote(BaseModel):
    """The gateway's note on an action that went through with a warning or after an approval."""

    model_config = ConfigDict(frozen=True)

    decision: str
    reasons: list[str] = Field(default_factory=list)
    policy_ids: list[str] = Field(default_factory=list)
    policy_version: str | None = None
    decision_id: str | None = None
    approved_escalation: str | None = None


Outcome = Literal[
    "denied", "escalated", "tool_error", "unavailable", "no_result", "model_error", "internal_error"
]


class Problem(BaseModel):
    """The DataPart of the status message of a task that failed or waits for a human.

    `outcome`: `denied` (policy denied an action: nothing happened), `escalated` (an action is held
    for an operator: the task is input-required), `tool_error` (a domain refused the call, e.g. not
    enough stock), `unavailable` (the gateway could not be reached or refused this agent),
    `no_result` (the skill found nothing it may do, e.g. no feasible carrier), `model_error` (a
    free-text question's model failed: `detail.cause` says how), `internal_error`.
    """

    model_config = ConfigDict(frozen=True)

    format: str = SKILL_REQUEST_FORMAT
    outcome: Outcome
    skill: str
    message: str
    domain: str | None = None
    tool: str | None = None
    reasons: list[str] | None = None
    policy_ids: list[str] | None = None
    policy_version: str | None = None
    escalation_id: str | None = None
    expires_at: str | None = None
    decision_id: str | None = None
    detail: dict[str, Any] | None = None
