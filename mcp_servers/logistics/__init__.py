"""The logistics domain: lanes, carrier rates and shipments; quoting and booking shipments."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import BaseModel, ConfigDict, Field

from mcp_servers._server import (
    ACTION,
    READ_ONLY,
    DomainSpec,
    Limit,
    ProductReader,
    Products,
    QueryResult,
    Region,
    SkuId,
    as_utc,
    utc_text,
)
from mesh.world import World

LaneId = Annotated[str, Field(pattern=r"^(NA|EU|APAC)-(NA|EU|APAC)$", description="lane id, e.g. NA-EU")]
CarrierId = Annotated[str, Field(pattern=r"^CAR-\d+$", description="carrier id, e.g. CAR-3")]
ShipmentUnits = Annotated[int, Field(ge=1, le=100_000, description="units to ship (1 to 100,000)")]
Mode = Literal["road", "rail", "ocean", "air"]
BOOKING_HORIZON = timedelta(days=90)
"""How far after now (the world's as_of) a shipment can be booked to leave."""


class ShipmentQuote(BaseModel):
    """What shipping `units` with a carrier on a lane costs and emits, and when they arrive."""

    model_config = ConfigDict(frozen=True)

    carrier_id: str
    carrier_name: str
    mode: Mode
    lane_id: str
    origin_region: Region = Field(description="the region the shipment's emissions are charged to")
    dest_region: Region
    units: int
    cost: float = Field(description="units x the rate's cost_per_unit, rounded to cents")
    co2e_kg: float = Field(description="units x the rate's co2e_kg_per_unit, rounded to grams")
    transit_days: float
    ship_at: datetime
    eta: datetime = Field(description="ship_at + transit_days")


class ShipmentBooking(ShipmentQuote):
    """A booked shipment, now a row of `logistics.shipments` with status `booked`."""

    shipment_id: str = Field(description="SHP-B-<n>, n numbering the domain's actions")
    sku_id: str
    status: Literal["booked"] = "booked"


def derive(world: World) -> dict[str, list[dict[str, Any]]]:
    tables = world.domain_tables("logistics")
    return {name: tables[name] for name in ("lanes", "carrier_rates", "shipments")}


def quote_shipment_figures(
    reader: ProductReader, carrier_id: str, lane_id: str, units: int, ship_at: datetime | None
) -> ShipmentQuote:
    """Price a shipment from the carrier's rate on the lane; unknown carrier, a carrier that does
    not serve the lane, or a departure before now or beyond the booking horizon is a ToolError."""
    rates = reader.rows("carrier_rates", carrier_id=carrier_id)
    if not rates:
        known = sorted({rate["carrier_id"] for rate in reader.rows("carrier_rates")})
        raise ToolError(f"unknown carrier {carrier_id!r}; known carriers: {', '.join(known)}")
    rate = next((rate for rate in rates if rate["lane_id"] == lane_id), None)
    if rate is None:
        carrier = f"{carrier_id} ({rates[0]['carrier_name']}, {rates[0]['mode']})"
        serving = sorted(rate["carrier_id"] for rate in reader.rows("carrier_rates", lane_id=lane_id))
        raise ToolError(
            f"carrier {carrier} does not serve lane {lane_id}; carriers on {lane_id}: "
            f"{', '.join(serving) or 'none'}; lanes {carrier_id} serves: "
            f"{', '.join(sorted(rate['lane_id'] for rate in rates))}"
        )
    lanes = reader.rows("lanes", lane_id=lane_id)
    if not lanes:
        raise ToolError(f"unknown lane {lane_id!r}")
    departure = _departure(ship_at, reader.as_of)
    return ShipmentQuote(
        carrier_id=carrier_id,
        carrier_name=rate["carrier_name"],
        mode=rate["mode"],
        lane_id=lane_id,
        origin_region=lanes[0]["origin_region"],
        dest_region=lanes[0]["dest_region"],
        units=units,
        cost=round(units * rate["cost_per_unit"], 2),
        co2e_kg=round(units * rate["co2e_kg_per_unit"], 3),
        transit_days=rate["transit_days"],
        ship_at=departure,
        eta=(departure + timedelta(days=rate["transit_days"])).replace(microsecond=0),
    )


def _departure(ship_at: datetime | None, now: datetime) -> datetime:
    if ship_at is None:
        return now
    departure = as_utc(ship_at).replace(microsecond=0)
    if departure < now:
        raise ToolError(f"ship_at {utc_text(departure)} is before now ({utc_text(now)}, the domain's as_of)")
    if departure > now + BOOKING_HORIZON:
        raise ToolError(
            f"ship_at {utc_text(departure)} is more than {BOOKING_HORIZON.days} days after now "
            f"({utc_text(now)})"
        )
    return departure


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
        status: Literal["delivered", "in_transit", "booked"] | None = None,
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

    @server.tool(annotations=READ_ONLY)
    def quote_shipment(
        carrier_id: CarrierId, lane_id: LaneId, units: ShipmentUnits, ship_at: datetime | None = None
    ) -> ShipmentQuote:
        """What book_shipment would cost and emit (CO2e, charged to the origin region) and when it
        would arrive, without booking. ship_at defaults to now (the world's as_of)."""
        return quote_shipment_figures(products, carrier_id, lane_id, units, ship_at)

    @server.tool(annotations=ACTION)
    def book_shipment(
        carrier_id: CarrierId,
        lane_id: LaneId,
        sku_id: SkuId,
        units: ShipmentUnits,
        ship_at: datetime | None = None,
    ) -> ShipmentBooking:
        """Book a shipment of one SKU with a carrier on a lane at the carrier's rate: adds it to
        shipments (status booked) and returns its id, cost, CO2e and ETA. ship_at defaults to now
        (the world's as_of)."""
        arguments = {
            "carrier_id": carrier_id,
            "lane_id": lane_id,
            "sku_id": sku_id,
            "units": units,
            "ship_at": ship_at,
        }
        with products.act("book_shipment", arguments) as action:
            figures = quote_shipment_figures(action, carrier_id, lane_id, units, ship_at)
            booking = ShipmentBooking(
                **figures.model_dump(), shipment_id=f"SHP-B-{action.seq}", sku_id=sku_id
            )
            action.insert(
                "shipments",
                {
                    "shipment_id": booking.shipment_id,
                    "carrier_id": carrier_id,
                    "lane_id": lane_id,
                    "sku_id": sku_id,
                    "units": units,
                    "shipped_at": utc_text(booking.ship_at),
                    "eta": utc_text(booking.eta),
                    "status": booking.status,
                    "co2e_kg": booking.co2e_kg,
                },
            )
        return booking


SPEC = DomainSpec(
    domain="logistics",
    contracts_dir=Path(__file__).parent / "contracts",
    derive=derive,
    register_tools=register_tools,
    tool_products={
        "list_lanes": ("lanes",),
        "get_carrier_rates": ("carrier_rates",),
        "query_shipments": ("shipments",),
        "quote_shipment": ("carrier_rates", "lanes"),
        "book_shipment": ("shipments", "carrier_rates", "lanes"),
    },
    instructions=(
        "Logistics data products: lanes between regions, carrier rates (cost, CO2e, transit time, "
        "capacity) per lane, and shipments with their emissions. quote_shipment prices a shipment; "
        "book_shipment books it."
    ),
)
