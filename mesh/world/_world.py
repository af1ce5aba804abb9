from __future__ import annotations

import functools
from datetime import datetime
from typing import Any

from mesh.settings import DOMAINS, REGIONS, Scenario
from mesh.world._build import Facts, build_facts
from mesh.world._calendar import AS_OF, HORIZON_END, START, hour_index
from mesh.world._models import Carrier, Lane, Outage, Sku, Spike, Supplier, Warehouse
from mesh.world._tables import TABLE_BUILDERS, Tables

assert tuple(TABLE_BUILDERS) == DOMAINS


class World:
    """A synthetic three-region supply chain, fully determined by `seed` and `scenario`.

    History covers [start, as_of) hour by hour; demand is also defined over the horizon
    [as_of, horizon_end), which the simulation reveals later. Build one with `generate_world`.
    """

    start: datetime = START
    as_of: datetime = AS_OF
    horizon_end: datetime = HORIZON_END

    def __init__(self, facts: Facts) -> None:
        self._facts = facts
        self._tables: dict[str, Tables] = {}

    def __repr__(self) -> str:
        return f"World(seed={self.seed}, scenario={self.scenario.value!r})"

    @property
    def seed(self) -> int:
        return self._facts.seed

    @property
    def scenario(self) -> Scenario:
        return self._facts.scenario

    @property
    def skus(self) -> list[Sku]:
        return list(self._facts.skus)

    @property
    def warehouses(self) -> list[Warehouse]:
        return list(self._facts.warehouses)

    @property
    def suppliers(self) -> list[Supplier]:
        return list(self._facts.suppliers)

    @property
    def carriers(self) -> list[Carrier]:
        return list(self._facts.carriers)

    @property
    def lanes(self) -> list[Lane]:
        return list(self._facts.lanes)

    @property
    def disruption(self) -> Outage | None:
        """The supply outage of the disruption scenario; None in the others."""
        return self._facts.outage

    @property
    def spike_episodes(self) -> list[Spike]:
        """The volatile scenario's demand spikes with the region each one hits; empty otherwise."""
        return list(self._facts.spikes)

    @property
    def spikes(self) -> list[tuple[datetime, datetime, float]]:
        """(start, end, magnitude) of each demand spike, in time order; empty unless volatile."""
        return [(spike.start, spike.end, spike.magnitude) for spike in self._facts.spikes]

    def base_rate(self, sku_id: str, region: str) -> float:
        """Mean hourly units of a SKU in a region before profiles and scenario (2 to 40)."""
        return self._facts.base_rates[self._key(sku_id, region)]

    def demand_multiplier(self, sku_id: str, region: str, ts: datetime) -> float:
        """The scenario's factor alone (noise, shocks, spikes) for the hour holding `ts`."""
        key = self._key(sku_id, region)
        return self._facts.multipliers[key][hour_index(ts)]

    def demand_at(self, sku_id: str, region: str, ts: datetime) -> float:
        """Expected units in the hour holding `ts`: base rate x hour-of-day x day-of-week x multiplier.

        Defined on [start, horizon_end); unknown SKU or region raises KeyError, a naive or
        out-of-range `ts` raises ValueError.
        """
        sku_id, region = self._key(sku_id, region)
        return self._facts.expected_units(sku_id, region, hour_index(ts))

    def domain_tables(self, domain: str) -> dict[str, list[dict[str, Any]]]:
        """Fresh copies of the rows of every table `domain` owns; unknown domain raises ValueError."""
        if domain not in TABLE_BUILDERS:
            raise ValueError(f"unknown domain {domain!r}; known domains: {', '.join(DOMAINS)}")
        if domain not in self._tables:
            self._tables[domain] = TABLE_BUILDERS[domain](self._facts)
        return {name: [dict(row) for row in rows] for name, rows in self._tables[domain].items()}

    def _key(self, sku_id: str, region: str) -> tuple[str, str]:
        if region not in REGIONS:
            raise KeyError(f"unknown region {region!r}; known regions: {', '.join(REGIONS)}")
        if (sku_id, region) not in self._facts.base_rates:
            known = ", ".join(sku.sku_id for sku in self._facts.skus)
            raise KeyError(f"unknown SKU {sku_id!r}; known SKUs: {known}")
        return sku_id, region


def generate_world(seed: int, scenario: Scenario | str) -> World:
    """The world for `seed` and `scenario`; the same arguments always give an identical world.

    `scenario` is a `Scenario` or its value ("stable", "volatile", "disruption"); anything else
    raises ValueError naming the allowed values. Worlds are cached per (seed, scenario).
    """
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise TypeError(f"seed must be an int, got {type(seed).__name__}")
    return _cached_world(seed, _scenario(scenario))


def _scenario(scenario: Scenario | str) -> Scenario:
    if isinstance(scenario, Scenario):
        return scenario
    allowed = [member.value for member in Scenario]
    if isinstance(scenario, str) and scenario.strip().lower() in allowed:
        return Scenario(scenario.strip().lower())
    raise ValueError(f"unknown scenario {scenario!r}; allowed: {', '.join(allowed)}")


@functools.lru_cache(maxsize=16)
def _cached_world(seed: int, scenario: Scenario) -> World:
    return World(build_facts(seed, scenario))
