"""Free-text questions: an outside agent asks in plain text ("what is the EU forecast for SKU-17
next week?"), the agent's model answers through the agent's tools, and the answer comes back as
text with the structured data beside it (`agents._answer.Answer`).

The model's tools, and nothing else:
- the agent's own skills that do not act, as function tools (name = skill id, arguments = the
  skill's input schema), run by the same deterministic logic as structured requests;
- the read-only tools of the gateway's MCP proxies of the domains the agent reads
  (`<domain>_<tool>`), whose required scope the agent's read token holds.

Everything runs with the agent's own client, asking for its read scopes only (least privilege:
no token a free-text run holds could act), and every gateway call carries the task's decision id
and the versions of the assets the answer was made with (`_meta["mesh/assets"]`).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from a2a.utils.errors import InvalidParamsError
from opentelemetry.trace import TracerProvider
from pydantic_ai import Tool
from pydantic_ai.exceptions import ModelRetry, ToolFailed, UnexpectedModelBehavior, UsageLimitExceeded
from pydantic_ai.messages import ModelMessage, ModelRequest, ModelResponse, RetryPromptPart, ToolCallPart
from pydantic_ai.models import Model
from pydantic_ai.tools import RunContext, ToolDefinition
from pydantic_ai.toolsets import AbstractToolset, CombinedToolset, FunctionToolset, WrapperToolset
from pydantic_ai.toolsets.abstract import ToolsetTool
from pydantic_ai.usage import RunUsage, UsageLimits
from pydantic_core import to_jsonable_python

from agents._answer import TOOL_REFUSED_ACTION, Answer, TokenUse, ToolCall, ToolData, ToolOutcome, prompt_key
from agents._errors import AgentConfigError, PolicyDenied, PolicyEscalated, SkillFailed, ToolCallError
from agents._mcp import GatewayTools
from agents._skills import AgentSpec, AnySkill
from agents._wire import Outcome
from mesh.assets import MODEL_SETTINGS_KEY, Assets
from mesh.audit import AuditError, AuditRecord, Caller, Ledger
from mesh.identity import IdentityError
from mesh.models import (
    GatewayToolsUnavailableError,
    ModelAuthError,
    ModelCallTimeoutError,
    ModelError,
    ModelProviderError,
    ModelRateLimitedError,
    ModelRequestRefusedError,
    ModelServiceError,
    ModelUnreachableError,
    build_mesh_agent,
    gateway_toolset,
    usage_record,
)
from mesh.models._agent import GatewayRefused

logger = logging.getLogger("agents")

MAX_ANSWER_CHARS = 4000
"""The most characters of the model's answer a task returns; a longer answer is cut."""
MAX_RESULT_BYTES = 64_000
"""The largest tool result (as JSON) the answer's data carries; the model reads it whole anyway."""
REQUEST_LIMIT = 8
"""Model calls one question may take."""
TOOL_CALLS_LIMIT = 16
"""Tool calls one question may take."""
MAX_RECORDED_ARGUMENTS = 2000
"""Characters of such a call's arguments (as JSON) the record keeps."""
SCOPE_META = "mesh/scope"
NOT_OFFERED = (
    "not offered to free-text requests (an action, or a tool outside the agent's read scopes); "
    "it was not called"
)


FAILURES: tuple[tuple[type[Exception], Outcome, str], ...] = (
    (GatewayToolsUnavailableError, "unavailable", "gateway_tools"),
    (ModelCallTimeoutError, "model_error", "timeout"),
    (ModelRateLimitedError, "model_error", "rate_limited"),
    (ModelAuthError, "model_error", "auth"),
    (ModelUnreachableError, "model_error", "unreachable"),
    (ModelRequestRefusedError, "model_error", "request_refused"),
    (ModelServiceError, "model_error", "service"),
    (ModelProviderError, "model_error", "provider"),
    (ModelError, "model_error", "model"),
    (UsageLimitExceeded, "model_error", "usage_limit"),
    (UnexpectedModelBehavior, "model_error", "unexpected_behavior"),
)
"""How a free-text run that did not answer ends its task: the problem's `outcome` and
`detail.cause`, by the first row whose error type matches; anything else is `internal_error`."""
MAX_PROBLEM_CHARS = 600


@dataclass(frozen=True, slots=True)
class Failure:
    outcome: Outcome
    cause: str
    message: str


def failure(error: BaseException) -> Failure | None:
    """The `FAILURES` row of what ended a run (looked for inside exception groups too), with a
    message naming the cause; None for an error of no row (a defect: log it)."""
    pending: list[BaseException] = [error]
    while pending:
        current = pending.pop(0)
        if isinstance(current, BaseExceptionGroup):
            pending.extend(current.exceptions)
            continue
        for kind, outcome, cause in FAILURES:
            if isinstance(current, kind):
                return Failure(outcome, cause, _failure_message(current)[:MAX_PROBLEM_CHARS])
    return None


def _failure_message(error: BaseException) -> str:
    if isinstance(error, UsageLimitExceeded):
        return (
            f"the model did not answer within {REQUEST_LIMIT} model calls and {TOOL_CALLS_LIMIT} tool "
            f"calls: {error}"
        )
    if isinstance(error, UnexpectedModelBehavior):
        return f"the model did not answer as expected: {error.message}"
    return str(error)  # the model layer's messages name the model and the cause, never a key


class FreeText:
    """Answers free-text questions for one agent with `model`.

    Contract of `answer(question, decision_id)`:
    - builds a pydantic-ai agent with the prompt asset `prompt/<domain>` as its instructions and
      the tools described in this module's docstring, and runs it on the question, at most
      `REQUEST_LIMIT` model calls and `TOOL_CALLS_LIMIT` tool calls;
    - a tool the gateway refuses, a tool that fails, and a tool the model names that it was not
      offered reach the model as failed results (the run goes on) and the `Answer` lists them with
      outcome `refused` or `error`;
    - the run's token use is appended to `ledger` (when there is one) as a `model/usage` record
      under `decision_id`, carrying the asset versions, whether the run succeeded or not; a ledger
      that fails to record it is logged, and the answer says `usage.recorded: false`;
    - returns the `Answer` (text cut at `MAX_ANSWER_CHARS`), or raises what ended the run: a
      `mesh.models.ModelError` (provider failure, gateway tools unavailable), or pydantic-ai's
      `UsageLimitExceeded` or `UnexpectedModelBehavior`.
    """

    def __init__(
        self,
        spec: AgentSpec,
        tools: GatewayTools,
        model: Model,
        *,
        assets: Assets,
        ledger: Ledger | None = None,
        tracer_provider: TracerProvider | None = None,
        max_answer_chars: int = MAX_ANSWER_CHARS,
    ) -> None:
        key = prompt_key(spec.domain)
        if key not in assets:
            raise AgentConfigError(
                f"the {spec.domain} agent answers free text with the prompt asset {key!r} "
                f"(agents/prompts/{spec.domain}.md), and there is none"
            )
        self.spec = spec
        self.model = model
        self.reader = tools.read_only()
        self.instructions = assets.get(key).text
        used = [key, *([MODEL_SETTINGS_KEY] if MODEL_SETTINGS_KEY in assets else [])]
        self.assets = assets.versions(used)
        self.skills = [skill for skill in spec.skills if not skill.acts]
        self.ledger = ledger
        self.tracer_provider = tracer_provider
        self.max_answer_chars = max_answer_chars

    @property
    def model_name(self) -> str:
        return self.model.model_name

    async def answer(self, question: str, *, decision_id: str) -> Answer:
        offered: set[str] = {skill.id for skill in self.skills}
        log = _CallLog()
        toolsets: list[AbstractToolset[None]] = [
            FunctionToolset([self._skill_tool(skill, decision_id) for skill in self.skills]),
            *(self._domain_reads(domain, decision_id, offered) for domain in self.reader.scopes),
        ]
        agent = build_mesh_agent(
            self.model,
            instructions=self.instructions,
            name=self.spec.client_id,
            tracer_provider=self.tracer_provider,
        )
        usage = RunUsage()
        status: Literal["executed", "failed"] = "failed"
        try:
            result = await agent.run(
                question,
                toolsets=[_Recorded(CombinedToolset(toolsets), log=log)],
                usage=usage,
                usage_limits=UsageLimits(request_limit=REQUEST_LIMIT, tool_calls_limit=TOOL_CALLS_LIMIT),
            )
            status = "executed"
        finally:
            recorded = await self._record_usage(usage, decision_id, status)
        text = result.output.strip()
        truncated = len(text) > self.max_answer_chars
        calls, data = _account(result.all_messages(), log, offered)
        await self._record_not_offered(calls, decision_id)
        return Answer(
            answer=text[: self.max_answer_chars - 1] + "…" if truncated else text,
            truncated=truncated,
            tool_calls=calls,
            data=data,
            decision_id=decision_id,
            model=self.model_name,
            assets=self.assets,
            usage=TokenUse(
                input_tokens=usage.input_tokens,
                output_tokens=usage.output_tokens,
                requests=usage.requests,
                recorded=recorded,
            ),
        )

    def _skill_tool(self, skill: AnySkill, decision_id: str) -> Tool[None]:
        """The skill as a function tool; what ends its run reaches the model as a failed result."""
        reader, assets = self.reader, self.assets

        async def run(**arguments: Any) -> dict[str, Any]:
            try:
                parsed = skill.parse(arguments)
            except InvalidParamsError as error:
                raise ModelRetry(error.message) from None
            try:
                # A session of its own per call: the MCP clients' task groups belong to the task
                # that opens them, and pydantic-ai may run tool calls in tasks of their own.
                async with reader.session(decision_id, assets=assets) as session:
                    output = await skill.run(session, parsed)
            except (PolicyDenied, PolicyEscalated) as error:
                reasons = "; ".join(error.reasons)
                where = f"{error.domain}.{error.tool}"
                raise GatewayRefused(
                    f"refused by the gateway, {skill.id} could not call {where}: {reasons}"
                ) from None
            except ToolCallError as error:
                raise ToolFailed(f"{skill.id} failed: {error}") from None
            except SkillFailed as error:
                raise ToolFailed(f"{skill.id} has no result: {error.message}") from None
            except Exception as error:
                logger.exception("skill %s failed in a free-text run", skill.id)
                raise ToolFailed(f"{skill.id} failed unexpectedly ({type(error).__name__})") from None
            dumped: dict[str, Any] = output.model_dump(mode="json")
            return dumped

        return Tool.from_schema(
            run,
            name=skill.id,
            description=skill.description,
            json_schema=skill.input_model.model_json_schema(),
        )

    def _domain_reads(self, domain: str, decision_id: str, offered: set[str]) -> AbstractToolset[None]:
        scopes = set(self.reader.scopes[domain])

        def readable(_: RunContext[None], tool: ToolDefinition) -> bool:
            metadata = tool.metadata or {}
            annotations = metadata.get("annotations") or {}
            meta = metadata.get("meta") or {}
            needs = meta.get(SCOPE_META) or f"{domain}:read"
            if annotations.get("readOnlyHint") is True and needs in scopes:
                offered.add(tool.name)
                return True
            return False

        try:
            auth = self.reader.auth(domain)
        except IdentityError as error:  # no client secret to ask for a token with
            raise GatewayToolsUnavailableError(domain, self.reader.url(domain), str(error)) from None
        toolset = gateway_toolset(
            self.reader.gateway_url,
            domain,
            auth,
            decision_id=decision_id,
            assets=self.assets,
        )
        return toolset.filtered(readable)

    async def _record_not_offered(self, calls: Sequence[ToolCall], decision_id: str) -> None:
        """Each call of a tool the model was not offered (an action, say, that text in the data
        told it to make) is an attempt the ledger keeps: action `model/tool_refused`, refused."""
        if self.ledger is None:
            return
        for call in calls:
            if call.reason != NOT_OFFERED:
                continue
            arguments = json.dumps(call.arguments, sort_keys=True, default=str)
            record = AuditRecord(
                decision_id=decision_id,
                occurred_at=datetime.now(UTC),
                agent=f"agent:{self.spec.domain}",
                domain=self.spec.domain,
                action=TOOL_REFUSED_ACTION,
                parameters={
                    "tool": call.tool,
                    "arguments": arguments[:MAX_RECORDED_ARGUMENTS],
                    "reason": call.reason,
                },
                execution_mode="refused",
                status="refused",
                caller=Caller(subject=f"agent:{self.spec.domain}", client_id=self.spec.client_id),
                assets=dict(self.assets) or None,
            )
            try:
                await self.ledger.append(record)
            except AuditError as error:
                logger.error("refused call of %s in %s not recorded: %s", call.tool, decision_id, error)

    async def _record_usage(
        self, usage: RunUsage, decision_id: str, status: Literal["executed", "failed"]
    ) -> bool:
        if self.ledger is None:
            return False
        record = usage_record(
            usage,
            decision_id=decision_id,
            model=self.model,
            agent=self.spec.client_id,
            domain=self.spec.domain,
            caller=Caller(subject=f"agent:{self.spec.domain}", client_id=self.spec.client_id),
            status=status,
        )
        try:
            await self.ledger.append(
                AuditRecord.model_validate(record.model_dump() | {"assets": self.assets})
            )
        except AuditError as error:
            logger.error("token use of %s not recorded in the ledger: %s", decision_id, error)
            return False
        return True


@dataclass
class _CallLog:
    """What each tool call the toolsets ran came to, by tool call id."""

    outcomes: dict[str, tuple[ToolOutcome, str | None, Any]] = field(default_factory=dict)


@dataclass
class _Recorded(WrapperToolset[None]):
    """Keeps account of each call: its result, or whether the gateway refused it or it failed."""

    log: _CallLog = field(default_factory=_CallLog)

    async def call_tool(
        self, name: str, tool_args: dict[str, Any], ctx: RunContext[None], tool: ToolsetTool[None]
    ) -> Any:
        key = ctx.tool_call_id or name
        try:
            result = await self.wrapped.call_tool(name, tool_args, ctx, tool)
        except GatewayRefused as refused:
            self.log.outcomes[key] = ("refused", refused.message, None)
            raise
        except ToolFailed as failed:
            self.log.outcomes[key] = ("error", failed.message, None)
            raise
        except ModelRetry as retry:
            self.log.outcomes[key] = ("error", retry.message, None)
            raise
        self.log.outcomes[key] = ("ok", None, result)
        return result


def _account(
    messages: Sequence[ModelMessage], log: _CallLog, offered: set[str]
) -> tuple[list[ToolCall], list[ToolData]]:
    """Every tool call the model asked for, in order, with its outcome; and the results of the
    calls that succeeded. A call that never reached a toolset was either not offered (refused)
    or had arguments its schema rejected (error)."""
    retries: Mapping[str, RetryPromptPart] = {
        part.tool_call_id: part
        for message in messages
        if isinstance(message, ModelRequest)
        for part in message.parts
        if isinstance(part, RetryPromptPart)
    }
    calls: list[ToolCall] = []
    data: list[ToolData] = []
    for message in messages:
        if not isinstance(message, ModelResponse):
            continue
        for part in message.parts:
            if not isinstance(part, ToolCallPart):
                continue
            arguments = part.args_as_dict()
            if part.tool_call_id in log.outcomes:
                outcome, reason, result = log.outcomes[part.tool_call_id]
            elif part.tool_name not in offered:
                outcome, reason, result = "refused", NOT_OFFERED, None
            else:
                retry = retries.get(part.tool_call_id)
                outcome, reason, result = "error", _retry_reason(retry), None
            calls.append(ToolCall(tool=part.tool_name, arguments=arguments, outcome=outcome, reason=reason))
            if outcome == "ok":
                data.append(_data(part.tool_name, result))
    return calls, data


def _retry_reason(retry: RetryPromptPart | None) -> str:
    if retry is None:
        return "the call was not run"
    if isinstance(retry.content, str):
        return retry.content
    problems = [
        f"{'.'.join(str(step) for step in error['loc']) or 'arguments'}: {error['msg']}"
        for error in retry.content
    ]
    return "invalid arguments: " + "; ".join(problems)


def _data(tool: str, result: Any) -> ToolData:
    value = to_jsonable_python(result, fallback=str)
    size = len(json.dumps(value, separators=(",", ":")))
    if size > MAX_RESULT_BYTES:
        return ToolData(tool=tool, omitted_bytes=size)
    return ToolData(tool=tool, result=value)
