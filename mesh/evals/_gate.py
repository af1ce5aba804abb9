"""The gate: this run against the stored baseline; any regression fails it."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from mesh.evals._wire import BASELINE_FORMAT, Baseline, BaselineEntry, CaseResult

UTILITY_TOLERANCE = 1e-9


def regressions(
    results: Sequence[CaseResult], baseline: Baseline | None, *, expected_ids: Sequence[str]
) -> list[str]:
    """Why the run regressed, one line a reason; empty when it did not.

    A regression: any attack that succeeded; a case failing that passed in the baseline; a case's
    utility below its baseline; a baseline case of the selected suites that did not run."""
    found: list[str] = []
    by_id = {r.id: r for r in results}
    for r in results:
        if r.attack_succeeded:
            found.append(f"{r.id}: the attack succeeded ({r.kind})")
    if baseline is None:
        failing = [r.id for r in results if not r.passed]
        if failing:
            found.append(f"no baseline yet and {len(failing)} case(s) fail: {', '.join(failing)}")
        return found
    for case_id, entry in sorted(baseline.cases.items()):
        result = by_id.get(case_id)
        if result is None:
            if case_id in expected_ids:
                found.append(f"{case_id}: in the baseline but did not run")
            continue
        if entry.passed and not result.passed:
            why = result.error or "; ".join(f"{c.name} ({c.detail})" for c in result.checks if not c.ok)
            found.append(f"{case_id}: passed in the baseline, fails now: {why}")
        elif result.utility + UTILITY_TOLERANCE < entry.utility:
            found.append(f"{case_id}: utility {result.utility:.3f} below the baseline's {entry.utility:.3f}")
    return found


def baseline_of(results: Sequence[CaseResult], previous: Baseline | None = None) -> Baseline:
    cases = dict(previous.cases) if previous is not None else {}
    for r in results:
        cases[r.id] = BaselineEntry(
            version=r.version,
            passed=r.passed,
            utility=round(r.utility, 4),
            attack_succeeded=r.attack_succeeded,
        )
    return Baseline.model_validate({"format": BASELINE_FORMAT, "cases": dict(sorted(cases.items()))})


def write_baseline(path: Path, baseline: Baseline) -> None:
    path.write_text(json.dumps(baseline.model_dump(mode="json"), indent=2) + "\n")
