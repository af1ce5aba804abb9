"""A copy of the repository's assets in a temporary tree, to break one file at a time."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from mesh.assets import REPOSITORY_ROOT

GOLDEN_CASE = {"id": "demand-forecast-eu", "request": "Forecast SKU-07 in the EU", "expect": {"tools": []}}


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """Every kind of asset, valid: the repository's prompts, cards and tool lock, plus one prompt
    and one golden case of our own (the repository may not have any yet)."""
    root = tmp_path / "repo"
    for folder, pattern in (
        ("agents/prompts", "*.md"),
        ("capability_cards", "*.json"),
        ("evals/cases/golden", "*.json"),
    ):
        (root / folder).mkdir(parents=True)
        for path in (REPOSITORY_ROOT / folder).glob(pattern):
            shutil.copy(path, root / folder / path.name)
    (root / "mcp_servers").mkdir()
    shutil.copy(REPOSITORY_ROOT / "mcp_servers" / "tools.lock.json", root / "mcp_servers" / "tools.lock.json")
    (root / "agents" / "prompts" / "test-planner.md").write_text("You plan the week's replenishment.\n")
    (root / "evals" / "cases" / "golden" / f"{GOLDEN_CASE['id']}.json").write_text(json.dumps(GOLDEN_CASE))
    return root
