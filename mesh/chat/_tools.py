"""The chat model's tools: plain async Python functions that only read the records.

Each returns JSON-ready data, bounded in size; a bad argument comes back as `{"error": ...}` the
model can read, never as an exception that ends the run.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any, Literal

from mesh.chat._errors import DecisionNotFoundError
from mesh.chat._records import OperatorRecords, agent_name, cycle_position

MAX_LISTED = 30
MAX_SPANS = 60
MAX_TEXT = 400

Tool = Callable[..., Coroutine[Any, Any, Any]]


def _short(value: Any) -> Any:
    """`value` with long strings cut, so one odd record cannot flood the model's context."""
    if isinstance(value, str):
        return value if len(value) <= MAX_TEXT else value[:MAX_TEXT] + "..."
    if isinstance(value, dict):
        return {key: _short(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_short(item) for item in value[:MAX_LISTED]]
    return value


def read_tools(records: OperatorRecords) -> list[Tool]:
    """The read-only tools over `records`, for `build_mesh_agent(..., tools=...)`."""

    async def find_decisions(
        agent: str | None = None,
        action: Literal["purchase_order", "transfer", "shipment"] | None = None,
        sku: str | None = None,
        warehouse: str | None = None,
        region: Literal["NA", "EU", "APAC"] | None = None,
        day: int | None = None,
        hour: int | None = None,
        status: str | None = None,
    ) -> dict[str, Any]:
        """Decisions of the simulated week, newest first, matching every filter given.

        agent: a domain agent (`inventory`, `procurement`, `logistics` ...); action: the decision
        type (a reorder is a `purchase_order`); sku: `SKU-17`; warehouse: `WH-EU-1`; region;
        day: day of the run, 1 for its first 24 hours; hour: hour of the run, 0 first;
        status: executed, escalated, denied, rejected, failed, expired.
        """
        if agent is not None and agent_name(agent) is None:
            return {"error": f"unknown agent {agent!r}; the agents are inventory, procurement, logistics ..."}
        try:
            found = records.find(
                agent=agent,
                action=action,
                sku=sku.upper() if sku else None,
                warehouse=warehouse.upper() if warehouse else None,
                region=region,
                day=day,
                step=hour,
                status=status,
                limit=MAX_LISTED,
            )
        except ValueError as error:
            return {"error": str(error)}
        return {"decisions": [_short(d.summary()) for d in found]}

    async def recent_decisions(
        agent: str | None = None, contains: str | None = None, limit: int = 10
    ) -> dict[str, Any]:
        """The most recent decisions, newest first: of one agent, and/or whose id, action or
        parameters contain some text."""
        found = records.recent(max(1, min(limit, MAX_LISTED)), agent=agent, text=contains)
        return {"decisions": [_short(d.summary()) for d in found]}

    async def get_decision(decision_id: str) -> dict[str, Any]:
        """Everything the ledger holds on one decision: its records (who, what, status, execution
        mode, parameters), data inputs, policy results, negotiation, outcome."""
        try:
            decision = records.decision(decision_id)
        except DecisionNotFoundError as error:
            return {"error": str(error)}
        position = cycle_position(decision_id)
        shown: dict[str, Any] = _short(
            {
                "decision_id": decision_id,
                "run": position.run_id if position else None,
                "hour": position.step if position else None,
                "day": position.day if position else None,
                "records": [
                    {
                        "seq": entry.seq,
                        "occurred_at": entry.record.occurred_at.isoformat(),
                        "agent": entry.record.agent,
                        "action": entry.record.action,
                        "status": entry.record.status,
                        "execution_mode": entry.record.execution_mode,
                        "parameters": entry.record.parameters,
                        "caller": entry.record.caller.subject if entry.record.caller else None,
                    }
                    for entry in decision.entries[-MAX_LISTED:]
                ],
                "provenance": decision.provenance(),
            }
        )
        return shown

    async def decision_trace(decision_id: str) -> dict[str, Any]:
        """The spans (name, service, duration, status) of a decision's traces, when kept locally."""
        try:
            decision = records.decision(decision_id)
        except DecisionNotFoundError as error:
            return {"error": str(error)}
        return {"spans": records.spans(decision)[:MAX_SPANS]}

    async def list_escalations(status: Literal["pending", "all"] = "pending") -> dict[str, Any]:
        """Escalations at the gateway (calls held for a human), pending ones or all of them."""
        found = records.escalations(None if status == "all" else "pending")
        if found is None:
            return {"error": "the escalation queue is not available here"}
        keep = ("id", "status", "kind", "client_id", "domain", "tool", "reasons", "decision_id", "decided_by")
        return {"escalations": [_short({k: e.get(k) for k in keep}) for e in found[:MAX_LISTED]]}

    async def agent_standings() -> dict[str, Any]:
        """Each agent's latest recorded credibility (0.3 accuracy + 0.3 consistency + 0.4
        compliance), its components, autonomy level and strikes, with the record's decision id."""
        found = records.standings()
        return {"agents": [{**s.to_json(), "components": s.components} for s in found]}

    async def list_agents() -> dict[str, Any]:
        """The agents in the directory: name, status, description, skills."""
        found, note = records.agents()
        if found is None:
            return {"error": note}
        return {
            "note": note,
            "agents": [
                _short(
                    {
                        "agent": a["agent"],
                        "status": a["status"],
                        "description": a["summary"]["description"],
                        "skills": [s.get("id") for s in a["summary"]["skills"]],
                    }
                )
                for a in found
            ],
        }

    async def list_data_products() -> dict[str, Any]:
        """The data products' contracts: id, owner domain, version, title, description, freshness SLA."""
        try:
            found = await records.products()
        except Exception as error:  # a domain down is a result the model can read
            return {"error": f"the catalog could not be read: {type(error).__name__}"}
        if found is None:
            return {"error": "the catalog is not available here"}
        keep = ("id", "owner", "version", "title", "description", "freshness_sla", "access_scope")
        return {"products": [_short({k: p.get(k) for k in keep if k in p}) for p in found[:MAX_LISTED]]}

    return [
        find_decisions,
        recent_decisions,
        get_decision,
        decision_trace,
        list_escalations,
        agent_standings,
        list_agents,
        list_data_products,
    ]
