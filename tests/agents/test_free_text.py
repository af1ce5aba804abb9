"""Free-text questions to an agent, through the real stack: the A2A SDK's client over HTTP to the
inventory agent, whose model (a scripted OpenAI-compatible provider, mocked at the HTTP layer)
calls the agent's own skill and the gateway's MCP read tools; the real gateway (OAuth, Rego policy,
ledger) in front of the real inventory, demand and logistics MCP servers, all on loopback."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from a2a.client import Client, ClientConfig, ClientFactory
from a2a.helpers import get_data_parts, get_text_parts, new_data_part, new_text_part
from a2a.server.context import ServerCallContext
from a2a.server.tasks import InMemoryTaskStore
from a2a.types import GetTaskRequest, Message, Role, SendMessageRequest, Task, TaskState
from a2a.utils.errors import ContentTypeNotSupportedError, InvalidParamsError

from agents import (
    ASK_SKILL,
    TOOL_REFUSED_ACTION,
    GatewayTools,
    PinnedCardKeys,
    SkillExecutor,
    SkillRequestHandler,
    agent_spec,
    build_agent_app,
    build_card,
    card_verifier,
    decision_id_for,
    load_or_create_card_key,
    public_keys_dir,
)
from agents._ask import MAX_ANSWER_CHARS, NOT_OFFERED, FreeText
from mcp_servers import DomainStore, build_server, domain_spec, refresh
from mesh.assets import ASSETS_META, Assets, load_assets
from mesh.audit import Ledger
from mesh.gateway import build_gateway
from mesh.models import USAGE_ACTION, build_model
from mesh.settings import MeshSettings
from mesh.world import generate_world
from tests.model_guard import ModelRequestGuard, model_guard
from tests.models.conftest import LITELLM_SILENCED, MODEL, DenyOneTool, ScriptedProvider, ledger_records
from tests.net import ServedApp, free_port, serve_app

__all__ = ["model_guard"]  # autouse: every test here fails on an unmocked request

pytestmark = [pytest.mark.filterwarnings(f"ignore:{message}") for message in LITELLM_SILENCED]

POLICY_DIR = Path(__file__).resolve().parents[2] / "policies"
DOMAINS = ("inventory", "demand", "logistics")
"""The domains the inventory agent reads."""
FORBIDDEN_READ = "query_hourly_demand"
"""A read tool the policy in these tests denies to everyone."""
QUESTION = "Should we reorder SKU-07 at WH-EU-1, and what is the EU forecast for next week?"


@dataclass(frozen=True)
class Stack:
    agent_url: str
    gateway_url: str
    upstreams: dict[str, str]
    settings: MeshSettings
    ledger: Ledger
    assets: dict[str, str]

    @property
    def pinned(self) -> PinnedCardKeys:
        return PinnedCardKeys.from_directory(public_keys_dir(self.settings.key_dir))

    def allow(self, guard: ModelRequestGuard) -> None:
        for url in (self.agent_url, self.gateway_url, *self.upstreams.values()):
            guard.allow(url)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The domain servers, the gateway, and the inventory agent with a model, all on loopback; the
    agent appends token use to the gateway's ledger file through a ledger of its own, as the
    agent process does."""
    root = tmp_path_factory.mktemp("free-text")
    settings = MeshSettings(data_dir=root / "data")
    world = generate_world(7, "volatile")
    servers: list[ServedApp] = []
    upstreams: dict[str, str] = {}
    for domain in DOMAINS:
        spec, store = domain_spec(domain), DomainStore(root / f"{domain}.sqlite")
        refresh(spec, store, world)
        port = free_port()
        servers.append(serve_app(build_server(spec, store).streamable_http_app(host="127.0.0.1"), port))
        upstreams[domain] = f"http://127.0.0.1:{port}/mcp"
    gateway_port, agent_port = free_port(), free_port()
    gateway_url, agent_url = f"http://127.0.0.1:{gateway_port}", f"http://127.0.0.1:{agent_port}"
    gateway_ledger = Ledger.sqlite(settings.audit_path, settings.key_dir)
    gateway = build_gateway(
        settings,
        public_base_url=gateway_url,
        upstreams=upstreams,
        ledger=gateway_ledger,
        engine=DenyOneTool(
            FORBIDDEN_READ,
            "hourly demand history is for the demand domain's own analysts",
            "tests.hourly_demand",
        ),
    )
    servers.append(serve_app(gateway.app, gateway_port))

    spec = agent_spec("inventory")
    tools = GatewayTools.from_clients_file(
        gateway_url, client_id=spec.client_id, clients_file=settings.oauth_clients_file, scopes=spec.reaches
    )
    agent_ledger = Ledger.sqlite(settings.audit_path, settings.key_dir)
    assets: Assets = load_assets().with_model(MODEL)
    free_text = FreeText(spec, tools, build_model(MODEL), assets=assets, ledger=agent_ledger)
    agent = build_agent_app(
        spec,
        public_url=agent_url,
        signing_key=load_or_create_card_key(settings.key_dir, spec.domain),
        tools=tools,
        free_text=free_text,
    )
    servers.append(serve_app(agent.asgi, agent_port))
    try:
        yield Stack(agent_url, gateway_url, upstreams, settings, gateway_ledger, free_text.assets)
    finally:
        for server in reversed(servers):
            server.stop()
        agent_ledger.close()
        gateway_ledger.close()


@asynccontextmanager
async def a2a_client(stack: Stack, binding: str = "JSONRPC") -> AsyncIterator[Client]:
    async with httpx.AsyncClient(timeout=60) as http:
        config = ClientConfig(supported_protocol_bindings=[binding], streaming=False, httpx_client=http)
        yield await ClientFactory(config).create_from_url(
            stack.agent_url, signature_verifier=card_verifier(stack.pinned)
        )


def _message(*parts: Any) -> Message:
    return Message(role=Role.ROLE_USER, message_id=f"test-{time.monotonic_ns()}", parts=list(parts))


async def _send(client: Client, message: Message) -> Task:
    task_id = ""
    async for event in client.send_message(SendMessageRequest(message=message)):
        if event.HasField("task"):
            task_id = event.task.id
        elif event.HasField("status_update"):
            task_id = event.status_update.task_id
    assert task_id, "the agent answered with no task"
    return await client.get_task(GetTaskRequest(id=task_id))


def _answer(task: Task) -> tuple[str, dict[str, Any]]:
    assert task.status.state == TaskState.TASK_STATE_COMPLETED, get_text_parts(task.status.message.parts)
    (artifact,) = task.artifacts
    assert artifact.name == "answer"
    (text,) = get_text_parts(artifact.parts)
    (data,) = get_data_parts(artifact.parts)
    assert isinstance(data, dict)
    return text, data


def _problem(task: Task) -> dict[str, Any]:
    assert task.status.state == TaskState.TASK_STATE_FAILED
    (data,) = get_data_parts(task.status.message.parts)
    assert isinstance(data, dict)
    return data


def _sent_tool_calls(guard: ModelRequestGuard) -> list[dict[str, Any]]:
    """The MCP tools/call requests that went to the gateway (the model's and the skill's), each
    once (respx lists a passed-through request twice)."""
    bodies = {call.request.content for call in guard.http2.calls if b'"tools/call"' in call.request.content}
    return [body for body in map(json.loads, bodies) if body.get("method") == "tools/call"]


# --- the answer, its data, and what the gateway recorded ------------------------------------------


async def test_a_question_is_answered_through_a_skill_and_a_gateway_read_with_refusals_listed(
    stack: Stack, model_guard: ModelRequestGuard
) -> None:
    stack.allow(model_guard)
    provider = ScriptedProvider(model_guard)
    provider.call_tool("recommend_reorder", {"sku_id": "SKU-07", "warehouse_id": "WH-EU-1"})
    provider.call_tool("demand_get_forecast", {"sku_id": "SKU-07", "region": "EU", "limit": 7})
    provider.call_tool(
        "inventory_transfer_stock",
        {"from_warehouse_id": "WH-EU-1", "to_warehouse_id": "WH-EU-2", "sku_id": "SKU-07", "units": 50},
    )
    provider.call_tool("demand_query_hourly_demand", {"sku_id": "SKU-07", "region": "EU", "limit": 24})
    provider.answer("Reorder SKU-07 at WH-EU-1 now. (source: demand.forecast v1.0.0)", tokens=(40, 10))

    async with a2a_client(stack) as client:
        task = await _send(client, _message(new_text_part(QUESTION)))
        structured = await _send(
            client,
            _message(
                new_data_part(
                    {"skill": "recommend_reorder", "input": {"sku_id": "SKU-07", "warehouse_id": "WH-EU-1"}}
                )
            ),
        )

    text, answer = _answer(task)
    decision_id = decision_id_for("inventory", task.id)
    assert text == answer["answer"] == "Reorder SKU-07 at WH-EU-1 now. (source: demand.forecast v1.0.0)"
    assert (answer["format"], answer["truncated"], answer["decision_id"]) == ("answer/1", False, decision_id)
    assert answer["model"] == "openai/gpt-4.1-mini"
    assert answer["assets"] == stack.assets
    assert set(stack.assets) == {"prompt/inventory", "model/settings"}
    assert task.artifacts[0].metadata["decision_id"] == decision_id
    assert get_text_parts(task.status.message.parts) == [text]

    assert [(c["tool"], c["outcome"]) for c in answer["tool_calls"]] == [
        ("recommend_reorder", "ok"),
        ("demand_get_forecast", "ok"),
        ("inventory_transfer_stock", "refused"),
        ("demand_query_hourly_demand", "refused"),
    ]
    calls = answer["tool_calls"]
    assert calls[0]["arguments"] == {"sku_id": "SKU-07", "warehouse_id": "WH-EU-1"}
    assert calls[2]["reason"] == NOT_OFFERED
    assert "denied by policy" in calls[3]["reason"]
    assert "hourly demand history is for the demand domain's own analysts" in calls[3]["reason"]

    # the skill's data is exactly what the same skill returns to a structured request
    reorder, forecast = answer["data"]
    structured_output = get_data_parts(structured.artifacts[0].parts)[0]
    assert (reorder["tool"], reorder["result"]) == ("recommend_reorder", structured_output)
    assert forecast["tool"] == "demand_get_forecast"
    assert (forecast["result"]["product_id"], forecast["result"]["returned"]) == ("demand.forecast", 7)
    assert {row["sku_id"] for row in forecast["result"]["rows"]} == {"SKU-07"}

    # the model was offered the skill and read tools only, and read the prompt asset
    offered = {tool["function"]["name"] for tool in provider.requests[0]["tools"]}
    assert {"recommend_reorder", "inventory_get_stock_positions", "demand_get_forecast"} <= offered
    assert "logistics_get_carrier_rates" in offered
    assert not offered & {"transfer_stock", "inventory_transfer_stock", "logistics_book_shipment"}
    system = provider.requests[0]["messages"][0]
    assert system["role"] == "system"
    assert system["content"].startswith("You are the inventory agent")
    told = [m["content"] for m in provider.tool_messages(4)]
    assert any("Unknown tool name: 'inventory_transfer_stock'" in t for t in told)
    assert any("denied by policy" in t for t in told)

    # every gateway call carried the decision id and the asset versions
    sent = _sent_tool_calls(model_guard)
    ours = [body for body in sent if body["params"]["_meta"]["mesh/decision_id"] == decision_id]
    assert len(ours) == 7  # the skill's five reads, the model's read, the denied read
    assert {body["params"]["name"] for body in ours} >= {"get_forecast", "list_warehouses", FORBIDDEN_READ}
    assert all(body["params"]["_meta"][ASSETS_META] == stack.assets for body in ours)
    structured_calls = [body for body in sent if body not in ours]
    assert structured_calls  # a structured request used no model, prompt or settings
    assert all(ASSETS_META not in body["params"]["_meta"] for body in structured_calls)

    # the ledger: the skill's reads, the model's read, the denial, the unoffered action, the token use
    records = await ledger_records(stack.ledger, decision_id, 9)
    calls_made = [r for r in records if r.action == "tools/call"]
    assert sorted((r.parameters["tool"], r.status) for r in calls_made) == [
        ("get_forecast", "executed"),  # the skill's
        ("get_forecast", "executed"),  # the model's
        ("get_reorder_policies", "executed"),
        ("get_stock_positions", "executed"),
        ("list_warehouses", "executed"),
        (FORBIDDEN_READ, "denied"),
        ("query_open_orders", "executed"),
    ]
    for record in calls_made:
        assert record.caller is not None
        assert record.caller.client_id == "inventory-agent"
        assert not [s for s in record.caller.scopes if not s.endswith(":read")]  # least privilege
        assert stack.assets.items() <= (record.assets or {}).items()
    (attempt,) = [r for r in records if r.action == TOOL_REFUSED_ACTION]
    assert (attempt.status, attempt.execution_mode) == ("refused", "refused")
    assert (attempt.parameters["tool"], attempt.parameters["reason"]) == (
        "inventory_transfer_stock",
        NOT_OFFERED,
    )
    assert attempt.assets == stack.assets
    (usage,) = [r for r in records if r.action == USAGE_ACTION]
    assert usage.status == "executed"
    # pydantic-ai counts the tool calls that returned a result
    assert usage.outcome == {"input_tokens": 160, "output_tokens": 58, "requests": 5, "tool_calls": 2}
    assert usage.assets == stack.assets
    assert (usage.agent, usage.domain) == ("inventory-agent", "inventory")
    assert answer["usage"] == {"input_tokens": 160, "output_tokens": 58, "requests": 5, "recorded": True}


async def test_a_skill_call_with_arguments_its_schema_refuses_is_an_error_the_model_may_correct(
    stack: Stack, model_guard: ModelRequestGuard
) -> None:
    stack.allow(model_guard)
    provider = ScriptedProvider(model_guard)
    provider.call_tool("recommend_reorder", {"sku_id": "SKU-07"})
    provider.answer("I need a warehouse to answer that.")

    async with a2a_client(stack, "HTTP+JSON") as client:
        task = await _send(client, _message(new_text_part("Reorder SKU-07?")))

    _, answer = _answer(task)
    (call,) = answer["tool_calls"]
    assert (call["tool"], call["outcome"]) == ("recommend_reorder", "error")
    assert "warehouse_id" in call["reason"]
    assert answer["data"] == []
    assert "warehouse_id" in provider.requests[1]["messages"][-1]["content"]


async def test_a_long_answer_is_cut_and_says_so(stack: Stack, model_guard: ModelRequestGuard) -> None:
    stack.allow(model_guard)
    provider = ScriptedProvider(model_guard)
    provider.answer("word " * 2000)

    async with a2a_client(stack, "HTTP+JSON") as client:
        task = await _send(client, _message(new_text_part("Tell me everything.")))

    text, answer = _answer(task)
    assert answer["truncated"] is True
    assert len(text) == len(answer["answer"]) == MAX_ANSWER_CHARS
    assert text.endswith("…")


# --- model failures end the task failed, naming the cause -----------------------------------------


@pytest.mark.parametrize(
    ("status", "cause"), [(429, "rate_limited"), (500, "service"), (401, "auth")], ids=["429", "500", "401"]
)
async def test_a_provider_failure_fails_the_task_naming_the_cause(
    stack: Stack, model_guard: ModelRequestGuard, status: int, cause: str
) -> None:
    stack.allow(model_guard)
    provider = ScriptedProvider(model_guard)
    provider.fail(status, "try again later")

    async with a2a_client(stack) as client:
        task = await _send(client, _message(new_text_part("What is on hand at WH-EU-1?")))

    problem = _problem(task)
    decision_id = decision_id_for("inventory", task.id)
    assert (problem["outcome"], problem["skill"], problem["decision_id"]) == (
        "model_error",
        ASK_SKILL,
        decision_id,
    )
    assert problem["detail"] == {"cause": cause, "model": "openai/gpt-4.1-mini"}
    assert "openai/gpt-4.1-mini" in problem["message"]
    assert "sk-test" not in json.dumps(problem)
    (usage,) = [r for r in await ledger_records(stack.ledger, decision_id, 1) if r.action == USAGE_ACTION]
    assert usage.status == "failed"


async def test_a_model_that_never_stops_calling_tools_fails_at_the_request_limit(
    stack: Stack, model_guard: ModelRequestGuard
) -> None:
    stack.allow(model_guard)
    provider = ScriptedProvider(model_guard)
    for _ in range(12):
        provider.call_tool("logistics_list_lanes", {})

    async with a2a_client(stack) as client:
        task = await _send(client, _message(new_text_part("List the lanes forever.")))

    problem = _problem(task)
    assert (problem["outcome"], problem["detail"]["cause"]) == ("model_error", "usage_limit")
    assert "model calls" in problem["message"]


async def test_an_agent_that_cannot_get_a_token_fails_the_question_as_unavailable(
    tmp_path: Path, model_guard: ModelRequestGuard
) -> None:
    spec = agent_spec("demand")
    tools = GatewayTools.from_clients_file(
        "http://127.0.0.1:9",
        client_id=spec.client_id,
        clients_file=tmp_path / "none.json",
        scopes=spec.reaches,
    )
    free_text = FreeText(spec, tools, build_model(MODEL), assets=load_assets().with_model(MODEL))
    store = InMemoryTaskStore()
    handler = SkillRequestHandler(
        spec,
        answers_questions=True,
        agent_executor=SkillExecutor(spec, tools, free_text=free_text),
        task_store=store,
        agent_card=build_card(spec, "http://x"),
    )
    question = _message(new_text_part("What is the EU forecast for SKU-17 next week?"))

    task = await handler.on_message_send(SendMessageRequest(message=question), ServerCallContext())

    assert isinstance(task, Task)
    problem = _problem(task)
    assert (problem["outcome"], problem["detail"]["cause"]) == ("unavailable", "gateway_tools")
    assert "no OAuth clients file" in problem["message"]
    assert not model_guard.violations  # the model was never asked


# --- requests refused before any task exists ------------------------------------------------------


async def test_a_question_over_the_size_limit_is_invalid_params(
    stack: Stack, model_guard: ModelRequestGuard
) -> None:
    stack.allow(model_guard)
    async with a2a_client(stack) as client:
        with pytest.raises(InvalidParamsError) as caught:
            await _send(client, _message(new_text_part("x" * 5000)))
    assert "at most 4000" in caught.value.message


async def test_without_a_model_text_is_refused_saying_how_to_configure_one(tmp_path: Path) -> None:
    spec = agent_spec("demand")
    tools = GatewayTools.from_clients_file(
        "http://127.0.0.1:9",
        client_id=spec.client_id,
        clients_file=tmp_path / "none.json",
        scopes=spec.reaches,
    )
    handler = SkillRequestHandler(
        spec,
        agent_executor=SkillExecutor(spec, tools),
        task_store=InMemoryTaskStore(),
        agent_card=build_card(spec, "http://x"),
    )
    question = _message(new_text_part("What is the EU forecast for SKU-17 next week?"))

    with pytest.raises(ContentTypeNotSupportedError) as caught:
        await handler.on_message_send(SendMessageRequest(message=question), ServerCallContext())

    message = caught.value.message
    assert message.startswith("free-text requests need a model, and none is configured for the demand agent")
    assert "MESH_MODEL" in message
    assert "docs/models.md" in message
    assert "skills (forecast)" in message
    assert caught.value.data == {"reason": "no_skill_request", "skills": ["forecast"]}


# --- the card says what free text needs -----------------------------------------------------------


@pytest.mark.parametrize("domain", ["demand", "logistics"])
def test_the_card_offers_ask_in_plain_text_and_says_it_needs_a_model(domain: str) -> None:
    card = build_card(agent_spec(domain), "http://x")

    assert list(card.default_input_modes) == ["application/json", "text/plain"]
    ask = card.skills[-1]
    assert ask.id == ASK_SKILL
    assert list(ask.input_modes) == ["text/plain"]
    assert "Needs a language model configured on the agent (MESH_MODEL)" in ask.description
    assert "never acts" in ask.description
    assert ask.examples
    (extension,) = card.capabilities.extensions
    assert "answer" in extension.params
