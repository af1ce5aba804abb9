"""The deterministic path: answers to the common question forms, built from the records alone.

Every statement comes from a record and names the decision it came from; when the records hold
nothing that answers, the answer says so, says what it looked for, and what can be asked.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from mesh.audit import AuditRecord
from mesh.chat._parse import ParsedQuestion
from mesh.chat._records import (
    NO_STANDINGS,
    SCAN_RECORDS,
    Decision,
    EscalationFilter,
    OperatorRecords,
    cycle_position,
    describe_action,
)

EXPLAINED_IN_FULL = 3
"""How many matching decisions an answer explains in full; the rest are listed one a line."""
LISTED = 20
AUTONOMY_MEANS = {
    "high": "acts on its own once policy allows",
    "mediated": "acts after mediation",
    "low": "its actions are escalated to a human",
    "quarantined": "may not act",
}
CAN_ANSWER = (
    "explain a decision, by its id or as `why did the procurement agent reorder SKU-06 in APAC on "
    "day 1?` (agent, action, SKU or warehouse, region, day or hour of the simulated week)",
    "list escalations: `which escalations are pending?`, `all escalations`",
    "show credibility and autonomy: `what is the inventory agent's credibility?`",
    "list an agent's recent decisions: `recent decisions of the logistics agent`",
)


@dataclass
class Answer:
    text: str
    citations: list[str] = field(default_factory=list)
    answered: bool = True


def what_i_can_answer() -> str:
    return "I can answer these questions from the records:\n" + "\n".join(f"- {item}" for item in CAN_ANSWER)


async def answer_deterministically(records: OperatorRecords, parsed: ParsedQuestion) -> Answer:
    """The answer of the deterministic path to `parsed`."""
    if parsed.form == "explain" and parsed.id_tokens:
        return _explain_ids(records, parsed)
    if parsed.form == "explain":
        return _explain_search(records, parsed)
    if parsed.form == "escalations":
        return _escalations(records, parsed)
    if parsed.form == "standings":
        return _standings(records, parsed)
    if parsed.form == "recent":
        return _recent(records, parsed)
    return Answer(
        "The records do not answer this question in a form I can read without a language model, "
        "and I do not guess.\n" + what_i_can_answer(),
        answered=False,
    )


def explain(decision: Decision) -> str:
    """A decision in sentences: who proposed what, on which data, what policy and negotiation
    said, how it was carried out or reviewed, and how it ended."""
    primary, records = decision.primary, decision.records
    position = decision.position
    where = f" (run {position.run_id}, hour {position.step}, day {position.day})" if position else ""
    who = primary.agent or (primary.caller.subject if primary.caller else "an unnamed caller")
    lines = [f"Decision {decision.decision_id}{where}: {who} - {describe_action(primary)}."]
    if primary.inputs:
        evidence = ", ".join(
            f"{item.product_id}@{item.version}"
            + (f" (as of {item.as_of:%Y-%m-%d %H:%MZ})" if item.as_of else "")
            for item in primary.inputs
        )
        lines.append(f"Evidence: {evidence}.")
    for policy in primary.policies:
        reasons = "; ".join(policy.reasons)
        lines.append(
            f"Policy {policy.policy_id} said {policy.outcome}" + (f": {reasons}." if reasons else ".")
        )
    if primary.negotiation:
        steps = "; ".join(f"round {s.round}: {s.agent} {s.move}" for s in primary.negotiation)
        lines.append(f"Negotiation: {steps}.")
    if primary.action != records[-1].action or len(records) == 1:
        lines.append(f"The {primary.action} record says {primary.status} ({primary.execution_mode}).")
    modifications = (primary.final_action or {}).get("modifications")
    if modifications:
        lines.append(f"Carried out with modifications: {modifications}.")
    lines.extend(_step(record) for record in records if record is not primary and _step(record))
    last = records[-1]
    metrics = ", ".join(f"{name} {value:g}" for name, value in sorted(_final_outcome(records).items()))
    lines.append(
        f"It ended {last.status} ({last.execution_mode})" + (f"; outcome: {metrics}." if metrics else ".")
    )
    return "\n".join(lines)


def _step(record: AuditRecord) -> str:
    by = record.agent or (record.caller.subject if record.caller else "someone")
    if record.action == "review":
        p = record.parameters
        return (
            f"Reviewed by {p.get('reviewer', by)} (rule {p.get('rule', '-')}): {p.get('verdict', '-')}, "
            f"{p.get('reason', '')}; the review ended {record.status}."
        )
    if record.action.startswith("escalation/"):
        escalation = record.parameters.get("escalation_id", "-")
        tool = record.parameters.get("tool") or record.parameters.get("method")
        return f"The gateway held {by}'s call {tool} as {escalation}; it was {record.status}."
    if record.action in ("tools/call", "resources/read"):
        target = record.parameters.get("tool") or record.parameters.get("uri") or ""
        reasons = "; ".join(r for policy in record.policies for r in policy.reasons)
        return f"{by} called {record.action} {target} through the gateway: {record.status}" + (
            f" ({reasons})." if reasons else "."
        )
    if record.action == "model/usage":
        return ""
    return f"{record.action} by {by}: {record.status} ({record.execution_mode})."


def _final_outcome(records: Sequence[AuditRecord]) -> dict[str, float]:
    measured = [r for r in records if r.outcome and "/" not in r.action]
    return dict(measured[-1].outcome) if measured else {}


def _explain_ids(records: OperatorRecords, parsed: ParsedQuestion) -> Answer:
    found: list[Decision] = []
    for token in parsed.id_tokens[:5]:
        if token.startswith("esc-"):
            escalation = _escalation(records, token)
            if escalation is not None:
                token = str(escalation["decision_id"])
        if records.exists(token):
            found.append(records.decision(token))
    if not found:
        looked = ", ".join(parsed.strict_ids or parsed.id_tokens)
        return Answer(
            f"The ledger holds no decision {looked}: I cannot explain it, and I do not guess.\n"
            + what_i_can_answer(),
            answered=False,
        )
    texts = [explain(decision) for decision in found]
    missing = [
        t for t in parsed.strict_ids if t not in {d.decision_id for d in found} and not t.startswith("esc-")
    ]
    if missing:
        texts.append(f"The ledger holds no decision {', '.join(missing)}.")
    return Answer("\n\n".join(texts), [d.decision_id for d in found])


def _escalation(records: OperatorRecords, escalation_id: str) -> dict[str, object] | None:
    for escalation in records.escalations(None) or []:
        if escalation["id"] == escalation_id:
            return escalation
    return None


def _search(records: OperatorRecords, parsed: ParsedQuestion, agent: str | None) -> list[Decision]:
    return records.find(
        agent=agent,
        action=parsed.action,
        sku=parsed.sku,
        warehouse=parsed.warehouse,
        region=parsed.region,
        day=parsed.day,
        step=parsed.step,
        status=parsed.status,
        limit=LISTED,
    )


def _explain_search(records: OperatorRecords, parsed: ParsedQuestion) -> Answer:
    found = _search(records, parsed, parsed.agent)
    if not found:
        return _nothing_matches(records, parsed)
    texts = [explain(decision) for decision in found[:EXPLAINED_IN_FULL]]
    rest = found[EXPLAINED_IN_FULL:]
    header = f"{len(found)} decision(s) match: {parsed.described()}" + (
        f" (the newest {LISTED} shown)" if len(found) >= LISTED else ""
    )
    if rest:
        texts.append(
            "Also matching:\n" + "\n".join(f"- {d.decision_id}: {d.summary()['summary']}" for d in rest)
        )
    return Answer(header + ":\n\n" + "\n\n".join(texts), [d.decision_id for d in found])


def _nothing_matches(records: OperatorRecords, parsed: ParsedQuestion) -> Answer:
    lines = [f"The records hold no {parsed.described()}; I do not guess."]
    if parsed.agent is not None:
        others = _search(records, parsed, None)
        makers = sorted({d.primary.agent for d in others if d.primary.agent})
        if makers:
            lines.append(
                f"{len(others)} such decision(s) were made by {', '.join(makers)}, not {parsed.agent}: "
                f"ask about {makers[0]} to see them."
            )
    if parsed.day is not None or parsed.step is not None:
        covered = _runs_covered(records)
        if covered:
            spans = "; ".join(
                f"run {run}, with decisions in hours {low}-{high} (days {low // 24 + 1}-{high // 24 + 1})"
                for run, (low, high) in covered.items()
            )
            lines.append(f"The latest {SCAN_RECORDS} records hold {spans}; day 1 is hours 0-23 of a run.")
    lines.append(what_i_can_answer())
    return Answer("\n".join(lines), answered=False)


def _runs_covered(records: OperatorRecords) -> dict[str, tuple[int, int]]:
    covered: dict[str, tuple[int, int]] = {}
    for entry in records.log.tail(SCAN_RECORDS):
        position = cycle_position(entry.record.decision_id)
        if position is None:
            continue
        low, high = covered.get(position.run_id, (position.step, position.step))
        covered[position.run_id] = (min(low, position.step), max(high, position.step))
    return covered


def _escalations(records: OperatorRecords, parsed: ParsedQuestion) -> Answer:
    lines: list[str] = []
    citations: list[str] = []
    status: EscalationFilter | None = None if parsed.all_escalations else "pending"
    queue = records.escalations(status)
    if queue is None:
        lines.append("The gateway's escalation queue is not available here.")
    elif not queue:
        lines.append(
            "No escalation is pending at the gateway." if status else "The gateway holds no escalation."
        )
    else:
        lines.append(f"{len(queue)} escalation(s) {'pending ' if status else ''}at the gateway:")
        for item in queue[:LISTED]:
            what = f"{item['domain']}.{item['tool'] or item['method']}"
            reasons = "; ".join(str(r) for r in item["reasons"])
            lines.append(
                f"- {item['id']} ({item['status']}, {item['kind']}): {item['client_id'] or item['subject']} "
                f"calling {what}, decision {item['decision_id']}" + (f": {reasons}" if reasons else "")
            )
            if records.exists(str(item["decision_id"])):
                citations.append(str(item["decision_id"]))
    escalated = records.find(status="escalated", limit=10)
    if escalated:
        lines.append(
            f"Decisions escalated by policy or autonomy in the latest cycles (newest {len(escalated)}):"
        )
        for decision in escalated:
            review = next((r for r in decision.records if r.action == "review"), None)
            reasons = "; ".join(r for p in decision.primary.policies for r in p.reasons)
            outcome = (
                f"reviewed: {review.parameters.get('verdict')}, ended {decision.last.status}"
                if review is not None
                else f"now {decision.last.status}"
            )
            lines.append(
                f"- {decision.decision_id}: {describe_action(decision.primary)} ({reasons}); {outcome}"
            )
            citations.append(decision.decision_id)
    elif queue is not None:
        lines.append("No decision in the latest cycles was escalated.")
    return Answer("\n".join(lines), list(dict.fromkeys(citations)))


def _standings(records: OperatorRecords, parsed: ParsedQuestion) -> Answer:
    found = records.standings()
    if not found:
        return Answer(f"The records hold no standing: {NO_STANDINGS}.", answered=False)
    if parsed.agent is not None:
        chosen = [s for s in found if s.agent == parsed.agent]
        if not chosen:
            known = ", ".join(s.agent for s in found)
            return Answer(
                f"The records hold no standing of {parsed.agent}; standings are recorded for {known}.",
                answered=False,
            )
        found = chosen
    lines = []
    for s in found:
        parts = ", ".join(
            f"{name.replace('_', ' ')} {value:.3f}" for name, value in sorted(s.components.items())
        )
        lines.append(
            f"{s.agent}: credibility {s.credibility:.3f}"
            + (f" ({parts})" if parts else "")
            + f", autonomy {s.autonomy} ({AUTONOMY_MEANS.get(s.autonomy, 'unknown level')}), "
            f"{s.strikes} strike(s), as of {s.as_of[:19]}Z (decision {s.decision_id})."
        )
    lines.append("Credibility = 0.3 prediction accuracy + 0.3 consistency + 0.4 policy compliance.")
    return Answer("\n".join(lines), [s.decision_id for s in found])


def _recent(records: OperatorRecords, parsed: ParsedQuestion) -> Answer:
    found = records.recent(10, agent=parsed.agent)
    whose = f" by {parsed.agent}" if parsed.agent else ""
    if not found:
        return Answer(
            f"The latest {SCAN_RECORDS} records hold no decision{whose}.\n" + what_i_can_answer(),
            answered=False,
        )
    lines = [f"The {len(found)} most recent decision(s){whose}:"]
    lines += [f"- {d.decision_id}: {d.summary()['summary']}" for d in found]
    return Answer("\n".join(lines), [d.decision_id for d in found])
