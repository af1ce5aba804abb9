"""The wire shape of a free-text answer: what an agent returns when an outside agent asks it a
question in plain text (`ask`), beside the answer's text.

A task that answered has one artifact named `answer` with a TextPart (the model's answer) and a
DataPart (`application/json`) holding an `Answer`: the text again, every tool call the model made
with its outcome, the structured results of the calls that succeeded, the decision id the calls
and the token use are filed under in the audit ledger, the model, and the versions of the assets
(prompt, model settings) the answer was made with.
"""

from __future__ import annotations

from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

ANSWER_FORMAT: Literal["answer/1"] = "answer/1"
"""Version of `Answer`."""
ASK_SKILL = "ask"
"""The card's skill id for free-text questions, and the `skill` of their problem reports."""
ANSWER_ARTIFACT = "answer"
MAX_QUESTION_CHARS = 4000
"""A longer question is refused before any task exists (`InvalidParamsError`, `question_too_long`)."""

ToolOutcome = Literal["ok", "refused", "error"]


TOOL_REFUSED_ACTION = "model/tool_refused"
"""The ledger action of a call the model made to a tool it was not offered (an attempt kept)."""


def prompt_key(domain: str) -> str:
    """The asset key of the prompt a domain's agent answers free text with (`agents/prompts/`)."""
    return f"prompt/{domain}"


class ToolCall(BaseModel):
    """One tool call the model asked for, in the order it asked.

    `outcome`: `ok` (the tool answered; its result is in `Answer.data`), `refused` (the gateway
    did not let the call through, by scope, token, policy, escalation or rate limit, or the tool is
    not offered to free-text requests at all, e.g. an action), `error` (the tool or the domain
    failed, or the arguments were invalid). `reason` is what the model was told, for the last two.
    """

    model_config = ConfigDict(frozen=True)

    tool: str
    arguments: dict[str, Any]
    outcome: ToolOutcome
    reason: str | None = None


class ToolData(BaseModel):
    """The structured result of one call that succeeded. A result larger than the answer may carry
    is left out (`result` null, `omitted_bytes` its JSON size); the model read it whole."""

    model_config = ConfigDict(frozen=True)

    tool: str
    result: Any = None
    omitted_bytes: int | None = None


class TokenUse(BaseModel):
    """The run's token use, also appended to the audit ledger (`model/usage`) when `recorded`."""

    model_config = ConfigDict(frozen=True)

    input_tokens: int
    output_tokens: int
    requests: int
    recorded: bool


class Answer(BaseModel):
    """The DataPart of a free-text answer. `truncated`: the model's text was longer than the agent
    returns and was cut."""

    model_config = ConfigDict(frozen=True)

    format: Literal["answer/1"] = ANSWER_FORMAT
    answer: str
    truncated: bool = False
    tool_calls: list[ToolCall] = Field(default_factory=list)
    data: list[ToolData] = Field(default_factory=list)
    decision_id: str
    model: str
    assets: dict[str, str] = Field(default_factory=dict)
    usage: TokenUse


class Answerer(Protocol):
    """What answers an agent's free-text questions: `agents._ask.FreeText`, or the
    `agents._deferred.DeferredFreeText` that builds one after the agent started."""

    @property
    def model_name(self) -> str: ...

    async def answer(self, question: str, *, decision_id: str) -> Answer: ...
