"""The A2A side of an agent: the executor that runs skills (and, with a model, free-text
questions) as tasks, and the request handler that refuses a malformed request before any task
exists."""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator
from typing import TYPE_CHECKING, Any

from a2a.helpers import new_data_part, new_task_from_user_message, new_text_part
from a2a.server.agent_execution import AgentExecutor, RequestContext
from a2a.server.context import ServerCallContext
from a2a.server.events import Event, EventQueue
from a2a.server.request_handlers import DefaultRequestHandler
from a2a.server.tasks import TaskUpdater
from a2a.types import Message, Part, Role, SendMessageRequest, Task, TaskState
from opentelemetry import trace

from agents._answer import ANSWER_ARTIFACT, ANSWER_FORMAT, ASK_SKILL
from agents._errors import (
    AgentError,
    GatewayUnavailable,
    PolicyDenied,
    PolicyEscalated,
    SkillFailed,
    ToolCallError,
    ToolFailed,
)
from agents._mcp import GatewayTools
from agents._proto import to_dict
from agents._skills import AgentSpec, AnySkill, Question, find_question, find_request, read_request
from agents._wire import DATA_MEDIA_TYPE, SKILL_REQUEST_FORMAT, TEXT_MEDIA_TYPE, Outcome, Problem, SkillInput
from mesh.tracing import TRACER_NAME

if TYPE_CHECKING:
    from agents._answer import Answerer

logger = logging.getLogger("agents")
tracer = trace.get_tracer(TRACER_NAME)

OUTCOMES: dict[type[AgentError], tuple[TaskState, Outcome]] = {
    PolicyEscalated: (TaskState.TASK_STATE_INPUT_REQUIRED, "escalated"),
    PolicyDenied: (TaskState.TASK_STATE_FAILED, "denied"),
    ToolFailed: (TaskState.TASK_STATE_FAILED, "tool_error"),
    GatewayUnavailable: (TaskState.TASK_STATE_FAILED, "unavailable"),
    SkillFailed: (TaskState.TASK_STATE_FAILED, "no_result"),
}
"""How a skill's failure ends its task; anything else is `failed` with outcome `internal_error`."""


DECISION_METADATA = "mesh/decision_id"
"""Message metadata key by which a caller (a negotiation, say) has a task's tool calls recorded
under a decision of its own; the same rule as the gateway's `_meta["mesh/decision_id"]`."""
_DECISION_CHARACTERS = frozenset("._:-")


def decision_id_for(domain: str, task_id: str, message: Message | None = None) -> str:
    """The decision a task's tool calls are recorded under in the audit ledger: the one the
    request's message names in its metadata (`mesh/decision_id`: 1 to 200 letters, digits and
    `._:-`), else `a2a-<domain>-<task id>`."""
    if message is not None and message.HasField("metadata"):
        requested = to_dict(message.metadata).get(DECISION_METADATA)
        if (
            isinstance(requested, str)
            and 0 < len(requested) <= 200
            and all(c.isalnum() or c in _DECISION_CHARACTERS for c in requested)
        ):
            return requested
    return f"a2a-{domain}-{task_id}"


class SkillExecutor(AgentExecutor):
    """Runs one agent's skills (`AgentSpec.skills`) as A2A tasks, reading and acting through the
    gateway with the agent's own credentials (`GatewayTools`); with `free_text` (the agent has a
    model), answers free-text questions too.

    Contract of `execute`:
    - **Request**: the message carries one DataPart `{"skill": <id>, "input": {...}}`, or, for an
      agent with a model, text only: a question (`read_request`). `SkillRequestHandler` refuses a
      bad one before a task exists; should one reach `execute` anyway, the same A2A error is
      raised before any event is enqueued.
    - **Question**: enqueues the `Task`, then `working`, asks `free_text` and ends `completed` with
      one artifact named `answer`: the answer as a TextPart and an `agents._answer.Answer` DataPart
      (the status message repeats the text); or `failed` with a `Problem` (`skill` `ask`) when the
      model failed (`model_error`, `detail.cause` naming the cause: timeout, rate_limited, ...) or
      the gateway's tools could not be opened (`unavailable`). A question never acts, so it never
      ends `input-required`.
    - **New task**: enqueues the `Task` (submitted, the user message in its history), then
      `working`, runs the skill, and ends in exactly one of:
        - `completed`: one artifact named after the skill with two parts, the output as a DataPart
          (`application/json`, the skill's output schema) and its summary as a TextPart; the status
          message repeats the summary;
        - `input-required`: an action was held for an operator (`PolicyEscalated`); the status
          message has the reason as text and a `Problem` DataPart with the escalation id;
        - `failed`: policy denied an action, a domain refused a call, the gateway was unavailable,
          the skill found nothing it may do, or an unexpected error (`OUTCOMES`); the status
          message has the reason as text and a `Problem` DataPart. Internal errors are logged and
          reported without details.
    - **Resume**: a message on an existing, unfinished task (one that is `input-required`) runs
      the task's original skill request again, whatever the new message says. With the data
      unchanged the held action is the identical call, which the gateway lets through once an
      operator approved it; while it is still pending the task stays `input-required` with the
      same escalation id; once it expired unanswered, the task fails (`denied`).
    - **Decision**: every tool call of a task carries one decision id (`decision_id_for`): the one
      the request's message names in its metadata (`mesh/decision_id`), else
      `a2a-<domain>-<task id>`, so `mesh audit show` finds them together.
    - **Concurrency**: different tasks run concurrently; the framework never runs `execute` twice
      at once for one task. Each run opens its own MCP sessions and closes them before returning.
    - **Cancellation**: the running `execute` is cancelled by the framework, then `cancel`
      publishes `canceled`. An action already sent to the gateway is not undone.
    """

    def __init__(self, spec: AgentSpec, tools: GatewayTools, *, free_text: Answerer | None = None) -> None:
        self.spec = spec
        self.tools = tools
        self.free_text = free_text

    async def execute(self, context: RequestContext, event_queue: EventQueue) -> None:
        message = context.message
        if message is None or context.task_id is None or context.context_id is None:
            raise AgentError("execute needs a message with task and context ids")
        task = context.current_task
        answers = self.free_text is not None
        if task is None:
            request = message
            asked = read_request(self.spec, request, answers_questions=answers)
            await event_queue.enqueue_event(new_task_from_user_message(message))
        else:
            request = self._original_request(task)
            asked = read_request(self.spec, request, answers_questions=answers)
        updater = TaskUpdater(event_queue, context.task_id, context.context_id)
        await updater.start_work()
        decision_id = decision_id_for(self.spec.domain, context.task_id, request)
        if isinstance(asked, Question):
            await self._answer(asked, updater, decision_id)
        else:
            await self._run(*asked, updater, decision_id)

    async def cancel(self, context: RequestContext, event_queue: EventQueue) -> None:
        if context.task_id is None or context.context_id is None:
            return
        await TaskUpdater(event_queue, context.task_id, context.context_id).cancel()

    async def _run(
        self, skill: AnySkill, arguments: SkillInput, updater: TaskUpdater, decision_id: str
    ) -> None:
        attributes = {"mesh.domain": self.spec.domain, "a2a.skill": skill.id, "mesh.decision_id": decision_id}
        with tracer.start_as_current_span("agent.skill", attributes=attributes) as span:
            try:
                async with self.tools.session(decision_id) as session:
                    output = await skill.run(session, arguments)
            except Exception as error:
                state, problem = _problem(skill, decision_id, error)
                span.set_attribute("mesh.outcome", problem.outcome)
                await self._stop(updater, state, problem)
                return
            summary = output.summary()
            metadata: dict[str, Any] = {
                "skill": skill.id,
                "format": SKILL_REQUEST_FORMAT,
                "decision_id": decision_id,
            }
            await updater.add_artifact(
                [
                    new_data_part(output.model_dump(mode="json"), media_type=DATA_MEDIA_TYPE),
                    new_text_part(summary, media_type=TEXT_MEDIA_TYPE),
                ],
                name=skill.id,
                metadata=metadata,
            )
            await updater.complete(
                updater.new_agent_message([new_text_part(summary, media_type=TEXT_MEDIA_TYPE)])
            )

    async def _answer(self, question: Question, updater: TaskUpdater, decision_id: str) -> None:
        from agents._ask import failure  # loaded already, or being loaded by the answerer

        assert self.free_text is not None  # read_request returns questions only then
        attributes = {
            "mesh.domain": self.spec.domain,
            "a2a.skill": ASK_SKILL,
            "mesh.decision_id": decision_id,
        }
        with tracer.start_as_current_span("agent.ask", attributes=attributes) as span:
            try:
                answer = await self.free_text.answer(question.text, decision_id=decision_id)
            except Exception as error:
                found = failure(error)
                if found is None:
                    logger.exception("a free-text answer failed", exc_info=error)
                    problem = Problem(
                        outcome="internal_error",
                        skill=ASK_SKILL,
                        message=f"the answer failed unexpectedly ({type(error).__name__}); see the log",
                        decision_id=decision_id,
                    )
                else:
                    problem = Problem(
                        outcome=found.outcome,
                        skill=ASK_SKILL,
                        message=found.message,
                        decision_id=decision_id,
                        detail={"cause": found.cause, "model": self.free_text.model_name},
                    )
                span.set_attribute("mesh.outcome", problem.outcome)
                await self._stop(updater, TaskState.TASK_STATE_FAILED, problem)
                return
            span.set_attribute("mesh.tool_calls", len(answer.tool_calls))
            await updater.add_artifact(
                [
                    new_text_part(answer.answer, media_type=TEXT_MEDIA_TYPE),
                    new_data_part(answer.model_dump(mode="json"), media_type=DATA_MEDIA_TYPE),
                ],
                name=ANSWER_ARTIFACT,
                metadata={"skill": ASK_SKILL, "format": ANSWER_FORMAT, "decision_id": decision_id},
            )
            await updater.complete(
                updater.new_agent_message([new_text_part(answer.answer, media_type=TEXT_MEDIA_TYPE)])
            )

    async def _stop(self, updater: TaskUpdater, state: TaskState, problem: Problem) -> None:
        parts = text_and_data(problem.message, problem.model_dump(mode="json", exclude_none=True))
        await updater.update_status(state, message=updater.new_agent_message(parts))

    def _original_request(self, task: Task) -> Message:
        requests: list[Message] = [
            earlier
            for earlier in task.history
            if earlier.role == Role.ROLE_USER and (find_request(earlier) or find_question(earlier))
        ]
        if not requests:
            raise AgentError(f"task {task.id} holds no request to resume")
        return requests[0]


def _problem(skill: AnySkill, decision_id: str, error: Exception) -> tuple[TaskState, Problem]:
    for kind, (state, outcome) in OUTCOMES.items():
        if isinstance(error, kind):
            return state, _describe(skill, decision_id, outcome, error)
    logger.exception("skill %s failed", skill.id, exc_info=error)
    message = f"the {skill.id} skill failed unexpectedly ({type(error).__name__}); see the agent's log"
    return TaskState.TASK_STATE_FAILED, Problem(
        outcome="internal_error", skill=skill.id, message=message, decision_id=decision_id
    )


def _gateway_decision(gateway_decision_id: str | None, decision_id: str) -> dict[str, Any] | None:
    """The gateway's decision id, when it did not record the call under the task's own."""
    if gateway_decision_id is None or gateway_decision_id == decision_id:
        return None
    return {"gateway_decision_id": gateway_decision_id}


def _describe(skill: AnySkill, decision_id: str, outcome: Outcome, error: Exception) -> Problem:
    fields: dict[str, Any] = {"outcome": outcome, "skill": skill.id, "decision_id": decision_id}
    if isinstance(error, ToolCallError):
        fields |= {"domain": error.domain, "tool": error.tool}
    if isinstance(error, PolicyDenied):
        reasons = "; ".join(error.reasons)
        return Problem(
            **fields,
            message=f"denied by policy: {reasons}",
            reasons=error.reasons,
            policy_ids=error.policy_ids,
            policy_version=error.policy_version,
            detail=_gateway_decision(error.decision_id, decision_id),
        )
    if isinstance(error, PolicyEscalated):
        reasons = "; ".join(error.reasons)
        return Problem(
            **fields,
            message=(
                f"held for human approval as escalation {error.escalation_id}: {reasons}; "
                "send any message on this task to retry once it is approved"
            ),
            reasons=error.reasons,
            policy_ids=error.policy_ids,
            escalation_id=error.escalation_id,
            expires_at=error.expires_at,
            detail=_gateway_decision(error.decision_id, decision_id),
        )
    if isinstance(error, ToolCallError):
        return Problem(**fields, message=f"{error.domain}.{error.tool}: {error.message}")
    if isinstance(error, SkillFailed):
        return Problem(**fields, message=error.message, detail=error.detail or None)
    return Problem(**fields, message=str(error))


class SkillRequestHandler(DefaultRequestHandler):
    """The SDK's `DefaultRequestHandler`, refusing a message that starts a task unless it names one
    of the agent's skills with valid input, or, when the agent `answers_questions`, asks one in
    text (`read_request`): the client gets the A2A error (`-32005` content type not supported,
    `-32602` invalid params) and no task is created.

    A message on an existing task (`message.task_id` set) is passed through unchecked: it resumes
    that task (see `SkillExecutor`). Every binding (JSON-RPC, REST, and others built on this
    handler) gets the same checks.
    """

    def __init__(self, spec: AgentSpec, *, answers_questions: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.spec = spec
        self.answers_questions = answers_questions

    async def on_message_send(self, params: SendMessageRequest, context: ServerCallContext) -> Message | Task:
        self._check(params)
        result: Message | Task = await super().on_message_send(params, context)
        return result

    async def on_message_send_stream(
        self, params: SendMessageRequest, context: ServerCallContext
    ) -> AsyncGenerator[Event, None]:
        self._check(params)
        async for event in super().on_message_send_stream(params, context):
            yield event

    def _check(self, params: SendMessageRequest) -> None:
        if params.HasField("message") and not params.message.task_id:
            read_request(self.spec, params.message, answers_questions=self.answers_questions)


def text_and_data(text: str, data: dict[str, Any]) -> list[Part]:
    """A message body of a short text and a JSON object, as the agents send them."""
    return [new_text_part(text, media_type=TEXT_MEDIA_TYPE), new_data_part(data, media_type=DATA_MEDIA_TYPE)]
