"""Token use as audit records."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from opentelemetry.trace import format_span_id, format_trace_id
from pydantic_ai.usage import RunUsage

from mesh.audit import AuditLog, Caller, Ledger, SQLiteBackend
from mesh.models import USAGE_ACTION, ModelServiceError, build_mesh_agent, record_usage, usage_record
from mesh.tracing import TraceIds
from tests.models.conftest import MODEL, ScriptedProvider, Spans


def test_a_usage_record_carries_the_decision_the_model_and_the_token_counts() -> None:
    usage = RunUsage(input_tokens=1200, output_tokens=340, requests=3, tool_calls=2, cache_read_tokens=800)
    moment = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    ids = TraceIds("4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7")

    record = usage_record(
        usage,
        decision_id="reorder-SKU-17-EU",
        model="anthropic/claude-sonnet-4-5",
        agent="inventory-agent",
        domain="inventory",
        caller=Caller(subject="agent:inventory", client_id="inventory-agent"),
        occurred_at=moment,
        trace_ids=ids,
    )

    assert (record.decision_id, record.action, record.status, record.execution_mode) == (
        "reorder-SKU-17-EU",
        USAGE_ACTION,
        "executed",
        "autonomous",
    )
    assert record.parameters == {"model": "anthropic/claude-sonnet-4-5"}
    assert record.outcome == {
        "cache_read_tokens": 800,
        "input_tokens": 1200,
        "output_tokens": 340,
        "requests": 3,
        "tool_calls": 2,
    }
    assert (record.agent, record.domain, record.occurred_at) == ("inventory-agent", "inventory", moment)
    assert (record.trace_id, record.span_id) == ids


async def test_a_failed_run_records_the_tokens_it_used_before_failing(
    provider: ScriptedProvider, spans: Spans, tmp_path: Path
) -> None:
    provider.call_tool("ledger_tail", {"limit": 2})
    provider.fail(503, "overloaded")

    def ledger_tail(limit: int) -> list[str]:
        """The latest audit actions."""
        return ["tools/call"][:limit]

    agent = build_mesh_agent(MODEL, tools=[ledger_tail], tracer_provider=spans.provider)
    usage = RunUsage()
    ledger = Ledger.sqlite(tmp_path / "ledger.sqlite", tmp_path / "keys")
    try:
        with spans.provider.get_tracer("tests").start_as_current_span("operator chat") as span:
            with pytest.raises(ModelServiceError, match=r"^model openai/gpt-4\.1-mini: the provider failed"):
                await agent.run("What happened?", usage=usage)
            await record_usage(ledger, usage, decision_id="chat-2", model=MODEL.name, status="failed")
    finally:
        ledger.close()

    with AuditLog(SQLiteBackend(tmp_path / "ledger.sqlite"), tmp_path / "keys") as log:
        (entry,) = log.records_for("chat-2")
    record = entry.record
    assert record.status == "failed"
    assert record.outcome["input_tokens"] == 30
    assert record.outcome["requests"] >= 1
    context = span.get_span_context()
    assert (record.trace_id, record.span_id) == (
        format_trace_id(context.trace_id),
        format_span_id(context.span_id),
    )
