"""What a model's gateway calls carry besides the decision: the versions of the assets behind the
run (`_meta["mesh/assets"]`); and refusals told apart from failures (`GatewayRefused`)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from pydantic_ai import Agent
from pydantic_ai.exceptions import ToolFailed
from pydantic_ai.tools import RunContext
from pydantic_ai.toolsets import WrapperToolset
from pydantic_ai.toolsets.abstract import ToolsetTool

from mesh.assets import ASSETS_META
from mesh.models import bearer_tokens, build_mesh_agent, build_model, gateway_toolset
from mesh.models._agent import GatewayRefused
from tests.model_guard import ModelRequestGuard
from tests.models.conftest import FORBIDDEN_TOOL, MODEL, RunningGateway, ScriptedProvider, ledger_records

ASSETS = {"prompt/demand": "sha256:0123456789abcdef", "model/settings": "sha256:fedcba9876543210"}


async def test_every_gateway_call_carries_the_runs_asset_versions_and_decision(
    gateway: RunningGateway, provider: ScriptedProvider, model_guard: ModelRequestGuard
) -> None:
    provider.call_tool("demand_get_forecast", {"sku_id": "SKU-07", "region": "EU"})
    provider.answer("About 128 a day.")
    agent = build_mesh_agent(
        MODEL,
        gateway_url=gateway.url,
        domains=["demand"],
        auth=bearer_tokens({"demand": gateway.token("demand", "demand:read")}),
        decision_id="chat-assets-1",
        assets=ASSETS,
    )

    await agent.run("EU forecast for SKU-07?")

    sent = {c.request.content for c in model_guard.http2.calls if b'"tools/call"' in c.request.content}
    (call,) = [json.loads(body) for body in sent]
    meta = call["params"]["_meta"]
    assert (meta["mesh/decision_id"], meta[ASSETS_META]) == ("chat-assets-1", ASSETS)
    (record,) = await ledger_records(gateway.ledger, "chat-assets-1", 1)
    assert ASSETS.items() <= (record.assets or {}).items()  # the gateway keeps them on the record


async def test_without_assets_a_call_carries_the_decision_only(
    gateway: RunningGateway, provider: ScriptedProvider, model_guard: ModelRequestGuard
) -> None:
    provider.call_tool("demand_get_forecast", {"sku_id": "SKU-01", "region": "NA"})
    provider.answer("Steady.")
    agent = build_mesh_agent(
        MODEL,
        gateway_url=gateway.url,
        domains=["demand"],
        auth=bearer_tokens({"demand": gateway.token("demand", "demand:read")}),
        decision_id="chat-assets-2",
    )

    await agent.run("NA?")

    sent = {c.request.content for c in model_guard.http2.calls if b'"tools/call"' in c.request.content}
    (call,) = [json.loads(body) for body in sent]
    meta = call["params"]["_meta"]
    assert meta["mesh/decision_id"] == "chat-assets-2"
    assert ASSETS_META not in meta


@dataclass
class _Failures(WrapperToolset[None]):
    """Keeps what each call raised, by tool name."""

    raised: dict[str, ToolFailed] = field(default_factory=dict)

    async def call_tool(
        self, name: str, tool_args: dict[str, Any], ctx: RunContext[None], tool: ToolsetTool[None]
    ) -> Any:
        try:
            return await self.wrapped.call_tool(name, tool_args, ctx, tool)
        except ToolFailed as failed:
            self.raised[name] = failed
            raise


async def test_a_scope_refusal_and_a_policy_denial_are_gateway_refusals(
    gateway: RunningGateway, provider: ScriptedProvider
) -> None:
    provider.call_tool("demand_place_order", {"sku_id": "SKU-07", "quantity": 5})
    provider.call_tool(f"demand_{FORBIDDEN_TOOL}", {"supplier_id": "SUP-1"})
    provider.call_tool("demand_get_forecast", {"sku_id": "SKU-07", "region": "EU"})
    provider.answer("Only the forecast could be read.")
    toolset = _Failures(
        gateway_toolset(
            gateway.url, "demand", bearer_tokens({"demand": gateway.token("demand", "demand:read")})("demand")
        )
    )
    agent = Agent(build_model(MODEL), toolsets=[toolset])

    result = await agent.run("Order, read notes, then the forecast.")

    assert result.output == "Only the forecast could be read."
    assert set(toolset.raised) == {"demand_place_order", f"demand_{FORBIDDEN_TOOL}"}
    assert all(isinstance(failed, GatewayRefused) for failed in toolset.raised.values())
    assert "insufficient_scope" in toolset.raised["demand_place_order"].message
    assert "denied by policy" in toolset.raised[f"demand_{FORBIDDEN_TOOL}"].message
