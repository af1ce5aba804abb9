"""Anything but a well-formed answer denies; a policy set that does not compile does not load."""

from __future__ import annotations

from pathlib import Path

import pytest

from mesh.policy import PolicyDecision, PolicyLoadError, RegoPolicyEngine
from mesh.policy._native import RegoSession
from tests.policy.inputs import MINIMAL_RULE, make_input, write_policy_set


def engine_with(tmp_path: Path, rule: str, *, name: str = "global/broken.rego") -> RegoPolicyEngine:
    return RegoPolicyEngine.from_directory(
        write_policy_set(tmp_path / "policies", {name: rule}), cache_size=0
    )


def assert_engine_denies(decision: PolicyDecision, *reason_parts: str) -> None:
    assert decision.decision == "deny"
    assert decision.policy_ids == ["mesh.engine"]
    assert len(decision.reasons) == 1
    assert decision.reasons[0].startswith("policy engine error: ")
    for part in reason_parts:
        assert part in decision.reasons[0]
    assert decision.rules[0].reasons == decision.reasons


def test_a_minimal_policy_set_decides(tmp_path: Path) -> None:
    decision = engine_with(tmp_path, MINIMAL_RULE, name="global/always.rego").decide(make_input())
    assert decision.decision == "warn"
    assert decision.policy_version.startswith("0.1.0+")


def test_a_result_with_an_unknown_outcome_denies(tmp_path: Path) -> None:
    rule = MINIMAL_RULE.replace("global.always", "global.broken").replace('"warn"', '"maybe"')
    decision = engine_with(tmp_path, rule).decide(make_input())
    assert_engine_denies(decision, "malformed result from global.broken", "outcome")


def test_a_result_without_a_policy_id_denies(tmp_path: Path) -> None:
    rule = MINIMAL_RULE.replace("package mesh.rules.global.always", "package mesh.rules.global.broken")
    rule = rule.replace('"policy_id": "global.always", ', "")
    decision = engine_with(tmp_path, rule).decide(make_input())
    assert_engine_denies(decision, "malformed result from an unnamed rule", "policy_id")


def test_a_result_with_reasons_that_are_not_a_list_of_strings_denies(tmp_path: Path) -> None:
    rule = MINIMAL_RULE.replace("global.always", "global.broken").replace('["always"]', '"always"')
    decision = engine_with(tmp_path, rule).decide(make_input())
    assert_engine_denies(decision, "malformed result from global.broken", "reasons")


def test_a_result_with_an_unknown_field_denies(tmp_path: Path) -> None:
    rule = MINIMAL_RULE.replace("global.always", "global.broken").replace(
        '"reasons"', '"severity": 1, "reasons"'
    )
    decision = engine_with(tmp_path, rule).decide(make_input())
    assert_engine_denies(decision, "malformed result from global.broken", "severity")


def test_results_that_are_not_a_set_deny(tmp_path: Path) -> None:
    collector = "package mesh\n\nimport rego.v1\n\nresults := 42\n"
    policies = write_policy_set(tmp_path / "policies", {}, collector=collector)
    decision = RegoPolicyEngine.from_directory(policies).decide(make_input())
    assert_engine_denies(decision, "malformed result", "not a set of results")


def test_a_rule_that_errors_at_evaluation_denies(tmp_path: Path) -> None:
    rule = (
        "package mesh.rules.global.broken\n\nimport rego.v1\n\n"
        'results contains {"policy_id": "global.broken", "outcome": "warn", "reasons": [x]} if {\n'
        '\tx := sprintf("%v", [count(input.caller.scopes) / 0])\n}\n'
    )
    decision = engine_with(tmp_path, rule).decide(make_input())
    assert_engine_denies(decision, "divide by zero")


def test_a_rule_with_conflicting_values_denies(tmp_path: Path) -> None:
    rule = (
        "package mesh.rules.global.broken\n\nimport rego.v1\n\n"
        "level := x if some x in input.caller.scopes\n\n"
        'results contains {"policy_id": "global.broken", "outcome": "warn", "reasons": [level]}\n'
    )
    decision = engine_with(tmp_path, rule).decide(make_input())
    assert_engine_denies(decision, "complete rules must not produce multiple outputs")


def test_an_entrypoint_undefined_for_the_input_denies(tmp_path: Path) -> None:
    collector = "package mesh\n\nimport rego.v1\n\nresults := set() if not input.request\n"
    policies = write_policy_set(tmp_path / "policies", {}, collector=collector)
    decision = RegoPolicyEngine.from_directory(policies).decide(make_input())
    assert_engine_denies(decision, "undefined result", "data.mesh.results")


def test_a_policy_set_without_the_entrypoint_does_not_load(tmp_path: Path) -> None:
    collector = "package mesh\n\nimport rego.v1\n\nsomething_else := 1\n"
    policies = write_policy_set(tmp_path / "policies", {}, collector=collector)
    with pytest.raises(PolicyLoadError, match=r"data\.mesh\.results is undefined") as raised:
        RegoPolicyEngine.from_directory(policies)
    assert raised.value.path == policies


def test_a_syntax_error_does_not_load_and_names_the_file(tmp_path: Path) -> None:
    rule = "package mesh.rules.global.broken\n\nimport rego.v1\n\nresults contains x if { x := }\n"
    with pytest.raises(PolicyLoadError) as raised:
        engine_with(tmp_path, rule)
    assert raised.value.path == tmp_path / "policies" / "global" / "broken.rego"
    assert "line 5" in raised.value.reason
    assert "global/broken.rego" in str(raised.value)


def test_bad_data_does_not_load_and_names_the_file(tmp_path: Path) -> None:
    policies = write_policy_set(tmp_path / "policies", {"global/always.rego": MINIMAL_RULE})
    (policies / "data").mkdir()
    (policies / "data" / "a.json").write_text('{"mesh": {"params": {"x": 1}}}')
    (policies / "data" / "b.json").write_text('{"mesh": {"params": {"x": 2}}}')
    with pytest.raises(PolicyLoadError, match=r"data\.mesh\.params\.x is already set") as raised:
        RegoPolicyEngine.from_directory(policies)
    assert raised.value.path == policies / "data" / "b.json"

    (policies / "data" / "b.json").write_text('{"mesh": ')
    with pytest.raises(PolicyLoadError, match="not valid JSON") as raised:
        RegoPolicyEngine.from_directory(policies)
    assert raised.value.path == policies / "data" / "b.json"


def test_a_policy_set_without_a_semantic_version_does_not_load(tmp_path: Path) -> None:
    policies = write_policy_set(tmp_path / "policies", {"global/always.rego": MINIMAL_RULE})
    (policies / "VERSION").write_text("latest\n")
    with pytest.raises(PolicyLoadError, match="not a semantic version"):
        RegoPolicyEngine.from_directory(policies)
    (policies / "VERSION").unlink()
    with pytest.raises(PolicyLoadError, match="cannot read the policy set version"):
        RegoPolicyEngine.from_directory(policies)


def test_an_engine_whose_interpreter_raises_denies(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    engine = engine_with(tmp_path, MINIMAL_RULE, name="global/always.rego")

    def explode(self: RegoSession, document: object, entrypoint: bytes) -> str:
        raise RuntimeError("rego-cpp crashed")

    monkeypatch.setattr(RegoSession, "evaluate", explode)
    assert_engine_denies(engine.decide(make_input()), "RuntimeError: rego-cpp crashed")


def test_an_engine_whose_output_is_not_json_denies(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    engine = engine_with(tmp_path, MINIMAL_RULE, name="global/always.rego")
    monkeypatch.setattr(RegoSession, "evaluate", lambda self, document, entrypoint: '{"expressions": [')
    assert_engine_denies(engine.decide(make_input()), "cannot read the engine's output")


def test_an_input_rego_cannot_represent_denies(engine: RegoPolicyEngine) -> None:
    decision = engine.decide(make_input(request={"arguments": {"quantity": 2**70}}))
    assert_engine_denies(decision, "integer out of range")
    decision = engine.decide(make_input(request={"arguments": {"note": "a\0b"}}))
    assert_engine_denies(decision, "NUL")


def test_a_fail_closed_deny_is_not_cached(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    policies = write_policy_set(tmp_path / "policies", {"global/always.rego": MINIMAL_RULE})
    engine = RegoPolicyEngine.from_directory(policies, cache_size=16)
    with monkeypatch.context() as patched:
        patched.setattr(RegoSession, "evaluate", lambda self, document, entrypoint: "undefined")
        assert_engine_denies(engine.decide(make_input()), "undefined result")
    assert engine.decide(make_input()).decision == "warn"
