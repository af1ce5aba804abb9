"""The asset registry: every kind read and validated, broken files named, versions that follow
content and nothing else, model settings without secrets, and the assets a caller may record."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from mesh.assets import (
    ASSETS_META,
    MAX_RECORDED_ASSETS,
    AssetError,
    Assets,
    ToolLock,
    load_assets,
    model_settings_asset,
    read_recorded_assets,
)
from mesh.models import ModelConfig
from mesh.settings import DOMAINS
from tests.assets.conftest import GOLDEN_CASE

PROMPT = "agents/prompts/test-planner.md"
CARD = "capability_cards/logistics.json"
LOCK = "mcp_servers/tools.lock.json"
GOLDEN = f"evals/cases/golden/{GOLDEN_CASE['id']}.json"


def _sha(content: bytes) -> str:
    return "sha256:" + hashlib.sha256(content).hexdigest()[:16]


def _edit_json(path: Path, change: Callable[[Any], Any]) -> None:
    document = json.loads(path.read_text())
    change(document)
    path.write_text(json.dumps(document, indent=2))


def test_every_kind_is_read_with_a_version_of_its_content(tree: Path) -> None:
    assets = load_assets(tree)
    prompt = assets.prompt("test-planner")
    assert (prompt.key, prompt.path, prompt.version) == (
        "prompt/test-planner",
        tree / PROMPT,
        _sha((tree / PROMPT).read_bytes()),
    )
    assert prompt.text == "You plan the week's replenishment.\n"
    for domain in DOMAINS:
        card = assets.get(f"agent/{domain}")
        assert card.version == _sha((tree / "capability_cards" / f"{domain}.json").read_bytes())
    golden = assets.get(f"golden/{GOLDEN_CASE['id']}")
    assert golden.version == _sha((tree / GOLDEN).read_bytes())
    lock = ToolLock.read(tree / LOCK)
    tool = assets.get("tool/demand/get_forecast")
    assert tool.version == "sha256:" + lock.hashes["demand"]["get_forecast"][:16]
    assert json.loads(tool.text) == lock.definitions["demand"]["get_forecast"]
    tools = assets.of_kind("tool")
    assert len(tools) == sum(len(t) for t in lock.hashes.values()) > 0
    assert [a.key for a in assets] == sorted(a.key for a in assets)


def test_a_missing_golden_folder_means_no_golden_examples(tree: Path) -> None:
    for path in (tree / "evals" / "cases" / "golden").iterdir():
        path.unlink()
    (tree / "evals" / "cases" / "golden").rmdir()
    assert load_assets(tree).of_kind("golden") == []


def _write(relative: str, content: bytes) -> Callable[[Path], object]:
    return lambda root: (root / relative).write_bytes(content)


def _json(relative: str, change: Callable[[Any], Any]) -> Callable[[Path], object]:
    return lambda root: _edit_json(root / relative, change)


def _delete(relative: str) -> Callable[[Path], object]:
    return lambda root: (root / relative).unlink()


def _set(key: str, value: Any) -> Callable[[Any], Any]:
    return lambda document: document.__setitem__(key, value)


def _lock_edit(change: Callable[[dict[str, Any]], Any]) -> Callable[[Path], object]:
    return _json(LOCK, change)


BROKEN: list[tuple[str, Callable[[Path], object], str, str | None, str]] = [
    ("prompt empty", _write(PROMPT, b"  \n"), PROMPT, None, "empty"),
    ("prompt not UTF-8", _write(PROMPT, b"plan \xff\xfe"), PROMPT, None, "not UTF-8"),
    ("prompt too large", _write(PROMPT, b"x" * 40_000), PROMPT, None, "at most 32000"),
    (
        "prompt badly named",
        _write("agents/prompts/week plan.md", b"Plan."),
        "agents/prompts/week plan.md",
        None,
        "not an asset name",
    ),
    ("card missing", _delete(CARD), CARD, None, "missing"),
    ("card not JSON", _write(CARD, b'{"name": "Logistics agent",'), CARD, None, "not JSON"),
    ("card not an object", _write(CARD, b"[]"), CARD, None, "not a JSON object"),
    ("card of another agent", _json(CARD, _set("name", "Shipping agent")), CARD, "name", "'Logistics agent'"),
    ("card without skills", _json(CARD, _set("skills", [])), CARD, "skills", "non-empty list"),
    (
        "card skill without id",
        _json(CARD, lambda card: card["skills"][0].pop("id")),
        CARD,
        "skills[0].id",
        "non-empty string",
    ),
    (
        "card skill twice",
        _json(CARD, lambda card: card.__setitem__("skills", [card["skills"][0]] * 2)),
        CARD,
        "skills[1].id",
        "appears twice",
    ),
    ("golden not JSON", _write(GOLDEN, b"{id: 1}"), GOLDEN, None, "not JSON"),
    ("golden not an object", _write(GOLDEN, b'["demand-forecast-eu"]'), GOLDEN, None, "not a JSON object"),
    ("golden without id", _json(GOLDEN, lambda case: case.pop("id")), GOLDEN, "id", "got None"),
    (
        "golden id of another file",
        _json(GOLDEN, _set("id", "other-case")),
        GOLDEN,
        "id",
        "'demand-forecast-eu'",
    ),
    ("lock missing", _delete(LOCK), LOCK, None, "mesh assets lock"),
    ("lock not JSON", _write(LOCK, b"{"), LOCK, None, "not JSON"),
    ("lock of another format", _json(LOCK, _set("format", 2)), LOCK, "format", "must be 1"),
    (
        "lock without a domain",
        _lock_edit(lambda lock: lock["tools"].pop("inventory")),
        LOCK,
        "tools.inventory",
        "missing",
    ),
    (
        "lock of an unknown domain",
        _lock_edit(lambda lock: lock["tools"].__setitem__("warehouse", {})),
        LOCK,
        "tools.warehouse",
        "unknown domain",
    ),
    (
        "lock hash edited by hand",
        _lock_edit(lambda lock: lock["tools"]["demand"].__setitem__("get_forecast", "0" * 64)),
        LOCK,
        "tools.demand.get_forecast",
        "does not match",
    ),
    (
        "lock definition edited by hand",
        _lock_edit(
            lambda lock: lock["definitions"]["demand"]["get_forecast"].__setitem__("description", "x")
        ),
        LOCK,
        "tools.demand.get_forecast",
        "does not match",
    ),
    (
        "lock hash not hex",
        _lock_edit(lambda lock: lock["tools"]["demand"].__setitem__("get_forecast", "sha256:abc")),
        LOCK,
        "tools.demand.get_forecast",
        "64 lowercase hex",
    ),
    (
        "lock definition missing",
        _lock_edit(lambda lock: lock["definitions"]["demand"].pop("get_skus")),
        LOCK,
        "definitions.demand.get_skus",
        "missing",
    ),
]


@pytest.mark.parametrize(
    ("case", "breaks", "relative", "field", "problem"), BROKEN, ids=[case[0] for case in BROKEN]
)
def test_a_broken_asset_is_refused_naming_its_file_and_field(
    tree: Path, case: str, breaks: Callable[[Path], object], relative: str, field: str | None, problem: str
) -> None:
    breaks(tree)
    with pytest.raises(AssetError) as raised:
        load_assets(tree)
    error = raised.value
    assert (error.path, error.field) == (tree / relative, field), case
    assert problem in error.problem
    assert str(tree / relative) in str(error)
    if field is not None:
        assert repr(field) in str(error)


def _versions(root: Path) -> dict[str, str]:
    return {asset.key: asset.version for asset in load_assets(root)}


@pytest.mark.parametrize(
    ("key", "change"),
    [
        ("prompt/test-planner", _write(PROMPT, b"You plan the week's replenishment, briefly.\n")),
        ("agent/logistics", _json(CARD, _set("description", "Ships things."))),
        (f"golden/{GOLDEN_CASE['id']}", _json(GOLDEN, _set("request", "Forecast SKU-08"))),
    ],
)
def test_a_version_changes_when_its_content_changes_and_only_then(
    tree: Path, key: str, change: Callable[[Path], object]
) -> None:
    before = _versions(tree)
    for path in [tree / PROMPT, tree / CARD, tree / GOLDEN, tree / LOCK]:
        path.write_bytes(path.read_bytes())  # written again, same bytes
    assert _versions(tree) == before
    change(tree)
    after = _versions(tree)
    assert {k for k in before if before[k] != after[k]} == {key}


def test_a_changed_tool_definition_changes_only_that_tools_version(tree: Path) -> None:
    before = _versions(tree)
    lock = ToolLock.read(tree / LOCK)
    definitions = {d: {n: dict(t) for n, t in tools.items()} for d, tools in lock.definitions.items()}
    definitions["demand"]["get_forecast"]["description"] = "Forecast, and mail it to someone."
    ToolLock.of(definitions).write(tree / LOCK)
    after = _versions(tree)
    assert {k for k in before if before[k] != after[k]} == {"tool/demand/get_forecast"}


def test_model_settings_are_an_asset_without_the_api_key() -> None:
    config = ModelConfig(name="openai/gpt-4.1-mini", api_key=SecretStr("sk-very-secret"), temperature=0.2)
    asset = model_settings_asset(config)
    assert (asset.key, asset.path) == ("model/settings", None)
    assert json.loads(asset.text) == {
        "name": "openai/gpt-4.1-mini",
        "base_url": None,
        "timeout": 60.0,
        "max_tokens": None,
        "temperature": 0.2,
    }
    assert "sk-very-secret" not in asset.text
    assert "api_key" not in asset.text
    other_key = config.model_copy(update={"api_key": SecretStr("sk-another")})
    assert model_settings_asset(other_key).version == asset.version
    warmer = config.model_copy(update={"temperature": 0.7})
    assert model_settings_asset(warmer).version != asset.version
    other_model = config.model_copy(update={"name": "anthropic/claude-sonnet-4-5"})
    assert model_settings_asset(other_model).version != asset.version


def test_a_decision_records_the_versions_of_the_assets_it_used(tree: Path) -> None:
    assets = load_assets(tree).with_model(ModelConfig(name="ollama/llama3.1"))
    used = assets.versions(["prompt/test-planner", "model/settings", "tool/demand/get_forecast"])
    assert list(used) == ["model/settings", "prompt/test-planner", "tool/demand/get_forecast"]
    assert used["model/settings"] == model_settings_asset(ModelConfig(name="ollama/llama3.1")).version
    with pytest.raises(KeyError, match="no asset 'prompt/nobody'"):
        assets.versions(["prompt/nobody"])
    assert "model/settings" not in Assets()


VERSION = "sha256:0123456789abcdef"


def test_recorded_assets_keep_what_is_well_formed_and_note_the_rest() -> None:
    recorded = read_recorded_assets(
        {
            "prompt/demand": VERSION,
            "model/settings": "sha256:fedcba9876543210",
            "tool/demand/get_forecast": VERSION,
            "golden/demand-forecast-eu": VERSION,
            "agent/demand": VERSION,
            "secret/api-key": VERSION,
            "prompt/../../etc": VERSION,
            "prompt": VERSION,
            "prompt/inventory": "v2",
            "prompt/logistics": "sha256:0123456789ABCDEF",
            "prompt/procurement": 17,
        }
    )
    assert recorded.assets == {
        "agent/demand": VERSION,
        "golden/demand-forecast-eu": VERSION,
        "model/settings": "sha256:fedcba9876543210",
        "prompt/demand": VERSION,
        "tool/demand/get_forecast": VERSION,
    }
    dropped = " ".join(recorded.dropped)
    assert len(recorded.dropped) == 6
    for bad in ("'secret/api-key'", "'prompt/../../etc'", "'prompt'", "'v2'", "ABCDEF", "17"):
        assert bad in dropped


def test_recorded_assets_that_are_not_a_small_map_are_dropped_whole() -> None:
    assert read_recorded_assets(None).assets == {}
    assert read_recorded_assets(None).dropped == []
    not_a_map = read_recorded_assets(["prompt/demand", VERSION])
    assert (not_a_map.assets, len(not_a_map.dropped)) == ({}, 1)
    assert ASSETS_META in not_a_map.dropped[0]
    too_many = read_recorded_assets({f"prompt/p{i}": VERSION for i in range(MAX_RECORDED_ASSETS + 1)})
    assert too_many.assets == {}
    assert f"at most {MAX_RECORDED_ASSETS}" in too_many.dropped[0]
    just_enough = read_recorded_assets({f"prompt/p{i}": VERSION for i in range(MAX_RECORDED_ASSETS)})
    assert len(just_enough.assets) == MAX_RECORDED_ASSETS
    long_key = read_recorded_assets({"prompt/" + "x" * 500: VERSION})
    assert len(long_key.dropped[0]) < 200
