"""What every domain's MCP server shares: refresh, the product resources, query plumbing."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated, Any, Literal

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ResourceNotFoundError, ToolError
from mcp_types import ToolAnnotations
from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import Request
from starlette.responses import JSONResponse

from mesh.dataproducts import DataProductContract, QualityReport, assess_quality, load_contracts
from mesh.world import World

from ._store import DomainStore, Window

SNAPSHOT_ROWS = 1000
MAX_ROWS = 5000

READ_ONLY = ToolAnnotations(read_only_hint=True, idempotent_hint=True, open_world_hint=False)
"""Every query tool only reads its domain's own store."""

Region = Literal["NA", "EU", "APAC"]
SkuId = Annotated[str, Field(pattern=r"^SKU-\d{2}$", description="SKU id, e.g. SKU-07")]
SupplierId = Annotated[
    str, Field(pattern=r"^SUP-(NA|EU|APAC)-\d+$", description="supplier id, e.g. SUP-NA-2")
]
Limit = Annotated[int, Field(ge=1, le=MAX_ROWS, description=f"most rows to return (1 to {MAX_ROWS})")]

Derive = Callable[[World], Mapping[str, list[dict[str, Any]]]]
"""Turns the world's slice for one domain into rows per product name."""


class QueryResult(BaseModel):
    """Rows of one data product; `truncated` says more matched than `limit` allowed."""

    model_config = ConfigDict(frozen=True)

    product_id: str
    version: str
    as_of: datetime
    returned: int
    total_matching: int
    truncated: bool
    rows: list[dict[str, Any]]


@dataclass(frozen=True)
class DomainSpec:
    """One domain's MCP server: its contracts, how it derives its products, and its query tools."""

    domain: str
    contracts_dir: Path
    derive: Derive
    register_tools: Callable[[MCPServer, Products], None]
    instructions: str


class Products:
    """A domain's contracts over its store, for resources and query tools."""

    def __init__(self, contracts: list[DataProductContract], store: DomainStore) -> None:
        self.contracts = {c.name: c for c in contracts}
        self._by_id = {c.id: c for c in contracts}
        self.store = store

    def contract(self, product_id: str) -> DataProductContract:
        try:
            return self._by_id[product_id]
        except KeyError:
            raise ResourceNotFoundError(f"no data product {product_id!r} here") from None

    def quality(self, product_id: str) -> QualityReport:
        refresh = self.store.last_refresh(product_id)
        if refresh is None:
            raise ResourceNotFoundError(f"data product {product_id!r} has not been refreshed yet")
        return refresh.quality

    def query(
        self,
        name: str,
        *,
        limit: int,
        equals: Mapping[str, Any] | None = None,
        start: datetime | date | None = None,
        end: datetime | date | None = None,
        newest_first: bool = False,
    ) -> QueryResult:
        """Query one product; a window with start not before end is the caller's error."""
        contract = self.contracts[name]
        if start is not None and end is not None and start >= end:
            raise ToolError(f"start ({start.isoformat()}) must be before end ({end.isoformat()})")
        window = Window(_as_field_text(contract, start), _as_field_text(contract, end))
        rows, total = self.store.query(
            contract, equals=equals, window=window, limit=limit, newest_first=newest_first
        )
        return QueryResult(
            product_id=contract.id,
            version=contract.version,
            as_of=self.quality(contract.id).as_of,
            returned=len(rows),
            total_matching=total,
            truncated=total > len(rows),
            rows=rows,
        )


def _as_field_text(contract: DataProductContract, moment: datetime | date | None) -> str | None:
    """Render a window bound the way the product stores its time field, so text order is time order."""
    if moment is None or contract.time_field is None:
        return None
    if contract.columns[contract.time_field].get("format") == "date":
        return (moment.date() if isinstance(moment, datetime) else moment).isoformat()
    if not isinstance(moment, datetime):
        moment = datetime(moment.year, moment.month, moment.day, tzinfo=UTC)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def refresh(spec: DomainSpec, store: DomainStore, world: World) -> dict[str, QualityReport]:
    """Derive every product from the world, check its quality, and replace the store's contents.

    Products whose rows are missing from `derive` stop the refresh: a contract with no data is
    a defect of the domain, not something to serve quietly.
    """
    contracts = load_contracts(spec.contracts_dir, owner=spec.domain)
    derived = spec.derive(world)
    missing = sorted(c.name for c in contracts if c.name not in derived)
    if missing:
        raise RuntimeError(f"{spec.domain}: no rows derived for contracted products {missing}")
    refreshed_at = datetime.now(UTC)
    rows_by_contract = [(c, derived[c.name]) for c in contracts]
    reports = {
        c.id: assess_quality(c, rows, as_of=world.as_of, refreshed_at=refreshed_at)
        for c, rows in rows_by_contract
    }
    store.replace(rows_by_contract, reports, source=f"world seed={world.seed} scenario={world.scenario}")
    return reports


def build_server(spec: DomainSpec, store: DomainStore) -> MCPServer:
    """The domain's MCP server: catalog, per-product resources, query tools and /healthz."""
    products = Products(load_contracts(spec.contracts_dir, owner=spec.domain), store)
    server: MCPServer = MCPServer(
        name=f"mesh-{spec.domain}",
        title=f"{spec.domain.capitalize()} data products",
        instructions=spec.instructions,
        version="0.1.0",
    )

    @server.resource(
        f"catalog://{spec.domain}",
        name=f"{spec.domain}-catalog",
        description=f"Every {spec.domain} data product with its contract and latest quality report",
        mime_type="application/json",
    )
    def catalog() -> str:
        entries = [
            {"contract": _contract_json(c), "quality": products.quality(c.id).model_dump(mode="json")}
            for c in products.contracts.values()
        ]
        return json.dumps({"domain": spec.domain, "products": entries})

    for contract in products.contracts.values():
        _register_product_resources(server, products, contract)
    spec.register_tools(server, products)

    @server.custom_route("/healthz", methods=["GET"], include_in_schema=False)  # type: ignore[untyped-decorator]
    async def healthz(_: Request) -> JSONResponse:
        stale = [c.id for c in products.contracts.values() if store.last_refresh(c.id) is None]
        body = {"domain": spec.domain, "products": len(products.contracts), "unrefreshed": stale}
        return JSONResponse(body, status_code=503 if stale else 200)

    return server


def _register_product_resources(server: MCPServer, products: Products, contract: DataProductContract) -> None:
    base = f"dataproduct://{contract.id}"
    product_id = contract.id

    def contract_resource() -> str:
        return json.dumps(_contract_json(contract))

    def schema_resource() -> str:
        return json.dumps(contract.row_schema)

    def quality_resource() -> str:
        return products.quality(product_id).model_dump_json()

    def snapshot_resource() -> str:
        result = products.query(
            contract.name, limit=SNAPSHOT_ROWS, newest_first=contract.time_field is not None
        )
        return result.model_dump_json()

    for suffix, handler, description in (
        ("contract", contract_resource, "the data-product contract"),
        ("schema", schema_resource, "JSON Schema of one row"),
        ("snapshot", snapshot_resource, f"latest rows (at most {SNAPSHOT_ROWS}, newest first)"),
        ("quality", quality_resource, "quality report of the latest refresh against the contract"),
    ):
        server.resource(
            f"{base}/{suffix}",
            name=f"{contract.id}.{suffix}",
            title=f"{contract.title}: {suffix}",
            description=f"{contract.title}: {description}",
            mime_type="application/json",
        )(handler)


def _contract_json(contract: DataProductContract) -> dict[str, Any]:
    return contract.model_dump(mode="json", by_alias=True)
