from __future__ import annotations

from dataclasses import dataclass

from mesh.settings import REGIONS, Scenario
from mesh.world._calendar import AS_OF, DAY, HISTORY_DAYS, TOTAL_HOURS
from mesh.world._demand import base_rate, multiplier_series, plan_spikes, seasonality
from mesh.world._entities import (
    build_carrier_rates,
    build_carriers,
    build_lanes,
    build_policies,
    build_skus,
    build_suppliers,
    build_warehouses,
    warehouse_shares,
)
from mesh.world._models import (
    Carrier,
    CarrierRate,
    Lane,
    Outage,
    ReorderPolicy,
    Sku,
    Spike,
    Supplier,
    SupplierSku,
    Warehouse,
)
from mesh.world._operations import (
    CarbonBudget,
    Emission,
    PurchaseOrder,
    Shipment,
    StockPosition,
    account_emissions,
    generate_shipments,
    set_carbon_budgets,
    simulate_replenishment,
)
from mesh.world._rng import entity_rng

OUTAGE_LEAD = 2 * DAY
OUTAGE_LENGTH = 14 * DAY


@dataclass(frozen=True, slots=True)
class Facts:
    """Everything the generator knows; each domain later receives only its slice."""

    seed: int
    scenario: Scenario
    skus: list[Sku]
    warehouses: list[Warehouse]
    suppliers: list[Supplier]
    supplier_skus: list[SupplierSku]
    carriers: list[Carrier]
    lanes: list[Lane]
    carrier_rates: list[CarrierRate]
    policies: list[ReorderPolicy]
    spikes: list[Spike]
    outage: Outage | None
    base_rates: dict[tuple[str, str], float]
    multipliers: dict[tuple[str, str], list[float]]
    seasonality: dict[str, list[float]]
    purchase_orders: list[PurchaseOrder]
    stock_positions: list[StockPosition]
    shipments: list[Shipment]
    emissions: list[Emission]
    carbon_budgets: list[CarbonBudget]

    def expected_units(self, sku_id: str, region: str, hour: int) -> float:
        return (
            self.base_rates[sku_id, region]
            * self.seasonality[region][hour]
            * self.multipliers[sku_id, region][hour]
        )


def build_facts(seed: int, scenario: Scenario) -> Facts:
    skus = build_skus(seed)
    suppliers, offers = build_suppliers(seed, skus)
    base_rates = {
        (sku.sku_id, region): base_rate(seed, sku.sku_id, region) for sku in skus for region in REGIONS
    }
    shares = warehouse_shares(seed)
    policies = build_policies(seed, skus, suppliers, offers, shares, base_rates)
    warehouses = build_warehouses(seed, shares, policies)
    carriers = build_carriers()
    lanes = build_lanes(seed)
    rates = build_carrier_rates(seed, carriers, lanes)

    spikes = plan_spikes(seed) if scenario is Scenario.VOLATILE else []
    outage = _plan_outage(seed, suppliers) if scenario is Scenario.DISRUPTION else None
    multipliers = {
        (sku.sku_id, region): multiplier_series(seed, scenario, sku.sku_id, region, spikes)
        for sku in skus
        for region in REGIONS
    }
    profile = {region: [seasonality(region, hour) for hour in range(TOTAL_HOURS)] for region in REGIONS}
    daily_demand = {
        key: [
            sum(
                base_rates[key] * profile[key[1]][hour] * series[hour]
                for hour in range(day * 24, day * 24 + 24)
            )
            for day in range(HISTORY_DAYS)
        ]
        for key, series in multipliers.items()
    }
    purchase_orders, positions = simulate_replenishment(
        seed, warehouses, skus, suppliers, offers, policies, daily_demand, outage
    )
    shipments = generate_shipments(seed, skus, carriers, lanes, rates, outage)
    emissions = account_emissions(seed, shipments, warehouses)
    return Facts(
        seed=seed,
        scenario=scenario,
        skus=skus,
        warehouses=warehouses,
        suppliers=suppliers,
        supplier_skus=offers,
        carriers=carriers,
        lanes=lanes,
        carrier_rates=rates,
        policies=policies,
        spikes=spikes,
        outage=outage,
        base_rates=base_rates,
        multipliers=multipliers,
        seasonality=profile,
        purchase_orders=purchase_orders,
        stock_positions=positions,
        shipments=shipments,
        emissions=emissions,
        carbon_budgets=set_carbon_budgets(seed, emissions),
    )


def _plan_outage(seed: int, suppliers: list[Supplier]) -> Outage:
    region = entity_rng(seed, "disruption").choice(REGIONS)
    start = AS_OF - OUTAGE_LEAD
    return Outage(
        region=region,
        start=start,
        end=start + OUTAGE_LENGTH,
        supplier_ids=tuple(supplier.supplier_id for supplier in suppliers if supplier.region == region),
    )
