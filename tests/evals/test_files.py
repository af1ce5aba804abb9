"""Eval data files: a malformed case, recording, baseline or world overlay fails with its file and
field named; the shipped cases load; superseding follows the rule; the gate's comparison."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from mesh.evals import (
    EVALS_DIR,
    Baseline,
    CaseResult,
    Check,
    EvalFileError,
    baseline_of,
    load_baseline,
    load_case,
    load_cases,
    load_recording,
    regressions,
)
from mesh.evals._context import lookup
from mesh.world import WorldOverlayError, generate_world, load_overlay

GOOD: dict[str, Any] = {
    "format": "eval-case/1",
    "id": "good",
    "suite": "golden",
    "kind": "agent_skill",
    "version": 1,
    "description": "a forecast",
    "agent": "demand",
    "skill": "forecast",
    "input": {"sku_id": "SKU-07", "region": "EU"},
    "expect": {"state": "completed"},
}


def write(directory: Path, name: str, document: Any) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name}.json"
    path.write_text(document if isinstance(document, str) else json.dumps(document))
    return path


def test_every_shipped_case_recording_and_the_baseline_load() -> None:
    cases = load_cases(EVALS_DIR / "cases", ("golden", "adversarial"))
    assert {c.suite for c in cases} == {"golden", "adversarial"}
    for case in cases:
        recording = getattr(case, "recording", None)
        if recording is not None:
            assert load_recording(EVALS_DIR / "recordings", recording).turns
    baseline = load_baseline(EVALS_DIR / "baseline.json")
    assert baseline is not None
    assert {c.id for c in cases} <= set(baseline.cases)
    load_overlay(EVALS_DIR / "world_overlay.json", generate_world(7, "volatile"))


@pytest.mark.parametrize(
    ("change", "field", "problem"),
    [
        ({"expect": {"state": "done"}}, "expect.state", "Input should be"),
        ({"agent": "finance"}, "agent", "Input should be"),
        ({"version": 0}, "version", "greater than or equal to 1"),
        ({"kind": "telepathy"}, "kind", "unknown kind 'telepathy'"),
        ({"id": "other"}, "id", "must equal the file name's stem 'good'"),
        ({"suite": "adversarial"}, "suite", "but the file is in golden/"),
        ({"surprise": 1}, "surprise", "Extra inputs are not permitted"),
        ({"format": "eval-case/9"}, "format", "Input should be 'eval-case/1'"),
    ],
)
def test_a_malformed_case_names_its_file_and_field(
    tmp_path: Path, change: dict[str, Any], field: str, problem: str
) -> None:
    path = write(tmp_path / "golden", "good", GOOD | change)
    with pytest.raises(EvalFileError) as raised:
        load_case(path)
    assert raised.value.path == path
    assert raised.value.field == field
    assert problem in raised.value.problem
    assert str(path) in str(raised.value)


def test_a_case_file_that_is_not_json_names_the_file(tmp_path: Path) -> None:
    path = write(tmp_path / "golden", "good", '{"id": "good",')
    with pytest.raises(EvalFileError, match=r"good\.json: field \(file\): not JSON"):
        load_case(path)


def test_a_recording_turn_with_neither_text_nor_tool_calls_is_refused(tmp_path: Path) -> None:
    recording = {
        "format": "eval-recording/1",
        "id": "r",
        "version": 1,
        "description": "d",
        "made_with": "scripted",
        "turns": [{"content": "hi"}, {"expect_in_request": "x"}],
    }
    write(tmp_path, "r", recording)
    with pytest.raises(EvalFileError) as raised:
        load_recording(tmp_path, "r")
    assert raised.value.field == "turns.1"
    assert "either content or tool_calls" in raised.value.problem


def test_a_superseded_case_must_be_retired_and_retired_cases_do_not_run(tmp_path: Path) -> None:
    cases = tmp_path / "cases"
    write(cases / "golden", "good", GOOD)
    write(cases / "golden", "good-v2", GOOD | {"id": "good-v2", "version": 2, "supersedes": "good"})
    with pytest.raises(EvalFileError) as raised:
        load_cases(cases, ("golden",))
    assert (raised.value.path.name, raised.value.field) == ("good.json", "retired")

    write(cases / "golden", "good", GOOD | {"retired": True})
    assert [c.id for c in load_cases(cases, ("golden",))] == ["good-v2"]
    write(cases / "golden", "good-v3", GOOD | {"id": "good-v3", "supersedes": "gone"})
    with pytest.raises(EvalFileError, match="no case 'gone'"):
        load_cases(cases, ("golden",))


@pytest.mark.parametrize(
    ("patch", "field", "problem"),
    [
        ({"domain": "finance"}, "patches.0.domain", "unknown domain"),
        ({"table": "ledger"}, "patches.0.table", "has no table 'ledger'"),
        ({"where": {"supplier_id": "SUP-XX-9"}}, "patches.0.where", "matches no row"),
        ({"set": {"nickname": "x"}}, "patches.0.set.nickname", "no column"),
        ({"set": {"name": 3}}, "patches.0.set.name", "int where the column holds str"),
    ],
)
def test_a_bad_world_overlay_names_its_file_and_field(
    tmp_path: Path, patch: dict[str, Any], field: str, problem: str
) -> None:
    base = {
        "domain": "procurement",
        "table": "suppliers",
        "where": {"supplier_id": "SUP-EU-1"},
        "set": {"name": "n"},
    }
    path = write(tmp_path, "overlay", {"format": "world-overlay/1", "patches": [base | patch]})
    with pytest.raises(WorldOverlayError) as raised:
        load_overlay(path, generate_world(7, "volatile"))
    assert (raised.value.path, raised.value.field) == (path, field)
    assert problem in raised.value.problem


def test_the_overlay_patches_only_the_matching_rows() -> None:
    world = load_overlay(EVALS_DIR / "world_overlay.json", generate_world(7, "volatile"))
    names = {row["supplier_id"]: row["name"] for row in world.domain_tables("procurement")["suppliers"]}
    assert "inj-po-7f3a" in names["SUP-EU-1"]
    assert not any("inj-" in name for supplier, name in names.items() if supplier != "SUP-EU-1")
    assert "inj-" not in str(generate_world(7, "volatile").domain_tables("procurement"))


def result(case_id: str, *, ok: bool = True, attack: bool = False, checks: int = 2) -> CaseResult:
    return CaseResult(
        id=case_id,
        suite="adversarial",
        kind="prompt_injection",
        version=1,
        attack_succeeded=attack,
        checks=[Check(name=f"c{i}", ok=ok or i > 0) for i in range(checks)],
    )


def test_the_gate_finds_each_kind_of_regression() -> None:
    baseline = baseline_of([result("a"), result("b"), result("c")])
    assert regressions([result("a"), result("b"), result("c")], baseline, expected_ids=["a", "b", "c"]) == []
    found = regressions(
        [result("a", ok=False), result("b", attack=True)], baseline, expected_ids=["a", "b", "c"]
    )
    assert any(line.startswith("a: passed in the baseline, fails now") for line in found)
    assert "b: the attack succeeded (prompt_injection)" in found
    assert "c: in the baseline but did not run" in found
    weaker = Baseline.model_validate(
        {"format": "eval-baseline/1", "cases": {"a": {"version": 1, "passed": False, "utility": 0.9}}}
    )
    assert regressions([result("a", ok=False)], weaker, expected_ids=["a"]) == [
        "a: utility 0.500 below the baseline's 0.900"
    ]


def test_lookup_follows_dotted_paths_and_fans_out_over_lists() -> None:
    document = {"calls": [{"tool": "a"}, {"tool": "b"}], "n": {"m": 3}}
    assert lookup(document, "calls.*.tool") == ["a", "b"]
    assert lookup(document, "calls.1.tool") == ["b"]
    assert lookup(document, "n.m") == [3]
    assert lookup(document, "n.x") == []


def test_the_repository_cases_keep_id_equal_to_the_file_stem(tmp_path: Path) -> None:
    shutil.copytree(EVALS_DIR / "cases", tmp_path / "cases")
    for path in (tmp_path / "cases").rglob("*.json"):
        assert json.loads(path.read_text())["id"] == path.stem
