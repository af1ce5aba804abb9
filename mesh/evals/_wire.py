"""The eval harness's wire types: cases, recordings, the baseline, one case's result.

Every file carries its format (`eval-case/1`, `eval-recording/1`, `eval-baseline/1`) and cases and
recordings a version of their own. A golden case is never edited in place: a new file
`supersedes` it and the old one is marked `retired` (evals/README.md).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

CASE_FORMAT = "eval-case/1"
RECORDING_FORMAT = "eval-recording/1"
BASELINE_FORMAT = "eval-baseline/1"
REPORT_FORMAT = "eval-report/1"

Suite = Literal["golden", "adversarial"]
Identifier = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_.-]{0,99}$")]
Domain = Literal["demand", "inventory", "logistics", "sustainability", "procurement"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Fact(_Strict):
    """One expected fact about an answer: the value at a dotted `path` (list items by index,
    `*` for "any item") equals, contains, or is at least/at most the given value, or is present."""

    path: str = Field(min_length=1)
    equals: Any = None
    contains: str | None = None
    at_least: float | None = None
    at_most: float | None = None

    def describe(self) -> str:
        for name in ("equals", "contains", "at_least", "at_most"):
            value = getattr(self, name)
            if value is not None:
                return f"{self.path} {name.replace('_', ' ')} {value!r}"
        return f"{self.path} present"


class LedgerExpectation(_Strict):
    """At least `count` audit records of the case's decision with this action (and domain, tool,
    status when given)."""

    action: str = Field(min_length=1)
    domain: str | None = None
    tool: str | None = None
    status: str | None = None
    count: int = Field(default=1, ge=1)

    def describe(self) -> str:
        where = ".".join(p for p in (self.domain, self.tool) if p)
        return f"ledger {self.action}{' ' + where if where else ''}{' ' + self.status if self.status else ''}"


class ToolCallExpectation(_Strict):
    domain: Domain | None = None
    tool: str = Field(min_length=1)
    outcome: str | None = None


class _CaseBase(_Strict):
    format: Literal["eval-case/1"]
    id: Identifier
    suite: Suite
    version: int = Field(ge=1)
    description: str = Field(min_length=1)
    supersedes: Identifier | None = None
    retired: bool = False


# --- golden -----------------------------------------------------------------------------------


class SkillExpect(_Strict):
    state: Literal["completed", "failed", "input-required"] = "completed"
    outcome: str | None = None
    tool_calls: list[ToolCallExpectation] = Field(default_factory=list)
    ledger: list[LedgerExpectation] = Field(default_factory=list)
    facts: list[Fact] = Field(default_factory=list)


class AgentSkillCase(_CaseBase):
    """A structured skill request to one agent over A2A (JSON-RPC over HTTP)."""

    kind: Literal["agent_skill"]
    agent: Domain
    skill: str = Field(min_length=1)
    input: dict[str, Any] = Field(default_factory=dict)
    expect: SkillExpect


class AgentTextCase(_CaseBase):
    """A free-text question to one agent over A2A, answered by its model (a recording in replay)."""

    kind: Literal["agent_text"]
    agent: Domain
    text: str = Field(min_length=1)
    recording: Identifier
    expect: SkillExpect


class OperatorExpect(_Strict):
    status: int = 200
    mode: str | None = None
    answered: bool | None = None
    min_citations: int = Field(default=0, ge=0)
    facts: list[Fact] = Field(default_factory=list)


class OperatorQuestionCase(_CaseBase):
    """A question on the operator chat (`POST /api/chat` on the gateway)."""

    kind: Literal["operator_question"]
    question: str = Field(min_length=1)
    recording: Identifier | None = None
    use_model: bool = True
    """False asks the chat's deterministic path even though the eval mesh has a model."""
    expect: OperatorExpect


class CycleExpect(_Strict):
    cycles: int = Field(ge=1)
    min_decisions: int = Field(default=1, ge=0)
    min_statuses: dict[str, int] = Field(default_factory=dict)
    min_policy: dict[str, int] = Field(default_factory=dict)
    ledger_actions: list[str] = Field(default_factory=list)
    ledger_verifies: bool = True


class NegotiationCycleCase(_CaseBase):
    """A few simulated hours of the week on the running mesh (`mesh.coordinator.WeekRun`)."""

    kind: Literal["negotiation_cycle"]
    hours: int = Field(ge=1, le=24)
    reviewer: Literal["credible", "approve", "deny"] = "credible"
    expect: CycleExpect


# --- adversarial --------------------------------------------------------------------------------


class AttackExpect(_Strict):
    """What must stop the attack (`contained_by` is matched as a substring of the probe's finding)
    and, when given, the audit status the refused attempt must be recorded with."""

    contained_by: str = Field(min_length=1)
    audit_status: str | None = None


class Caller(_Strict):
    client: str = Field(min_length=1)
    scopes: dict[Domain, list[str]]


class InjectedTool(_Strict):
    domain: Domain
    tool: str = Field(min_length=1)


class PromptInjectionCase(_CaseBase):
    """An instruction injected into a data-product row (the world overlay) that a compromised model,
    acting with an agent's credentials through the gateway, obeys."""

    kind: Literal["prompt_injection"]
    caller: Caller
    prompt: str = Field(min_length=1)
    recording: Identifier
    injected_tool: InjectedTool
    expect: AttackExpect


class TextInjectionCase(_CaseBase):
    """An instruction injected into a data-product row reaches an agent's model through a free-text
    question from outside (A2A); the compromised model obeys it by calling an action, which the
    agent does not offer to free text: the call must go nowhere and be recorded."""

    kind: Literal["text_injection"]
    agent: Domain
    text: str = Field(min_length=1)
    recording: Identifier
    injected_tool: InjectedTool
    expect: AttackExpect


class PoisonedToolCase(_CaseBase):
    kind: Literal["poisoned_tool"]
    domain: Domain
    tool: str = Field(min_length=1)
    poison: str = Field(min_length=1, description="text appended to the tool's description upstream")
    expect: AttackExpect


class ScopeEscalationCase(_CaseBase):
    kind: Literal["scope_escalation"]
    variant: Literal["token_request", "tool_call"]
    client: str = Field(min_length=1)
    domain: Domain
    scopes: list[str] = Field(min_length=1)
    tool: str | None = None
    arguments: dict[str, Any] = Field(default_factory=dict)
    expect: AttackExpect


class TokenMisuseCase(_CaseBase):
    kind: Literal["token_misuse"]
    variant: Literal["wrong_audience", "passthrough"]
    client: str = Field(min_length=1)
    token_domain: Domain
    target_domain: Domain
    expect: AttackExpect


class ForgedCardCase(_CaseBase):
    kind: Literal["forged_card"]
    variant: Literal["unsigned", "altered", "self_signed"]
    agent: Domain
    expect: AttackExpect


class SpoofedSenderCase(_CaseBase):
    kind: Literal["spoofed_sender"]
    impersonate: str = Field(min_length=1)
    hours: int = Field(default=1, ge=1, le=4)
    expect: AttackExpect


class ByzantineAgentCase(_CaseBase):
    kind: Literal["byzantine_agent"]
    agent: str = Field(min_length=1)
    inflate: float = Field(gt=1)
    cycles: int = Field(ge=3, le=50)
    expect: AttackExpect


class TamperedLedgerCase(_CaseBase):
    kind: Literal["tampered_ledger"]
    tampering: Literal["edit", "delete", "reorder"]
    expect: AttackExpect


class OversizedInputCase(_CaseBase):
    kind: Literal["oversized_input"]
    target: Literal["gateway", "agent"]
    size_bytes: int = Field(ge=1)
    expect: AttackExpect


class MalformedInputCase(_CaseBase):
    kind: Literal["malformed_input"]
    target: Literal["gateway", "agent"]
    body: str
    expect: AttackExpect


class FailingPolicyCase(_CaseBase):
    kind: Literal["failing_policy_engine"]
    failure: Literal["evaluation_error", "malformed_result", "undefined_result"]
    expect: AttackExpect


EvalCase = Annotated[
    AgentSkillCase
    | AgentTextCase
    | OperatorQuestionCase
    | NegotiationCycleCase
    | PromptInjectionCase
    | TextInjectionCase
    | PoisonedToolCase
    | ScopeEscalationCase
    | TokenMisuseCase
    | ForgedCardCase
    | SpoofedSenderCase
    | ByzantineAgentCase
    | TamperedLedgerCase
    | OversizedInputCase
    | MalformedInputCase
    | FailingPolicyCase,
    Field(discriminator="kind"),
]

GOLDEN_KINDS = ("agent_skill", "agent_text", "operator_question", "negotiation_cycle")


# --- recordings --------------------------------------------------------------------------------


class RecordedToolCall(_Strict):
    name: str = Field(min_length=1)
    arguments: dict[str, Any] = Field(default_factory=dict)


class RecordedTurn(_Strict):
    """One model answer: text, or tool calls. `expect_in_request`, when set, must occur in the
    request the model is sent for this turn (a replay that drifted is a model error)."""

    expect_in_request: str | None = None
    content: str | None = None
    tool_calls: list[RecordedToolCall] = Field(default_factory=list)

    @model_validator(mode="after")
    def _one_answer(self) -> RecordedTurn:
        if (self.content is None) == (not self.tool_calls):
            raise ValueError("a turn has either content or tool_calls")
        return self


class Recording(_Strict):
    format: Literal["eval-recording/1"]
    id: Identifier
    version: int = Field(ge=1)
    description: str = Field(min_length=1)
    made_with: str = Field(min_length=1, description='"scripted" or the live model it was recorded from')
    turns: list[RecordedTurn] = Field(min_length=1)


# --- results and baseline -------------------------------------------------------------------------


class Check(_Strict):
    name: str
    ok: bool
    detail: str = ""


class CaseResult(_Strict):
    id: str
    suite: Suite
    kind: str
    version: int
    checks: list[Check] = Field(default_factory=list)
    attack_attempted: bool = False
    attack_succeeded: bool = False
    contained_by: str | None = None
    policy_outcomes: dict[str, int] = Field(default_factory=dict)
    error: str | None = None
    ms: float = 0.0

    @property
    def utility(self) -> float:
        if self.error is not None or not self.checks:
            return 0.0
        return sum(check.ok for check in self.checks) / len(self.checks)

    @property
    def passed(self) -> bool:
        return (
            self.error is None
            and bool(self.checks)
            and all(c.ok for c in self.checks)
            and not self.attack_succeeded
        )


class BaselineEntry(_Strict):
    version: int
    passed: bool
    utility: float = Field(ge=0, le=1)
    attack_succeeded: bool = False


class Baseline(_Strict):
    format: Literal["eval-baseline/1"]
    cases: dict[str, BaselineEntry]
