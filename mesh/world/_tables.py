"""Each domain's slice of the world as rows of JSON scalars, sorted by key."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mesh.settings import REGIONS
from mesh.world._build import Facts
from mesh.world._calendar import AS_OF, HISTORY_HOURS, at_hour, iso_date, iso_ts
from mesh.world._catalog import EMISSION_FACTOR_SOURCE, MODE_PARAMETERS, OUTAGE_REASONS

Row = dict[str, Any]
Tables = dict[str, list[Row]]


def _sorted(rows: list[Row], *key: str) -> list[Row]:
    return sorted(rows, key=lambda row: tuple(row[column] for column in key))


def demand_tables(facts: Facts) -> Tables:
    hour_stamps = [iso_ts(at_hour(hour)) for hour in range(HISTORY_HOURS)]
    hourly_demand: list[Row] = [
        {
            "sku_id": sku.sku_id,
            "region": region,
            "ts": hour_stamps[hour],
            "units": round(facts.expected_units(sku.sku_id, region, hour), 3),
        }
        for sku in facts.skus
        for region in sorted(REGIONS)
        for hour in range(HISTORY_HOURS)
    ]
    skus: list[Row] = [sku.model_dump() for sku in facts.skus]
    return {"skus": _sorted(skus, "sku_id"), "hourly_demand": hourly_demand}


def inventory_tables(facts: Facts) -> Tables:
    as_of = iso_ts(AS_OF)
    warehouses: list[Row] = [
        {"warehouse_id": wh.warehouse_id, "region": wh.region, "capacity_units": wh.capacity_units}
        for wh in facts.warehouses
    ]
    stock_positions: list[Row] = [
        {
            "warehouse_id": position.warehouse_id,
            "sku_id": position.sku_id,
            "on_hand": position.on_hand,
            "allocated": position.allocated,
            "in_transit": position.in_transit,
            "as_of": as_of,
        }
        for position in facts.stock_positions
    ]
    reorder_policies: list[Row] = [policy.model_dump(exclude={"supplier_id"}) for policy in facts.policies]
    open_orders: list[Row] = [
        {
            "order_id": order.po_id,
            "warehouse_id": order.warehouse_id,
            "sku_id": order.sku_id,
            "supplier_id": order.supplier_id,
            "quantity": order.quantity,
            "ordered_at": iso_ts(order.ordered_at),
            "due_at": iso_ts(order.promised_at),
            "status": order.order_status,
        }
        for order in facts.purchase_orders
        if not order.received
    ]
    return {
        "warehouses": _sorted(warehouses, "warehouse_id"),
        "stock_positions": _sorted(stock_positions, "warehouse_id", "sku_id"),
        "reorder_policies": _sorted(reorder_policies, "warehouse_id", "sku_id"),
        "open_orders": _sorted(open_orders, "order_id"),
    }


def logistics_tables(facts: Facts) -> Tables:
    carriers = {carrier.carrier_id: carrier for carrier in facts.carriers}
    lanes: list[Row] = [lane.model_dump() for lane in facts.lanes]
    carrier_rates: list[Row] = [
        {
            "carrier_id": rate.carrier_id,
            "carrier_name": carriers[rate.carrier_id].name,
            "lane_id": rate.lane_id,
            "mode": carriers[rate.carrier_id].mode,
            "cost_per_unit": rate.cost_per_unit,
            "co2e_kg_per_unit": rate.co2e_kg_per_unit,
            "transit_days": rate.transit_days,
            "capacity_units_per_day": rate.capacity_units_per_day,
        }
        for rate in facts.carrier_rates
    ]
    shipments: list[Row] = [
        {
            "shipment_id": shipment.shipment_id,
            "carrier_id": shipment.carrier_id,
            "lane_id": shipment.lane_id,
            "sku_id": shipment.sku_id,
            "units": shipment.units,
            "shipped_at": iso_ts(shipment.shipped_at),
            "eta": iso_ts(shipment.eta),
            "status": shipment.status,
            "co2e_kg": shipment.co2e_kg,
        }
        for shipment in facts.shipments
    ]
    return {
        "lanes": _sorted(lanes, "lane_id"),
        "carrier_rates": _sorted(carrier_rates, "carrier_id", "lane_id"),
        "shipments": _sorted(shipments, "shipment_id"),
    }


def sustainability_tables(facts: Facts) -> Tables:
    emission_factors: list[Row] = [
        {
            "mode": mode,
            "co2e_kg_per_unit_km": parameters.co2e_kg_per_unit_km,
            "source": EMISSION_FACTOR_SOURCE,
        }
        for mode, parameters in MODE_PARAMETERS.items()
    ]
    emissions: list[Row] = [
        {
            "entry_id": entry.entry_id,
            "ts": iso_ts(entry.ts),
            "region": entry.region,
            "scope": entry.scope,
            "source": entry.source,
            "co2e_kg": entry.co2e_kg,
            "reference": entry.reference,
        }
        for entry in facts.emissions
    ]
    as_of = iso_ts(AS_OF)
    carbon_budgets: list[Row] = [
        {
            "year": budget.year,
            "region": budget.region,
            "budget_kg": budget.budget_kg,
            "spent_kg": budget.spent_kg,
            "as_of": as_of,
        }
        for budget in facts.carbon_budgets
    ]
    return {
        "emission_factors": _sorted(emission_factors, "mode"),
        "emissions": _sorted(emissions, "entry_id"),
        "carbon_budgets": _sorted(carbon_budgets, "year", "region"),
    }


def procurement_tables(facts: Facts) -> Tables:
    suppliers: list[Row] = [
        supplier.model_dump(
            include={
                "supplier_id",
                "name",
                "region",
                "lead_time_days",
                "lead_time_std_days",
                "on_time_rate",
                "unit_cost_index",
                "capacity_units_per_day",
                "is_new",
            }
        )
        for supplier in facts.suppliers
    ]
    compliance: list[Row] = [
        {
            "supplier_id": supplier.supplier_id,
            "labor_compliance": supplier.labor_compliance,
            "last_audit": iso_date(supplier.last_audit),
            "tier2_transparency": supplier.tier2_transparency,
            "critical_materials": supplier.critical_materials,
        }
        for supplier in facts.suppliers
    ]
    purchase_orders: list[Row] = [
        {
            "po_id": order.po_id,
            "supplier_id": order.supplier_id,
            "sku_id": order.sku_id,
            "quantity": order.quantity,
            "unit_price": order.unit_price,
            "ordered_at": iso_ts(order.ordered_at),
            "promised_at": iso_ts(order.promised_at),
            "status": order.status,
        }
        for order in facts.purchase_orders
    ]
    outage = facts.outage
    supply_outages: list[Row] = (
        []
        if outage is None
        else [
            {
                "outage_id": f"OUT-{number:02d}",
                "region": outage.region,
                "supplier_id": supplier_id,
                "start": iso_ts(outage.start),
                "end": iso_ts(outage.end),
                "reason": OUTAGE_REASONS[outage.region],
            }
            for number, supplier_id in enumerate(outage.supplier_ids, start=1)
        ]
    )
    return {
        "suppliers": _sorted(suppliers, "supplier_id"),
        "supplier_skus": _sorted(
            [offer.model_dump() for offer in facts.supplier_skus], "supplier_id", "sku_id"
        ),
        "compliance": _sorted(compliance, "supplier_id"),
        "purchase_orders": _sorted(purchase_orders, "po_id"),
        "supply_outages": _sorted(supply_outages, "outage_id"),
    }


TABLE_BUILDERS: dict[str, Callable[[Facts], Tables]] = {
    "demand": demand_tables,
    "inventory": inventory_tables,
    "logistics": logistics_tables,
    "sustainability": sustainability_tables,
    "procurement": procurement_tables,
}
