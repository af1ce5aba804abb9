"""Read-only views of the mesh's records for operators: decisions, their provenance and traces,
agent standings, escalations, the agent directory and the data-product catalog.

The same reader serves the operator HTTP API (`/api/decisions`, `/api/standings`) and the chat's
tools, so a chat answer and the console show one truth. Nothing here writes.

Where the records are read from:

- the audit ledger (`AuditLog`): a decision is every record sharing its decision id. Lists look at
  the latest `SCAN_RECORDS` records; one decision is read whole by its id at any age. Searches by
  SKU or warehouse ask the ledger for the records whose text holds that id (portable SQL, so the
  whole ledger is searched, newest `SEARCH_RECORDS` first);
- the local span store (`SpanStore`), by the trace ids of a decision's records;
- the escalation queue and the agent directory of the gateway, and the domains' catalogs, through
  small callables the gateway passes in (absent outside the gateway: then they say so).
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel

from mesh.audit import AuditLog, AuditRecord, LedgerEntry
from mesh.chat._errors import DecisionNotFoundError
from mesh.settings import DOMAINS, REGIONS
from mesh.tracing import SpanStore, TracingError
from mesh.trust import STANDING_ACTION

SCAN_RECORDS = 5_000
"""How many of the latest ledger records lists and filters without an SKU or warehouse look at."""
SEARCH_RECORDS = 2_000
"""How many matching records a search by SKU or warehouse reads, newest first."""
DECISION_TYPES = {"transfer": "transfer", "purchase_order": "purchase order", "shipment": "shipment"}
"""The decision types the coordinator's agents propose, and how an answer names them."""
HOURS_PER_DAY = 24

_CYCLE = re.compile(r"^(?P<run>[0-9a-f]{8})-h(?P<step>\d{3,})\.")
_SAFE_LITERAL = re.compile(r"^[A-Za-z0-9:/_.\- ]{1,80}$")
_WAREHOUSE = re.compile(r"^WH-(?P<region>[A-Z]+)-\d+$")
_LANE = re.compile(r"^(?P<origin>[A-Z]+)-(?P<destination>[A-Z]+)$")

EscalationFilter = Literal["pending", "approved", "denied", "expired", "consumed"]
EscalationsReader = Callable[[EscalationFilter | None], Sequence[BaseModel]]
"""The gateway's escalation queue: `reader(status)` lists escalations (all when `status` is None)."""
DirectoryReader = Callable[[], Sequence[BaseModel]]
"""The agent directory: every agent that announced itself."""
CatalogReader = Callable[[], Awaitable[list[dict[str, Any]]]]
"""The data products' contracts, as the domains' `catalog://` resources serve them."""


@dataclass(frozen=True, slots=True)
class CyclePosition:
    """Where a decision sits in a simulated week: its run, the hour counted from the run's start
    (`step`, 0 first) and the day (`step // 24 + 1`, so hours 0-23 are day 1)."""

    run_id: str
    step: int

    @property
    def day(self) -> int:
        return self.step // HOURS_PER_DAY + 1

    @property
    def hour_of_day(self) -> int:
        return self.step % HOURS_PER_DAY


def cycle_position(decision_id: str) -> CyclePosition | None:
    """The run and hour of a decision made in a coordinator's cycle (`<run>-h<step>.<...>`)."""
    found = _CYCLE.match(decision_id)
    return None if found is None else CyclePosition(found["run"], int(found["step"]))


def agent_name(text: str) -> str | None:
    """The cycle's agent id for a domain or agent name: `inventory`, `inventory-agent`,
    `agent:inventory` all give `agent:inventory`; None when it names no domain's agent."""
    name = text.strip().lower().removeprefix("agent:").removesuffix("-agent")
    return f"agent:{name}" if name in DOMAINS else None


def agent_matches(wanted: str, record: AuditRecord) -> bool:
    """Whether `record` was made by the agent `wanted` names (its cycle id, its OAuth client, or
    the domain it acts for), or by exactly `wanted`."""
    if record.agent == wanted:
        return True
    canonical = agent_name(wanted)
    if canonical is None:
        return False
    domain = canonical.removeprefix("agent:")
    return record.agent in (canonical, f"{domain}-agent")


def regions_of(record: AuditRecord) -> set[str]:
    """The regions an action concerns: its `region`, its warehouses' and its lane's regions."""
    action = record.parameters.get("proposed_action")
    found: set[str] = set()
    if not isinstance(action, dict):
        return found
    for key, value in action.items():
        if not isinstance(value, str):
            continue
        if key == "region" and value in REGIONS:
            found.add(value)
        if (warehouse := _WAREHOUSE.match(value)) is not None and warehouse["region"] in REGIONS:
            found.add(warehouse["region"])
        if key == "lane_id" and (lane := _LANE.match(value)) is not None:
            found |= {lane["origin"], lane["destination"]} & set(REGIONS)
    return found


def primary_record(records: Sequence[AuditRecord]) -> AuditRecord:
    """The record that says what a decision was: the first of a decision type (a cycle's intent),
    else the first whose action is not a protocol step (`tools/call`, `model/usage` ...), else
    the first."""
    for record in records:
        if record.action in DECISION_TYPES:
            return record
    for record in records:
        if "/" not in record.action:
            return record
    return records[0]


def describe_action(record: AuditRecord) -> str:
    """One line of what an action does: `purchase order of 3317 x SKU-06 for WH-APAC-1 from
    SUP-APAC-3`, `tools/call place_purchase_order` ..."""
    action = record.parameters.get("proposed_action")
    if isinstance(action, dict):
        return _describe_proposed(record.action, action)
    tool = record.parameters.get("tool")
    if isinstance(tool, str):
        return f"{record.action} {tool}"
    return record.action


def _describe_proposed(kind: str, action: Mapping[str, Any]) -> str:
    name = DECISION_TYPES.get(kind, kind)
    units = action.get("units", action.get("quantity"))
    what = (
        f"{units} x {action['sku_id']}" if units is not None and "sku_id" in action else action.get("sku_id")
    )
    parts = [f"{name} of {what}" if what else name]
    if "from_warehouse_id" in action:
        parts.append(f"from {action['from_warehouse_id']} to {action.get('to_warehouse_id')}")
    elif "warehouse_id" in action:
        parts.append(f"for {action['warehouse_id']}")
    if "supplier_id" in action:
        parts.append(f"from {action['supplier_id']}")
    if "lane_id" in action:
        parts.append(f"on lane {action['lane_id']}" + (f" by {action['mode']}" if "mode" in action else ""))
    return " ".join(str(part) for part in parts)


@dataclass(frozen=True)
class Decision:
    """Every record of one decision, oldest first, with where each sits in the ledger."""

    decision_id: str
    entries: list[LedgerEntry]

    @property
    def records(self) -> list[AuditRecord]:
        return [entry.record for entry in self.entries]

    @property
    def primary(self) -> AuditRecord:
        return primary_record(self.records)

    @property
    def last(self) -> AuditRecord:
        return self.entries[-1].record

    @property
    def position(self) -> CyclePosition | None:
        return cycle_position(self.decision_id)

    def summary(self) -> dict[str, Any]:
        """The row `GET /api/decisions` lists."""
        primary, last = self.primary, self.last
        return {
            "decision_id": self.decision_id,
            "first_at": self.entries[0].record.occurred_at.isoformat(),
            "last_at": last.occurred_at.isoformat(),
            "agent": primary.agent,
            "domain": primary.domain,
            "action": primary.action,
            "status": last.status,
            "execution_mode": last.execution_mode,
            "records": len(self.entries),
            "summary": f"{describe_action(primary)}: {last.status} ({last.execution_mode})",
        }

    def provenance(self) -> dict[str, Any]:
        """The decision's provenance, gathered over its records (the DMAS paper's audit fields)."""
        records = self.records
        data: dict[tuple[str, str], dict[str, Any]] = {}
        policies: dict[tuple[str, str, str], dict[str, Any]] = {}
        negotiation: list[dict[str, Any]] = []
        assets: dict[str, str] = {}
        callers: list[dict[str, Any]] = []
        for record in records:
            for item in record.inputs:
                data.setdefault(
                    (item.product_id, item.version),
                    {
                        "product_id": item.product_id,
                        "version": item.version,
                        "as_of": item.as_of.isoformat() if item.as_of else None,
                        "freshness_seconds": item.freshness_seconds,
                    },
                )
            for policy in record.policies:
                policies.setdefault(
                    (policy.policy_id, policy.outcome, policy.policy_version),
                    policy.model_dump(mode="json"),
                )
            for step in record.negotiation:
                if (shown := step.model_dump(mode="json")) not in negotiation:
                    negotiation.append(shown)
            assets.update(record.assets or {})
            if record.caller is not None and (caller := record.caller.model_dump(mode="json")) not in callers:
                callers.append(caller)
        done = [r for r in records if r.final_action is not None]
        measured = [r for r in records if r.outcome and "/" not in r.action]
        last = records[-1]
        return {
            "data": list(data.values()),
            "policies": list(policies.values()),
            "negotiation": negotiation,
            "outcome": {
                "status": last.status,
                "execution_mode": last.execution_mode,
                "final_action": done[-1].final_action if done else None,
                "executed_at": done[-1].executed_at.isoformat() if done and done[-1].executed_at else None,
                "outcome": measured[-1].outcome if measured else {},
            },
            "assets": assets,
            "callers": callers,
        }

    def trace_ids(self) -> list[str]:
        return list(dict.fromkeys(r.trace_id for r in self.records if r.trace_id))


@dataclass(frozen=True)
class Standing:
    """An agent's latest recorded standing."""

    agent: str
    credibility: float
    autonomy: str
    strikes: int
    as_of: str
    decision_id: str
    components: dict[str, float]

    def to_json(self) -> dict[str, Any]:
        return {
            "agent": self.agent,
            "credibility": self.credibility,
            "autonomy": self.autonomy,
            "strikes": self.strikes,
            "as_of": self.as_of,
            "decision_id": self.decision_id,
        }


NO_STANDINGS = (
    "no agent standing is recorded yet: the decision cycles record each agent's credibility and "
    "autonomy when it changes (run `mesh demo`)"
)


class OperatorRecords:
    """Read-only access to everything an operator may ask about; see the module's docstring."""

    def __init__(
        self,
        log: AuditLog,
        *,
        span_store: Path | None = None,
        escalations: EscalationsReader | None = None,
        directory: DirectoryReader | None = None,
        directory_note: Callable[[], str | None] | None = None,
        catalog: CatalogReader | None = None,
    ) -> None:
        self.log = log
        self.span_store = span_store
        self._escalations = escalations
        self._directory = directory
        self._directory_note = directory_note
        self._catalog = catalog

    # decisions

    def decision(self, decision_id: str) -> Decision:
        """Every record of `decision_id`; `DecisionNotFoundError` when there is none."""
        entries = self.log.records_for(decision_id)
        if not entries:
            raise DecisionNotFoundError(decision_id)
        return Decision(decision_id, entries)

    def exists(self, decision_id: str) -> bool:
        return bool(self.log.records_for(decision_id))

    def recent(self, limit: int = 50, *, agent: str | None = None, text: str | None = None) -> list[Decision]:
        """The newest decisions (by their latest record) among the latest `SCAN_RECORDS` records,
        made by `agent` (see `agent_matches`) and holding `text` (any case) in their id, action or
        parameters; each read whole."""
        needle = text.lower() if text else None
        grouped = _group(self.log.tail(SCAN_RECORDS))
        found: list[Decision] = []
        for decision_id, entries in sorted(grouped.items(), key=lambda item: -item[1][-1].seq):
            records = [entry.record for entry in entries]
            if agent is not None and not agent_matches(agent, primary_record(records)):
                continue
            if needle is not None and not any(_holds(needle, record) for record in records):
                continue
            found.append(Decision(decision_id, self.log.records_for(decision_id)))
            if len(found) >= limit:
                break
        return found

    def find(
        self,
        *,
        agent: str | None = None,
        action: str | None = None,
        sku: str | None = None,
        warehouse: str | None = None,
        region: str | None = None,
        day: int | None = None,
        step: int | None = None,
        status: str | None = None,
        limit: int = 20,
    ) -> list[Decision]:
        """The decisions, newest first, whose primary record matches every filter given: the agent,
        the decision type, an SKU or warehouse in its proposed action, a region it concerns, the
        day or hour of its run (`CyclePosition`), the status it ended with."""
        if sku is not None or warehouse is not None:
            fragments = [f'"sku_id":"{sku}"'] if sku is not None else []
            fragments += [f'"{warehouse}"'] if warehouse is not None else []
            entries = self._containing(fragments)
        else:
            entries = self.log.tail(SCAN_RECORDS)
        grouped = _group(entries)
        found: list[Decision] = []
        for decision_id, group in sorted(grouped.items(), key=lambda item: -item[1][-1].seq):
            primary = primary_record([entry.record for entry in group])
            proposed = primary.parameters.get("proposed_action")
            proposed = proposed if isinstance(proposed, dict) else {}
            position = cycle_position(decision_id)
            if agent is not None and not agent_matches(agent, primary):
                continue
            if action is not None and primary.action != action:
                continue
            if sku is not None and proposed.get("sku_id") != sku:
                continue
            if warehouse is not None and warehouse not in proposed.values():
                continue
            if region is not None and region not in regions_of(primary):
                continue
            if day is not None and (position is None or position.day != day):
                continue
            if step is not None and (position is None or position.step != step):
                continue
            decision = Decision(decision_id, self.log.records_for(decision_id))
            if status is not None and status not in {r.status for r in decision.records}:
                continue
            found.append(decision)
            if len(found) >= limit:
                break
        return found

    def _containing(self, fragments: Sequence[str]) -> list[LedgerEntry]:
        """The newest `SEARCH_RECORDS` records whose canonical text holds every fragment, oldest
        first. Fragments are ids the question parser made (letters, digits, `-`, `:`, `_`, `.`),
        checked again here, and written into portable SQL (SQLite and PostgreSQL alike)."""
        conditions = []
        for fragment in fragments:
            inner = fragment.replace('"', "")
            if not _SAFE_LITERAL.match(inner):
                raise ValueError(f"not a searchable id: {fragment!r}")
            conditions.append(f"body LIKE '%{fragment}%'")
        sql = (
            "SELECT seq, recorded_at, hash, body FROM audit_records WHERE "  # noqa: S608 - checked above
            + " AND ".join(conditions)
            + f" ORDER BY seq DESC LIMIT {SEARCH_RECORDS}"
        )
        _, rows = self.log.query(sql)
        return [
            LedgerEntry(int(seq), str(recorded_at), str(digest), AuditRecord.model_validate_json(body))
            for seq, recorded_at, digest, body in reversed(rows)
        ]

    def spans(self, decision: Decision) -> list[dict[str, Any]]:
        """The spans of the decision's traces in the local span store; [] when none are kept."""
        if self.span_store is None:
            return []
        store = SpanStore(self.span_store)
        found: list[dict[str, Any]] = []
        for trace_id in decision.trace_ids():
            try:
                spans = store.trace(trace_id)
            except TracingError:
                return found
            found.extend(
                {
                    "trace_id": span.trace_id,
                    "name": span.name,
                    "span_id": span.span_id,
                    "parent_span_id": span.parent_span_id,
                    "service": span.service,
                    "duration_ms": round(span.duration_ms, 3),
                    "status": span.status,
                }
                for span in spans
            )
        return found

    def decision_document(self, decision_id: str) -> dict[str, Any]:
        """What `GET /api/decisions/{id}` answers: the records, the provenance, the spans."""
        decision = self.decision(decision_id)
        return {
            "decision_id": decision_id,
            "records": [
                {**entry.record.model_dump(mode="json"), "seq": entry.seq, "hash": entry.hash}
                for entry in decision.entries
            ],
            "provenance": decision.provenance(),
            "spans": self.spans(decision),
        }

    # standings

    def standings(self) -> list[Standing]:
        """Each agent's latest `trust/standing` record, by agent."""
        entries = self._containing([f'"action":"{STANDING_ACTION}"'])
        latest: dict[str, Standing] = {}
        for entry in entries:
            record = entry.record
            if record.action != STANDING_ACTION or record.agent is None:
                continue
            latest[record.agent] = Standing(
                agent=record.agent,
                credibility=record.outcome.get("credibility", 0.0),
                autonomy=str(record.parameters.get("autonomy", "unknown")),
                strikes=int(record.parameters.get("strikes", 0)),
                as_of=record.occurred_at.isoformat(),
                decision_id=record.decision_id,
                components={k: v for k, v in record.outcome.items() if k != "credibility"},
            )
        return [latest[agent] for agent in sorted(latest)]

    def standings_document(self) -> dict[str, Any]:
        """What `GET /api/standings` answers."""
        found = self.standings()
        return {"agents": [s.to_json() for s in found], "note": None if found else NO_STANDINGS}

    # the gateway's parts

    def escalations(self, status: EscalationFilter | None = None) -> list[dict[str, Any]] | None:
        """The gateway's escalations (None when this reader has no escalation queue)."""
        if self._escalations is None:
            return None
        return [e.model_dump(mode="json") for e in self._escalations(status)]

    def agents(self) -> tuple[list[dict[str, Any]] | None, str | None]:
        """The directory's agents (None without a directory) and why it may be incomplete."""
        if self._directory is None:
            return None, "the agent directory is not available here"
        note = self._directory_note() if self._directory_note is not None else None
        return [entry.model_dump(mode="json") for entry in self._directory()], note

    async def products(self) -> list[dict[str, Any]] | None:
        """The data products' contracts (None when this reader has no catalog)."""
        if self._catalog is None:
            return None
        return await self._catalog()


def _group(entries: Iterable[LedgerEntry]) -> dict[str, list[LedgerEntry]]:
    grouped: dict[str, list[LedgerEntry]] = {}
    for entry in entries:
        grouped.setdefault(entry.record.decision_id, []).append(entry)
    return grouped


def _holds(needle: str, record: AuditRecord) -> bool:
    return (
        needle in record.decision_id.lower()
        or needle in record.action.lower()
        or needle in json.dumps(record.parameters, sort_keys=True).lower()
    )
