from __future__ import annotations

import math
from datetime import timedelta
from statistics import NormalDist

from mesh.settings import REGIONS
from mesh.world._calendar import START
from mesh.world._catalog import (
    CARRIER_CATALOG,
    MODE_PARAMETERS,
    REGION_DISTANCE_KM,
    SKU_CATALOG,
    SUPPLIER_NAMES,
    serves,
)
from mesh.world._models import (
    Carrier,
    CarrierRate,
    LaborCompliance,
    Lane,
    ReorderPolicy,
    Sku,
    Supplier,
    SupplierSku,
    Warehouse,
)
from mesh.world._rng import entity_rng

SUPPLIERS_PER_REGION = 3
WAREHOUSES_PER_REGION = 2
REVIEW_DAYS = 7.0
DAILY_DEMAND_CV = 0.2
SERVICE_LEVEL = 0.95
CRITICAL_SERVICE_LEVEL = 0.98


def build_skus(seed: int) -> list[Sku]:
    skus: list[Sku] = []
    for number, spec in enumerate(SKU_CATALOG, start=1):
        sku_id = f"SKU-{number:02d}"
        rng = entity_rng(seed, "sku", sku_id)
        skus.append(
            Sku(
                sku_id=sku_id,
                name=spec.name,
                category=spec.category,
                critical_material=spec.critical_material,
                unit_cost=round(spec.reference_cost * rng.uniform(0.9, 1.1), 2),
            )
        )
    return skus


def supplier_ids(region: str) -> list[str]:
    return [f"SUP-{region}-{number}" for number in range(1, SUPPLIERS_PER_REGION + 1)]


def build_suppliers(seed: int, skus: list[Sku]) -> tuple[list[Supplier], list[SupplierSku]]:
    """Three suppliers a region, exactly one of them new; one new supplier's labor audit is pending
    and one established supplier's failed; critical SKUs come only from critical-capable suppliers."""
    new_ids: set[str] = set()
    critical_ids: set[str] = set()
    for region in REGIONS:
        rng = entity_rng(seed, "supplier-roles", region)
        ids = supplier_ids(region)
        new_id = rng.choice(ids)
        new_ids.add(new_id)
        established = [supplier_id for supplier_id in ids if supplier_id != new_id]
        critical_ids.add(rng.choice(established))
        critical_ids.update(supplier_id for supplier_id in ids if rng.random() < 0.4)
    compliance_rng = entity_rng(seed, "labor-compliance")
    all_ids = [supplier_id for region in REGIONS for supplier_id in supplier_ids(region)]
    failed_id = compliance_rng.choice([supplier_id for supplier_id in all_ids if supplier_id not in new_ids])
    pending_id = compliance_rng.choice(sorted(new_ids))

    suppliers: list[Supplier] = []
    for region in REGIONS:
        for number, supplier_id in enumerate(supplier_ids(region)):
            rng = entity_rng(seed, "supplier", supplier_id)
            is_new = supplier_id in new_ids
            compliance: LaborCompliance = (
                "failed"
                if supplier_id == failed_id
                else "pending"
                if supplier_id == pending_id
                else "verified"
            )
            audit_age_days = rng.randint(5, 60) if is_new or compliance == "failed" else rng.randint(60, 400)
            suppliers.append(
                Supplier(
                    supplier_id=supplier_id,
                    name=SUPPLIER_NAMES[region][number],
                    region=region,
                    lead_time_days=round(rng.uniform(5, 16) if is_new else rng.uniform(4, 14), 1),
                    lead_time_std_days=round(rng.uniform(1.5, 3.5) if is_new else rng.uniform(0.3, 2.5), 2),
                    on_time_rate=round(rng.uniform(0.7, 0.9) if is_new else rng.uniform(0.82, 0.98), 3),
                    unit_cost_index=round(rng.uniform(0.8, 1.0) if is_new else rng.uniform(0.85, 1.2), 3),
                    capacity_units_per_day=rng.randint(300, 2500),
                    is_new=is_new,
                    labor_compliance=compliance,
                    last_audit=(START - timedelta(days=audit_age_days)).date(),
                    tier2_transparency=round(rng.uniform(0.3, 1.0), 2),
                    critical_materials=supplier_id in critical_ids,
                )
            )
    return suppliers, _assign_skus(seed, skus, suppliers)


def _assign_skus(seed: int, skus: list[Sku], suppliers: list[Supplier]) -> list[SupplierSku]:
    offers: list[SupplierSku] = []
    for region in REGIONS:
        rng = entity_rng(seed, "supplier-skus", region)
        regional = [supplier for supplier in suppliers if supplier.region == region]
        chosen: dict[str, list[Supplier]] = {}
        for sku in skus:
            if sku.critical_material:
                chosen[sku.sku_id] = [supplier for supplier in regional if supplier.critical_materials]
            else:
                chosen[sku.sku_id] = rng.sample(regional, 2)
        for supplier in regional:
            if not any(supplier in offering for offering in chosen.values()):
                first_plain = next(sku for sku in skus if not sku.critical_material)
                chosen[first_plain.sku_id].append(supplier)
        for sku in skus:
            for supplier in chosen[sku.sku_id]:
                price_rng = entity_rng(seed, "unit-price", supplier.supplier_id, sku.sku_id)
                price = sku.unit_cost * supplier.unit_cost_index * price_rng.uniform(0.96, 1.04)
                offers.append(
                    SupplierSku(
                        supplier_id=supplier.supplier_id, sku_id=sku.sku_id, unit_price=round(price, 2)
                    )
                )
    return offers


def warehouse_shares(seed: int) -> dict[str, float]:
    shares: dict[str, float] = {}
    for region in REGIONS:
        first = round(entity_rng(seed, "warehouse-share", region).uniform(0.5, 0.65), 3)
        shares[f"WH-{region}-1"] = first
        shares[f"WH-{region}-2"] = round(1 - first, 3)
    return shares


def build_policies(
    seed: int,
    skus: list[Sku],
    suppliers: list[Supplier],
    offers: list[SupplierSku],
    shares: dict[str, float],
    base_rates: dict[tuple[str, str], float],
) -> list[ReorderPolicy]:
    """Periodic review, order-up-to: SS = z * sigma_daily * sqrt(LT), ROP = D * LT + SS, S = ROP + D * R."""
    by_id = {supplier.supplier_id: supplier for supplier in suppliers}
    policies: list[ReorderPolicy] = []
    for warehouse_id, share in shares.items():
        region = warehouse_id.split("-")[1]
        for sku in skus:
            candidates = [
                by_id[offer.supplier_id]
                for offer in offers
                if offer.sku_id == sku.sku_id and by_id[offer.supplier_id].region == region
            ]
            established = [supplier for supplier in candidates if not supplier.is_new] or candidates
            supplier = entity_rng(seed, "primary-supplier", warehouse_id, sku.sku_id).choice(established)
            daily_demand = base_rates[sku.sku_id, region] * 24 * share
            service_level = CRITICAL_SERVICE_LEVEL if sku.critical_material else SERVICE_LEVEL
            z = NormalDist().inv_cdf(service_level)
            lead_time = supplier.lead_time_days
            safety_stock = math.ceil(z * DAILY_DEMAND_CV * daily_demand * math.sqrt(lead_time))
            reorder_point = math.ceil(daily_demand * lead_time) + safety_stock
            policies.append(
                ReorderPolicy(
                    warehouse_id=warehouse_id,
                    sku_id=sku.sku_id,
                    supplier_id=supplier.supplier_id,
                    service_level=service_level,
                    safety_stock=safety_stock,
                    reorder_point=reorder_point,
                    order_up_to=reorder_point + math.ceil(daily_demand * REVIEW_DAYS),
                    lead_time_days=lead_time,
                )
            )
    return policies


def build_warehouses(seed: int, shares: dict[str, float], policies: list[ReorderPolicy]) -> list[Warehouse]:
    warehouses: list[Warehouse] = []
    for warehouse_id, share in shares.items():
        peak_stock = sum(policy.order_up_to for policy in policies if policy.warehouse_id == warehouse_id)
        headroom = entity_rng(seed, "warehouse", warehouse_id).uniform(1.3, 1.7)
        warehouses.append(
            Warehouse(
                warehouse_id=warehouse_id,
                region=warehouse_id.split("-")[1],
                capacity_units=math.ceil(peak_stock * headroom / 1000) * 1000,
                demand_share=share,
            )
        )
    return warehouses


def build_lanes(seed: int) -> list[Lane]:
    lanes: list[Lane] = []
    for origin in REGIONS:
        for dest in REGIONS:
            pair = frozenset({origin, dest})
            jitter = entity_rng(seed, "lane-distance", *sorted(pair)).uniform(0.95, 1.05)
            lanes.append(
                Lane(
                    lane_id=f"{origin}-{dest}",
                    origin_region=origin,
                    dest_region=dest,
                    distance_km=round(REGION_DISTANCE_KM[pair] * jitter, 1),
                )
            )
    return lanes


def build_carriers() -> list[Carrier]:
    return [
        Carrier(carrier_id=carrier_id, name=name, mode=mode) for carrier_id, name, mode in CARRIER_CATALOG
    ]


def build_carrier_rates(seed: int, carriers: list[Carrier], lanes: list[Lane]) -> list[CarrierRate]:
    """Cost and CO2e scale with distance by mode, times a carrier's own price and efficiency."""
    rates: list[CarrierRate] = []
    for carrier in carriers:
        parameters = MODE_PARAMETERS[carrier.mode]
        carrier_rng = entity_rng(seed, "carrier", carrier.carrier_id)
        efficiency = carrier_rng.uniform(0.9, 1.1)
        price_level = carrier_rng.uniform(0.9, 1.15)
        speed = carrier_rng.uniform(0.9, 1.1)
        for lane in lanes:
            if not serves(carrier.mode, lane.origin_region, lane.dest_region):
                continue
            lane_rng = entity_rng(seed, "carrier-rate", carrier.carrier_id, lane.lane_id)
            distance = lane.distance_km
            cost = (parameters.handling_cost_per_unit + parameters.cost_per_unit_km * distance) * price_level
            rates.append(
                CarrierRate(
                    carrier_id=carrier.carrier_id,
                    lane_id=lane.lane_id,
                    cost_per_unit=round(cost * lane_rng.uniform(0.97, 1.03), 2),
                    co2e_kg_per_unit=round(distance * parameters.co2e_kg_per_unit_km * efficiency, 3),
                    transit_days=round(parameters.fixed_days + distance / (parameters.km_per_day * speed), 1),
                    capacity_units_per_day=lane_rng.randint(*parameters.capacity_units_per_day),
                )
            )
    return rates
