"""How ledger entries look to a person in a terminal."""

from __future__ import annotations

import json
from typing import Any

from rich import box
from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from mesh.audit._ledger import LedgerEntry
from mesh.audit._verify import VerifyReport

_OUTCOME_STYLE = {"allow": "green", "warn": "yellow", "escalate": "magenta", "deny": "red"}


def render_tail(entries: list[LedgerEntry]) -> Table:
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    for column in ("seq", "recorded (UTC)", "decision", "agent", "action", "mode", "status", "policies"):
        table.add_column(column, justify="right" if column == "seq" else "left", no_wrap=column != "agent")
    for entry in entries:
        r = entry.record
        table.add_row(
            str(entry.seq),
            entry.recorded_at[5:19].replace("T", " "),
            r.decision_id,
            r.agent or "-",
            r.action,
            r.execution_mode,
            r.status,
            _policy_summary(entry),
        )
    return table


def render_decision(decision_id: str, entries: list[LedgerEntry]) -> RenderableType:
    """The whole provenance of one decision: every record appended for it, oldest first."""
    panels = [_render_entry(entry) for entry in entries]
    return Group(Text(f"decision {decision_id}: {len(entries)} record(s)", style="bold"), *panels)


def _render_entry(entry: LedgerEntry) -> Panel:
    r = entry.record
    facts = Table.grid(padding=(0, 2))
    facts.add_column(style="bold")
    facts.add_column()
    facts.add_row("occurred", r.occurred_at.isoformat())
    facts.add_row("recorded", f"{entry.recorded_at}  (seq {entry.seq}, hash {entry.hash[:16]}…)")
    facts.add_row("agent / domain", f"{r.agent or '-'} / {r.domain or '-'}")
    facts.add_row("action", f"{r.action} {_compact(r.parameters)}")
    facts.add_row("mode / status", f"{r.execution_mode} / {r.status}")
    if r.caller is not None:
        chain = " ← ".join(r.caller.act_chain) if r.caller.act_chain else "-"
        facts.add_row(
            "caller", f"{r.caller.subject} (client {r.caller.client_id or '-'}); acting for: {chain}"
        )
        facts.add_row("scopes", " ".join(r.caller.scopes) or "-")
    for data in r.inputs:
        freshness = f", {data.freshness_seconds:g}s old" if data.freshness_seconds is not None else ""
        facts.add_row("input", f"{data.product_id}@{data.version}{freshness}")
    for policy in r.policies:
        reasons = "; ".join(policy.reasons)
        facts.add_row(
            "policy",
            Text.assemble(
                (policy.outcome.upper(), _OUTCOME_STYLE[policy.outcome]),
                f" {policy.policy_id}@{policy.policy_version}" + (f": {reasons}" if reasons else ""),
            ),
        )
    for step in r.negotiation:
        facts.add_row("negotiation", f"round {step.round}: {step.agent} {step.move} {_compact(step.detail)}")
    if r.final_action is not None:
        facts.add_row("final action", _compact(r.final_action))
    if r.outcome:
        facts.add_row("outcome", ", ".join(f"{k}={v:g}" for k, v in sorted(r.outcome.items())))
    if r.assets:
        facts.add_row("assets", " ".join(f"{key}@{version}" for key, version in r.assets.items()))
    if r.trace_id:
        facts.add_row("trace", f"{r.trace_id}  (mesh trace {r.decision_id})")
    return Panel(facts, title=f"#{entry.seq} {r.action}", title_align="left")


def render_verify(report: VerifyReport) -> Text:
    summary = (
        f"{report.records} records, {report.checkpoints} checkpoints, head {report.head_seq} "
        f"({report.head_hash[:16]}…), verified in {report.seconds:.2f}s"
    )
    if report.ok:
        return Text(f"ledger intact: {summary}", style="green")
    lines = [f"ledger TAMPERED: {len(report.problems)} problem(s); {summary}"]
    lines += [f"  {problem}" for problem in report.problems[:20]]
    if len(report.problems) > 20:
        lines.append(f"  … and {len(report.problems) - 20} more")
    return Text("\n".join(lines), style="red")


def _policy_summary(entry: LedgerEntry) -> Text:
    text = Text()
    for policy in entry.record.policies:
        text.append(f"{policy.outcome} ", style=_OUTCOME_STYLE[policy.outcome])
    return text or Text("-")


def _compact(value: dict[str, Any]) -> str:
    return ", ".join(f"{key}={json.dumps(value[key])}" for key in sorted(value))
