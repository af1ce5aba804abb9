"""The assets a mesh starts with: validated before anything starts, the tool lock installed for
the gateway (it seeds its tool pins from `<gateway dir>/tools.lock.json`)."""

from __future__ import annotations

import os
from pathlib import Path

from mesh.assets import LOCK_FILE_NAME, TOOL_LOCK_PATH, AssetError, Assets, load_assets
from mesh.settings import MeshSettings
from mesh.supervisor._errors import AssetsInvalidError


def validate_assets(root: Path | None = None) -> Assets:
    """Every asset of the repository (or of `root`), or `AssetsInvalidError` naming file and field."""
    try:
        return load_assets(root)
    except AssetError as error:
        raise AssetsInvalidError(error.path, error.field, error.problem) from None


def install_tool_lock(settings: MeshSettings, lock: Path = TOOL_LOCK_PATH) -> Path:
    """Copy the (validated) tool lock where the gateway reads it; atomic, so a gateway never reads
    half a file."""
    target = settings.gateway_dir / LOCK_FILE_NAME
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{LOCK_FILE_NAME}.{os.getpid()}")
    partial.write_bytes(lock.read_bytes())
    partial.replace(target)
    return target
