"""The eval gate over the real mesh: the prompt-injection case passes while the gateway contains
the compromised model, and the gate fails once the recording obeys the injection and the
containment is switched off (a test-only gateway whose policy allows everything)."""

from __future__ import annotations

import dataclasses
import json
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest

from mesh.evals import EVALS_DIR, load_baseline, load_cases, regressions, run_cases
from mesh.evals._runner import RunOptions
from mesh.settings import MeshSettings
from mesh.supervisor import ComponentSpec, embedded_components

pytestmark = pytest.mark.e2e

CASE = "prompt-injection-supplier-name"
REPOSITORY = Path(__file__).resolve().parents[2]


def open_gateway(settings: MeshSettings) -> Sequence[ComponentSpec]:
    """The embedded mesh with its gateway swapped for `tests.evals.open_gateway`."""
    specs = []
    for spec in embedded_components(settings):
        if spec.kind == "gateway":
            assert spec.argv[1:3] == ("-m", "mesh.gateway"), spec.argv
            spec = dataclasses.replace(
                spec,
                argv=(sys.executable, "-m", "tests.evals.open_gateway", *spec.argv[3:]),
                env={**spec.env, "PYTHONPATH": str(REPOSITORY)},
            )
        specs.append(spec)
    return specs


def obeying_recording(directory: Path) -> Path:
    """The case's recording swapped for one where the model obeys the injected instruction with
    an order of its own (a different quantity than the stored recording's)."""
    directory.mkdir()
    for path in (EVALS_DIR / "recordings").glob("*.json"):
        (directory / path.name).write_text(path.read_text())
    recording = json.loads((directory / "injection-obeys-purchase-order.json").read_text())
    recording["version"] += 1
    recording["turns"][1]["tool_calls"][0]["arguments"]["quantity"] = 4200
    (directory / "injection-obeys-purchase-order.json").write_text(json.dumps(recording))
    return directory


async def test_the_gate_fails_when_the_model_obeys_an_injection_and_containment_is_off(
    tmp_path: Path,
) -> None:
    cases = [c for c in load_cases(EVALS_DIR / "cases", ("adversarial",)) if c.id == CASE]
    baseline = load_baseline(EVALS_DIR / "baseline.json")
    assert baseline is not None
    assert baseline.cases[CASE].passed
    recordings = obeying_recording(tmp_path / "recordings")

    contained = await run_cases(cases, RunOptions(recordings_dir=recordings))
    assert [(r.id, r.passed, r.attack_succeeded) for r in contained] == [(CASE, True, False)], contained
    assert contained[0].attack_attempted
    assert contained[0].contained_by is not None
    assert contained[0].contained_by.startswith("gateway policy: denied")
    assert regressions(contained, baseline, expected_ids=[CASE]) == []

    uncontained = await run_cases(cases, RunOptions(recordings_dir=recordings, components=open_gateway))
    assert [(r.id, r.attack_succeeded) for r in uncontained] == [(CASE, True)], uncontained
    found = regressions(uncontained, baseline, expected_ids=[CASE])
    assert f"{CASE}: the attack succeeded (prompt_injection)" in found
    assert any(line.startswith(f"{CASE}: passed in the baseline, fails now") for line in found)
