"""The demand domain: SKU master, hourly demand history, forecast and forecast accuracy."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from mcp.server.mcpserver import MCPServer

from mcp_servers._server import READ_ONLY, DomainSpec, Limit, Products, QueryResult, Region, SkuId
from mesh.world import World

from ._forecast import METHOD, backtest, holt_winters

HORIZON_DAYS = 14
HOLDOUT_DAYS = 7


def derive(world: World) -> dict[str, list[dict[str, Any]]]:
    tables = world.domain_tables("demand")
    daily: dict[tuple[str, str], dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for row in tables["hourly_demand"]:
        daily[(row["sku_id"], row["region"])][row["ts"][:10]] += row["units"]
    generated_at = world.as_of.strftime("%Y-%m-%dT%H:%M:%SZ")
    first_day = world.as_of.date()
    forecast: list[dict[str, Any]] = []
    accuracy: list[dict[str, Any]] = []
    for (sku_id, region), by_day in sorted(daily.items()):
        days = sorted(by_day)
        series = [by_day[d] for d in days]
        result = holt_winters(series, HORIZON_DAYS)
        for h in range(HORIZON_DAYS):
            forecast.append(
                {
                    "sku_id": sku_id,
                    "region": region,
                    "date": (first_day + timedelta(days=h)).isoformat(),
                    "units": round(result.point[h], 3),
                    "lower": round(result.lower[h], 3),
                    "upper": round(result.upper[h], 3),
                    "method": METHOD,
                    "generated_at": generated_at,
                }
            )
        mape, bias = backtest(series, HOLDOUT_DAYS)
        accuracy.append(
            {
                "sku_id": sku_id,
                "region": region,
                "evaluated_from": days[-HOLDOUT_DAYS],
                "evaluated_to": days[-1],
                "horizon_days": HOLDOUT_DAYS,
                "mape": round(mape, 4),
                "bias": round(bias, 4),
                "method": METHOD,
            }
        )
    return {
        "skus": tables["skus"],
        "hourly_demand": tables["hourly_demand"],
        "forecast": forecast,
        "forecast_accuracy": accuracy,
    }


def register_tools(server: MCPServer, products: Products) -> None:
    @server.tool(annotations=READ_ONLY)
    def get_skus(
        category: str | None = None, critical_material: bool | None = None, limit: Limit = 100
    ) -> QueryResult:
        """SKUs of the product master, optionally only one category or only critical-material SKUs."""
        return products.query(
            "skus", equals={"category": category, "critical_material": critical_material}, limit=limit
        )

    @server.tool(annotations=READ_ONLY)
    def query_hourly_demand(
        sku_id: SkuId | None = None,
        region: Region | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        limit: Limit = 500,
    ) -> QueryResult:
        """Hourly units demanded per SKU and region in [start, end) (UTC), oldest first."""
        return products.query(
            "hourly_demand", equals={"sku_id": sku_id, "region": region}, start=start, end=end, limit=limit
        )

    @server.tool(annotations=READ_ONLY)
    def get_forecast(
        sku_id: SkuId | None = None,
        region: Region | None = None,
        start_date: date | None = None,
        end_date: date | None = None,
        limit: Limit = 500,
    ) -> QueryResult:
        """Daily forecast units with a 95% interval per SKU and region, for days in [start_date, end_date)."""
        return products.query(
            "forecast",
            equals={"sku_id": sku_id, "region": region},
            start=start_date,
            end=end_date,
            limit=limit,
        )

    @server.tool(annotations=READ_ONLY)
    def get_forecast_accuracy(
        sku_id: SkuId | None = None, region: Region | None = None, limit: Limit = 100
    ) -> QueryResult:
        """Back-tested forecast accuracy (MAPE and relative bias over 7 days) per SKU and region."""
        return products.query("forecast_accuracy", equals={"sku_id": sku_id, "region": region}, limit=limit)


SPEC = DomainSpec(
    domain="demand",
    contracts_dir=Path(__file__).parent / "contracts",
    derive=derive,
    register_tools=register_tools,
    tool_products={
        "get_skus": ("skus",),
        "query_hourly_demand": ("hourly_demand",),
        "get_forecast": ("forecast",),
        "get_forecast_accuracy": ("forecast_accuracy",),
    },
    instructions=(
        "Demand data products: the SKU master, hourly demand history per SKU and region, a 14-day "
        "daily forecast with intervals, and the forecast's back-tested accuracy. Read contracts and "
        "quality at dataproduct://demand.<product>/contract and /quality; query with the tools."
    ),
)
