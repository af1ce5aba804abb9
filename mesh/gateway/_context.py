"""The facts policy needs about an action, looked up from the domains' own data products.

Actions are judged on what they would do: a shipment on the CO2e it adds to its origin region's
carbon budget, a purchase order on its supplier's compliance and its value. The gateway asks the
owning domains (their quote tools and products) with its own credential; if a fact cannot be
established the call is denied (fail closed), never waved through.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from mesh.gateway._directory import UpstreamDirectory
from mesh.policy import CarbonFacts, ImpactFacts, PolicyContext, SupplierFacts

FactFinder = Callable[[UpstreamDirectory, dict[str, Any]], Awaitable[PolicyContext]]


class FactsUnavailableError(LookupError):
    """A fact policy needs could not be established; the call must not proceed."""


async def _shipment(directory: UpstreamDirectory, arguments: dict[str, Any]) -> PolicyContext:
    quote = await directory.call_tool(
        "logistics",
        "quote_shipment",
        {key: arguments[key] for key in ("carrier_id", "lane_id", "units") if key in arguments},
    )
    region = str(quote["origin_region"])
    status = await directory.call_tool("sustainability", "get_carbon_budget_status", {"region": region})
    rows = sorted(status["rows"], key=lambda row: row["year"])
    if not rows:
        raise FactsUnavailableError(f"no carbon budget for {region}")
    budget = rows[-1]
    return PolicyContext(
        carbon=CarbonFacts(
            region=region,
            budget_kg=float(budget["budget_kg"]),
            spent_kg=float(budget["spent_kg"]),
            projected_kg=float(quote["co2e_kg"]),
        ),
        impact=ImpactFacts(order_value=float(quote["cost"]), units=int(quote["units"])),
    )


async def _purchase_order(directory: UpstreamDirectory, arguments: dict[str, Any]) -> PolicyContext:
    quote = await directory.call_tool(
        "procurement",
        "quote_purchase_order",
        {key: arguments[key] for key in ("supplier_id", "sku_id", "quantity") if key in arguments},
    )
    return PolicyContext(
        supplier=SupplierFacts(
            supplier_id=str(quote["supplier_id"]),
            labor_compliance=quote["labor_compliance"],
            is_new=bool(quote["is_new"]),
            tier2_transparency=float(quote["tier2_transparency"]),
            critical_material=bool(quote["critical_material"]),
        ),
        impact=ImpactFacts(order_value=float(quote["order_value"]), units=int(quote["quantity"])),
    )


async def _transfer(directory: UpstreamDirectory, arguments: dict[str, Any]) -> PolicyContext:
    regions = sorted(
        {
            str(arguments[key]).split("-")[1]
            for key in ("from_warehouse_id", "to_warehouse_id")
            if isinstance(arguments.get(key), str) and str(arguments[key]).count("-") >= 2
        }
    )
    units = arguments.get("units")
    return PolicyContext(
        impact=ImpactFacts(units=units if isinstance(units, int) else None, affected_regions=regions)
    )


FACT_FINDERS: dict[tuple[str, str], FactFinder] = {
    ("logistics", "book_shipment"): _shipment,
    ("procurement", "place_purchase_order"): _purchase_order,
    ("inventory", "transfer_stock"): _transfer,
}


async def action_context(
    directory: UpstreamDirectory, domain: str, tool: str | None, arguments: dict[str, Any]
) -> PolicyContext:
    """The policy context of a call: the facts of a known action, an empty context otherwise."""
    finder = FACT_FINDERS.get((domain, tool or ""))
    if finder is None:
        return PolicyContext()
    try:
        return await finder(directory, arguments)
    except FactsUnavailableError:
        raise
    except Exception as error:
        raise FactsUnavailableError(f"{domain}.{tool}: {error}") from error
