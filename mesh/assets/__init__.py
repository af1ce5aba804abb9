"""The asset registry: what shapes the mesh's model-backed behaviour, versioned in the repository.

Prompts (`agents/prompts/<name>.md`) are the first kind; each asset has a key (`prompt/demand`)
and a version, `sha256:` and the first 16 hex digits of the hash of its bytes. `load_assets()`
reads and validates every asset at start-up and fails with `AssetError` naming the file and the
field; `Assets.versions(...)` is what a decision records of the assets it used. See docs/assets.md.
"""

from mesh.assets._errors import AssetError
from mesh.assets._registry import PROMPTS_DIR, REPOSITORY_ROOT, Asset, Assets, asset_version, load_assets

__all__ = ["PROMPTS_DIR", "REPOSITORY_ROOT", "Asset", "AssetError", "Assets", "asset_version", "load_assets"]
