"""Reading and validating the assets, and naming their versions."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from mesh.assets._errors import AssetError

REPOSITORY_ROOT = Path(__file__).resolve().parents[2]
PROMPTS_DIR = REPOSITORY_ROOT / "agents" / "prompts"
MAX_PROMPT_BYTES = 32_000
"""A prompt larger than this is refused: prompts are instructions, not data."""

AssetKind = Literal["prompt"]


def asset_version(content: bytes) -> str:
    """`sha256:` and the first 16 hex digits of the SHA-256 of `content`."""
    return "sha256:" + hashlib.sha256(content).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class Asset:
    """One asset at the version read: `key` is `<kind>/<name>`."""

    kind: AssetKind
    name: str
    version: str
    path: Path
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

    def get(self, key: str) -> Asset:
        """The asset under `key`; `KeyError` naming the keys there are otherwise."""
        try:
            return self.by_key[key]
        except KeyError:
            raise KeyError(f"no asset {key!r}; there are {sorted(self.by_key)}") from None

    def prompt(self, name: str) -> Asset:
        return self.get(f"prompt/{name}")

    def versions(self, keys: Iterable[str]) -> dict[str, str]:
        """`{key: version}` for the assets a decision used (what its audit record carries)."""
        return {key: self.get(key).version for key in sorted(set(keys))}


def _prompt(path: Path) -> Asset:
    content = path.read_bytes()
    if len(content) > MAX_PROMPT_BYTES:
        raise AssetError(path, None, f"{len(content)} bytes; a prompt may have at most {MAX_PROMPT_BYTES}")
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError as error:
        raise AssetError(path, None, f"not UTF-8 text (byte {error.start})") from None
    if not text.strip():
        raise AssetError(path, None, "the prompt is empty")
    return Asset("prompt", path.stem, asset_version(content), path, text)


def load_assets(root: Path | None = None) -> Assets:
    """Read and validate every asset under `root` (the repository by default)."""
    prompts_dir = PROMPTS_DIR if root is None else root / "agents" / "prompts"
    found: dict[str, Asset] = {}
    for path in sorted(prompts_dir.glob("*.md")):
        asset = _prompt(path)
        found[asset.key] = asset
    return Assets(found)
