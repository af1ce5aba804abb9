"""Carbon budget arithmetic, with the sustainability domain's status bands: warning from 90% of
the annual budget, exceeded above it. They mirror `mcp_servers.sustainability.budget_status`,
which an agent does not import (see `agents._ids`); a test checks that both agree."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from agents.sustainability._wire import BudgetHeadroom, BudgetStatus, Verdict

WARNING_UTILIZATION = 0.9
"""At or above this share of the annual budget the status is `warning`; above 1.0, `exceeded`."""

VERDICTS: dict[BudgetStatus, Verdict] = {
    "ok": "within_budget",
    "warning": "warning",
    "exceeded": "exceeds_budget",
}


def status(spent_kg: float, budget_kg: float) -> BudgetStatus:
    if budget_kg <= 0:
        return "exceeded" if spent_kg > 0 else "ok"
    share = spent_kg / budget_kg
    if share > 1.0:
        return "exceeded"
    return "warning" if share >= WARNING_UTILIZATION else "ok"


def utilization(spent_kg: float, budget_kg: float) -> float:
    return round(spent_kg / budget_kg, 4) if budget_kg > 0 else 0.0


def headroom(row: Mapping[str, Any]) -> BudgetHeadroom:
    budget, spent = float(row["budget_kg"]), float(row["spent_kg"])
    return BudgetHeadroom(
        region=str(row["region"]),
        year=int(row["year"]),
        budget_kg=budget,
        spent_kg=spent,
        remaining_kg=round(budget - spent, 3),
        utilization=utilization(spent, budget),
        status=status(spent, budget),
        headroom_to_warning_kg=round(max(WARNING_UTILIZATION * budget - spent, 0.0), 3),
        as_of=row["as_of"],
    )


def budget_row(rows: Sequence[Mapping[str, Any]], region: str, year: int | None) -> Mapping[str, Any] | None:
    """The region's budget for `year`, or its latest year's when `year` is None."""
    mine = [row for row in rows if row["region"] == region and (year is None or row["year"] == year)]
    return max(mine, key=lambda row: int(row["year"])) if mine else None
