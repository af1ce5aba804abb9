"""The assets a caller says it used, as it sends them with a tool call: `_meta["mesh/assets"]`.

A map of asset key to version, e.g. `{"prompt/demand": "sha256:0123456789abcdef",
"model/settings": "sha256:..."}`. What is well formed is recorded on the call's audit record;
anything else is dropped and noted, never a reason to fail the call."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from mesh.assets._registry import ASSET_KINDS

ASSETS_META = "mesh/assets"
MAX_RECORDED_ASSETS = 32
_KEY = re.compile(
    r"^(?:"
    + "|".join(ASSET_KINDS)
    + r")/[A-Za-z0-9][A-Za-z0-9._-]{0,63}(?:/[A-Za-z0-9][A-Za-z0-9._-]{0,63})?$"
)
_VERSION = re.compile(r"^sha256:[0-9a-f]{16}$")
_SHOWN = 80


@dataclass
class RecordedAssets:
    """What of a caller's `_meta["mesh/assets"]` is recorded (`assets`) and why the rest was not."""

    assets: dict[str, str] = field(default_factory=dict)
    dropped: list[str] = field(default_factory=list)


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= _SHOWN else text[: _SHOWN - 3] + "..."


def read_recorded_assets(value: Any) -> RecordedAssets:
    """Validate a caller's map of asset key -> version: at most `MAX_RECORDED_ASSETS` entries,
    keys `<kind>/<name>` of a known kind, versions `sha256:<16 hex>`. A map that is not one, or
    has too many entries, is dropped whole; otherwise each bad entry is dropped alone."""
    recorded = RecordedAssets()
    if value is None:
        return recorded
    if not isinstance(value, dict):
        recorded.dropped.append(f"{ASSETS_META} must be an object of asset key to version")
        return recorded
    if len(value) > MAX_RECORDED_ASSETS:
        recorded.dropped.append(f"{ASSETS_META} has {len(value)} entries; at most {MAX_RECORDED_ASSETS}")
        return recorded
    for key, version in sorted(value.items(), key=lambda item: str(item[0])):
        if not isinstance(key, str) or not _KEY.match(key):
            recorded.dropped.append(f"key {_shown(key)}: not <kind>/<name> of a kind in {list(ASSET_KINDS)}")
        elif not isinstance(version, str) or not _VERSION.match(version):
            recorded.dropped.append(f"{key}: version {_shown(version)} is not sha256:<16 hex>")
        else:
            recorded.assets[key] = version
    return recorded
