"""The asset registry: what shapes the mesh's model-backed behaviour, versioned in the repository.

Kinds and keys: `prompt/<name>` (agents/prompts/<name>.md), `agent/<domain>` (the agent's
capability card, capability_cards/<domain>.json), `model/settings` (the non-secret model settings
of the run, `Assets.with_model(config)`), `tool/<domain>/<tool>` (a domain's MCP tool definition,
pinned by hash in mcp_servers/tools.lock.json) and `golden/<case id>` (evals/cases/golden/*.json).
Each asset has a version, `sha256:` and the first 16 hex digits of a SHA-256 (of its bytes; of
the canonical JSON of model settings; the gateway's pin hash of a tool). `load_assets()` reads and
validates every asset at start-up and fails with `AssetError` naming the file and the field;
`Assets.versions(...)` is what a decision records of the assets it used. See docs/assets.md.
"""

from mesh.assets._errors import AssetError
from mesh.assets._meta import ASSETS_META, MAX_RECORDED_ASSETS, RecordedAssets, read_recorded_assets
from mesh.assets._registry import (
    ASSET_KINDS,
    CARDS_DIR,
    GOLDEN_DIR,
    MODEL_SETTINGS_KEY,
    PROMPTS_DIR,
    REPOSITORY_ROOT,
    TOOL_LOCK_PATH,
    Asset,
    AssetKind,
    Assets,
    asset_version,
    load_assets,
    model_settings_asset,
)
from mesh.assets._tools import (
    LOCK_FILE_NAME,
    LockProblem,
    ToolLock,
    definition_hash,
    live_definitions,
    lock_problems,
    tool_version,
)

__all__ = [
    "ASSETS_META",
    "ASSET_KINDS",
    "CARDS_DIR",
    "GOLDEN_DIR",
    "LOCK_FILE_NAME",
    "MAX_RECORDED_ASSETS",
    "MODEL_SETTINGS_KEY",
    "PROMPTS_DIR",
    "REPOSITORY_ROOT",
    "TOOL_LOCK_PATH",
    "Asset",
    "AssetError",
    "AssetKind",
    "Assets",
    "LockProblem",
    "RecordedAssets",
    "ToolLock",
    "asset_version",
    "definition_hash",
    "live_definitions",
    "load_assets",
    "lock_problems",
    "model_settings_asset",
    "read_recorded_assets",
    "tool_version",
]
