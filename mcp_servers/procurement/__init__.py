"""The procurement domain: supplier scorecards, catalog, purchase orders, compliance and outages."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from mcp.server.mcpserver import MCPServer

from mcp_servers._server import READ_ONLY, DomainSpec, Limit, Products, QueryResult, Region, SkuId, SupplierId
from mesh.world import World

LaborCompliance = Literal["verified", "pending", "failed"]
FAILED_COMPLIANCE_SCORE_CAP = 20.0


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
    return {
        "supplier_scorecards": scorecards(tables["suppliers"], tables["compliance"]),
        "supplier_catalog": tables["supplier_skus"],
        "purchase_orders": tables["purchase_orders"],
        "compliance_status": tables["compliance"],
        "supply_outages": tables["supply_outages"],
    }


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
        supplier_id: SupplierId | None = None, sku_id: SkuId | None = None, limit: Limit = 500
    ) -> QueryResult:
        """Which supplier sells which SKU, at what unit price."""
        return products.query(
            "supplier_catalog", equals={"supplier_id": supplier_id, "sku_id": sku_id}, limit=limit
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


SPEC = DomainSpec(
    domain="procurement",
    contracts_dir=Path(__file__).parent / "contracts",
    derive=derive,
    register_tools=register_tools,
    instructions=(
        "Procurement data products: supplier scorecards, the supplier catalog with prices, purchase "
        "orders, labor-compliance and tier-2 transparency status, and known supply outages."
    ),
)
