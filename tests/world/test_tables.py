from datetime import date, datetime
from typing import Any

import pytest

from mesh.settings import DOMAINS, Scenario
from mesh.world import World, generate_world

SCHEMAS: dict[str, dict[str, dict[str, type]]] = {
    "demand": {
        "skus": {"sku_id": str, "name": str, "category": str, "critical_material": bool, "unit_cost": float},
        "hourly_demand": {"sku_id": str, "region": str, "ts": str, "units": float},
    },
    "inventory": {
        "warehouses": {"warehouse_id": str, "region": str, "capacity_units": int},
        "stock_positions": {
            "warehouse_id": str,
            "sku_id": str,
            "on_hand": int,
            "allocated": int,
            "in_transit": int,
            "as_of": str,
        },
        "reorder_policies": {
            "warehouse_id": str,
            "sku_id": str,
            "service_level": float,
            "safety_stock": int,
            "reorder_point": int,
            "order_up_to": int,
            "lead_time_days": float,
        },
        "open_orders": {
            "order_id": str,
            "warehouse_id": str,
            "sku_id": str,
            "supplier_id": str,
            "quantity": int,
            "ordered_at": str,
            "due_at": str,
            "status": str,
        },
    },
    "logistics": {
        "lanes": {"lane_id": str, "origin_region": str, "dest_region": str, "distance_km": float},
        "carrier_rates": {
            "carrier_id": str,
            "carrier_name": str,
            "lane_id": str,
            "mode": str,
            "cost_per_unit": float,
            "co2e_kg_per_unit": float,
            "transit_days": float,
            "capacity_units_per_day": int,
        },
        "shipments": {
            "shipment_id": str,
            "carrier_id": str,
            "lane_id": str,
            "sku_id": str,
            "units": int,
            "shipped_at": str,
            "eta": str,
            "status": str,
            "co2e_kg": float,
        },
    },
    "sustainability": {
        "emission_factors": {"mode": str, "co2e_kg_per_unit_km": float, "source": str},
        "emissions": {
            "entry_id": str,
            "ts": str,
            "region": str,
            "scope": str,
            "source": str,
            "co2e_kg": float,
            "reference": str,
        },
        "carbon_budgets": {"year": int, "region": str, "budget_kg": float, "spent_kg": float, "as_of": str},
    },
    "procurement": {
        "suppliers": {
            "supplier_id": str,
            "name": str,
            "region": str,
            "lead_time_days": float,
            "lead_time_std_days": float,
            "on_time_rate": float,
            "unit_cost_index": float,
            "capacity_units_per_day": int,
            "is_new": bool,
        },
        "supplier_skus": {"supplier_id": str, "sku_id": str, "unit_price": float},
        "compliance": {
            "supplier_id": str,
            "labor_compliance": str,
            "last_audit": str,
            "tier2_transparency": float,
            "critical_materials": bool,
        },
        "purchase_orders": {
            "po_id": str,
            "supplier_id": str,
            "sku_id": str,
            "quantity": int,
            "unit_price": float,
            "ordered_at": str,
            "promised_at": str,
            "status": str,
        },
        "supply_outages": {
            "outage_id": str,
            "region": str,
            "supplier_id": str,
            "start": str,
            "end": str,
            "reason": str,
        },
    },
}

KEYS: dict[str, tuple[str, ...]] = {
    "skus": ("sku_id",),
    "hourly_demand": ("sku_id", "region", "ts"),
    "warehouses": ("warehouse_id",),
    "stock_positions": ("warehouse_id", "sku_id"),
    "reorder_policies": ("warehouse_id", "sku_id"),
    "open_orders": ("order_id",),
    "lanes": ("lane_id",),
    "carrier_rates": ("carrier_id", "lane_id"),
    "shipments": ("shipment_id",),
    "emission_factors": ("mode",),
    "emissions": ("entry_id",),
    "carbon_budgets": ("year", "region"),
    "suppliers": ("supplier_id",),
    "supplier_skus": ("supplier_id", "sku_id"),
    "compliance": ("supplier_id",),
    "purchase_orders": ("po_id",),
    "supply_outages": ("outage_id",),
}

ENUMS: dict[tuple[str, str], set[str]] = {
    ("open_orders", "status"): {"open", "in_transit", "delayed"},
    ("shipments", "status"): {"delivered", "in_transit"},
    ("emissions", "scope"): {"scope1", "scope2", "scope3"},
    ("emissions", "source"): {"transport", "warehouse_energy"},
    ("compliance", "labor_compliance"): {"verified", "pending", "failed"},
    ("purchase_orders", "status"): {"open", "received", "late"},
    ("carrier_rates", "mode"): {"road", "rail", "ocean", "air"},
    ("emission_factors", "mode"): {"road", "rail", "ocean", "air"},
}

TIMESTAMP_COLUMNS = {
    "ts",
    "as_of",
    "ordered_at",
    "due_at",
    "shipped_at",
    "eta",
    "promised_at",
    "start",
    "end",
}
PLANNED_COLUMNS = {"due_at", "eta", "promised_at", "end"}

ALL_SCENARIOS = pytest.mark.parametrize("scenario", list(Scenario))


def _all_tables(world: World) -> dict[str, list[dict[str, Any]]]:
    return {name: rows for domain in DOMAINS for name, rows in world.domain_tables(domain).items()}


@ALL_SCENARIOS
def test_every_domain_has_exactly_its_tables(scenario: Scenario) -> None:
    world = generate_world(7, scenario)
    for domain in DOMAINS:
        assert set(world.domain_tables(domain)) == set(SCHEMAS[domain])


@ALL_SCENARIOS
def test_every_row_has_exactly_the_listed_columns_and_types(scenario: Scenario) -> None:
    world = generate_world(7, scenario)
    for domain, schemas in SCHEMAS.items():
        tables = world.domain_tables(domain)
        for name, columns in schemas.items():
            for row in tables[name]:
                assert set(row) == set(columns), (name, row)
                for column, expected in columns.items():
                    assert type(row[column]) is expected, (name, column, row[column])


@ALL_SCENARIOS
def test_rows_are_sorted_by_unique_keys_and_enums_hold(scenario: Scenario) -> None:
    for name, rows in _all_tables(generate_world(7, scenario)).items():
        keys = [tuple(row[column] for column in KEYS[name]) for row in rows]
        assert keys == sorted(keys), name
        assert len(set(keys)) == len(keys), name
    for (name, column), allowed in ENUMS.items():
        assert {row[column] for row in _all_tables(generate_world(7, scenario))[name]} <= allowed


@ALL_SCENARIOS
def test_history_has_no_timestamp_at_or_after_as_of(scenario: Scenario) -> None:
    world = generate_world(7, scenario)
    start, as_of = world.start, world.as_of
    for name, rows in _all_tables(world).items():
        for row in rows:
            for column in TIMESTAMP_COLUMNS & set(row):
                value = row[column]
                assert value.endswith("Z"), (name, column, value)
                moment = datetime.fromisoformat(value)
                if column == "as_of":
                    assert moment == as_of
                elif column in PLANNED_COLUMNS:
                    assert moment > start
                elif not (name == "supply_outages" and column == "start"):
                    assert start <= moment < as_of, (name, column, value)
    for row in world.domain_tables("procurement")["compliance"]:
        assert date.fromisoformat(row["last_audit"]) < start.date()


def test_sizes() -> None:
    tables = _all_tables(generate_world(7, Scenario.VOLATILE))
    assert len(tables["hourly_demand"]) == 12 * 3 * 28 * 24
    assert [row["sku_id"] for row in tables["skus"]] == [f"SKU-{n:02d}" for n in range(1, 13)]
    assert sum(row["critical_material"] for row in tables["skus"]) == 3
    assert len(tables["warehouses"]) == 6
    assert len(tables["suppliers"]) == 9
    assert len(tables["lanes"]) == 9
    assert len({row["carrier_id"] for row in tables["carrier_rates"]}) == 6
    assert len(tables["stock_positions"]) == len(tables["reorder_policies"]) == 6 * 12
    assert 150 <= len(tables["shipments"]) <= 500


@ALL_SCENARIOS
def test_referential_integrity(scenario: Scenario) -> None:
    world = generate_world(7, scenario)
    tables = _all_tables(world)
    skus = {row["sku_id"] for row in tables["skus"]}
    warehouses = {row["warehouse_id"] for row in tables["warehouses"]}
    suppliers = {row["supplier_id"] for row in tables["suppliers"]}
    lanes = {row["lane_id"] for row in tables["lanes"]}
    carriers = {row["carrier_id"] for row in tables["carrier_rates"]}
    shipments = {row["shipment_id"] for row in tables["shipments"]}
    references = {
        "sku_id": skus,
        "warehouse_id": warehouses,
        "supplier_id": suppliers,
        "lane_id": lanes,
        "carrier_id": carriers,
    }
    for name, rows in tables.items():
        for row in rows:
            for column, known in references.items():
                if column in row and name not in ("skus", "warehouses", "suppliers", "lanes"):
                    assert row[column] in known, (name, column, row[column])
    assert skus == {sku.sku_id for sku in world.skus}
    assert warehouses == {wh.warehouse_id for wh in world.warehouses}
    assert suppliers == {s.supplier_id for s in world.suppliers}
    assert lanes == {lane.lane_id for lane in world.lanes}
    assert carriers == {c.carrier_id for c in world.carriers}
    for row in tables["emissions"]:
        known = shipments if row["source"] == "transport" else warehouses
        assert row["reference"] in known
    offered = {(row["supplier_id"], row["sku_id"]) for row in tables["supplier_skus"]}
    for row in tables["purchase_orders"]:
        assert (row["supplier_id"], row["sku_id"]) in offered
    rated = {(row["carrier_id"], row["lane_id"]) for row in tables["carrier_rates"]}
    for row in tables["shipments"]:
        assert (row["carrier_id"], row["lane_id"]) in rated


@ALL_SCENARIOS
def test_inventory_views_agree_with_procurement(scenario: Scenario) -> None:
    world = generate_world(7, scenario)
    inventory, procurement = world.domain_tables("inventory"), world.domain_tables("procurement")
    purchase_orders = {row["po_id"]: row for row in procurement["purchase_orders"]}
    status_of = {"late": "delayed"}
    for order in inventory["open_orders"]:
        po = purchase_orders[order["order_id"]]
        assert po["status"] != "received"
        assert status_of.get(po["status"], order["status"]) == order["status"]
        assert order["due_at"] == po["promised_at"]
    unreceived = {po_id for po_id, po in purchase_orders.items() if po["status"] != "received"}
    assert unreceived == {order["order_id"] for order in inventory["open_orders"]}
    in_transit: dict[tuple[str, str], int] = {}
    for order in inventory["open_orders"]:
        if order["status"] == "in_transit":
            key = (order["warehouse_id"], order["sku_id"])
            in_transit[key] = in_transit.get(key, 0) + order["quantity"]
    for position in inventory["stock_positions"]:
        assert position["in_transit"] == in_transit.get((position["warehouse_id"], position["sku_id"]), 0)
        assert 0 <= position["allocated"] <= position["on_hand"]


def test_transport_emissions_match_shipments() -> None:
    world = generate_world(7, Scenario.STABLE)
    shipments = {row["shipment_id"]: row for row in world.domain_tables("logistics")["shipments"]}
    transport = [r for r in world.domain_tables("sustainability")["emissions"] if r["source"] == "transport"]
    assert {row["reference"] for row in transport} == set(shipments)
    for row in transport:
        shipment = shipments[row["reference"]]
        assert row["co2e_kg"] == shipment["co2e_kg"]
        assert row["ts"] == shipment["shipped_at"]
        assert row["scope"] == "scope3"
        assert row["region"] == shipment["lane_id"].split("-")[0]
