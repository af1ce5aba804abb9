"""The four weeks of history: replenishment, shipments, emissions and carbon budgets."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from mesh.settings import REGIONS
from mesh.world._calendar import AS_OF, DAY, HISTORY_DAYS, HOUR, START
from mesh.world._catalog import GRID_KG_PER_KWH
from mesh.world._models import (
    Carrier,
    CarrierRate,
    Lane,
    Outage,
    ReorderPolicy,
    Sku,
    Supplier,
    SupplierSku,
    Warehouse,
)
from mesh.world._rng import entity_rng

PurchaseStatus = Literal["open", "received", "late"]
OrderStatus = Literal["open", "in_transit", "delayed"]
Scope = Literal["scope1", "scope2", "scope3"]
EmissionSource = Literal["transport", "warehouse_energy"]

IN_TRANSIT_WITHIN = timedelta(days=3)
_MODE_WEIGHT = {"road": 3.0, "rail": 2.0, "ocean": 3.0, "air": 0.6}


@dataclass(slots=True)
class PurchaseOrder:
    warehouse_id: str
    sku_id: str
    supplier_id: str
    quantity: int
    unit_price: float
    ordered_at: datetime
    promised_at: datetime
    arrives_at: datetime
    blocked: bool
    po_id: str = ""

    @property
    def received(self) -> bool:
        return _arrived_by(self, AS_OF)

    @property
    def status(self) -> PurchaseStatus:
        if self.received:
            return "received"
        if self.blocked or self.promised_at < AS_OF:
            return "late"
        return "open"

    @property
    def order_status(self) -> OrderStatus:
        """How inventory sees an order not yet received: delayed, arriving within three days, or open."""
        if self.status == "late":
            return "delayed"
        return "in_transit" if self.promised_at < AS_OF + IN_TRANSIT_WITHIN else "open"


@dataclass(frozen=True, slots=True)
class StockPosition:
    warehouse_id: str
    sku_id: str
    on_hand: int
    allocated: int
    in_transit: int


@dataclass(frozen=True, slots=True)
class Shipment:
    shipment_id: str
    carrier_id: str
    lane_id: str
    origin_region: str
    sku_id: str
    units: int
    shipped_at: datetime
    eta: datetime
    co2e_kg: float

    @property
    def status(self) -> Literal["delivered", "in_transit"]:
        return "delivered" if self.eta <= AS_OF else "in_transit"


@dataclass(frozen=True, slots=True)
class Emission:
    entry_id: str
    ts: datetime
    region: str
    scope: Scope
    source: EmissionSource
    co2e_kg: float
    reference: str


@dataclass(frozen=True, slots=True)
class CarbonBudget:
    year: int
    region: str
    budget_kg: float
    spent_kg: float


def simulate_replenishment(
    seed: int,
    warehouses: list[Warehouse],
    skus: list[Sku],
    suppliers: list[Supplier],
    offers: list[SupplierSku],
    policies: list[ReorderPolicy],
    daily_demand: dict[tuple[str, str], list[float]],
    outage: Outage | None,
) -> tuple[list[PurchaseOrder], list[StockPosition]]:
    """Four weeks of replenishment for every warehouse and SKU, from its reorder policy."""
    by_supplier = {supplier.supplier_id: supplier for supplier in suppliers}
    prices = {(offer.supplier_id, offer.sku_id): offer.unit_price for offer in offers}
    by_key = {(policy.warehouse_id, policy.sku_id): policy for policy in policies}
    purchase_orders: list[PurchaseOrder] = []
    on_hand: dict[tuple[str, str], int] = {}
    for warehouse in warehouses:
        for sku in skus:
            policy = by_key[warehouse.warehouse_id, sku.sku_id]
            supplier = by_supplier[policy.supplier_id]
            orders, on_hand[warehouse.warehouse_id, sku.sku_id] = _replenish(
                seed,
                warehouse,
                policy,
                supplier,
                prices[supplier.supplier_id, sku.sku_id],
                daily_demand[sku.sku_id, warehouse.region],
                outage,
            )
            purchase_orders.extend(orders)

    purchase_orders.sort(key=lambda order: (order.ordered_at, order.warehouse_id, order.sku_id))
    for number, order in enumerate(purchase_orders, start=1):
        order.po_id = f"PO-{number:05d}"

    in_transit: dict[tuple[str, str], int] = dict.fromkeys(on_hand, 0)
    for order in purchase_orders:
        if not order.received and order.order_status == "in_transit":
            in_transit[order.warehouse_id, order.sku_id] += order.quantity
    positions = [
        StockPosition(
            warehouse_id=warehouse_id,
            sku_id=sku_id,
            on_hand=units,
            allocated=math.floor(
                units * entity_rng(seed, "allocation", warehouse_id, sku_id).uniform(0.05, 0.2)
            ),
            in_transit=in_transit[warehouse_id, sku_id],
        )
        for (warehouse_id, sku_id), units in on_hand.items()
    ]
    return purchase_orders, positions


def _replenish(
    seed: int,
    warehouse: Warehouse,
    policy: ReorderPolicy,
    supplier: Supplier,
    unit_price: float,
    regional_demand: list[float],
    outage: Outage | None,
) -> tuple[list[PurchaseOrder], int]:
    """Day by day: receive what arrived, serve the warehouse's share of demand (lost sales below
    zero), then order up to S when the inventory position is at or below the reorder point. During
    an outage nothing from the affected suppliers arrives. Returns the orders and the final on-hand."""
    rng = entity_rng(seed, "replenishment", warehouse.warehouse_id, policy.sku_id)
    on_hand = rng.uniform(policy.reorder_point, policy.order_up_to)
    orders: list[PurchaseOrder] = []
    for day, demand in enumerate(regional_demand):
        day_start = START + day * DAY
        day_end = day_start + DAY
        on_hand += sum(order.quantity for order in orders if _arrives_within(order, day_start, day_end))
        on_hand = max(0.0, on_hand - demand * warehouse.demand_share)
        position = on_hand + sum(order.quantity for order in orders if not _arrived_by(order, day_end))
        if position > policy.reorder_point:
            continue
        ordered_at = day_start + rng.randint(8, 17) * HOUR
        promised_at = ordered_at + round(supplier.lead_time_days * 24) * HOUR
        on_time = rng.random() < supplier.on_time_rate
        worst_delay = round(24 * (2 + 3 * supplier.lead_time_std_days))
        arrives_at = promised_at + (0 if on_time else rng.randint(24, worst_delay)) * HOUR
        orders.append(
            PurchaseOrder(
                warehouse_id=warehouse.warehouse_id,
                sku_id=policy.sku_id,
                supplier_id=supplier.supplier_id,
                quantity=math.ceil(policy.order_up_to - position),
                unit_price=unit_price,
                ordered_at=ordered_at,
                promised_at=promised_at,
                arrives_at=arrives_at,
                blocked=outage is not None
                and supplier.supplier_id in outage.supplier_ids
                and arrives_at >= outage.start,
            )
        )
    return orders, math.floor(on_hand)


def _arrives_within(order: PurchaseOrder, begin: datetime, end: datetime) -> bool:
    return not order.blocked and begin <= order.arrives_at < end


def _arrived_by(order: PurchaseOrder, moment: datetime) -> bool:
    return not order.blocked and order.arrives_at < moment


def generate_shipments(
    seed: int,
    skus: list[Sku],
    carriers: list[Carrier],
    lanes: list[Lane],
    rates: list[CarrierRate],
    outage: Outage | None,
) -> list[Shipment]:
    """Eight to fourteen shipments a day, mostly within a region; none leave a region in outage."""
    rng = entity_rng(seed, "shipments")
    modes = {carrier.carrier_id: carrier.mode for carrier in carriers}
    same_region = [lane for lane in lanes if lane.origin_region == lane.dest_region]
    cross_region = [lane for lane in lanes if lane.origin_region != lane.dest_region]
    drafts: list[tuple[datetime, str, CarrierRate, str, str, int]] = []
    for day in range(HISTORY_DAYS):
        day_start = START + day * DAY
        for _ in range(rng.randint(8, 14)):
            lane = rng.choice(same_region if rng.random() < 0.65 else cross_region)
            options = [rate for rate in rates if rate.lane_id == lane.lane_id]
            rate = rng.choices(
                options, weights=[_MODE_WEIGHT[modes[option.carrier_id]] for option in options]
            )[0]
            sku_id = rng.choice(skus).sku_id
            high = 120 if modes[rate.carrier_id] == "air" else 900
            units = min(rng.randint(high // 6, high), rate.capacity_units_per_day)
            shipped_at = day_start + rng.randint(0, 23) * HOUR
            stopped = (
                outage is not None and lane.origin_region == outage.region and shipped_at >= outage.start
            )
            if not stopped:
                drafts.append((shipped_at, lane.origin_region, rate, lane.lane_id, sku_id, units))
    drafts.sort(key=lambda draft: (draft[0], draft[3], draft[2].carrier_id, draft[4]))
    return [
        Shipment(
            shipment_id=f"SHP-{number:05d}",
            carrier_id=rate.carrier_id,
            lane_id=lane_id,
            origin_region=origin,
            sku_id=sku_id,
            units=units,
            shipped_at=shipped_at,
            eta=shipped_at + round(rate.transit_days * 24) * HOUR,
            co2e_kg=round(units * rate.co2e_kg_per_unit, 3),
        )
        for number, (shipped_at, origin, rate, lane_id, sku_id, units) in enumerate(drafts, start=1)
    ]


def account_emissions(seed: int, shipments: list[Shipment], warehouses: list[Warehouse]) -> list[Emission]:
    """Scope 3 for each shipment (charged to its origin region), scope 1 (on-site fuel) and scope 2
    (grid electricity) for each warehouse and day."""
    drafts: list[tuple[datetime, str, Scope, EmissionSource, float, str]] = [
        (
            shipment.shipped_at,
            shipment.origin_region,
            "scope3",
            "transport",
            shipment.co2e_kg,
            shipment.shipment_id,
        )
        for shipment in shipments
    ]
    for warehouse in warehouses:
        rng = entity_rng(seed, "warehouse-energy", warehouse.warehouse_id)
        for day in range(HISTORY_DAYS):
            day_start = START + day * DAY
            activity = 0.8 if day_start.weekday() >= 5 else 1.0
            kwh = warehouse.capacity_units * 0.04 * activity * rng.uniform(0.9, 1.1)
            fuel_kg = warehouse.capacity_units * 0.002 * activity * rng.uniform(0.85, 1.15)
            scope2_kg = round(kwh * GRID_KG_PER_KWH[warehouse.region], 3)
            region, reference = warehouse.region, warehouse.warehouse_id
            drafts.append((day_start, region, "scope1", "warehouse_energy", round(fuel_kg, 3), reference))
            drafts.append((day_start, region, "scope2", "warehouse_energy", scope2_kg, reference))
    drafts.sort(key=lambda draft: (draft[0], draft[5], draft[2]))
    return [
        Emission(
            entry_id=f"EM-{number:05d}",
            ts=ts,
            region=region,
            scope=scope,
            source=source,
            co2e_kg=co2e_kg,
            reference=reference,
        )
        for number, (ts, region, scope, source, co2e_kg, reference) in enumerate(drafts, start=1)
    ]


UTILISATION_BANDS: tuple[tuple[float, float], ...] = ((0.92, 0.97), (0.55, 0.70), (0.30, 0.45))


def set_carbon_budgets(seed: int, emissions: list[Emission]) -> list[CarbonBudget]:
    """Budgets calibrated on what was spent by as_of: one region (drawn by seed) sits at 92-97% of
    its annual budget (the warn band), one at 55-70% and one at 30-45%."""
    rng = entity_rng(seed, "carbon-budgets")
    year = START.year
    budgets: list[CarbonBudget] = []
    for region, (low, high) in zip(rng.sample(REGIONS, len(REGIONS)), UTILISATION_BANDS, strict=True):
        spent = round(
            sum(entry.co2e_kg for entry in emissions if entry.region == region and entry.ts.year == year), 3
        )
        budget = round(spent / rng.uniform(low, high), -2)
        budgets.append(CarbonBudget(year=year, region=region, budget_kg=budget, spent_kg=spent))
    return budgets
