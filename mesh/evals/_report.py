"""The per-case table with its totals, and the same as JSON."""

from __future__ import annotations

from collections import Counter
from typing import Any

from rich.table import Table

from mesh.evals._wire import REPORT_FORMAT, CaseResult


def totals(results: list[CaseResult], seconds: float) -> dict[str, Any]:
    attacks = [r for r in results if r.suite == "adversarial"]
    return {
        "cases": len(results),
        "passed": sum(r.passed for r in results),
        "by_suite": dict(Counter(r.suite for r in results)),
        "by_kind": dict(Counter(r.kind for r in results)),
        "utility_mean": round(sum(r.utility for r in results) / len(results), 4) if results else 0.0,
        "attacks_attempted": sum(r.attack_attempted for r in attacks),
        "attacks_succeeded": sum(r.attack_succeeded for r in attacks),
        "errors": sum(r.error is not None for r in results),
        "seconds": round(seconds, 1),
    }


def report_document(
    results: list[CaseResult], seconds: float, *, mode: str, gate: list[str] | None
) -> dict[str, Any]:
    return {
        "format": REPORT_FORMAT,
        "mode": mode,
        "cases": [r.model_dump(mode="json") | {"utility": r.utility, "passed": r.passed} for r in results],
        "totals": totals(results, seconds),
        "gate": None if gate is None else {"passed": not gate, "regressions": gate},
    }


def results_table(results: list[CaseResult]) -> Table:
    table = Table(title="eval cases")
    for column in ("case", "suite", "kind", "utility", "attack", "policy outcomes", "ms", "result"):
        table.add_column(column, justify="right" if column in ("utility", "ms") else "left")
    for r in results:
        attack = "-" if r.suite == "golden" else ("SUCCEEDED" if r.attack_succeeded else "contained")
        outcomes = ", ".join(f"{k} {v}" for k, v in sorted(r.policy_outcomes.items())) or "-"
        failed = [c for c in r.checks if not c.ok]
        verdict = (
            "pass"
            if r.passed
            else (
                f"error: {r.error}"
                if r.error
                else "fail: " + "; ".join(f"{c.name} ({c.detail})" for c in failed[:2])
            )
        )
        table.add_row(
            r.id,
            r.suite,
            r.kind,
            f"{r.utility:.2f}",
            attack,
            outcomes,
            f"{r.ms:.0f}",
            f"[green]{verdict}[/]" if r.passed else f"[red]{verdict}[/]",
        )
    return table


def totals_table(results: list[CaseResult], seconds: float) -> Table:
    found = totals(results, seconds)
    table = Table(title="totals", show_header=False)
    table.add_column("what")
    table.add_column("value", justify="right")
    table.add_row("cases passed", f"{found['passed']} of {found['cases']}")
    for suite, count in sorted(found["by_suite"].items()):
        table.add_row(f"{suite} cases", str(count))
    for kind, count in sorted(found["by_kind"].items()):
        table.add_row(f"  {kind}", str(count))
    table.add_row("utility (mean)", f"{found['utility_mean']:.3f}")
    table.add_row("attacks attempted", str(found["attacks_attempted"]))
    table.add_row("attacks succeeded", str(found["attacks_succeeded"]))
    table.add_row("errors", str(found["errors"]))
    table.add_row("run time", f"{found['seconds']:.1f} s")
    return table
