"""What a simulated week did, cycle by cycle, and the table `mesh demo` prints."""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from rich.table import Table

from mesh.audit import AuditRecord
from mesh.negotiation import CycleOutcome
from mesh.settings import REGIONS
from mesh.trust import TrustRegistry

if TYPE_CHECKING:
    from mesh.simulation import Twin

POLICY_OUTCOMES = ("allow", "warn", "escalate", "deny")


def percentile(values: Sequence[float], share: float) -> float:
    """The nearest-rank percentile (`share` in (0, 1]); 0.0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(share * len(ordered) + 0.5)))
    return ordered[rank - 1]


@dataclass
class AgentStanding:
    agent: str
    credibility: float
    autonomy: str
    strikes: int


@dataclass
class WeekReport:
    hours: int
    run_id: str
    reviewer: str
    cycles: int = 0
    decisions: int = 0
    statuses: Counter[str] = field(default_factory=Counter)
    modes: Counter[str] = field(default_factory=Counter)
    policy: Counter[str] = field(default_factory=Counter)
    conflicts: int = 0
    conflicts_without_human: int = 0
    conflicts_by_negotiation: int = 0
    rounds: list[int] = field(default_factory=list)
    round_bounds: list[int] = field(default_factory=list)
    cycle_ms: list[float] = field(default_factory=list)
    decision_ms: list[float] = field(default_factory=list)
    escalated: int = 0
    approved: int = 0
    denied_by_reviewer: int = 0
    held_at_gateway: int = 0
    held_approved: int = 0
    absent: Counter[str] = field(default_factory=Counter)
    refused_messages: int = 0
    failed_reasons: Counter[str] = field(default_factory=Counter)
    service_level: float = 1.0
    service_by_region: dict[str, float] = field(default_factory=dict)
    transport_kg: dict[str, float] = field(default_factory=dict)
    budget_used: dict[str, float] = field(default_factory=dict)
    standings: list[AgentStanding] = field(default_factory=list)
    wall_seconds: float = 0.0
    example_decision: str | None = None
    example_trace: str | None = None

    def add(
        self,
        outcome: CycleOutcome,
        *,
        cycle_ms: float,
        decision_ms: float,
        reviews: Sequence[AuditRecord],
        refused: int,
    ) -> None:
        self.cycles += 1
        self.decisions += len(outcome.results)
        self.cycle_ms.append(cycle_ms)
        self.decision_ms.append(max(decision_ms, 0.0))
        self.rounds.append(outcome.rounds_used)
        self.round_bounds.append(outcome.round_bound)
        self.refused_messages += refused
        for agent in outcome.absent_agents:
            self.absent[agent] += 1
        escalated = {r.intent_id for r in outcome.results if r.status == "escalated"}
        human_approved = {r.decision_id for r in reviews if r.status == "executed"}
        for result in outcome.results:
            self.statuses[result.status] += 1
            if result.policy is not None:
                self.policy[result.policy.decision] += 1
            if result.status in ("executed", "modified"):
                self.modes[result.execution_mode] += 1
                if self.example_decision is None or result.modifications:
                    self.example_decision = result.intent_id
            if result.status == "failed":
                self.failed_reasons[result.reasons[-1][:120] if result.reasons else "unknown"] += 1
        self.modes["human"] += len(human_approved)
        self.escalated += len(escalated)
        self.approved += len(human_approved)
        self.denied_by_reviewer += sum(1 for r in reviews if r.parameters.get("verdict") == "deny")
        for conflict in outcome.conflicts:
            self.conflicts += 1
            if conflict.resolution == "negotiated":
                self.conflicts_by_negotiation += 1
            if not escalated & set(conflict.claimants):
                self.conflicts_without_human += 1

    def gateway_held(self, *, approved: bool) -> None:
        self.held_at_gateway += 1
        self.held_approved += int(approved)

    def finish(self, twin: Twin, trust: TrustRegistry, wall_seconds: float) -> None:
        self.wall_seconds = wall_seconds
        self.service_level = twin.service_level()
        self.service_by_region = {region: twin.service_level(region) for region in REGIONS}
        self.transport_kg = {region: twin.totals[region].transport_kg for region in REGIONS}
        self.budget_used = {region: twin.spent_kg[region] / twin.budget_kg[region] for region in REGIONS}
        self.standings = []
        for agent in trust.agents():
            assessment = trust.assess(agent)
            self.standings.append(
                AgentStanding(agent, assessment.credibility, assessment.autonomy, assessment.strikes)
            )

    # what the table shows

    @property
    def resolved_without_human(self) -> float:
        """Decisions settled by the agents, negotiation and policy alone (not escalated)."""
        return 1 - self.escalated / self.decisions if self.decisions else 1.0

    @property
    def autonomous_share(self) -> float:
        """Of the actions carried out, those the agents carried out on their own authority."""
        done = sum(self.modes.values())
        return self.modes["autonomous"] / done if done else 0.0

    def summary(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "hours": self.hours,
            "cycles": self.cycles,
            "decisions": self.decisions,
            "statuses": dict(self.statuses),
            "conflicts": self.conflicts,
            "conflicts_per_100_decisions": 100 * self.conflicts / self.decisions if self.decisions else 0.0,
            "conflicts_resolved_by_negotiation": self.conflicts_by_negotiation,
            "conflicts_resolved_without_human": self.conflicts_without_human,
            "resolved_without_human": self.resolved_without_human,
            "rounds_total": sum(self.rounds),
            "rounds_max": max(self.rounds, default=0),
            "round_bound_max": max(self.round_bounds, default=0),
            "policy": {outcome: self.policy[outcome] for outcome in POLICY_OUTCOMES},
            "execution_modes": dict(self.modes),
            "autonomous_share": self.autonomous_share,
            "escalated": self.escalated,
            "approved_by_reviewer": self.approved,
            "denied_by_reviewer": self.denied_by_reviewer,
            "held_at_gateway": self.held_at_gateway,
            "held_at_gateway_approved": self.held_approved,
            "cycle_ms_p50": statistics.median(self.cycle_ms) if self.cycle_ms else 0.0,
            "cycle_ms_p95": percentile(self.cycle_ms, 0.95),
            "decision_ms_p50": statistics.median(self.decision_ms) if self.decision_ms else 0.0,
            "decision_ms_p95": percentile(self.decision_ms, 0.95),
            "service_level": self.service_level,
            "service_by_region": self.service_by_region,
            "transport_kg": self.transport_kg,
            "carbon_budget_used": self.budget_used,
            "absent_agents": dict(self.absent),
            "refused_messages": self.refused_messages,
            "failed": dict(self.failed_reasons),
            "wall_seconds": self.wall_seconds,
        }

    def table(self) -> Table:
        s = self.summary()
        table = Table(
            title=f"one simulated week, hourly decision cycles (run {self.run_id})", show_header=True
        )
        table.add_column("measure")
        table.add_column("value", justify="right")
        table.add_column("detail", style="dim")
        statuses = ", ".join(f"{name} {count}" for name, count in sorted(self.statuses.items()))
        table.add_row(
            "decision cycles", f"{self.cycles}", f"{self.hours} simulated hours in {self.wall_seconds:.1f} s"
        )
        table.add_row("decisions", f"{self.decisions}", statuses)
        table.add_row(
            "conflicts per 100 decisions",
            f"{s['conflicts_per_100_decisions']:.1f}",
            f"{self.conflicts} conflicts: {self.conflicts_by_negotiation} settled by counter-proposals, "
            f"{self.conflicts - self.conflicts_by_negotiation} by admission",
        )
        table.add_row(
            "resolved without a human",
            f"{100 * self.resolved_without_human:.1f}%",
            f"conflicts: {self.conflicts_without_human} of {self.conflicts} with no claimant escalated",
        )
        table.add_row(
            "negotiation rounds",
            f"{sum(self.rounds)}",
            f"at most {s['rounds_max']} in a cycle "
            f"(bound there: agents x resources, up to {s['round_bound_max']})",
        )
        table.add_row(
            "policy outcomes",
            " / ".join(str(self.policy[o]) for o in POLICY_OUTCOMES),
            "allow / warn / escalate / deny, per intent",
        )
        modes = ", ".join(f"{mode} {count}" for mode, count in sorted(self.modes.items()) if count)
        table.add_row(
            "autonomous share", f"{100 * self.autonomous_share:.1f}%", f"of actions carried out: {modes}"
        )
        table.add_row(
            "escalations",
            f"{self.escalated}",
            f"auto-reviewer ({self.reviewer}): {self.approved} approved and executed, "
            f"{self.denied_by_reviewer} denied; "
            f"{self.held_at_gateway} calls held at the gateway, {self.held_approved} approved",
        )
        table.add_row(
            "cycle latency",
            f"{s['cycle_ms_p50']:.0f} / {s['cycle_ms_p95']:.0f} ms",
            f"median / p95, with execution through the gateway; deciding alone "
            f"{s['decision_ms_p50']:.0f} / {s['decision_ms_p95']:.0f} ms",
        )
        regions = ", ".join(
            f"{region} {100 * level:.1f}%" for region, level in self.service_by_region.items()
        )
        table.add_row(
            "service level", f"{100 * self.service_level:.2f}%", f"units served / demanded: {regions}"
        )
        carbon = ", ".join(
            f"{region} {self.transport_kg[region] / 1000:.1f} t "
            f"({100 * self.budget_used[region]:.1f}% of budget)"
            for region in self.transport_kg
        )
        table.add_row(
            "carbon", f"{sum(self.transport_kg.values()) / 1000:.1f} t", f"transport CO2e: {carbon}"
        )
        standings = ", ".join(
            f"{a.agent.removeprefix('agent:')} {a.credibility:.2f} {a.autonomy}" for a in self.standings
        )
        table.add_row("agents", f"{len(self.standings)}", f"credibility and autonomy at the end: {standings}")
        if self.absent or self.refused_messages:
            absent = ", ".join(f"{agent} {count} cycles" for agent, count in sorted(self.absent.items()))
            table.add_row(
                "left out",
                f"{sum(self.absent.values())}",
                f"absent: {absent or 'none'}; refused batches: {self.refused_messages}",
            )
        return table
