"""Contract files: every shipped one is valid; every kind of broken one names its file and field."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from mesh.dataproducts import ContractError, load_contract, load_contracts
from mesh.settings import DOMAINS

SERVERS = Path(__file__).parents[2] / "mcp_servers"


def _good() -> dict[str, Any]:
    return json.loads((SERVERS / "demand" / "contracts" / "hourly_demand.json").read_text())


def _write(tmp_path: Path, contract: dict[str, Any] | str, name: str = "hourly_demand.json") -> Path:
    path = tmp_path / name
    path.write_text(contract if isinstance(contract, str) else json.dumps(contract))
    return path


@pytest.mark.parametrize("domain", DOMAINS)
def test_every_shipped_contract_is_valid_with_at_least_three_products(domain: str) -> None:
    contracts = load_contracts(SERVERS / domain / "contracts", owner=domain)
    assert len(contracts) >= 3
    assert all(c.owner == domain and c.id.startswith(f"{domain}.") for c in contracts)


def test_contract_round_trips_with_schema_alias() -> None:
    contract = load_contract(SERVERS / "demand" / "contracts" / "hourly_demand.json")
    dumped = contract.model_dump(mode="json", by_alias=True)
    assert dumped["schema"]["required"] == ["sku_id", "region", "ts", "units"]
    assert dumped["freshness_sla"] == "PT2H"
    assert contract.name == "hourly_demand"


def _broken(**changes: Any) -> dict[str, Any]:
    contract = _good()
    for dotted, value in changes.items():
        target = contract
        *parents, leaf = dotted.split("__")
        for part in parents:
            target = target[part]
        if value is ...:
            del target[leaf]
        else:
            target[leaf] = value
    return contract


@pytest.mark.parametrize(
    ("contract", "field", "words"),
    [
        (_broken(version="1.0"), "version", "pattern"),
        (_broken(title=...), "title", "required"),
        (_broken(key=["sku_id", "warehouse"]), "key", "warehouse"),
        (_broken(time_field="hour"), "time_field", "hour"),
        (_broken(id="inventory.hourly_demand"), "id", "owner domain"),
        (_broken(freshness_sla="soon"), "freshness_sla", "duration"),
        (_broken(freshness_sla="PT0S"), "freshness_sla", "positive"),
        (_broken(quality__completeness=1.5), "quality.completeness", "less than or equal"),
        (_broken(schema__type="array"), "schema", "object"),
        (_broken(schema__properties__units={"type": "float"}), "schema", "JSON Schema"),
        (_broken(schema__properties__units={"type": "array"}), "schema", "scalar type"),
        (_broken(schema__required=["sku_id", "qty"]), "schema", "qty"),
        (_broken(surprise=True), "surprise", "Extra inputs"),
        (_broken(access_scope="everything"), "access_scope", "pattern"),
        (_broken(lineage__inputs=[]), "lineage.inputs", "at least 1"),
    ],
)
def test_broken_contract_names_file_and_field(
    tmp_path: Path, contract: dict[str, Any], field: str, words: str
) -> None:
    path = _write(tmp_path, contract)
    with pytest.raises(ContractError) as caught:
        load_contract(path)
    assert caught.value.field == field
    assert caught.value.path == path
    assert str(path) in str(caught.value)
    assert f"field '{field}'" in str(caught.value)
    assert words.lower() in str(caught.value).lower()


def test_column_names_must_be_plain_identifiers(tmp_path: Path) -> None:
    contract = _good()
    contract["schema"]["properties"]['units"; DROP TABLE x; --'] = {"type": "number"}
    with pytest.raises(ContractError, match="column name"):
        load_contract(_write(tmp_path, contract))


def test_malformed_json_names_the_line(tmp_path: Path) -> None:
    path = _write(tmp_path, '{"id": "demand.x",\n  "owner": }')
    with pytest.raises(ContractError, match=r"not valid JSON.*line 2") as caught:
        load_contract(path)
    assert caught.value.field == "(file)"


def test_contract_owned_by_another_domain_is_refused(tmp_path: Path) -> None:
    path = _write(tmp_path, _good())
    with pytest.raises(ContractError, match=r"lives with 'inventory'$") as caught:
        load_contract(path, expected_owner="inventory")
    assert caught.value.field == "owner"


def test_duplicate_product_id_in_one_domain_is_refused(tmp_path: Path) -> None:
    _write(tmp_path, _good(), "a.json")
    twin = _good()
    twin["table"] = "other_table"
    _write(tmp_path, twin, "b.json")
    with pytest.raises(ContractError, match=r"already used by a\.json") as caught:
        load_contracts(tmp_path, owner="demand")
    assert caught.value.field == "id"


def test_empty_contract_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ContractError, match=r"no \*\.json"):
        load_contracts(tmp_path, owner="demand")


def test_unknown_domain_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"known: \['demand'"):
        load_contracts(tmp_path, owner="finance")
