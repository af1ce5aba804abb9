"""`mesh up` validates the assets before it starts anything, and installs the tool lock for the
gateway."""

from __future__ import annotations

from pathlib import Path

import pytest

from mesh.assets import LOCK_FILE_NAME, TOOL_LOCK_PATH
from mesh.settings import MeshSettings
from mesh.supervisor import AssetsInvalidError, SupervisorError, install_tool_lock, run_embedded


async def test_a_broken_asset_stops_the_start_naming_file_and_field(tree: Path, tmp_path: Path) -> None:
    card = tree / "capability_cards" / "inventory.json"
    card.write_text(card.read_text().replace('"Inventory agent"', '"Stock agent"'))
    settings = MeshSettings(data_dir=tmp_path / "data")
    with pytest.raises(AssetsInvalidError) as raised:
        async with run_embedded(settings, components=[], assets_root=tree):
            pytest.fail("the mesh started with a broken asset")
    assert isinstance(raised.value, SupervisorError)
    assert (raised.value.path, raised.value.field) == (card, "name")
    assert "nothing was started" in str(raised.value)
    assert str(card) in str(raised.value)
    assert not settings.state_file.exists()
    assert not (settings.gateway_dir / LOCK_FILE_NAME).exists()


async def test_a_valid_start_installs_the_tool_lock_for_the_gateway(tree: Path, tmp_path: Path) -> None:
    settings = MeshSettings(data_dir=tmp_path / "data")
    async with run_embedded(settings, components=[], assets_root=tree):
        installed = settings.gateway_dir / LOCK_FILE_NAME
        assert installed.read_bytes() == (tree / "mcp_servers" / LOCK_FILE_NAME).read_bytes()


def test_the_installed_lock_is_replaced_whole(tmp_path: Path) -> None:
    settings = MeshSettings(data_dir=tmp_path)
    (settings.gateway_dir).mkdir(parents=True)
    (settings.gateway_dir / LOCK_FILE_NAME).write_text("an older lock")
    installed = install_tool_lock(settings)
    assert installed.read_bytes() == TOOL_LOCK_PATH.read_bytes()
    assert sorted(p.name for p in settings.gateway_dir.iterdir()) == [LOCK_FILE_NAME]
