"""Each domain's MCP server, through the real MCP client on the in-memory transport."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from mcp import Client, MCPError
from mcp_types import INVALID_PARAMS, CallToolResult, TextContent, TextResourceContents

from mcp_servers import DomainStore, domain_spec, refresh
from mcp_servers.__main__ import parse_arguments, serve
from mcp_servers._server import ACTION, READ_ONLY
from mesh.dataproducts import ContractError
from mesh.settings import DOMAINS, MeshSettings
from mesh.world import generate_world

from .conftest import BuiltServer

Build = Callable[[str], BuiltServer]


def _text(result: Any) -> str:
    content = result.contents[0]
    assert isinstance(content, TextResourceContents)
    return content.text


def _error_text(result: CallToolResult) -> str:
    assert result.is_error
    block = result.content[0]
    assert isinstance(block, TextContent)
    return block.text


@pytest.mark.parametrize("domain", DOMAINS)
async def test_every_product_is_served_with_contract_schema_snapshot_and_passing_quality(
    built_servers: Build, domain: str
) -> None:
    server, reports = built_servers(domain)
    async with Client(server) as client:
        uris = {str(r.uri) for r in (await client.list_resources()).resources}
        catalog = json.loads(_text(await client.read_resource(f"catalog://{domain}")))
        assert catalog["domain"] == domain
        assert len(catalog["products"]) >= 3
        for item in catalog["products"]:
            product_id = item["contract"]["id"]
            base = f"dataproduct://{product_id}"
            assert {f"{base}/{s}" for s in ("contract", "schema", "snapshot", "quality")} <= uris
            contract = json.loads(_text(await client.read_resource(f"{base}/contract")))
            assert contract["owner"] == domain
            assert json.loads(_text(await client.read_resource(f"{base}/schema"))) == contract["schema"]
            quality = json.loads(_text(await client.read_resource(f"{base}/quality")))
            failing = [c for c in quality["checks"] if not c["passed"]]
            assert failing == [], f"{product_id} below its contract: {failing}"
            snapshot = json.loads(_text(await client.read_resource(f"{base}/snapshot")))
            assert snapshot["returned"] == min(quality["row_count"], 1000)
            assert snapshot["product_id"] == product_id
    assert all(report.passed for report in reports.values())


@pytest.mark.parametrize("domain", DOMAINS)
async def test_every_tool_is_typed_read_only_or_an_action_and_every_query_answers_with_defaults(
    built_servers: Build, domain: str
) -> None:
    server, _ = built_servers(domain)
    async with Client(server) as client:
        tools = (await client.list_tools()).tools
        assert len(tools) >= 3
        for tool in tools:
            assert tool.output_schema is not None, tool.name
            assert tool.annotations in (READ_ONLY, ACTION), tool.name
            if tool.annotations == ACTION or tool.input_schema.get("required"):
                continue  # actions and quotes: tests/mcp_servers/test_actions.py
            result = await client.call_tool(tool.name, {})
            assert not result.is_error, (tool.name, result.content)
            assert result.structured_content is not None
            assert result.structured_content["product_id"].startswith(f"{domain}.")


async def test_hourly_demand_query_filters_by_sku_region_and_half_open_window(built_servers: Build) -> None:
    server, _ = built_servers("demand")
    async with Client(server) as client:
        result = await client.call_tool(
            "query_hourly_demand",
            {
                "sku_id": "SKU-07",
                "region": "EU",
                "start": "2026-01-20T00:00:00Z",
                "end": "2026-01-21T00:00:00Z",
            },
        )
    body = result.structured_content
    assert body is not None
    assert body["returned"] == body["total_matching"] == 24
    assert not body["truncated"]
    stamps = [row["ts"] for row in body["rows"]]
    assert stamps == sorted(stamps)
    assert stamps[0] == "2026-01-20T00:00:00Z"
    assert stamps[-1] == "2026-01-20T23:00:00Z"
    assert {(r["sku_id"], r["region"]) for r in body["rows"]} == {("SKU-07", "EU")}


async def test_limit_truncates_and_says_so(built_servers: Build) -> None:
    server, _ = built_servers("demand")
    async with Client(server) as client:
        result = await client.call_tool("query_hourly_demand", {"region": "NA", "limit": 10})
    body = result.structured_content
    assert body is not None
    assert body["returned"] == 10
    assert body["total_matching"] == 12 * 28 * 24
    assert body["truncated"]


async def test_forecast_window_uses_dates(built_servers: Build) -> None:
    server, _ = built_servers("demand")
    async with Client(server) as client:
        result = await client.call_tool(
            "get_forecast",
            {"sku_id": "SKU-01", "region": "APAC", "start_date": "2026-02-03", "end_date": "2026-02-05"},
        )
    body = result.structured_content
    assert body is not None
    assert [row["date"] for row in body["rows"]] == ["2026-02-03", "2026-02-04"]
    assert all(r["lower"] <= r["units"] <= r["upper"] for r in body["rows"])


@pytest.mark.parametrize(
    ("tool", "arguments", "words"),
    [
        ("query_hourly_demand", {"limit": 0}, "limit"),
        ("query_hourly_demand", {"limit": 100000}, "limit"),
        ("query_hourly_demand", {"region": "MARS"}, "region"),
        ("query_hourly_demand", {"sku_id": "17"}, "sku_id"),
        ("query_hourly_demand", {"start": "yesterday"}, "start"),
        (
            "query_hourly_demand",
            {"start": "2026-01-21T00:00:00Z", "end": "2026-01-20T00:00:00Z"},
            "before end",
        ),
        ("get_forecast", {"start_date": "2026-02-05", "end_date": "2026-02-05"}, "before end"),
        ("get_skus", {"limit": "many"}, "limit"),
    ],
)
async def test_bad_arguments_get_an_error_result_naming_the_problem_and_the_server_keeps_serving(
    built_servers: Build, tool: str, arguments: dict[str, Any], words: str
) -> None:
    server, _ = built_servers("demand")
    async with Client(server) as client:
        assert words in _error_text(await client.call_tool(tool, arguments))
        after = await client.call_tool("get_skus", {})
    assert not after.is_error


async def test_unknown_resource_gets_the_mcp_not_found_error(built_servers: Build) -> None:
    server, _ = built_servers("inventory")
    async with Client(server) as client:
        with pytest.raises(MCPError) as caught:
            await client.read_resource("dataproduct://inventory.nothing/contract")
        assert caught.value.error.code == INVALID_PARAMS
        assert "Unknown resource" in caught.value.error.message
        assert (await client.list_resources()).resources


async def test_unknown_tool_is_an_error_result(built_servers: Build) -> None:
    server, _ = built_servers("logistics")
    async with Client(server) as client:
        assert "drop_tables" in _error_text(await client.call_tool("drop_tables", {}))


def test_broken_contract_stops_only_that_server_naming_file_and_field(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    good = domain_spec("logistics")
    contracts = tmp_path / "contracts"
    contracts.mkdir()
    for path in good.contracts_dir.glob("*.json"):
        (contracts / path.name).write_text(path.read_text())
    lanes = json.loads((contracts / "lanes.json").read_text())
    lanes["key"] = ["lane"]
    (contracts / "lanes.json").write_text(json.dumps(lanes))
    broken = type(good)(**{**good.__dict__, "contracts_dir": contracts})

    with pytest.raises(ContractError) as caught:
        refresh(broken, DomainStore(tmp_path / "s.sqlite"), generate_world(7, "volatile"))
    assert caught.value.field == "key"

    monkeypatch.setattr("mcp_servers.__main__.domain_spec", lambda _: broken)
    arguments = parse_arguments(["logistics", "--port", "1", "--no-audit"])
    code = serve(arguments, MeshSettings(data_dir=tmp_path))
    err = capsys.readouterr().err
    assert code == 2
    assert "lanes.json" in err
    assert "field 'key'" in err


async def test_catalog_reads_every_domain_through_mcp(built_servers: Build) -> None:
    from mesh.catalog import read_catalog

    catalog = await read_catalog({domain: built_servers(domain)[0] for domain in DOMAINS})
    assert catalog.unreachable == {}
    assert catalog.domains == sorted(DOMAINS)
    assert len(catalog.entries) == 19
    assert all(entry.quality.passed for entry in catalog.entries)


@pytest.mark.parametrize("domain", DOMAINS)
async def test_every_tool_declares_its_products_and_the_scope_they_take(
    built_servers: Build, domain: str
) -> None:
    server, _ = built_servers(domain)
    async with Client(server) as client:
        tools = (await client.list_tools()).tools
    for tool in tools:
        assert tool.meta is not None, tool.name
        assert tool.meta["mesh/products"], tool.name
        assert all(p.startswith(f"{domain}.") for p in tool.meta["mesh/products"])
        assert tool.annotations is not None
        expected = f"{domain}:write" if tool.annotations.read_only_hint is False else None
        assert tool.meta["mesh/scope"] == expected or (
            expected is None and tool.meta["mesh/scope"].endswith(":read")
        )
    compliance = {
        t.name: t.meta["mesh/scope"] for t in tools if t.meta and "compliance" in str(t.meta["mesh/products"])
    }
    if domain == "procurement":
        assert compliance["get_compliance_status"] == "procurement:compliance:read"
