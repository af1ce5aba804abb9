"""The model layer's tests: every test is guarded against unmocked requests (`model_guard`); a
scripted OpenAI-compatible provider on respx; one real gateway in front of a small MCP server,
both on loopback, with the real MCP client, for the tool-calling tests."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from mcp.server.mcpserver import MCPServer
from mcp_types import ToolAnnotations
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from pydantic import SecretStr

from mesh.audit import AuditLog, AuditRecord, Ledger
from mesh.gateway import build_gateway
from mesh.models import ModelConfig
from mesh.policy import PolicyDecision, PolicyInput, RegoPolicyEngine, RuleResult
from mesh.settings import MeshSettings
from tests.model_guard import ModelRequestGuard, model_guard
from tests.net import free_port, serve_app

__all__ = ["model_guard"]

PROVIDER = "https://llm.test/v1"
API_KEY = "sk-test-0123456789abcdef"
MODEL = ModelConfig(name="openai/gpt-4.1-mini", base_url=PROVIDER, api_key=SecretStr(API_KEY), timeout=5.0)
POLICY_DIR = Path(__file__).resolve().parents[2] / "policies"
FORBIDDEN_TOOL = "get_supplier_notes"
"""A read-only tool the gateway's policy in these tests denies to everyone."""
LITELLM_SILENCED = (
    ".*conflict with protected namespace",
    ".*Accessing the.*attribute on the instance is deprecated",
    ".*`ReadOnly` qualifier",
)
"""Warnings litellm silences process-wide when imported; pytest's per-test filters would turn them
back into errors inside litellm (its streaming handler trips two of them on pydantic 2.14)."""


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in item.path.parents:
            for message in LITELLM_SILENCED:
                item.add_marker(pytest.mark.filterwarnings(f"ignore:{message}"))


class ScriptedProvider:
    """An OpenAI-compatible provider at `PROVIDER`, mocked on the guard's httpx router, that answers
    Chat Completions from a script and keeps every request it was sent."""

    def __init__(self, guard: ModelRequestGuard) -> None:
        self.requests: list[dict[str, Any]] = []
        self.headers: list[httpx.Headers] = []
        self._script: list[httpx.Response] = []
        self.route = guard.http.post(f"{PROVIDER}/chat/completions").mock(side_effect=self._answer)

    def answer(self, content: str, *, tokens: tuple[int, int] = (20, 8)) -> None:
        self._script.append(_completion({"role": "assistant", "content": content}, "stop", tokens))

    def call_tool(self, name: str, arguments: dict[str, Any], *, tokens: tuple[int, int] = (30, 12)) -> None:
        call = {
            "id": f"call_{len(self._script)}",
            "type": "function",
            "function": {"name": name, "arguments": json.dumps(arguments)},
        }
        message = {"role": "assistant", "content": None, "tool_calls": [call]}
        self._script.append(_completion(message, "tool_calls", tokens))

    def fail(self, status: int, message: str) -> None:
        self._script.append(httpx.Response(status, json={"error": {"message": message, "type": "error"}}))

    def tool_messages(self, request: int) -> list[dict[str, Any]]:
        return [m for m in self.requests[request]["messages"] if m["role"] == "tool"]

    def _answer(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(json.loads(request.content))
        self.headers.append(request.headers)
        if not self._script:
            return httpx.Response(500, json={"error": {"message": "the test's script ran out"}})
        return self._script.pop(0)


def _completion(message: dict[str, Any], finish: str, tokens: tuple[int, int]) -> httpx.Response:
    return httpx.Response(
        200,
        json={
            "id": "chatcmpl-test",
            "object": "chat.completion",
            "created": 1_800_000_000,
            "model": "gpt-4.1-mini-2025-04-14",
            "choices": [{"index": 0, "message": message, "finish_reason": finish}],
            "usage": {
                "prompt_tokens": tokens[0],
                "completion_tokens": tokens[1],
                "total_tokens": sum(tokens),
            },
        },
    )


@pytest.fixture
def provider(model_guard: ModelRequestGuard) -> ScriptedProvider:
    return ScriptedProvider(model_guard)


class Spans:
    """A tracer provider of its own (the global one is never touched) keeping finished spans."""

    def __init__(self) -> None:
        self.exporter = InMemorySpanExporter()
        self.provider = TracerProvider(resource=Resource.create({"service.name": "tests"}))
        self.provider.add_span_processor(SimpleSpanProcessor(self.exporter))

    def named(self, prefix: str) -> list[ReadableSpan]:
        return [s for s in self.exporter.get_finished_spans() if s.name.startswith(prefix)]


@pytest.fixture
def spans() -> Iterator[Spans]:
    recorded = Spans()
    yield recorded
    recorded.provider.shutdown()


async def ledger_records(ledger: AuditLog, decision_id: str, at_least: int) -> list[AuditRecord]:
    """The decision's records once there are `at_least` (the gateway commits reads asynchronously),
    or what there is after 10 s."""
    deadline = time.monotonic() + 10
    while True:
        records = [entry.record for entry in ledger.records_for(decision_id)]
        if len(records) >= at_least or time.monotonic() > deadline:
            return records
        await asyncio.sleep(0.05)


class DenyOneTool:
    """The mesh's Rego policy set, except that it denies every call of `tool`, as `policy_id`,
    for `reason`."""

    def __init__(
        self,
        tool: str = FORBIDDEN_TOOL,
        reason: str = "supplier notes are for procurement officers only",
        policy_id: str = "tests.supplier_notes",
    ) -> None:
        self._rego = RegoPolicyEngine.from_directory(POLICY_DIR)
        self.tool, self.reason, self.policy_id = tool, reason, policy_id

    @property
    def policy_version(self) -> str:
        return self._rego.policy_version

    def decide(self, policy_input: PolicyInput) -> PolicyDecision:
        if policy_input.request.tool != self.tool:
            return self._rego.decide(policy_input)
        return PolicyDecision(
            decision="deny",
            reasons=[self.reason],
            policy_ids=[self.policy_id],
            rules=[RuleResult(policy_id=self.policy_id, outcome="deny", reasons=[self.reason])],
            policy_version=self.policy_version,
        )


def _demand_server() -> MCPServer:
    server = MCPServer(name="mesh-demand")
    reads = ToolAnnotations(read_only_hint=True)

    @server.tool(description="Forecast units of a SKU in a region for the coming days.", annotations=reads)
    def get_forecast(sku_id: str, region: str) -> dict[str, Any]:
        return {"sku_id": sku_id, "region": region, "units": [120, 135, 128]}

    @server.tool(description="Notes on a supplier.", annotations=reads)
    def get_supplier_notes(supplier_id: str) -> dict[str, Any]:
        return {"supplier_id": supplier_id, "notes": "confidential"}

    @server.tool(description="Place a replenishment order (an action: needs demand:write).")
    def place_order(sku_id: str, quantity: int) -> dict[str, Any]:
        return {"order": f"PO-{sku_id}-{quantity}"}

    return server


@dataclass(frozen=True)
class RunningGateway:
    url: str
    upstream: str
    settings: MeshSettings
    ledger: Ledger
    issue: Any

    def token(self, domain: str, *scopes: str) -> str:
        """A token for `<gateway>/mcp/<domain>` as the operator would hold it, with `scopes`."""
        issued = self.issue(
            subject="operator:alice",
            client_id="operator",
            scopes=list(scopes),
            audience=f"{self.url}/mcp/{domain}",
        )
        return str(issued.access_token)


@pytest.fixture(scope="module")
def running_gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningGateway]:
    """The governance gateway (embedded OAuth server, Rego policy, ledger) in front of a small
    demand MCP server, both served by uvicorn on loopback."""
    settings = MeshSettings(data_dir=tmp_path_factory.mktemp("models-gateway"))
    upstream_port, gateway_port = free_port(), free_port()
    upstream = f"http://127.0.0.1:{upstream_port}/mcp"
    url = f"http://127.0.0.1:{gateway_port}"
    ledger = Ledger.sqlite(settings.audit_path, settings.key_dir)
    gateway = build_gateway(
        settings, public_base_url=url, upstreams={"demand": upstream}, ledger=ledger, engine=DenyOneTool()
    )
    assert gateway.authorization_server is not None
    served = [
        serve_app(_demand_server().streamable_http_app(host="127.0.0.1"), upstream_port),
        serve_app(gateway.app, gateway_port),
    ]
    try:
        yield RunningGateway(url, upstream, settings, ledger, gateway.authorization_server.issue)
    finally:
        for part in reversed(served):
            part.stop()
        ledger.close()


@pytest.fixture
def gateway(running_gateway: RunningGateway, model_guard: ModelRequestGuard) -> RunningGateway:
    """The running gateway, reachable from this test (its loopback servers pass the guard)."""
    model_guard.allow(running_gateway.url)
    model_guard.allow(running_gateway.upstream)
    return running_gateway
