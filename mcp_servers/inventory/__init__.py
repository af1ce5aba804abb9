"""The inventory domain: warehouses, stock positions, reorder policies and open orders."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, Literal

from mcp.server.mcpserver import MCPServer
from pydantic import Field

from mcp_servers._server import READ_ONLY, DomainSpec, Limit, Products, QueryResult, Region, SkuId, SupplierId
from mesh.world import World

WarehouseId = Annotated[
    str, Field(pattern=r"^WH-(NA|EU|APAC)-\d+$", description="warehouse id, e.g. WH-EU-1")
]


def derive(world: World) -> dict[str, list[dict[str, Any]]]:
    tables = world.domain_tables("inventory")
    return {
        name: tables[name] for name in ("warehouses", "stock_positions", "reorder_policies", "open_orders")
    }


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
        status: Literal["open", "in_transit", "delayed"] | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        limit: Limit = 500,
    ) -> QueryResult:
        """Open replenishment orders by warehouse, SKU, supplier or status, ordered in [start, end)."""
        return products.query(
            "open_orders",
            equals={
                "warehouse_id": warehouse_id,
                "sku_id": sku_id,
                "supplier_id": supplier_id,
                "status": status,
            },
            start=start,
            end=end,
            limit=limit,
        )


SPEC = DomainSpec(
    domain="inventory",
    contracts_dir=Path(__file__).parent / "contracts",
    derive=derive,
    register_tools=register_tools,
    instructions=(
        "Inventory data products: warehouses and capacities, stock positions per warehouse and SKU, "
        "reorder policies (safety stock, reorder point, order-up-to) and open replenishment orders."
    ),
)
