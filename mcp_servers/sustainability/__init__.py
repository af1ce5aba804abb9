"""The sustainability domain: emission factors, the emissions ledger and carbon budget status."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, Literal

from mcp.server.mcpserver import MCPServer
from pydantic import Field

from mcp_servers._server import READ_ONLY, DomainSpec, Limit, Products, QueryResult, Region
from mesh.world import World

WARNING_UTILIZATION = 0.9
"""At or above this share of the annual budget the status is `warning`; above 1.0, `exceeded`."""


def budget_status(utilization: float) -> str:
    if utilization > 1.0:
        return "exceeded"
    return "warning" if utilization >= WARNING_UTILIZATION else "ok"


def derive(world: World) -> dict[str, list[dict[str, Any]]]:
    tables = world.domain_tables("sustainability")
    status = []
    for budget in tables["carbon_budgets"]:
        utilization = budget["spent_kg"] / budget["budget_kg"]
        status.append(
            {
                "year": budget["year"],
                "region": budget["region"],
                "budget_kg": budget["budget_kg"],
                "spent_kg": budget["spent_kg"],
                "remaining_kg": round(budget["budget_kg"] - budget["spent_kg"], 3),
                "utilization": round(utilization, 4),
                "status": budget_status(utilization),
                "as_of": budget["as_of"],
            }
        )
    return {
        "emission_factors": tables["emission_factors"],
        "emissions": tables["emissions"],
        "carbon_budget_status": status,
    }


def register_tools(server: MCPServer, products: Products) -> None:
    @server.tool(annotations=READ_ONLY)
    def get_emission_factors(mode: Literal["road", "rail", "ocean", "air"] | None = None) -> QueryResult:
        """CO2e per unit and kilometre by transport mode, with the factor's source."""
        return products.query("emission_factors", equals={"mode": mode}, limit=100)

    @server.tool(annotations=READ_ONLY)
    def query_emissions(
        region: Region | None = None,
        scope: Literal["scope1", "scope2", "scope3"] | None = None,
        source: Literal["transport", "warehouse_energy"] | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        limit: Limit = 500,
    ) -> QueryResult:
        """Emission entries by region, scope or source in [start, end) (UTC), oldest first."""
        return products.query(
            "emissions",
            equals={"region": region, "scope": scope, "source": source},
            start=start,
            end=end,
            limit=limit,
        )

    @server.tool(annotations=READ_ONLY)
    def get_carbon_budget_status(
        region: Region | None = None, year: Annotated[int, Field(ge=2000, le=2100)] | None = None
    ) -> QueryResult:
        """Annual carbon budget, spent, remaining, utilization and status (ok/warning/exceeded) per region."""
        return products.query("carbon_budget_status", equals={"region": region, "year": year}, limit=100)


SPEC = DomainSpec(
    domain="sustainability",
    contracts_dir=Path(__file__).parent / "contracts",
    derive=derive,
    register_tools=register_tools,
    tool_products={
        "get_emission_factors": ("emission_factors",),
        "query_emissions": ("emissions",),
        "get_carbon_budget_status": ("carbon_budget_status",),
    },
    instructions=(
        "Sustainability data products: emission factors by transport mode, the emissions ledger, "
        "and each region's annual carbon budget status (warning within 10% of the budget)."
    ),
)
