"""The logistics domain: lanes, carrier rates and shipments."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, Literal

from mcp.server.mcpserver import MCPServer
from pydantic import Field

from mcp_servers._server import READ_ONLY, DomainSpec, Limit, Products, QueryResult, Region, SkuId
from mesh.world import World

LaneId = Annotated[str, Field(pattern=r"^(NA|EU|APAC)-(NA|EU|APAC)$", description="lane id, e.g. NA-EU")]
Mode = Literal["road", "rail", "ocean", "air"]


def derive(world: World) -> dict[str, list[dict[str, Any]]]:
    tables = world.domain_tables("logistics")
    return {name: tables[name] for name in ("lanes", "carrier_rates", "shipments")}


def register_tools(server: MCPServer, products: Products) -> None:
    @server.tool(annotations=READ_ONLY)
    def list_lanes(origin_region: Region | None = None, dest_region: Region | None = None) -> QueryResult:
        """Transport lanes between regions, with their distance in km."""
        return products.query(
            "lanes", equals={"origin_region": origin_region, "dest_region": dest_region}, limit=100
        )

    @server.tool(annotations=READ_ONLY)
    def get_carrier_rates(
        lane_id: LaneId | None = None,
        mode: Mode | None = None,
        carrier_id: str | None = None,
        limit: Limit = 200,
    ) -> QueryResult:
        """Cost per unit, CO2e per unit, transit days and daily capacity per carrier and lane."""
        return products.query(
            "carrier_rates", equals={"lane_id": lane_id, "mode": mode, "carrier_id": carrier_id}, limit=limit
        )

    @server.tool(annotations=READ_ONLY)
    def query_shipments(
        lane_id: LaneId | None = None,
        carrier_id: str | None = None,
        sku_id: SkuId | None = None,
        status: Literal["delivered", "in_transit"] | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        limit: Limit = 500,
    ) -> QueryResult:
        """Shipments by lane, carrier, SKU or status, shipped in [start, end) (UTC), oldest first."""
        return products.query(
            "shipments",
            equals={"lane_id": lane_id, "carrier_id": carrier_id, "sku_id": sku_id, "status": status},
            start=start,
            end=end,
            limit=limit,
        )


SPEC = DomainSpec(
    domain="logistics",
    contracts_dir=Path(__file__).parent / "contracts",
    derive=derive,
    register_tools=register_tools,
    instructions=(
        "Logistics data products: lanes between regions, carrier rates (cost, CO2e, transit time, "
        "capacity) per lane, and shipments with their emissions."
    ),
)
