"""Reorder levels under a service level, from the demand forecast (periodic review, order-up-to).

For a warehouse w, SKU s in region r, lead time L (the warehouse's reorder policy), review period
R and service level p, with f_d the region's forecast units on day d:

    share   = cycle stock of w / cycle stock of every warehouse of r stocking s
              (cycle stock = order_up_to - reorder_point of the published policies)
    D(a, b) = share x sum of f_d over the days in [a, b)  (the forecast's mean beyond its horizon)
    sigma   = share x (upper_0 - f_0) / 1.96              (one day's sd, from the day-1 95% interval)
    z       = Phi^-1(p)
    safety_stock  = ceil(z sigma sqrt(L))
    reorder_point = ceil(D(0, L)) + safety_stock
    order_up_to   = reorder_point + ceil(D(L, L + R))
    position      = on_hand - allocated + in_transit + on_order
    reorder when position <= reorder_point, for order_up_to - position units

These are the inventory domain's own policy formulas (docs/world.md), with the forecast in place of
the base rate, so the recommendation follows demand as it is now rather than as it was planned.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from statistics import NormalDist, fmean
from typing import Any

from agents.inventory._wire import InventoryPosition

Z_95 = 1.96


@dataclass(frozen=True)
class ReorderLevels:
    share: float
    z: float
    daily_demand: float
    daily_sigma: float
    lead_time_demand: float
    review_period_demand: float
    safety_stock: int
    reorder_point: int
    order_up_to: int


def demand_share(warehouse_id: str, policies: Sequence[Mapping[str, Any]]) -> float:
    """`warehouse_id`'s share of its region's demand, from the cycle stock of the region's policies."""
    cycles = {
        str(p["warehouse_id"]): max(float(p["order_up_to"]) - float(p["reorder_point"]), 0.0)
        for p in policies
    }
    total = sum(cycles.values())
    if warehouse_id not in cycles:
        raise ValueError(f"no reorder policy for {warehouse_id}")
    return cycles[warehouse_id] / total if total > 0 else 1.0 / len(cycles)


def demand_between(daily: Sequence[float], start: float, end: float) -> float:
    """Forecast units over days [start, end) (fractions of a day pro rata); the forecast's mean
    daily units beyond its last day."""
    if not daily:
        raise ValueError("an empty forecast")
    mean = fmean(daily)
    total, day = 0.0, math.floor(start)
    while day < end:
        overlap = min(end, day + 1) - max(start, day)
        total += overlap * (daily[day] if day < len(daily) else mean)
        day += 1
    return total


def reorder_levels(
    *,
    share: float,
    forecast_units: Sequence[float],
    first_day_upper: float,
    lead_time_days: float,
    review_period_days: float,
    service_level: float,
) -> ReorderLevels:
    z = NormalDist().inv_cdf(service_level)
    sigma = share * max(first_day_upper - forecast_units[0], 0.0) / Z_95
    lead_time_demand = share * demand_between(forecast_units, 0, lead_time_days)
    review_demand = share * demand_between(
        forecast_units, lead_time_days, lead_time_days + review_period_days
    )
    safety_stock = math.ceil(z * sigma * math.sqrt(lead_time_days))
    reorder_point = math.ceil(lead_time_demand) + safety_stock
    return ReorderLevels(
        share=share,
        z=z,
        daily_demand=share * fmean(forecast_units),
        daily_sigma=sigma,
        lead_time_demand=lead_time_demand,
        review_period_demand=review_demand,
        safety_stock=safety_stock,
        reorder_point=reorder_point,
        order_up_to=reorder_point + math.ceil(review_demand),
    )


def inventory_position(
    stock: Mapping[str, Any], open_orders: Sequence[Mapping[str, Any]]
) -> InventoryPosition:
    """The position of one stock row; supplier orders not yet shipped (`open`, `delayed`) count as
    on order (shipped ones and transfers are already in `in_transit`)."""
    on_order = sum(int(o["quantity"]) for o in open_orders if o["status"] in ("open", "delayed"))
    on_hand, allocated, in_transit = int(stock["on_hand"]), int(stock["allocated"]), int(stock["in_transit"])
    return InventoryPosition(
        on_hand=on_hand,
        allocated=allocated,
        in_transit=in_transit,
        on_order=on_order,
        position=on_hand - allocated + in_transit + on_order,
    )
