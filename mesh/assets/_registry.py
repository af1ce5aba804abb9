"""Reading and validating the assets, and naming their versions."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, get_args

from mesh.assets._errors import AssetError
from mesh.assets._tools import LOCK_FILE_NAME, ToolLock, canonical_json, version_of_hash
from mesh.settings import DOMAINS

if TYPE_CHECKING:
    from mesh.models import ModelConfig

REPOSITORY_ROOT = Path(__file__).resolve().parents[2]
PROMPTS_DIR = REPOSITORY_ROOT / "agents" / "prompts"
CARDS_DIR = REPOSITORY_ROOT / "capability_cards"
TOOL_LOCK_PATH = REPOSITORY_ROOT / "mcp_servers" / LOCK_FILE_NAME
GOLDEN_DIR = REPOSITORY_ROOT / "evals" / "cases" / "golden"
MAX_PROMPT_BYTES = 32_000
"""A prompt larger than this is refused: prompts are instructions, not data."""
MAX_FILE_BYTES = 1_000_000
"""A capability card or golden example larger than this is refused."""

AssetKind = Literal["prompt", "agent", "model", "tool", "golden"]
ASSET_KINDS: tuple[AssetKind, ...] = get_args(AssetKind)
MODEL_SETTINGS_KEY = "model/settings"
MODEL_SETTINGS_FIELDS = ("name", "base_url", "timeout", "max_tokens", "temperature")
"""What of a `ModelConfig` is an asset: everything that shapes answers, never the API key."""

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
"""One segment of an asset's name (a tool's name is `<domain>/<tool>`, two segments)."""


def asset_version(content: bytes) -> str:
    """`sha256:` and the first 16 hex digits of the SHA-256 of `content`."""
    return "sha256:" + hashlib.sha256(content).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class Asset:
    """One asset at the version read: `key` is `<kind>/<name>`.

    `path` is the file it was read from (the lock file for a tool), `None` for an asset computed
    at run time (`model/settings`); `text` is its content (a definition or settings as JSON)."""

    kind: AssetKind
    name: str
    version: str
    path: Path | None
    text: str

    @property
    def key(self) -> str:
        return f"{self.kind}/{self.name}"


@dataclass(frozen=True)
class Assets:
    """Every asset, validated, by key."""

    by_key: Mapping[str, Asset] = field(default_factory=dict)

    def __contains__(self, key: object) -> bool:
        return key in self.by_key

    def __iter__(self) -> Iterator[Asset]:
        return iter(self.by_key[key] for key in sorted(self.by_key))

    def __len__(self) -> int:
        return len(self.by_key)

    def get(self, key: str) -> Asset:
        """The asset under `key`; `KeyError` naming the keys there are otherwise."""
        try:
            return self.by_key[key]
        except KeyError:
            raise KeyError(f"no asset {key!r}; there are {sorted(self.by_key)}") from None

    def prompt(self, name: str) -> Asset:
        return self.get(f"prompt/{name}")

    def of_kind(self, kind: AssetKind) -> list[Asset]:
        """The assets of one kind, by key."""
        return [asset for asset in self if asset.kind == kind]

    def with_model(self, config: ModelConfig) -> Assets:
        """These assets and `model/settings` of `config` (replacing any there was)."""
        asset = model_settings_asset(config)
        return Assets({**self.by_key, asset.key: asset})

    def versions(self, keys: Iterable[str]) -> dict[str, str]:
        """`{key: version}` for the assets a decision used (what its audit record carries)."""
        return {key: self.get(key).version for key in sorted(set(keys))}


def model_settings_asset(config: ModelConfig) -> Asset:
    """The non-secret model settings as an asset; the version hashes their canonical JSON."""
    settings = {name: getattr(config, name) for name in MODEL_SETTINGS_FIELDS}
    return Asset(
        "model",
        "settings",
        asset_version(canonical_json(settings)),
        None,
        json.dumps(settings, indent=2, sort_keys=True),
    )


def _read(path: Path, limit: int, *, missing: str = "missing") -> bytes:
    try:
        content = path.read_bytes()
    except FileNotFoundError:
        raise AssetError(path, None, missing) from None
    except OSError as error:
        raise AssetError(path, None, f"unreadable ({error.strerror})") from None
    if len(content) > limit:
        raise AssetError(path, None, f"{len(content)} bytes; at most {limit}")
    return content


def _named(path: Path) -> str:
    if not NAME.match(path.stem):
        raise AssetError(path, None, f"the file name {path.stem!r} is not an asset name ({NAME.pattern})")
    return path.stem


def _json_object(path: Path, content: bytes) -> dict[str, Any]:
    try:
        document = json.loads(content)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise AssetError(path, None, f"not JSON ({error})") from None
    if not isinstance(document, dict):
        raise AssetError(path, None, f"not a JSON object but {type(document).__name__}")
    return document


def _prompt(path: Path) -> Asset:
    name = _named(path)
    content = _read(path, MAX_PROMPT_BYTES)
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError as error:
        raise AssetError(path, None, f"not UTF-8 text (byte {error.start})") from None
    if not text.strip():
        raise AssetError(path, None, "the prompt is empty")
    return Asset("prompt", name, asset_version(content), path, text)


def _agent(path: Path, domain: str) -> Asset:
    """A domain agent's configuration: its capability card (A2A Agent Card, generated)."""
    content = _read(
        path, MAX_FILE_BYTES, missing="missing: every domain's agent has a card (`python -m agents cards`)"
    )
    card = _json_object(path, content)
    expected = f"{domain.capitalize()} agent"
    if card.get("name") != expected:
        raise AssetError(path, "name", f"must be {expected!r}, got {card.get('name')!r}")
    skills = card.get("skills")
    if not isinstance(skills, list) or not skills:
        raise AssetError(path, "skills", "must be a non-empty list of skills")
    seen: set[str] = set()
    for index, skill in enumerate(skills):
        if not isinstance(skill, dict):
            raise AssetError(path, f"skills[{index}]", "must be a JSON object")
        for key in ("id", "name"):
            value = skill.get(key)
            if not isinstance(value, str) or not value.strip():
                raise AssetError(path, f"skills[{index}].{key}", f"must be a non-empty string, got {value!r}")
        if skill["id"] in seen:
            raise AssetError(path, f"skills[{index}].id", f"{skill['id']!r} appears twice")
        seen.add(skill["id"])
    return Asset("agent", domain, asset_version(content), path, content.decode("utf-8"))


def _golden(path: Path) -> Asset:
    name = _named(path)
    content = _read(path, MAX_FILE_BYTES)
    case = _json_object(path, content)
    if case.get("id") != name:
        raise AssetError(path, "id", f"must be the file's stem {name!r}, got {case.get('id')!r}")
    return Asset("golden", name, asset_version(content), path, content.decode("utf-8"))


def _tools(lock: ToolLock) -> list[Asset]:
    return [
        Asset(
            "tool",
            f"{domain}/{tool}",
            version_of_hash(digest),
            lock.path,
            json.dumps(lock.definitions[domain][tool], indent=2, sort_keys=True),
        )
        for domain, tools in lock.hashes.items()
        for tool, digest in tools.items()
    ]


def load_assets(root: Path | None = None) -> Assets:
    """Read and validate every asset under `root` (the repository by default): prompts, agent
    cards, the tool lock and golden examples. The first broken one raises `AssetError` naming its
    file and field. `model/settings` comes from the run's settings: `Assets.with_model(config)`."""
    base = REPOSITORY_ROOT if root is None else root
    found: list[Asset] = [_prompt(path) for path in sorted((base / "agents" / "prompts").glob("*.md"))]
    found += [_agent(base / "capability_cards" / f"{domain}.json", domain) for domain in DOMAINS]
    found += _tools(ToolLock.read(base / "mcp_servers" / LOCK_FILE_NAME))
    found += [_golden(path) for path in sorted((base / "evals" / "cases" / "golden").glob("*.json"))]
    return Assets({asset.key: asset for asset in found})
