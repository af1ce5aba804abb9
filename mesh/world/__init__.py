"""The deterministic synthetic supply-chain world every domain's data comes from.

`generate_world(seed, scenario)` builds SKUs, warehouses, suppliers, carriers and lanes, four weeks
of hourly history and two weeks of future demand; `World.domain_tables(domain)` hands each domain
the rows of the tables it owns. See docs/world.md.
"""

from mesh.world._models import Carrier, Lane, Outage, Sku, Spike, Supplier, Warehouse
from mesh.world._overlay import OverlaidWorld, WorldOverlayError, load_overlay
from mesh.world._world import World, generate_world

__all__ = [
    "Carrier",
    "Lane",
    "Outage",
    "OverlaidWorld",
    "Sku",
    "Spike",
    "Supplier",
    "Warehouse",
    "World",
    "WorldOverlayError",
    "generate_world",
    "load_overlay",
]
