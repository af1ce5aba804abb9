"""The inventory domain: warehouses, stock positions, reorder policies and open orders; transfers
of stock between warehouses."""

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
    Action,
    DomainSpec,
    Limit,
    Products,
    QueryResult,
    Region,
    SkuId,
    SupplierId,
    as_utc,
    utc_text,
)
from mesh.world import World

WarehouseId = Annotated[
    str, Field(pattern=r"^WH-(NA|EU|APAC)-\d+$", description="warehouse id, e.g. WH-EU-1")
]
TransferUnits = Annotated[int, Field(ge=1, le=100_000, description="units to move (1 to 100,000)")]
TRANSIT_WITHIN_REGION = timedelta(days=3)
TRANSIT_ACROSS_REGIONS = timedelta(days=21)
TRANSFER_HORIZON = timedelta(days=90)
"""How far after now (the world's as_of) a transfer can be due."""


class StockTransfer(BaseModel):
    """A transfer between warehouses, now an open order (status in_transit) at the destination."""

    model_config = ConfigDict(frozen=True)

    order_id: str = Field(description="TRF-<n>, n numbering the domain's actions")
    from_warehouse_id: str
    to_warehouse_id: str
    sku_id: str
    units: int
    lane_id: str = Field(description="<origin region>-<destination region>")
    needs_shipment: bool = Field(
        description="across regions: the units travel once a shipment is booked with logistics on lane_id"
    )
    ordered_at: datetime
    due_at: datetime
    status: Literal["in_transit"] = "in_transit"
    from_on_hand: int = Field(description="the source's on-hand units after the transfer")
    from_available: int = Field(description="the source's on-hand minus allocated units after the transfer")
    to_in_transit: int = Field(description="the destination's in-transit units after the transfer")


def derive(world: World) -> dict[str, list[dict[str, Any]]]:
    tables = world.domain_tables("inventory")
    return {
        "warehouses": tables["warehouses"],
        "stock_positions": tables["stock_positions"],
        "reorder_policies": tables["reorder_policies"],
        "open_orders": [{**order, "from_warehouse_id": None} for order in tables["open_orders"]],
    }


def _position(action: Action, warehouse_id: str, sku_id: str) -> dict[str, Any]:
    rows = action.rows("stock_positions", **_key(warehouse_id, sku_id))
    if rows:
        return rows[0]
    if not action.rows("stock_positions", sku_id=sku_id):
        raise ToolError(f"unknown SKU {sku_id!r}: no warehouse stocks it")
    raise ToolError(f"warehouse {warehouse_id} does not stock {sku_id}")


def _key(warehouse_id: str, sku_id: str) -> dict[str, Any]:
    return {"warehouse_id": warehouse_id, "sku_id": sku_id}


def _due(due_at: datetime | None, now: datetime, *, across_regions: bool) -> datetime:
    if due_at is None:
        return now + (TRANSIT_ACROSS_REGIONS if across_regions else TRANSIT_WITHIN_REGION)
    due = as_utc(due_at).replace(microsecond=0)
    if due <= now:
        raise ToolError(f"due_at {utc_text(due)} must be after now ({utc_text(now)}, the domain's as_of)")
    if due > now + TRANSFER_HORIZON:
        raise ToolError(
            f"due_at {utc_text(due)} is more than {TRANSFER_HORIZON.days} days after now ({utc_text(now)})"
        )
    return due


def register_tools(server: MCPServer, products: Products) -> None:
    @server.tool(annotations=READ_ONLY)
    def list_warehouses(region: Region | None = None, limit: Limit = 100) -> QueryResult:
        """Warehouses with their region and capacity in units."""
        return products.query("warehouses", equals={"region": region}, limit=limit)

    @server.tool(annotations=READ_ONLY)
    def get_stock_positions(
        warehouse_id: WarehouseId | None = None, sku_id: SkuId | None = None, limit: Limit = 500
    ) -> QueryResult:
        """On-hand, allocated and in-transit units per warehouse and SKU."""
        return products.query(
            "stock_positions", equals={"warehouse_id": warehouse_id, "sku_id": sku_id}, limit=limit
        )

    @server.tool(annotations=READ_ONLY)
    def get_reorder_policies(
        warehouse_id: WarehouseId | None = None, sku_id: SkuId | None = None, limit: Limit = 500
    ) -> QueryResult:
        """Service level, safety stock, reorder point and order-up-to level per warehouse and SKU."""
        return products.query(
            "reorder_policies", equals={"warehouse_id": warehouse_id, "sku_id": sku_id}, limit=limit
        )

    @server.tool(annotations=READ_ONLY)
    def query_open_orders(
        warehouse_id: WarehouseId | None = None,
        sku_id: SkuId | None = None,
        supplier_id: SupplierId | None = None,
        from_warehouse_id: WarehouseId | None = None,
        status: Literal["open", "in_transit", "delayed"] | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        limit: Limit = 500,
    ) -> QueryResult:
        """Open orders by destination warehouse, SKU, supplier (replenishment) or source warehouse
        (transfer), or status, ordered in [start, end)."""
        return products.query(
            "open_orders",
            equals={
                "warehouse_id": warehouse_id,
                "sku_id": sku_id,
                "supplier_id": supplier_id,
                "from_warehouse_id": from_warehouse_id,
                "status": status,
            },
            start=start,
            end=end,
            limit=limit,
        )

    @server.tool(annotations=ACTION)
    def transfer_stock(
        from_warehouse_id: WarehouseId,
        to_warehouse_id: WarehouseId,
        sku_id: SkuId,
        units: TransferUnits,
        due_at: datetime | None = None,
    ) -> StockTransfer:
        """Move available units (on hand minus allocated) of a SKU from one warehouse to another:
        on_hand falls at the source, in_transit rises at the destination, and the transfer becomes
        an open order there. due_at defaults to now + 3 days within a region, + 21 days across
        regions (pass the ETA of the shipment booked with logistics)."""
        if from_warehouse_id == to_warehouse_id:
            raise ToolError(f"from_warehouse_id and to_warehouse_id are both {from_warehouse_id}")
        arguments = {
            "from_warehouse_id": from_warehouse_id,
            "to_warehouse_id": to_warehouse_id,
            "sku_id": sku_id,
            "units": units,
            "due_at": due_at,
        }
        with products.act("transfer_stock", arguments) as action:
            regions = {row["warehouse_id"]: row["region"] for row in action.rows("warehouses")}
            for warehouse_id in (from_warehouse_id, to_warehouse_id):
                if warehouse_id not in regions:
                    known = ", ".join(sorted(regions))
                    raise ToolError(f"unknown warehouse {warehouse_id!r}; known warehouses: {known}")
            source = _position(action, from_warehouse_id, sku_id)
            destination = _position(action, to_warehouse_id, sku_id)
            available = source["on_hand"] - source["allocated"]
            if units > available:
                raise ToolError(
                    f"not enough stock: {from_warehouse_id} has {available} units of {sku_id} available "
                    f"(on_hand {source['on_hand']} - allocated {source['allocated']}); {units} requested"
                )
            origin, destination_region = regions[from_warehouse_id], regions[to_warehouse_id]
            due = _due(due_at, action.as_of, across_regions=origin != destination_region)
            transfer = StockTransfer(
                order_id=f"TRF-{action.seq}",
                from_warehouse_id=from_warehouse_id,
                to_warehouse_id=to_warehouse_id,
                sku_id=sku_id,
                units=units,
                lane_id=f"{origin}-{destination_region}",
                needs_shipment=origin != destination_region,
                ordered_at=action.as_of,
                due_at=due,
                from_on_hand=source["on_hand"] - units,
                from_available=available - units,
                to_in_transit=destination["in_transit"] + units,
            )
            action.insert(
                "open_orders",
                {
                    "order_id": transfer.order_id,
                    "warehouse_id": to_warehouse_id,
                    "sku_id": sku_id,
                    "supplier_id": None,
                    "from_warehouse_id": from_warehouse_id,
                    "quantity": units,
                    "ordered_at": utc_text(transfer.ordered_at),
                    "due_at": utc_text(transfer.due_at),
                    "status": transfer.status,
                },
            )
            action.increment("stock_positions", _key(from_warehouse_id, sku_id), on_hand=-units)
            action.increment("stock_positions", _key(to_warehouse_id, sku_id), in_transit=units)
        return transfer


SPEC = DomainSpec(
    domain="inventory",
    contracts_dir=Path(__file__).parent / "contracts",
    derive=derive,
    register_tools=register_tools,
    tool_products={
        "list_warehouses": ("warehouses",),
        "get_stock_positions": ("stock_positions",),
        "get_reorder_policies": ("reorder_policies",),
        "query_open_orders": ("open_orders",),
        "transfer_stock": ("stock_positions", "open_orders", "warehouses"),
    },
    instructions=(
        "Inventory data products: warehouses and capacities, stock positions per warehouse and SKU, "
        "reorder policies (safety stock, reorder point, order-up-to) and open orders (replenishment "
        "from suppliers and transfers between warehouses). transfer_stock moves stock between warehouses."
    ),
)
