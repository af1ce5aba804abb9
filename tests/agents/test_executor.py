"""The executor's contract, in process: how each skill outcome ends its task, resuming a held
task, and the handler refusing bad requests before any task exists."""

from __future__ import annotations

from pathlib import Path

import pytest
from a2a.helpers import get_data_parts, get_text_parts, new_data_part, new_text_part
from a2a.server.context import ServerCallContext
from a2a.server.tasks import InMemoryTaskStore
from a2a.types import ListTasksRequest, Message, Role, SendMessageRequest, Task, TaskState
from a2a.utils.errors import ContentTypeNotSupportedError, InvalidParamsError

from agents import (
    AgentSpec,
    GatewayTools,
    GatewayUnavailable,
    PolicyDenied,
    PolicyEscalated,
    Skill,
    SkillExecutor,
    SkillFailed,
    SkillRequestHandler,
    ToolFailed,
    ToolSession,
    build_card,
    decision_id_for,
)
from agents._wire import SkillInput, SkillOutput
from mesh.identity import ClientsFileError


class Echo(SkillInput):
    word: str = "hello"


class Said(SkillOutput):
    word: str

    def summary(self) -> str:
        return f"said {self.word}"


DENIED = PolicyDenied(
    "procurement",
    "place_purchase_order",
    "denied",
    reasons=["supplier SUP-NA-2 failed its labor compliance check"],
    policy_ids=["decisions.purchase_order.labor_compliance"],
    policy_version="1.2.0",
    decision_id="d",
)
ESCALATED = PolicyEscalated(
    "procurement",
    "place_purchase_order",
    "held",
    escalation_id="esc-1",
    expires_at="2026-02-02T00:15:00Z",
    reasons=["tier-2 transparency 0.49 is below the minimum of 0.6"],
    policy_ids=["decisions.purchase_order.tier2_transparency"],
    decision_id="d",
)


def _spec(run: object, tmp_path: Path) -> tuple[AgentSpec, SkillRequestHandler, InMemoryTaskStore]:
    skill = Skill(
        id="say",
        name="Say",
        description="says a word",
        tags=("t",),
        examples=("{}",),
        input_model=Echo,
        output_model=Said,
        run=run,  # type: ignore[arg-type]
    )
    spec = AgentSpec(
        domain="demand",
        name="Test agent",
        description="d",
        version="0.0.1",
        skills=(skill,),
        reaches={"demand": ("demand:read",)},
    )
    tools = GatewayTools.from_clients_file(
        "http://127.0.0.1:9",
        client_id="demand-agent",
        clients_file=tmp_path / "none.json",
        scopes=spec.reaches,
    )
    store = InMemoryTaskStore()
    handler = SkillRequestHandler(
        spec,
        agent_executor=SkillExecutor(spec, tools),
        task_store=store,
        agent_card=build_card(spec, "http://x"),
    )
    return spec, handler, store


def _message(data: dict[str, object] | None = None, *, task: Task | None = None) -> Message:
    parts = [new_data_part(data)] if data is not None else [new_text_part("go on")]
    message = Message(role=Role.ROLE_USER, message_id=f"m-{id(parts)}", parts=parts)
    if task is not None:
        message.task_id, message.context_id = task.id, task.context_id
    return message


async def _send(handler: SkillRequestHandler, message: Message) -> Task:
    result = await handler.on_message_send(SendMessageRequest(message=message), ServerCallContext())
    assert isinstance(result, Task)
    return result


async def test_a_completed_task_has_one_artifact_with_the_data_and_its_summary(tmp_path: Path) -> None:
    async def say(_: ToolSession, request: Echo) -> Said:
        return Said(word=request.word)

    _, handler, _ = _spec(say, tmp_path)
    task = await _send(handler, _message({"skill": "say", "input": {"word": "hi"}}))

    assert task.status.state == TaskState.TASK_STATE_COMPLETED
    (artifact,) = task.artifacts
    assert artifact.name == "say"
    assert get_data_parts(artifact.parts) == [{"word": "hi"}]
    assert get_text_parts(artifact.parts) == ["said hi"]
    assert artifact.metadata["decision_id"] == decision_id_for("demand", task.id)
    assert get_text_parts(task.status.message.parts) == ["said hi"]


@pytest.mark.parametrize(
    ("error", "state", "outcome"),
    [
        (DENIED, TaskState.TASK_STATE_FAILED, "denied"),
        (ESCALATED, TaskState.TASK_STATE_INPUT_REQUIRED, "escalated"),
        (
            ToolFailed("inventory", "transfer_stock", "not enough stock"),
            TaskState.TASK_STATE_FAILED,
            "tool_error",
        ),
        (
            GatewayUnavailable("demand", "get_forecast", "connection refused"),
            TaskState.TASK_STATE_FAILED,
            "unavailable",
        ),
        (SkillFailed("no feasible carrier"), TaskState.TASK_STATE_FAILED, "no_result"),
        (ZeroDivisionError("secret detail"), TaskState.TASK_STATE_FAILED, "internal_error"),
    ],
)
async def test_each_failure_ends_the_task_as_the_outcome_table_says(
    tmp_path: Path, error: Exception, state: TaskState, outcome: str
) -> None:
    async def fail(_: ToolSession, __: Echo) -> Said:
        raise error

    _, handler, _ = _spec(fail, tmp_path)
    task = await _send(handler, _message({"skill": "say"}))

    assert task.status.state == state
    assert not task.artifacts
    (report,) = get_data_parts(task.status.message.parts)
    assert (report["outcome"], report["skill"]) == (outcome, "say")
    assert report["decision_id"] == decision_id_for("demand", task.id)
    (text,) = get_text_parts(task.status.message.parts)
    assert text == report["message"]
    if outcome == "denied":
        assert report["policy_ids"] == ["decisions.purchase_order.labor_compliance"]
        assert report["policy_version"] == "1.2.0"
    if outcome == "escalated":
        assert report["escalation_id"] == "esc-1"
    if outcome == "internal_error":
        assert "secret detail" not in text


async def test_a_held_task_resumes_with_its_original_request_on_any_message(tmp_path: Path) -> None:
    seen: list[str] = []

    async def held_once(_: ToolSession, request: Echo) -> Said:
        seen.append(request.word)
        if len(seen) == 1:
            raise ESCALATED
        return Said(word=request.word)

    _, handler, _ = _spec(held_once, tmp_path)
    held = await _send(handler, _message({"skill": "say", "input": {"word": "order"}}))
    assert held.status.state == TaskState.TASK_STATE_INPUT_REQUIRED

    resumed = await _send(handler, _message(task=held))

    assert resumed.id == held.id
    assert resumed.status.state == TaskState.TASK_STATE_COMPLETED
    assert seen == ["order", "order"]


async def test_bad_requests_are_refused_before_any_task_exists(tmp_path: Path) -> None:
    async def say(_: ToolSession, request: Echo) -> Said:
        return Said(word=request.word)

    _, handler, store = _spec(say, tmp_path)
    with pytest.raises(InvalidParamsError):
        await _send(handler, _message({"skill": "shout"}))
    with pytest.raises(InvalidParamsError):
        await _send(handler, _message({"skill": "say", "input": {"word": 3}}))
    with pytest.raises(ContentTypeNotSupportedError):
        await _send(handler, _message())

    listed = await store.list(ListTasksRequest(), ServerCallContext())
    assert list(listed.tasks) == []


async def test_a_skill_that_cannot_get_a_token_reports_the_gateway_unavailable(tmp_path: Path) -> None:
    async def read(session: ToolSession, _: Echo) -> Said:
        await session.call("demand", "get_skus", {})
        return Said(word="never")

    _, handler, _ = _spec(read, tmp_path)
    task = await _send(handler, _message({"skill": "say"}))

    assert task.status.state == TaskState.TASK_STATE_FAILED
    (report,) = get_data_parts(task.status.message.parts)
    assert (report["outcome"], report["domain"], report["tool"]) == ("unavailable", "demand", "get_skus")
    assert "no OAuth clients file" in report["message"]


def test_the_agent_asks_one_token_per_domain_for_that_domain_with_its_own_scopes(tmp_path: Path) -> None:
    clients_file = tmp_path / "oauth-clients.json"
    tools = GatewayTools.from_clients_file(
        "http://gw:8000/",
        client_id="inventory-agent",
        clients_file=clients_file,
        scopes={"inventory": ("inventory:read", "inventory:write"), "demand": ("demand:read",)},
    )

    assert tools.url("demand") == "http://gw:8000/mcp/demand"
    with pytest.raises(ClientsFileError):  # the secret is read when the first token is needed
        tools.auth("demand")
    clients_file.write_text('{"format": 1, "clients": {"inventory-agent": {"secret": "s3cret"}}}')
    clients_file.chmod(0o600)
    auth = tools.auth("demand")
    assert auth.client_id == "inventory-agent"
    assert auth.token_url == "http://gw:8000/oauth/token"
    assert auth._form == {
        "grant_type": "client_credentials",
        "resource": "http://gw:8000/mcp/demand",
        "scope": "demand:read",
    }
    assert tools.auth("demand") is auth  # one token cache per domain, renewed before expiry
    with pytest.raises(ValueError, match="does not reach the logistics domain"):
        tools.auth("logistics")


@pytest.mark.parametrize(
    ("named", "expected"),
    [("negotiation-42:round-1", "negotiation-42:round-1"), ("no spaces allowed", None), ("", None)],
)
async def test_a_caller_may_name_the_decision_the_tasks_calls_are_recorded_under(
    tmp_path: Path, named: str, expected: str | None
) -> None:
    seen: list[str] = []

    async def say(session: ToolSession, request: Echo) -> Said:
        seen.append(session.decision_id)
        return Said(word=request.word)

    _, handler, _ = _spec(say, tmp_path)
    message = _message({"skill": "say"})
    message.metadata.update({"mesh/decision_id": named})
    task = await _send(handler, message)

    decision = expected or decision_id_for("demand", task.id)
    assert seen == [decision]
    assert task.artifacts[0].metadata["decision_id"] == decision
