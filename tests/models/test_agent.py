"""Agents whose tools are the gateway's MCP proxies: a mocked provider asks for tool calls, a real
gateway (OAuth, scopes, Rego policy, ledger) in front of a real MCP server answers them."""

from __future__ import annotations

import json
from typing import Any

import pytest
from mcp import MCPError
from opentelemetry.trace import format_trace_id
from pydantic_ai import Agent
from pydantic_ai.messages import ModelRequest, ToolReturnPart
from pydantic_ai.toolsets import FunctionToolset

from mesh.audit import Caller
from mesh.identity import read_client_secret
from mesh.models import (
    USAGE_ACTION,
    GatewayRefusals,
    GatewayToolsUnavailableError,
    bearer_tokens,
    build_mesh_agent,
    build_model,
    client_credentials,
    record_usage,
)
from tests.model_guard import ModelRequestGuard
from tests.models.conftest import (
    FORBIDDEN_TOOL,
    MODEL,
    RunningGateway,
    ScriptedProvider,
    Spans,
    ledger_records,
)
from tests.net import free_port


def _tool_returns(messages: list[Any]) -> list[ToolReturnPart]:
    return [
        part
        for message in messages
        if isinstance(message, ModelRequest)
        for part in message.parts
        if isinstance(part, ToolReturnPart)
    ]


async def test_the_model_calls_a_gateway_tool_and_reads_its_result(
    gateway: RunningGateway, provider: ScriptedProvider, spans: Spans, model_guard: ModelRequestGuard
) -> None:
    provider.call_tool("demand_get_forecast", {"sku_id": "SKU-07", "region": "EU"})
    provider.answer("EU demand for SKU-07 is about 128 units a day.")
    token = gateway.token("demand", "demand:read")
    agent = build_mesh_agent(
        MODEL,
        gateway_url=gateway.url,
        domains=["demand"],
        auth=bearer_tokens({"demand": token}),
        decision_id="chat-forecast-1",
        tracer_provider=spans.provider,
    )

    result = await agent.run("What is the EU forecast for SKU-07?")

    assert result.output == "EU demand for SKU-07 is about 128 units a day."
    offered = {tool["function"]["name"] for tool in provider.requests[0]["tools"]}
    assert {"demand_get_forecast", "demand_place_order", "demand_get_supplier_notes"} <= offered
    (returned,) = provider.tool_messages(1)
    assert json.loads(returned["content"]) == {"sku_id": "SKU-07", "region": "EU", "units": [120, 135, 128]}
    assert returned["tool_call_id"] == provider.requests[1]["messages"][-2]["tool_calls"][0]["id"]

    (call,) = [
        r for r in await ledger_records(gateway.ledger, "chat-forecast-1", 1) if r.action == "tools/call"
    ]
    assert (call.status, call.parameters["tool"]) == ("executed", "get_forecast")
    assert call.parameters["arguments"] == {"sku_id": "SKU-07", "region": "EU"}
    assert call.caller == Caller(subject="operator:alice", client_id="operator", scopes=["demand:read"])

    (tool_span,) = spans.named("execute_tool")
    assert (tool_span.attributes or {})["gen_ai.tool.name"] == "demand_get_forecast"
    sent = [c.request for c in model_guard.http2.calls if b'"tools/call"' in c.request.content]
    assert sent  # the gateway's spans join the run's trace: the call carries its context
    assert {r.headers["traceparent"].split("-")[1] for r in sent} == {
        format_trace_id(tool_span.context.trace_id)
    }
    assert {json.loads(r.content)["params"]["_meta"]["mesh/decision_id"] for r in sent} == {"chat-forecast-1"}
    chats = spans.named("chat ")
    assert [dict(c.attributes or {})["gen_ai.response.finish_reasons"] for c in chats] == [
        ("tool_call",),  # the GenAI conventions' name
        ("stop",),
    ]
    assert [dict(c.attributes or {})["gen_ai.usage.input_tokens"] for c in chats] == [30, 20]


async def test_a_tool_the_callers_scope_does_not_allow_is_refused_and_the_model_is_told(
    gateway: RunningGateway, provider: ScriptedProvider
) -> None:
    provider.call_tool("demand_place_order", {"sku_id": "SKU-07", "quantity": 500})
    provider.answer("I may not place orders; ask someone with demand:write.")
    agent = build_mesh_agent(
        MODEL,
        gateway_url=gateway.url,
        domains=["demand"],
        auth=bearer_tokens({"demand": gateway.token("demand", "demand:read")}),
        decision_id="chat-order-1",
    )

    result = await agent.run("Order 500 units of SKU-07.")

    assert result.output == "I may not place orders; ask someone with demand:write."
    (told,) = provider.tool_messages(1)
    assert "refused by the gateway" in told["content"]
    assert "demand:write" in told["content"]
    assert "insufficient_scope" in told["content"]
    (refused,) = _tool_returns(result.all_messages())
    assert (refused.tool_name, refused.outcome) == ("demand_place_order", "failed")
    (record,) = await ledger_records(gateway.ledger, "chat-order-1", 1)
    assert (record.status, record.execution_mode, record.parameters["tool"]) == (
        "refused",
        "refused",
        "place_order",
    )


async def test_a_policy_denial_reaches_the_model_with_its_reasons(
    gateway: RunningGateway, provider: ScriptedProvider
) -> None:
    provider.call_tool(f"demand_{FORBIDDEN_TOOL}", {"supplier_id": "SUP-3"})
    provider.answer("Those notes are restricted.")
    agent = build_mesh_agent(
        MODEL,
        gateway_url=gateway.url,
        domains=["demand"],
        auth=bearer_tokens({"demand": gateway.token("demand", "demand:read")}),
        decision_id="chat-notes-1",
    )

    result = await agent.run("Show me the notes on SUP-3.")

    (told,) = provider.tool_messages(1)
    assert "denied by policy" in told["content"]
    assert "supplier notes are for procurement officers only" in told["content"]
    assert "tests.supplier_notes" in told["content"]
    assert "chat-notes-1" in told["content"]
    (denied,) = _tool_returns(result.all_messages())
    assert denied.outcome == "failed"
    (record,) = await ledger_records(gateway.ledger, "chat-notes-1", 1)
    assert record.status == "denied"


async def test_an_agent_with_its_own_client_credentials_reaches_the_gateway(
    gateway: RunningGateway, provider: ScriptedProvider
) -> None:
    provider.call_tool("demand_get_forecast", {"sku_id": "SKU-01", "region": "NA"})
    provider.answer("NA looks steady.")
    secret = read_client_secret(gateway.settings.oauth_clients_file, "inspector")
    auth = client_credentials(
        gateway.url, client_id="inspector", client_secret=secret, scopes={"demand": ["demand:read"]}
    )
    agent = build_mesh_agent(
        MODEL, gateway_url=gateway.url, domains=["demand"], auth=auth, decision_id="chat-na-1"
    )

    result = await agent.run("How is NA?")

    assert result.output == "NA looks steady."
    (returned,) = provider.tool_messages(1)
    assert json.loads(returned["content"])["units"] == [120, 135, 128]
    (call,) = await ledger_records(gateway.ledger, "chat-na-1", 1)
    assert call.caller is not None
    assert call.caller.client_id == "inspector"


async def test_plain_python_read_tools_sit_beside_the_gateways(
    gateway: RunningGateway, provider: ScriptedProvider
) -> None:
    def ledger_tail(limit: int) -> list[str]:
        """The latest audit actions."""
        return ["tools/call", "model/usage"][:limit]

    provider.call_tool("ledger_tail", {"limit": 1})
    provider.answer("The last action was a tool call.")
    agent = build_mesh_agent(
        MODEL,
        gateway_url=gateway.url,
        domains=["demand"],
        auth=bearer_tokens({"demand": gateway.token("demand", "demand:read")}),
        tools=[ledger_tail],
    )

    await agent.run("What happened last?")

    assert "ledger_tail" in {tool["function"]["name"] for tool in provider.requests[0]["tools"]}
    (returned,) = provider.tool_messages(1)
    assert json.loads(returned["content"]) == ["tools/call"]


async def test_a_runs_token_use_is_recorded_in_the_ledger_under_its_decision(
    gateway: RunningGateway, provider: ScriptedProvider, spans: Spans
) -> None:
    provider.call_tool("demand_get_forecast", {"sku_id": "SKU-02", "region": "APAC"})
    provider.answer("APAC is flat.")
    model = build_model(MODEL)
    agent = build_mesh_agent(
        model,
        gateway_url=gateway.url,
        domains=["demand"],
        auth=bearer_tokens({"demand": gateway.token("demand", "demand:read")}),
        decision_id="chat-apac-1",
        tracer_provider=spans.provider,
    )
    result = await agent.run("APAC?")

    receipt = await record_usage(
        gateway.ledger,
        result.usage,
        decision_id="chat-apac-1",
        model=model,
        agent="operator-chat",
        caller=Caller(subject="operator:alice"),
    )

    records = await ledger_records(gateway.ledger, "chat-apac-1", 2)
    (usage,) = [r for r in records if r.action == USAGE_ACTION]
    assert receipt.seq > 0
    assert usage.parameters == {"model": "openai/gpt-4.1-mini", "provider": "openai"}
    assert usage.outcome == {"input_tokens": 50, "output_tokens": 20, "requests": 2, "tool_calls": 1}
    assert (usage.status, usage.agent, usage.execution_mode) == ("executed", "operator-chat", "autonomous")
    assert {r.action for r in records} == {"tools/call", USAGE_ACTION}


@pytest.mark.parametrize("domain", ["inventory"])
async def test_an_agent_reaches_no_domain_it_holds_no_credential_for(
    gateway: RunningGateway, domain: str
) -> None:
    with pytest.raises(ValueError, match=f"no token for the {domain} domain"):
        build_mesh_agent(
            MODEL,
            gateway_url=gateway.url,
            domains=[domain],
            auth=bearer_tokens({"demand": gateway.token("demand", "demand:read")}),
        )


async def test_a_token_the_gateway_rejects_ends_the_run_saying_why(
    gateway: RunningGateway, provider: ScriptedProvider
) -> None:
    provider.answer("never asked")
    agent = build_mesh_agent(
        MODEL, gateway_url=gateway.url, domains=["demand"], auth=bearer_tokens({"demand": "not-a-token"})
    )

    with pytest.raises(GatewayToolsUnavailableError, match="the gateway refused the caller") as raised:
        await agent.run("Forecast?")

    assert raised.value.domain == "demand"
    assert "token was not accepted" in raised.value.reason
    assert provider.requests == []  # the model was never asked without its tools


async def test_a_gateway_that_does_not_answer_ends_the_run_saying_so(
    provider: ScriptedProvider, model_guard: ModelRequestGuard
) -> None:
    nowhere = f"http://127.0.0.1:{free_port()}"
    model_guard.allow(nowhere)
    agent = build_mesh_agent(
        MODEL, gateway_url=nowhere, domains=["demand"], auth=bearer_tokens({"demand": "t"})
    )

    with pytest.raises(GatewayToolsUnavailableError, match="the gateway does not answer"):
        await agent.run("Forecast?")


@pytest.mark.parametrize(
    ("code", "data", "words"),
    [
        (
            -32011,
            {"escalation_id": "esc-42", "reasons": ["order above 50000"]},
            "held for human approval as escalation esc-42",
        ),
        (-32012, {}, "rate-limited by the gateway"),
        (-32013, {}, "the procurement domain's server did not answer"),
        (-32014, {}, "held until an operator reviews it"),
    ],
)
async def test_every_gateway_refusal_reads_as_a_failed_tool_result(
    provider: ScriptedProvider, code: int, data: dict[str, Any], words: str
) -> None:
    def place_purchase_order(supplier_id: str) -> str:
        """Order from a supplier."""
        raise MCPError(code, "refused by the gateway", data)

    refusals = GatewayRefusals(FunctionToolset([place_purchase_order]), domain="procurement", url="http://gw")
    provider.call_tool("place_purchase_order", {"supplier_id": "SUP-3"})
    provider.answer("It could not be placed.")

    result = await Agent(build_model(MODEL), toolsets=[refusals]).run("Order from SUP-3.")

    (told,) = provider.tool_messages(1)
    assert words in told["content"]
    assert _tool_returns(result.all_messages())[0].outcome == "failed"
