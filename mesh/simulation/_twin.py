"""The physical world of a simulated week: stock that demand draws down hour by hour, orders and
shipments that arrive when they are due, emissions that accumulate against each region's budget.

The twin starts from the world's state at `as_of` (stock on hand, open orders, carbon budgets)
and reveals demand hour by hour (`World.demand_at`), each warehouse serving its share of its
region's demand (demand beyond stock is lost: the service level counts it). It does not decide
anything: executed intents change it (`apply`), and it says what agents perceive each hour
(`perception`) and what each shared resource can give (`capacities`).

Resources (the negotiation's `<kind>:<name>`):
- `capacity:<warehouse>`: space left after what is on hand and inbound.
- `carbon:<region>`: the transport emissions allowance, paced over the week: last week's
  transport emissions x `carbon_allowance`, accrued hourly, less what transport used.
- `spend:<region>`: the purchasing allowance, paced the same way from the average week of
  purchase orders x `spend_allowance`.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from mesh.negotiation import Capacities
from mesh.settings import REGIONS
from mesh.simulation._perception import CarbonView, SpendView, StockView, WeekPerception
from mesh.world import World

HOUR = timedelta(hours=1)
TRANSFER_HOURS = 12
"""How long a transfer between two warehouses of one region takes (road)."""
LATE_ORDER_DELAY = timedelta(days=2)
"""When an open order already past its due date is expected."""


def _parse(ts: str) -> datetime:
    return datetime.fromisoformat(ts.replace("Z", "+00:00"))


@dataclass
class _Position:
    warehouse_id: str
    region: str
    sku_id: str
    on_hand: int
    share: float
    reorder_point: int
    order_up_to: int
    arrivals: list[tuple[datetime, int, bool]] = field(default_factory=list)
    """(due, units, moved from another warehouse rather than bought from a supplier)"""
    recent_demand: deque[float] = field(default_factory=lambda: deque(maxlen=24))

    def inbound(self, until: datetime | None = None, *, moves_only: bool = False) -> int:
        return sum(
            units
            for due, units, moved in self.arrivals
            if (until is None or due < until) and (moved or not moves_only)
        )


@dataclass
class RegionTotals:
    demand: float = 0.0
    served: float = 0.0
    transport_kg: float = 0.0
    energy_kg: float = 0.0
    ordered_value: float = 0.0


class Twin:
    def __init__(
        self,
        world: World,
        *,
        hours: int = 168,
        carbon_allowance: float = 1.0,
        spend_allowance: float = 1.0,
        opening_bank_hours: float = 24.0,
    ) -> None:
        if hours < 1:
            raise ValueError("a simulation runs at least one hour")
        self.world = world
        self.hours = hours
        self.start = world.as_of
        self.step = 0
        inventory = world.domain_tables("inventory")
        sustainability = world.domain_tables("sustainability")
        procurement = world.domain_tables("procurement")
        logistics = world.domain_tables("logistics")
        self.capacity = {str(w["warehouse_id"]): int(w["capacity_units"]) for w in inventory["warehouses"]}
        self.region_of = {str(w["warehouse_id"]): str(w["region"]) for w in inventory["warehouses"]}
        policies = {(str(p["warehouse_id"]), str(p["sku_id"])): p for p in inventory["reorder_policies"]}
        cycle_stock: dict[tuple[str, str], float] = {}
        for (warehouse, sku), policy in policies.items():
            key = (self.region_of[warehouse], sku)
            cycle_stock[key] = cycle_stock.get(key, 0.0) + max(
                float(policy["order_up_to"]) - float(policy["reorder_point"]), 0.0
            )
        self.positions: dict[tuple[str, str], _Position] = {}
        for row in inventory["stock_positions"]:
            warehouse, sku = str(row["warehouse_id"]), str(row["sku_id"])
            policy = policies[(warehouse, sku)]
            region = self.region_of[warehouse]
            total = cycle_stock[(region, sku)]
            own = max(float(policy["order_up_to"]) - float(policy["reorder_point"]), 0.0)
            self.positions[(warehouse, sku)] = _Position(
                warehouse_id=warehouse,
                region=region,
                sku_id=sku,
                on_hand=int(row["on_hand"]),
                share=own / total if total > 0 else 0.5,
                reorder_point=int(policy["reorder_point"]),
                order_up_to=int(policy["order_up_to"]),
            )
        for order in inventory["open_orders"]:
            due = _parse(str(order["due_at"]))
            if due < self.start:
                due = self.start + LATE_ORDER_DELAY
            moved = order.get("supplier_id") is None
            self.positions[(str(order["warehouse_id"]), str(order["sku_id"]))].arrivals.append(
                (due, int(order["quantity"]), moved)
            )
        last_week = (self.start - timedelta(days=7)).strftime("%Y-%m-%dT%H:%M:%SZ")
        transport = dict.fromkeys(REGIONS, 0.0)
        energy = dict.fromkeys(REGIONS, 0.0)
        for entry in sustainability["emissions"]:
            if str(entry["ts"]) >= last_week:
                bucket = transport if entry["source"] == "transport" else energy
                bucket[str(entry["region"])] += float(entry["co2e_kg"])
        self.energy_per_hour = {region: energy[region] / 168 for region in REGIONS}
        self.carbon_rate = {region: carbon_allowance * transport[region] / 168 for region in REGIONS}
        budgets = sorted(sustainability["carbon_budgets"], key=lambda row: int(row["year"]))
        self.budget_kg = {str(row["region"]): float(row["budget_kg"]) for row in budgets}
        self.spent_kg = {str(row["region"]): float(row["spent_kg"]) for row in budgets}
        supplier_region = {str(s["supplier_id"]): str(s["region"]) for s in procurement["suppliers"]}
        ordered = dict.fromkeys(REGIONS, 0.0)
        for po in procurement["purchase_orders"]:
            ordered[supplier_region[str(po["supplier_id"])]] += float(po["quantity"]) * float(
                po["unit_price"]
            )
        history_weeks = (world.as_of - world.start) / timedelta(days=7)
        self.spend_rate = {
            region: spend_allowance * ordered[region] / history_weeks / 168 for region in REGIONS
        }
        self.opening_bank_hours = opening_bank_hours
        self.road_co2e = {
            str(rate["lane_id"]): min(
                float(r["co2e_kg_per_unit"])
                for r in logistics["carrier_rates"]
                if r["lane_id"] == rate["lane_id"] and r["mode"] == "road"
            )
            for rate in logistics["carrier_rates"]
            if rate["mode"] == "road"
        }
        self.totals = {region: RegionTotals() for region in REGIONS}

    @property
    def now(self) -> datetime:
        return self.start + self.step * HOUR

    @property
    def done(self) -> bool:
        return self.step >= self.hours

    def _paced(self, rate: float, used: float) -> float:
        return rate * (self.opening_bank_hours + self.step + 1) - used

    def perception(self) -> WeekPerception:
        now = self.now
        soon = now + timedelta(hours=24)
        occupied = self._occupied()
        return WeekPerception(
            step=self.step,
            hours=self.hours,
            at=now,
            stock=[
                StockView(
                    warehouse_id=p.warehouse_id,
                    region=p.region,
                    sku_id=p.sku_id,
                    on_hand=p.on_hand,
                    inbound=p.inbound(),
                    inbound_24h=p.inbound(soon),
                    inbound_72h=p.inbound(now + timedelta(hours=72)),
                    inbound_moves=p.inbound(moves_only=True),
                    demand_24h=round(sum(p.recent_demand) * 24 / max(len(p.recent_demand), 1), 3)
                    if p.recent_demand
                    else round(self._expected_day(p), 3),
                    reorder_point=p.reorder_point,
                    order_up_to=p.order_up_to,
                    free_capacity=self.capacity[p.warehouse_id] - occupied[p.warehouse_id],
                )
                for p in sorted(self.positions.values(), key=lambda p: (p.warehouse_id, p.sku_id))
            ],
            carbon=[
                CarbonView(
                    region=region,
                    budget_kg=self.budget_kg[region],
                    spent_kg=round(self.spent_kg[region], 3),
                    transport_allowance_kg=round(
                        self._paced(self.carbon_rate[region], self.totals[region].transport_kg), 3
                    ),
                )
                for region in REGIONS
            ],
            spend=[
                SpendView(
                    region=region,
                    allowance=round(
                        self._paced(self.spend_rate[region], self.totals[region].ordered_value), 2
                    ),
                )
                for region in REGIONS
            ],
        )

    def capacities(self) -> Capacities:
        occupied = self._occupied()
        available: dict[str, float] = {}
        for warehouse, capacity in sorted(self.capacity.items()):
            available[f"capacity:{warehouse}"] = max(capacity - occupied[warehouse], 0)
        for region in REGIONS:
            totals = self.totals[region]
            available[f"carbon:{region}"] = max(
                self._paced(self.carbon_rate[region], totals.transport_kg), 0.0
            )
            available[f"spend:{region}"] = max(
                self._paced(self.spend_rate[region], totals.ordered_value), 0.0
            )
        return Capacities(available=available)

    def advance(self) -> None:
        """Play the current hour: receipts due in it arrive, demand is served from stock, warehouses
        burn energy; then the clock moves on an hour."""
        if self.done:
            raise RuntimeError("the simulated week is over")
        now, end = self.now, self.now + HOUR
        for position in self.positions.values():
            arrived = [arrival for arrival in position.arrivals if arrival[0] < end]
            if arrived:
                position.arrivals = [arrival for arrival in position.arrivals if arrival[0] >= end]
                position.on_hand += sum(units for _, units, _ in arrived)
            demand = self.world.demand_at(position.sku_id, position.region, now) * position.share
            position.recent_demand.append(demand)
            served = min(float(position.on_hand), demand)
            position.on_hand -= math.floor(served)
            totals = self.totals[position.region]
            totals.demand += demand
            totals.served += served
        for region in REGIONS:
            self.spent_kg[region] += self.energy_per_hour[region]
            self.totals[region].energy_kg += self.energy_per_hour[region]
        self.step += 1

    def apply(self, decision_type: str, action: Mapping[str, Any], result: Mapping[str, Any]) -> None:
        """An executed intent's effect: stock leaves its source now and arrives when due; what it
        emits and costs is charged to its region."""
        now = self.now
        if decision_type == "purchase_order":
            position = self.positions[(str(action["warehouse_id"]), str(action["sku_id"]))]
            lead = timedelta(days=float(result.get("lead_time_days", 7.0)))
            position.arrivals.append((now + lead, int(result.get("quantity", action["quantity"])), False))
            value = float(result.get("order_value", 0.0))
            self.totals[position.region].ordered_value += value
        elif decision_type == "transfer":
            units = int(result.get("units", action["units"]))
            source = self.positions[(str(action["from_warehouse_id"]), str(action["sku_id"]))]
            target = self.positions[(str(action["to_warehouse_id"]), str(action["sku_id"]))]
            moved = min(units, source.on_hand)
            source.on_hand -= moved
            target.arrivals.append((now + timedelta(hours=TRANSFER_HOURS), moved, True))
            co2e = moved * self.road_co2e.get(f"{source.region}-{source.region}", 0.0)
            self._emit(source.region, co2e)
        elif decision_type == "shipment":
            units = int(result.get("units", action["units"]))
            source = self.positions[(str(action["from_warehouse_id"]), str(action["sku_id"]))]
            target = self.positions[(str(action["to_warehouse_id"]), str(action["sku_id"]))]
            moved = min(units, source.on_hand)
            source.on_hand -= moved
            transit = timedelta(days=float(result.get("transit_days", 1.0)))
            target.arrivals.append((now + transit, moved, True))
            self._emit(source.region, float(result.get("co2e_kg", 0.0)))
        else:
            raise ValueError(f"the twin does not know how to apply a {decision_type!r} decision")

    def service_level(self, region: str | None = None) -> float:
        """Units served / units demanded over the hours played (1.0 before any demand)."""
        totals = [self.totals[region]] if region else list(self.totals.values())
        demand = sum(t.demand for t in totals)
        return sum(t.served for t in totals) / demand if demand > 0 else 1.0

    def _emit(self, region: str, co2e_kg: float) -> None:
        self.spent_kg[region] += co2e_kg
        self.totals[region].transport_kg += co2e_kg

    def _occupied(self) -> dict[str, int]:
        occupied = dict.fromkeys(self.capacity, 0)
        for position in self.positions.values():
            occupied[position.warehouse_id] += position.on_hand + position.inbound()
        return occupied

    def _expected_day(self, position: _Position) -> float:
        base = self.world.base_rate(position.sku_id, position.region)
        return base * 24 * position.share
