"""Identifiers and quantities as the domains' tools take them.

They mirror the domain servers' argument types in `mcp_servers` rather than importing them: an
agent is a client of the domains and starts without their server package (which loads the MCP
server stack, and which tests replace). `tests/agents/test_logic.py` checks that both agree.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

Region = Literal["NA", "EU", "APAC"]
SkuId = Annotated[str, Field(pattern=r"^SKU-\d{2}$", description="SKU id, e.g. SKU-07")]
SupplierId = Annotated[
    str, Field(pattern=r"^SUP-(NA|EU|APAC)-\d+$", description="supplier id, e.g. SUP-NA-2")
]
WarehouseId = Annotated[
    str, Field(pattern=r"^WH-(NA|EU|APAC)-\d+$", description="warehouse id, e.g. WH-EU-1")
]
LaneId = Annotated[str, Field(pattern=r"^(NA|EU|APAC)-(NA|EU|APAC)$", description="lane id, e.g. NA-EU")]
CarrierId = Annotated[str, Field(pattern=r"^CAR-\d+$", description="carrier id, e.g. CAR-3")]
TransferUnits = Annotated[int, Field(ge=1, le=100_000, description="units to move (1 to 100,000)")]
ShipmentUnits = Annotated[int, Field(ge=1, le=100_000, description="units to ship (1 to 100,000)")]
OrderQuantity = Annotated[int, Field(ge=1, le=1_000_000, description="units to order (1 to 1,000,000)")]
