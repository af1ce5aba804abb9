"""The procurement domain: supplier scorecards, catalog, purchase orders, compliance and outages;
quoting and placing purchase orders."""

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
    SupplierId,
    utc_text,
)
from mesh.world import World

LaborCompliance = Literal["verified", "pending", "failed"]
FAILED_COMPLIANCE_SCORE_CAP = 20.0
OrderQuantity = Annotated[int, Field(ge=1, le=1_000_000, description="units to order (1 to 1,000,000)")]


class PurchaseOrderFigures(BaseModel):
    model_config = ConfigDict(frozen=True)

    supplier_id: str
    sku_id: str
    quantity: int
    unit_price: float = Field(description="the supplier's catalog price for the SKU")
    order_value: float = Field(description="quantity x unit_price, rounded to cents")
    lead_time_days: float = Field(description="the supplier's mean lead time")
    promised_at: datetime = Field(description="now (the world's as_of) + lead_time_days")


class PurchaseOrderQuote(PurchaseOrderFigures):
    """What place_purchase_order would order, with the facts policy decides on."""

    supplier_region: Region
    is_new: bool = Field(description="a supplier onboarded recently (labor compliance must be verified)")
    labor_compliance: LaborCompliance
    tier2_transparency: float = Field(description="share of the supplier's tier-2 sources disclosed (0-1)")
    critical_material: bool = Field(description="the SKU is classified a critical material by procurement")


class PlacedPurchaseOrder(PurchaseOrderFigures):
    """A placed purchase order, now a row of `procurement.purchase_orders` with status `open`."""

    po_id: str = Field(description="PO-N-<n>, n numbering the domain's actions")
    ordered_at: datetime
    status: Literal["open"] = "open"


def scorecards(suppliers: list[dict[str, Any]], compliance: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Score = 40 x on-time rate + 30 x lead-time rank + 30 x cost rank; failed compliance caps it at 20.

    Ranks are min-max scaled across all suppliers so that the fastest and cheapest score 1.
    """
    audits = {row["supplier_id"]: row for row in compliance}
    lead_times = [s["lead_time_days"] for s in suppliers]
    costs = [s["unit_cost_index"] for s in suppliers]
    cards = []
    for supplier in suppliers:
        audit = audits[supplier["supplier_id"]]
        score = (
            40 * supplier["on_time_rate"]
            + 30 * _inverse_rank(supplier["lead_time_days"], lead_times)
            + 30 * _inverse_rank(supplier["unit_cost_index"], costs)
        )
        if audit["labor_compliance"] == "failed":
            score = min(score, FAILED_COMPLIANCE_SCORE_CAP)
        cards.append(
            {
                **supplier,
                "labor_compliance": audit["labor_compliance"],
                "tier2_transparency": audit["tier2_transparency"],
                "score": round(score, 2),
            }
        )
    return cards


def _inverse_rank(value: float, population: list[float]) -> float:
    low, high = min(population), max(population)
    return 1.0 if high == low else (high - value) / (high - low)


def derive(world: World) -> dict[str, list[dict[str, Any]]]:
    tables = world.domain_tables("procurement")
    critical = {sku.sku_id for sku in world.skus if sku.critical_material}
    return {
        "supplier_scorecards": scorecards(tables["suppliers"], tables["compliance"]),
        "supplier_catalog": [
            {**offer, "critical_material": offer["sku_id"] in critical} for offer in tables["supplier_skus"]
        ],
        "purchase_orders": tables["purchase_orders"],
        "compliance_status": tables["compliance"],
        "supply_outages": tables["supply_outages"],
    }


def quote_purchase_order_figures(
    reader: ProductReader, supplier_id: str, sku_id: str, quantity: int
) -> PurchaseOrderQuote:
    """Price an order from the supplier's catalog entry; an unknown supplier or SKU, or a supplier
    that does not sell the SKU, is a ToolError."""
    suppliers = reader.rows("supplier_scorecards", supplier_id=supplier_id)
    if not suppliers:
        known = sorted(row["supplier_id"] for row in reader.rows("supplier_scorecards"))
        raise ToolError(f"unknown supplier {supplier_id!r}; known suppliers: {', '.join(known)}")
    offers = reader.rows("supplier_catalog", sku_id=sku_id)
    if not offers:
        raise ToolError(f"unknown SKU {sku_id!r}: no supplier in the catalog sells it")
    offer = next((row for row in offers if row["supplier_id"] == supplier_id), None)
    if offer is None:
        sellers = ", ".join(row["supplier_id"] for row in offers)
        raise ToolError(f"supplier {supplier_id} does not sell {sku_id}; suppliers of {sku_id}: {sellers}")
    supplier = suppliers[0]
    return PurchaseOrderQuote(
        supplier_id=supplier_id,
        sku_id=sku_id,
        quantity=quantity,
        unit_price=offer["unit_price"],
        order_value=round(quantity * offer["unit_price"], 2),
        lead_time_days=supplier["lead_time_days"],
        promised_at=(reader.as_of + timedelta(days=supplier["lead_time_days"])).replace(microsecond=0),
        supplier_region=supplier["region"],
        is_new=supplier["is_new"],
        labor_compliance=supplier["labor_compliance"],
        tier2_transparency=supplier["tier2_transparency"],
        critical_material=offer["critical_material"],
    )


def register_tools(server: MCPServer, products: Products) -> None:
    @server.tool(annotations=READ_ONLY)
    def get_supplier_scorecards(
        region: Region | None = None,
        labor_compliance: LaborCompliance | None = None,
        is_new: bool | None = None,
        limit: Limit = 100,
    ) -> QueryResult:
        """Supplier scorecards: lead time, on-time rate, cost index, compliance and a 0-100 score."""
        return products.query(
            "supplier_scorecards",
            equals={"region": region, "labor_compliance": labor_compliance, "is_new": is_new},
            limit=limit,
        )

    @server.tool(annotations=READ_ONLY)
    def get_supplier_catalog(
        supplier_id: SupplierId | None = None,
        sku_id: SkuId | None = None,
        critical_material: bool | None = None,
        limit: Limit = 500,
    ) -> QueryResult:
        """Which supplier sells which SKU, at what unit price, and whether the SKU is a critical material."""
        return products.query(
            "supplier_catalog",
            equals={"supplier_id": supplier_id, "sku_id": sku_id, "critical_material": critical_material},
            limit=limit,
        )

    @server.tool(annotations=READ_ONLY)
    def query_purchase_orders(
        supplier_id: SupplierId | None = None,
        sku_id: SkuId | None = None,
        status: Literal["open", "received", "late"] | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        limit: Limit = 500,
    ) -> QueryResult:
        """Purchase orders by supplier, SKU or status, ordered in [start, end) (UTC), oldest first."""
        return products.query(
            "purchase_orders",
            equals={"supplier_id": supplier_id, "sku_id": sku_id, "status": status},
            start=start,
            end=end,
            limit=limit,
        )

    @server.tool(annotations=READ_ONLY)
    def get_compliance_status(
        supplier_id: SupplierId | None = None, labor_compliance: LaborCompliance | None = None
    ) -> QueryResult:
        """Labor-compliance status, last audit, tier-2 transparency and critical materials per supplier."""
        return products.query(
            "compliance_status",
            equals={"supplier_id": supplier_id, "labor_compliance": labor_compliance},
            limit=100,
        )

    @server.tool(annotations=READ_ONLY)
    def list_supply_outages(region: Region | None = None) -> QueryResult:
        """Known supply outages (region, supplier, start, expected end, reason); empty when there are none."""
        return products.query("supply_outages", equals={"region": region}, limit=100)

    @server.tool(annotations=READ_ONLY)
    def quote_purchase_order(
        supplier_id: SupplierId, sku_id: SkuId, quantity: OrderQuantity
    ) -> PurchaseOrderQuote:
        """What place_purchase_order would order (unit price, value, promised date), with the
        supplier's labor compliance, newness and tier-2 transparency and whether the SKU is a
        critical material, without placing it."""
        return quote_purchase_order_figures(products, supplier_id, sku_id, quantity)

    @server.tool(annotations=ACTION)
    def place_purchase_order(
        supplier_id: SupplierId, sku_id: SkuId, quantity: OrderQuantity
    ) -> PlacedPurchaseOrder:
        """Place a purchase order with a supplier at its catalog price: adds it to purchase_orders
        (status open, promised after the supplier's lead time) and returns it."""
        arguments = {"supplier_id": supplier_id, "sku_id": sku_id, "quantity": quantity}
        with products.act("place_purchase_order", arguments) as action:
            figures = quote_purchase_order_figures(action, supplier_id, sku_id, quantity)
            order = PlacedPurchaseOrder(
                **figures.model_dump(include=set(PurchaseOrderFigures.model_fields)),
                po_id=f"PO-N-{action.seq}",
                ordered_at=action.as_of,
            )
            action.insert(
                "purchase_orders",
                {
                    "po_id": order.po_id,
                    "supplier_id": supplier_id,
                    "sku_id": sku_id,
                    "quantity": quantity,
                    "unit_price": order.unit_price,
                    "ordered_at": utc_text(order.ordered_at),
                    "promised_at": utc_text(order.promised_at),
                    "status": order.status,
                },
            )
        return order


SPEC = DomainSpec(
    domain="procurement",
    contracts_dir=Path(__file__).parent / "contracts",
    derive=derive,
    register_tools=register_tools,
    tool_products={
        "get_supplier_scorecards": ("supplier_scorecards",),
        "get_supplier_catalog": ("supplier_catalog",),
        "query_purchase_orders": ("purchase_orders",),
        "get_compliance_status": ("compliance_status",),
        "list_supply_outages": ("supply_outages",),
        "quote_purchase_order": ("supplier_catalog", "supplier_scorecards", "compliance_status"),
        "place_purchase_order": ("purchase_orders", "supplier_catalog", "compliance_status"),
    },
    instructions=(
        "Procurement data products: supplier scorecards, the supplier catalog with prices and "
        "critical-material flags, purchase orders, labor-compliance and tier-2 transparency status, "
        "and known supply outages. quote_purchase_order prices an order; place_purchase_order places it."
    ),
)
