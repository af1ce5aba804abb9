"""Fixed facts of the synthetic world; everything random is drawn from these by seed."""

from __future__ import annotations

from typing import NamedTuple

from mesh.world._models import Mode


class SkuSpec(NamedTuple):
    name: str
    category: str
    critical_material: bool
    reference_cost: float


class ModeParameters(NamedTuple):
    co2e_kg_per_unit_km: float
    cost_per_unit_km: float
    handling_cost_per_unit: float
    km_per_day: float
    fixed_days: float
    capacity_units_per_day: tuple[int, int]


SKU_CATALOG: tuple[SkuSpec, ...] = (
    SkuSpec("Lithium-ion battery pack", "energy", True, 85.0),
    SkuSpec("Solar charge controller", "electronics", False, 42.0),
    SkuSpec("Cobalt alloy fastener kit", "components", True, 18.0),
    SkuSpec("Industrial LED panel", "electronics", False, 64.0),
    SkuSpec("Recycled corrugated box", "packaging", False, 1.2),
    SkuSpec("Stretch wrap roll", "packaging", False, 6.5),
    SkuSpec("Rare-earth magnet motor", "components", True, 120.0),
    SkuSpec("Copper wiring harness", "components", False, 27.0),
    SkuSpec("Safety gloves, pair", "ppe", False, 3.4),
    SkuSpec("Hydraulic pump seal", "maintenance", False, 9.8),
    SkuSpec("Smart thermostat", "electronics", False, 55.0),
    SkuSpec("Aluminium pallet", "equipment", False, 38.0),
)

SUPPLIER_NAMES: dict[str, tuple[str, str, str]] = {
    "NA": ("Great Lakes Components", "Sierra Materials", "Atlantic Assembly"),
    "EU": ("Rhein Industrie", "Baltic Parts", "Iberia Supply"),
    "APAC": ("Pearl River Manufacturing", "Kanto Precision", "Mekong Materials"),
}

CARRIER_CATALOG: tuple[tuple[str, str, Mode], ...] = (
    ("CAR-1", "Roadrunner Freight", "road"),
    ("CAR-2", "Continental Haulage", "road"),
    ("CAR-3", "IronLine Rail", "rail"),
    ("CAR-4", "BlueWave Ocean Lines", "ocean"),
    ("CAR-5", "Meridian Shipping", "ocean"),
    ("CAR-6", "SkyBridge Air Cargo", "air"),
)

# Per reference unit of about 10 kg; orders of magnitude after GLEC-style default intensities.
MODE_PARAMETERS: dict[Mode, ModeParameters] = {
    "road": ModeParameters(0.001, 0.0008, 0.30, 650.0, 0.5, (600, 1500)),
    "rail": ModeParameters(0.00025, 0.0004, 0.50, 900.0, 1.5, (1200, 3000)),
    "ocean": ModeParameters(0.0001, 0.00006, 0.80, 550.0, 4.0, (4000, 9000)),
    "air": ModeParameters(0.006, 0.004, 2.00, 8000.0, 1.0, (150, 450)),
}
EMISSION_FACTOR_SOURCE = "synthetic; GLEC-style default intensity per 10 kg reference unit"

# Road distance within a region, typical port-to-port or rail distance between regions.
REGION_DISTANCE_KM: dict[frozenset[str], float] = {
    frozenset({"NA"}): 1400.0,
    frozenset({"EU"}): 1100.0,
    frozenset({"APAC"}): 2200.0,
    frozenset({"NA", "EU"}): 7200.0,
    frozenset({"NA", "APAC"}): 11500.0,
    frozenset({"EU", "APAC"}): 9800.0,
}

GRID_KG_PER_KWH: dict[str, float] = {"NA": 0.37, "EU": 0.23, "APAC": 0.55}

OUTAGE_REASONS: dict[str, str] = {
    "NA": "winter storm closes the inbound supplier corridor",
    "EU": "strike at the suppliers' inbound port",
    "APAC": "typhoon closes the suppliers' ports",
}


def serves(mode: Mode, origin: str, dest: str) -> bool:
    """Road stays inside a region, ocean crosses between regions, rail also links EU and APAC."""
    same_region = origin == dest
    if mode == "road":
        return same_region
    if mode == "rail":
        return same_region or {origin, dest} == {"EU", "APAC"}
    if mode == "ocean":
        return not same_region
    return True
