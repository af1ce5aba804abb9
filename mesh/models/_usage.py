"""Token use in the audit ledger: one record per agent run, filed under the decision it served."""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic_ai.models import Model
from pydantic_ai.usage import RunUsage

from mesh.audit import AuditRecord, Caller, Ledger, Receipt, Status
from mesh.tracing import TraceIds, current_trace_ids

USAGE_ACTION = "model/usage"


def usage_record(
    usage: RunUsage,
    *,
    decision_id: str,
    model: Model | str,
    agent: str | None = None,
    domain: str | None = None,
    caller: Caller | None = None,
    status: Status = "executed",
    occurred_at: datetime | None = None,
    trace_ids: TraceIds | None = None,
) -> AuditRecord:
    """The audit record of a run's token use.

    - `decision_id`: the decision the run served (the one its tool calls carry), so
      `mesh audit show <id>` lists the tokens beside the calls;
    - `action` `model/usage`; `parameters`: the model's name and provider;
    - `outcome`: `input_tokens`, `output_tokens`, `requests` (model calls), `tool_calls`, and the
      cache token counts when the provider reported any;
    - `status`: `executed`, or `failed` for a run that ended in an error (its usage up to then);
    - trace and span ids: `trace_ids`, else the current span's.
    """
    name, provider = (model.model_name, model.system) if isinstance(model, Model) else (model, None)
    outcome: dict[str, float] = {
        "input_tokens": usage.input_tokens,
        "output_tokens": usage.output_tokens,
        "requests": usage.requests,
        "tool_calls": usage.tool_calls,
    }
    if usage.cache_read_tokens:
        outcome["cache_read_tokens"] = usage.cache_read_tokens
    if usage.cache_write_tokens:
        outcome["cache_write_tokens"] = usage.cache_write_tokens
    parameters: dict[str, str] = {"model": name}
    if provider is not None:
        parameters["provider"] = provider
    ids = trace_ids or current_trace_ids()
    return AuditRecord(
        decision_id=decision_id,
        occurred_at=occurred_at or datetime.now(UTC),
        agent=agent,
        domain=domain,
        action=USAGE_ACTION,
        parameters=parameters,
        execution_mode="autonomous",
        status=status,
        outcome=outcome,
        caller=caller,
        trace_id=ids.trace_id if ids else None,
        span_id=ids.span_id if ids else None,
    )


async def record_usage(
    ledger: Ledger,
    usage: RunUsage,
    *,
    decision_id: str,
    model: Model | str,
    agent: str | None = None,
    domain: str | None = None,
    caller: Caller | None = None,
    status: Status = "executed",
) -> Receipt:
    """Append `usage_record(...)` and wait until it is committed."""
    record = usage_record(
        usage,
        decision_id=decision_id,
        model=model,
        agent=agent,
        domain=domain,
        caller=caller,
        status=status,
    )
    return await ledger.append(record)
