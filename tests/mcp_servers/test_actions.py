"""Action tools (book_shipment, place_purchase_order, transfer_stock) and their quotes, through the
real MCP client on the in-memory transport, each test over stores of its own."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from mcp.server.mcpserver import MCPServer
from mcp_types import CallToolResult, TextContent, TextResourceContents

from mcp_servers import DomainStore, build_server, domain_spec, refresh
from mcp_servers._actions import ActionEffect, ActionRecord, RowIncrement
from mcp_servers._server import ACTION, READ_ONLY, world_source
from mesh.dataproducts import assess_quality, load_contracts
from mesh.world import generate_world

WORLD = generate_world(7, "volatile")
AS_OF = "2026-02-02T00:00:00Z"
ACTIONS = {
    "logistics": {"book_shipment"},
    "procurement": {"place_purchase_order"},
    "inventory": {"transfer_stock"},
}
QUOTES = {"logistics": {"quote_shipment"}, "procurement": {"quote_purchase_order"}, "inventory": set()}

Served = Callable[[str], MCPServer]


@pytest.fixture
def stores(tmp_path: Path) -> Callable[[str], DomainStore]:
    def store(domain: str) -> DomainStore:
        return DomainStore(tmp_path / f"{domain}.sqlite")

    return store


@pytest.fixture
def served(stores: Callable[[str], DomainStore]) -> Served:
    """A freshly refreshed server per domain, over a store of this test's own."""

    def serve(domain: str) -> MCPServer:
        spec = domain_spec(domain)
        refresh(spec, stores(domain), WORLD)
        return build_server(spec, stores(domain))

    return serve


async def _ok(client: Client, tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
    result = await client.call_tool(tool, arguments)
    assert not result.is_error, (tool, result.content)
    body: dict[str, Any] | None = result.structured_content
    assert body is not None
    return body


def _error_text(result: CallToolResult) -> str:
    assert result.is_error, result.structured_content
    block = result.content[0]
    assert isinstance(block, TextContent)
    return block.text


def _rows(body: dict[str, Any]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = body["rows"]
    return rows


def _logged(store: DomainStore, domain: str) -> list[ActionRecord]:
    with store.transaction(load_contracts(domain_spec(domain).contracts_dir, owner=domain)) as tx:
        return tx.actions(world=world_source(WORLD))


def _at(days: float) -> str:
    moment = datetime(2026, 2, 2, tzinfo=UTC) + timedelta(days=days)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.mark.parametrize("domain", sorted(ACTIONS))
async def test_action_tools_carry_the_action_annotation_and_quotes_are_read_only(
    served: Served, domain: str
) -> None:
    async with Client(served(domain)) as client:
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}
    assert {name for name, tool in tools.items() if tool.annotations == ACTION} == ACTIONS[domain]
    for name in ACTIONS[domain] | QUOTES[domain]:
        assert tools[name].output_schema is not None, name
    for name in QUOTES[domain]:
        assert tools[name].annotations == READ_ONLY
    assert ACTION.read_only_hint is False
    assert ACTION.destructive_hint is False
    assert ACTION.idempotent_hint is False


async def test_book_shipment_records_a_booked_shipment_with_the_quoted_figures(
    served: Served, stores: Callable[[str], DomainStore]
) -> None:
    async with Client(served("logistics")) as client:
        (rate,) = _rows(await _ok(client, "get_carrier_rates", {"carrier_id": "CAR-6", "lane_id": "NA-EU"}))
        quote = await _ok(client, "quote_shipment", {"carrier_id": "CAR-6", "lane_id": "NA-EU", "units": 120})
        booking = await _ok(
            client,
            "book_shipment",
            {"carrier_id": "CAR-6", "lane_id": "NA-EU", "sku_id": "SKU-07", "units": 120},
        )
        later = await _ok(
            client,
            "book_shipment",
            {
                "carrier_id": "CAR-4",
                "lane_id": "NA-EU",
                "sku_id": "SKU-02",
                "units": 5000,
                "ship_at": "2026-02-05T06:30:00Z",
            },
        )
        booked = _rows(await _ok(client, "query_shipments", {"status": "booked"}))
        history = await _ok(client, "query_shipments", {"limit": 5000})

    assert quote["cost"] == round(120 * rate["cost_per_unit"], 2)
    assert quote["co2e_kg"] == round(120 * rate["co2e_kg_per_unit"], 3)
    assert quote["origin_region"] == "NA"
    assert quote["dest_region"] == "EU"
    assert quote["ship_at"] == AS_OF
    assert quote["eta"] == _at(rate["transit_days"])
    assert {k: v for k, v in booking.items() if k not in {"shipment_id", "sku_id", "status"}} == quote
    assert booking["shipment_id"] == "SHP-B-1"
    assert booking["status"] == "booked"
    assert later["shipment_id"] == "SHP-B-2"
    assert later["ship_at"] == "2026-02-05T06:30:00Z"

    assert booked[0] == {
        "shipment_id": "SHP-B-1",
        "carrier_id": "CAR-6",
        "lane_id": "NA-EU",
        "sku_id": "SKU-07",
        "units": 120,
        "shipped_at": AS_OF,
        "eta": booking["eta"],
        "status": "booked",
        "co2e_kg": booking["co2e_kg"],
    }
    assert [row["shipment_id"] for row in booked] == ["SHP-B-1", "SHP-B-2"]
    assert history["version"] == "1.1.0"
    world_shipments = len(WORLD.domain_tables("logistics")["shipments"])
    assert history["total_matching"] == world_shipments + 2

    (first, second) = _logged(stores("logistics"), "logistics")
    assert (first.seq, first.kind, first.arguments["units"]) == (1, "book_shipment", 120)
    assert second.arguments["ship_at"] == "2026-02-05T06:30:00Z"


NEW_SUPPLIER_SKU = next(
    row["sku_id"]
    for row in WORLD.domain_tables("procurement")["supplier_skus"]
    if row["supplier_id"] == "SUP-EU-3"
)


async def test_place_purchase_order_records_an_open_order_at_the_catalog_price(served: Served) -> None:
    async with Client(served("procurement")) as client:
        (offer,) = _rows(
            await _ok(client, "get_supplier_catalog", {"supplier_id": "SUP-EU-2", "sku_id": "SKU-01"})
        )
        arguments = {"supplier_id": "SUP-EU-2", "sku_id": "SKU-01", "quantity": 750}
        quote = await _ok(client, "quote_purchase_order", arguments)
        order = await _ok(client, "place_purchase_order", arguments)
        placed = _rows(
            await _ok(client, "query_purchase_orders", {"supplier_id": "SUP-EU-2", "status": "open"})
        )
        plain = await _ok(
            client,
            "quote_purchase_order",
            {"supplier_id": "SUP-EU-3", "sku_id": NEW_SUPPLIER_SKU, "quantity": 1},
        )
        critical = _rows(await _ok(client, "get_supplier_catalog", {"critical_material": True}))

    supplier = next(s for s in WORLD.suppliers if s.supplier_id == "SUP-EU-2")
    assert offer["critical_material"] is True
    lead_time = supplier.lead_time_days
    assert quote == {
        "supplier_id": "SUP-EU-2",
        "sku_id": "SKU-01",
        "quantity": 750,
        "unit_price": offer["unit_price"],
        "order_value": round(750 * offer["unit_price"], 2),
        "lead_time_days": lead_time,
        "promised_at": _at(lead_time),
        "supplier_region": "EU",
        "is_new": supplier.is_new,
        "labor_compliance": supplier.labor_compliance,
        "tier2_transparency": supplier.tier2_transparency,
        "critical_material": True,
    }
    assert order == {
        **{k: quote[k] for k in ("supplier_id", "sku_id", "quantity", "unit_price", "order_value")},
        "lead_time_days": lead_time,
        "promised_at": quote["promised_at"],
        "po_id": "PO-N-1",
        "ordered_at": AS_OF,
        "status": "open",
    }
    assert {
        "po_id": "PO-N-1",
        "supplier_id": "SUP-EU-2",
        "sku_id": "SKU-01",
        "quantity": 750,
        "unit_price": offer["unit_price"],
        "ordered_at": AS_OF,
        "promised_at": quote["promised_at"],
        "status": "open",
    } in placed
    assert (plain["is_new"], plain["labor_compliance"], plain["critical_material"]) == (
        True,
        "pending",
        False,
    )
    critical_skus = {sku.sku_id for sku in WORLD.skus if sku.critical_material}
    assert {row["sku_id"] for row in critical} == critical_skus


async def test_transfer_stock_moves_available_units_and_records_an_in_transit_order(served: Served) -> None:
    async with Client(served("inventory")) as client:
        before = {
            row["warehouse_id"]: row
            for row in _rows(await _ok(client, "get_stock_positions", {"sku_id": "SKU-07"}))
        }
        within = await _ok(
            client,
            "transfer_stock",
            {"from_warehouse_id": "WH-EU-2", "to_warehouse_id": "WH-EU-1", "sku_id": "SKU-07", "units": 400},
        )
        across = await _ok(
            client,
            "transfer_stock",
            {
                "from_warehouse_id": "WH-EU-2",
                "to_warehouse_id": "WH-NA-2",
                "sku_id": "SKU-07",
                "units": 100,
                "due_at": "2026-02-20T12:00:00Z",
            },
        )
        after = {
            row["warehouse_id"]: row
            for row in _rows(await _ok(client, "get_stock_positions", {"sku_id": "SKU-07"}))
        }
        transfers = _rows(await _ok(client, "query_open_orders", {"from_warehouse_id": "WH-EU-2"}))
        replenishments = await _ok(client, "query_open_orders", {"limit": 5000})

    assert within["order_id"] == "TRF-1"
    assert (within["lane_id"], within["needs_shipment"], within["due_at"]) == ("EU-EU", False, _at(3))
    assert (across["lane_id"], across["needs_shipment"], across["due_at"]) == (
        "EU-NA",
        True,
        "2026-02-20T12:00:00Z",
    )
    source, eu_1, na_2 = before["WH-EU-2"], before["WH-EU-1"], before["WH-NA-2"]
    assert after["WH-EU-2"]["on_hand"] == source["on_hand"] - 500
    assert after["WH-EU-2"]["allocated"] == source["allocated"]
    assert after["WH-EU-2"]["in_transit"] == source["in_transit"]
    assert after["WH-EU-1"]["in_transit"] == eu_1["in_transit"] + 400
    assert after["WH-EU-1"]["on_hand"] == eu_1["on_hand"]
    assert after["WH-NA-2"]["in_transit"] == na_2["in_transit"] + 100
    assert across["from_on_hand"] == source["on_hand"] - 500
    assert across["from_available"] == source["on_hand"] - source["allocated"] - 500
    assert across["to_in_transit"] == na_2["in_transit"] + 100
    assert transfers == [
        {
            "order_id": "TRF-1",
            "warehouse_id": "WH-EU-1",
            "sku_id": "SKU-07",
            "supplier_id": None,
            "from_warehouse_id": "WH-EU-2",
            "quantity": 400,
            "ordered_at": AS_OF,
            "due_at": _at(3),
            "status": "in_transit",
        },
        {
            "order_id": "TRF-2",
            "warehouse_id": "WH-NA-2",
            "sku_id": "SKU-07",
            "supplier_id": None,
            "from_warehouse_id": "WH-EU-2",
            "quantity": 100,
            "ordered_at": AS_OF,
            "due_at": "2026-02-20T12:00:00Z",
            "status": "in_transit",
        },
    ]
    assert replenishments["version"] == "2.0.0"
    assert all(
        (row["supplier_id"] is None) != (row["from_warehouse_id"] is None) for row in _rows(replenishments)
    )


def _unsold_pair() -> tuple[str, str]:
    offers = WORLD.domain_tables("procurement")["supplier_skus"]
    sold = {(row["supplier_id"], row["sku_id"]) for row in offers}
    return next(
        (supplier.supplier_id, sku.sku_id)
        for supplier in WORLD.suppliers
        for sku in WORLD.skus
        if (supplier.supplier_id, sku.sku_id) not in sold
    )


UNSOLD_SUPPLIER, UNSOLD_SKU = _unsold_pair()
SHIPMENT = {"carrier_id": "CAR-3", "lane_id": "EU-APAC", "sku_id": "SKU-04", "units": 10}
ORDER = {"supplier_id": "SUP-NA-1", "sku_id": "SKU-12", "quantity": 10}
TRANSFER = {"from_warehouse_id": "WH-EU-1", "to_warehouse_id": "WH-EU-2", "sku_id": "SKU-07", "units": 10}


@pytest.mark.parametrize(
    ("domain", "tool", "arguments", "words"),
    [
        ("logistics", "book_shipment", {**SHIPMENT, "carrier_id": "CAR-99"}, "unknown carrier 'CAR-99'"),
        ("logistics", "quote_shipment", {"carrier_id": "CAR-99", "lane_id": "NA-NA", "units": 1}, "CAR-99"),
        (
            "logistics",
            "book_shipment",
            {**SHIPMENT, "carrier_id": "CAR-1", "lane_id": "NA-EU"},
            "does not serve lane NA-EU",
        ),
        (
            "logistics",
            "quote_shipment",
            {"carrier_id": "CAR-1", "lane_id": "NA-EU", "units": 1},
            "does not serve",
        ),
        ("logistics", "book_shipment", {**SHIPMENT, "lane_id": "MARS-EU"}, "lane_id"),
        ("logistics", "book_shipment", {**SHIPMENT, "sku_id": "17"}, "sku_id"),
        ("logistics", "book_shipment", {**SHIPMENT, "units": 0}, "units"),
        ("logistics", "book_shipment", {**SHIPMENT, "units": 100_001}, "units"),
        ("logistics", "quote_shipment", {"carrier_id": "CAR-3", "lane_id": "EU-EU", "units": -5}, "units"),
        ("logistics", "book_shipment", {**SHIPMENT, "ship_at": "2026-01-20T00:00:00Z"}, "before now"),
        ("logistics", "book_shipment", {**SHIPMENT, "ship_at": "2027-01-01T00:00:00Z"}, "more than 90 days"),
        ("logistics", "book_shipment", {**SHIPMENT, "ship_at": "soon"}, "ship_at"),
        (
            "procurement",
            "place_purchase_order",
            {**ORDER, "supplier_id": "SUP-NA-9"},
            "unknown supplier 'SUP-NA-9'",
        ),
        ("procurement", "quote_purchase_order", {**ORDER, "supplier_id": "SUP-NA-9"}, "unknown supplier"),
        ("procurement", "place_purchase_order", {**ORDER, "sku_id": "SKU-99"}, "unknown SKU 'SKU-99'"),
        (
            "procurement",
            "place_purchase_order",
            {**ORDER, "supplier_id": UNSOLD_SUPPLIER, "sku_id": UNSOLD_SKU},
            f"{UNSOLD_SUPPLIER} does not sell {UNSOLD_SKU}",
        ),
        ("procurement", "place_purchase_order", {**ORDER, "supplier_id": "ACME"}, "supplier_id"),
        ("procurement", "place_purchase_order", {**ORDER, "quantity": 0}, "quantity"),
        ("procurement", "place_purchase_order", {**ORDER, "quantity": 1_000_001}, "quantity"),
        ("procurement", "quote_purchase_order", {**ORDER, "quantity": "lots"}, "quantity"),
        (
            "inventory",
            "transfer_stock",
            {**TRANSFER, "from_warehouse_id": "WH-NA-9"},
            "unknown warehouse 'WH-NA-9'",
        ),
        (
            "inventory",
            "transfer_stock",
            {**TRANSFER, "to_warehouse_id": "WH-APAC-7"},
            "unknown warehouse 'WH-APAC-7'",
        ),
        ("inventory", "transfer_stock", {**TRANSFER, "to_warehouse_id": "WH-EU-1"}, "both WH-EU-1"),
        ("inventory", "transfer_stock", {**TRANSFER, "to_warehouse_id": "depot"}, "to_warehouse_id"),
        ("inventory", "transfer_stock", {**TRANSFER, "sku_id": "SKU-99"}, "unknown SKU 'SKU-99'"),
        ("inventory", "transfer_stock", {**TRANSFER, "units": 100_000}, "not enough stock: WH-EU-1 has 1264"),
        ("inventory", "transfer_stock", {**TRANSFER, "units": 0}, "units"),
        ("inventory", "transfer_stock", {**TRANSFER, "due_at": AS_OF}, "must be after now"),
        ("inventory", "transfer_stock", {**TRANSFER, "due_at": "2026-06-01T00:00:00Z"}, "more than 90 days"),
    ],
)
async def test_bad_action_input_gets_an_error_result_naming_the_problem_and_changes_nothing(
    served: Served,
    stores: Callable[[str], DomainStore],
    domain: str,
    tool: str,
    arguments: dict[str, Any],
    words: str,
) -> None:
    action = {"logistics": ("book_shipment", SHIPMENT), "procurement": ("place_purchase_order", ORDER)}.get(
        domain, ("transfer_stock", TRANSFER)
    )
    async with Client(served(domain)) as client:
        assert words in _error_text(await client.call_tool(tool, arguments))
        done = await _ok(client, *action)
    assert next(v for k, v in done.items() if k in {"shipment_id", "po_id", "order_id"}).endswith("-1")
    assert len(_logged(stores(domain), domain)) == 1


async def test_an_action_before_the_first_refresh_is_an_error_result(tmp_path: Path) -> None:
    server = build_server(domain_spec("logistics"), DomainStore(tmp_path / "empty.sqlite"))
    async with Client(server) as client:
        assert "not been refreshed" in _error_text(await client.call_tool("book_shipment", SHIPMENT))
        assert "not been refreshed" in _error_text(
            await client.call_tool("quote_shipment", {"carrier_id": "CAR-3", "lane_id": "EU-EU", "units": 1})
        )


async def test_concurrent_transfers_over_one_store_never_oversell_exactly_one_wins(
    stores: Callable[[str], DomainStore],
) -> None:
    spec = domain_spec("inventory")
    refresh(spec, stores("inventory"), WORLD)
    first, second = build_server(spec, stores("inventory")), build_server(spec, stores("inventory"))
    positions = [
        row for row in WORLD.domain_tables("inventory")["stock_positions"] if row["warehouse_id"] == "WH-EU-1"
    ]
    contested = [row for row in positions if row["on_hand"] - row["allocated"] >= 2][:6]
    assert len(contested) == 6

    async def transfer(server: MCPServer, sku_id: str, units: int) -> CallToolResult:
        async with Client(server) as client:
            return await client.call_tool(
                "transfer_stock",
                {
                    "from_warehouse_id": "WH-EU-1",
                    "to_warehouse_id": "WH-EU-2",
                    "sku_id": sku_id,
                    "units": units,
                },
            )

    calls = []
    for row in contested:
        units = (row["on_hand"] - row["allocated"]) // 2 + 1
        calls += [transfer(first, row["sku_id"], units), transfer(second, row["sku_id"], units)]
    results = await asyncio.gather(*calls)

    async with Client(first) as client:
        after = {
            row["sku_id"]: row
            for row in _rows(await _ok(client, "get_stock_positions", {"warehouse_id": "WH-EU-1"}))
        }
    for index, row in enumerate(contested):
        pair = results[2 * index : 2 * index + 2]
        assert sorted(result.is_error for result in pair) == [False, True], row["sku_id"]
        (failure,) = [result for result in pair if result.is_error]
        assert "not enough stock" in _error_text(failure)
        units = (row["on_hand"] - row["allocated"]) // 2 + 1
        assert after[row["sku_id"]]["on_hand"] == row["on_hand"] - units
    assert len(_logged(stores("inventory"), "inventory")) == len(contested)


async def _act_in_every_domain(served: Served) -> dict[str, MCPServer]:
    servers = {domain: served(domain) for domain in ACTIONS}
    async with Client(servers["logistics"]) as client:
        await _ok(client, "book_shipment", SHIPMENT)
    async with Client(servers["procurement"]) as client:
        await _ok(client, "place_purchase_order", ORDER)
    async with Client(servers["inventory"]) as client:
        await _ok(client, "transfer_stock", TRANSFER)
    return servers


async def _acted_rows(servers: dict[str, MCPServer]) -> dict[str, list[dict[str, Any]]]:
    async with Client(servers["logistics"]) as client:
        shipments = _rows(await _ok(client, "query_shipments", {"status": "booked"}))
    async with Client(servers["procurement"]) as client:
        orders = _rows(await _ok(client, "query_purchase_orders", {"status": "open", "limit": 5000}))
    async with Client(servers["inventory"]) as client:
        transfers = _rows(await _ok(client, "query_open_orders", {"from_warehouse_id": "WH-EU-1"}))
        positions = _rows(await _ok(client, "get_stock_positions", {"sku_id": "SKU-07"}))
    return {
        "shipments": shipments,
        "purchase_orders": [row for row in orders if row["po_id"].startswith("PO-N-")],
        "open_orders": transfers,
        "stock_positions": positions,
    }


async def test_refresh_keeps_the_actions_and_applies_each_exactly_once(
    served: Served, stores: Callable[[str], DomainStore]
) -> None:
    servers = await _act_in_every_domain(served)
    acted = await _acted_rows(servers)
    assert [len(acted[name]) for name in ("shipments", "purchase_orders", "open_orders")] == [1, 1, 1]
    world_position = next(
        row
        for row in WORLD.domain_tables("inventory")["stock_positions"]
        if (row["warehouse_id"], row["sku_id"]) == ("WH-EU-1", "SKU-07")
    )
    moved = next(row for row in acted["stock_positions"] if row["warehouse_id"] == "WH-EU-1")
    assert moved["on_hand"] == world_position["on_hand"] - TRANSFER["units"]

    for _ in range(2):
        for domain in ACTIONS:
            refresh(domain_spec(domain), stores(domain), WORLD)
        assert await _acted_rows(servers) == acted

    async with Client(servers["logistics"]) as client:
        assert (await _ok(client, "book_shipment", SHIPMENT))["shipment_id"] == "SHP-B-2"


async def test_refresh_from_another_world_leaves_its_actions_logged_but_unapplied(
    served: Served, stores: Callable[[str], DomainStore]
) -> None:
    servers = await _act_in_every_domain(served)
    acted = await _acted_rows(servers)
    stable = generate_world(7, "stable")
    for domain in ACTIONS:
        refresh(domain_spec(domain), stores(domain), stable)
    elsewhere = await _acted_rows(servers)
    assert (elsewhere["shipments"], elsewhere["purchase_orders"], elsewhere["open_orders"]) == ([], [], [])
    for domain in ACTIONS:
        refresh(domain_spec(domain), stores(domain), WORLD)
    assert await _acted_rows(servers) == acted


async def test_products_that_actions_touch_still_pass_their_contracts(
    served: Served, stores: Callable[[str], DomainStore]
) -> None:
    servers = await _act_in_every_domain(served)
    async with Client(servers["inventory"]) as client:
        await _ok(client, "transfer_stock", {**TRANSFER, "to_warehouse_id": "WH-APAC-1", "units": 1254})

    touched = {
        "logistics": ["shipments"],
        "procurement": ["purchase_orders"],
        "inventory": ["open_orders", "stock_positions"],
    }
    for domain, names in touched.items():
        contracts = {c.name: c for c in load_contracts(domain_spec(domain).contracts_dir, owner=domain)}
        for name in names:
            rows, _ = stores(domain).query(contracts[name], limit=100_000)
            report = assess_quality(contracts[name], rows, as_of=WORLD.as_of)
            assert report.passed, (name, report.checks)

        reports = refresh(domain_spec(domain), stores(domain), WORLD)
        assert all(report.passed for report in reports.values()), reports
        async with Client(servers[domain]) as client:
            for name in names:
                quality = await client.read_resource(f"dataproduct://{domain}.{name}/quality")
                content = quality.contents[0]
                assert isinstance(content, TextResourceContents)
                body = json.loads(content.text)
                assert all(check["passed"] for check in body["checks"]), body
                assert body["row_count"] == len(stores(domain).query(contracts[name], limit=100_000)[0])


def test_refresh_fails_naming_a_logged_action_that_no_longer_applies(
    stores: Callable[[str], DomainStore],
) -> None:
    spec = domain_spec("inventory")
    store = stores("inventory")
    refresh(spec, store, WORLD)
    stray = ActionRecord(
        seq=7,
        kind="transfer_stock",
        world=world_source(WORLD),
        taken_at=datetime.now(UTC),
        arguments={},
        effect=ActionEffect(
            increments=[
                RowIncrement(
                    product="stock_positions",
                    key={"warehouse_id": "WH-EU-9", "sku_id": "SKU-07"},
                    deltas={"on_hand": -1},
                )
            ]
        ),
    )
    with sqlite3.connect(store.path) as db:
        db.execute(
            "INSERT INTO _actions VALUES (?, ?, ?, ?, ?)",
            (stray.seq, stray.kind, stray.world, stray.taken_at.isoformat(), stray.model_dump_json()),
        )
    with pytest.raises(RuntimeError, match=r"action 7 \(transfer_stock\) no longer applies.*WH-EU-9"):
        refresh(spec, store, WORLD)
    assert store.last_refresh("inventory.stock_positions") is not None
