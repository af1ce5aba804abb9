"""What every domain's MCP server shares: refresh, the product resources, query and action plumbing."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated, Any, Literal, Protocol

from mcp.server.auth.settings import AuthSettings
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ResourceNotFoundError, ToolError
from mcp_types import ToolAnnotations
from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field
from pydantic_core import to_jsonable_python
from starlette.requests import Request
from starlette.responses import JSONResponse

from mesh.dataproducts import DataProductContract, QualityReport, assess_quality, load_contracts
from mesh.identity import MCPTokenVerifier, TokenVerifier
from mesh.world import World

from ._actions import ActionEffect, ActionRecord, RowIncrement, RowInsert
from ._store import DomainStore, Refresh, StoreTransaction, StoreWriteError, Window

SNAPSHOT_ROWS = 1000
MAX_ROWS = 5000

READ_ONLY = ToolAnnotations(read_only_hint=True, idempotent_hint=True, open_world_hint=False)
"""Every query and quote tool only reads its domain's own store."""
ACTION = ToolAnnotations(
    read_only_hint=False, destructive_hint=False, idempotent_hint=False, open_world_hint=False
)
"""Every action tool adds to its domain's own store (a new row, moved counters), never deletes,
and does it again when called again."""

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
    """One domain's MCP server: its contracts, how it derives its products, and its tools."""

    domain: str
    contracts_dir: Path
    derive: Derive
    register_tools: Callable[[MCPServer, Products], None]
    instructions: str
    tool_products: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """The products each tool reads or writes (by name); published in the tool's `_meta` so that
    the gateway can require each product's access scope. Every tool must be listed."""


class ProductReader(Protocol):
    """Rows of a domain's products and the domain clock, inside an action or outside any."""

    @property
    def as_of(self) -> datetime: ...

    def rows(self, name: str, **equals: Any) -> list[dict[str, Any]]: ...


class Products:
    """A domain's contracts over its store, for resources, query, quote and action tools."""

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
        return self._refreshed(product_id).quality

    @property
    def as_of(self) -> datetime:
        """The domain clock: the instant the latest refresh describes (the world's as_of)."""
        return self.quality(next(iter(self._by_id))).as_of

    def rows(self, name: str, **equals: Any) -> list[dict[str, Any]]:
        """Rows of one product matching every filter (None ignored), at most MAX_ROWS, in key order."""
        contract = self.contracts[name]
        self._refreshed(contract.id)
        rows, _ = self.store.query(contract, equals=equals, limit=MAX_ROWS)
        return rows

    @contextmanager
    def act(self, kind: str, arguments: Mapping[str, Any]) -> Iterator[Action]:
        """One action tool call as one store transaction (see `DomainStore.transaction`).

        The block reads what it depends on through the `Action` and adds its rows and increments;
        when it ends, they are logged with `kind` and `arguments` and applied, all committed
        together. A ToolError (or anything else) raised in the block leaves the store untouched.
        """
        with self.store.transaction(self.contracts.values()) as transaction:
            refresh = transaction.latest_refresh()
            if refresh is None:
                raise ToolError("this domain's data products have not been refreshed yet; try again shortly")
            action = Action(transaction, seq=transaction.next_action_seq(), as_of=refresh.as_of)
            yield action
            transaction.record_action(
                ActionRecord(
                    seq=action.seq,
                    kind=kind,
                    world=refresh.source,
                    taken_at=datetime.now(UTC),
                    arguments=to_jsonable_python(arguments),
                    effect=action.effect,
                )
            )

    def _refreshed(self, product_id: str) -> Refresh:
        refresh = self.store.last_refresh(product_id)
        if refresh is None:
            raise ResourceNotFoundError(f"data product {product_id!r} has not been refreshed yet")
        return refresh

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


class Action:
    """An action in progress (made by `Products.act`): reads under the store's write lock, and the
    rows it will add and counters it will move when its block ends."""

    def __init__(self, transaction: StoreTransaction, *, seq: int, as_of: datetime) -> None:
        self._transaction = transaction
        self.seq = seq
        """This action's place in the domain's log; number the ids it creates with it."""
        self.as_of = as_of
        self._inserts: list[RowInsert] = []
        self._increments: list[RowIncrement] = []

    def rows(self, name: str, **equals: Any) -> list[dict[str, Any]]:
        return self._transaction.rows(name, equals)

    def insert(self, product: str, row: dict[str, Any]) -> None:
        self._inserts.append(RowInsert(product=product, row=row))

    def increment(self, product: str, key: dict[str, Any], **deltas: int | float) -> None:
        self._increments.append(RowIncrement(product=product, key=key, deltas=deltas))

    @property
    def effect(self) -> ActionEffect:
        return ActionEffect(inserts=self._inserts, increments=self._increments)


def utc_text(moment: datetime) -> str:
    """A UTC instant as products store it: `2026-02-02T00:00:00Z` (naive means UTC)."""
    return as_utc(moment).strftime("%Y-%m-%dT%H:%M:%SZ")


def as_utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def world_source(world: World) -> str:
    """How a refresh names the world it came from; actions are tied to it."""
    return f"world seed={world.seed} scenario={world.scenario}"


def _as_field_text(contract: DataProductContract, moment: datetime | date | None) -> str | None:
    """Render a window bound the way the product stores its time field, so text order is time order."""
    if moment is None or contract.time_field is None:
        return None
    if contract.columns[contract.time_field].get("format") == "date":
        return (moment.date() if isinstance(moment, datetime) else moment).isoformat()
    if not isinstance(moment, datetime):
        moment = datetime(moment.year, moment.month, moment.day, tzinfo=UTC)
    return utc_text(moment)


def refresh(spec: DomainSpec, store: DomainStore, world: World) -> dict[str, QualityReport]:
    """Derive every product from the world, apply the actions taken in that world, check each
    product's quality, and replace the store's contents, all in one transaction.

    Products whose rows are missing from `derive` stop the refresh: a contract with no data is
    a defect of the domain, not something to serve quietly. So does a logged action that no longer
    applies to the world it was taken in. Actions taken in another world (seed or scenario) stay in
    the log, unapplied, until the store is refreshed from that world again.
    """
    contracts = load_contracts(spec.contracts_dir, owner=spec.domain)
    derived = spec.derive(world)
    missing = sorted(c.name for c in contracts if c.name not in derived)
    if missing:
        raise RuntimeError(f"{spec.domain}: no rows derived for contracted products {missing}")
    source = world_source(world)
    refreshed_at = datetime.now(UTC)
    with store.transaction(contracts) as transaction:
        actions = transaction.actions(world=source)
        for contract in contracts:
            transaction.replace_rows(contract.name, derived[contract.name])
        for action in actions:
            try:
                transaction.apply(action.effect)
            except StoreWriteError as error:
                raise RuntimeError(
                    f"{spec.domain}: logged action {action.seq} ({action.kind}) no longer applies to "
                    f"{source}: {error}"
                ) from None
        acted_on = {name for action in actions for name in action.effect.products}
        reports: dict[str, QualityReport] = {}
        for contract in contracts:
            rows = transaction.rows(contract.name) if contract.name in acted_on else derived[contract.name]
            report = assess_quality(contract, rows, as_of=world.as_of, refreshed_at=refreshed_at)
            transaction.record_refresh(report, source=source)
            reports[contract.id] = report
    return reports


@dataclass(frozen=True)
class UpstreamAuth:
    """Only the gateway may call a domain server: tokens from `issuer` for this server's own URL
    with the gateway's upstream scope; anything else gets the MCP SDK's 401."""

    verifier: TokenVerifier
    issuer: str
    resource_url: str
    required_scope: str = "mcp:upstream"


def build_server(spec: DomainSpec, store: DomainStore, *, auth: UpstreamAuth | None = None) -> MCPServer:
    """The domain's MCP server: catalog, per-product resources, query and action tools, /healthz."""
    products = Products(load_contracts(spec.contracts_dir, owner=spec.domain), store)
    server: MCPServer = MCPServer(
        name=f"mesh-{spec.domain}",
        title=f"{spec.domain.capitalize()} data products",
        instructions=spec.instructions,
        version="0.1.0",
        token_verifier=MCPTokenVerifier(auth.verifier, audience=auth.resource_url) if auth else None,
        auth=AuthSettings(
            issuer_url=AnyHttpUrl(auth.issuer),
            resource_server_url=AnyHttpUrl(auth.resource_url),
            validate_token_resource=True,
            required_scopes=[auth.required_scope],
        )
        if auth
        else None,
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
    _declare_product_access(server, spec, products)

    @server.custom_route("/healthz", methods=["GET"], include_in_schema=False)  # type: ignore[untyped-decorator]
    async def healthz(_: Request) -> JSONResponse:
        stale = [c.id for c in products.contracts.values() if store.last_refresh(c.id) is None]
        body = {"domain": spec.domain, "products": len(products.contracts), "unrefreshed": stale}
        return JSONResponse(body, status_code=503 if stale else 200)

    return server


def _declare_product_access(server: MCPServer, spec: DomainSpec, products: Products) -> None:
    """Put into each tool's `_meta` the products it touches and the scope that takes:
    `<domain>:write` for an action, else the products' own access scope (`<domain>:read` or a
    narrower one such as `procurement:compliance:read`)."""
    for tool in server._tool_manager.list_tools():  # the SDK has no public setter for a tool's meta
        names = spec.tool_products.get(tool.name)
        if names is None:
            raise ValueError(f"{spec.domain}: tool {tool.name!r} does not declare the products it touches")
        contracts = [products.contracts[name] for name in names]
        annotations = tool.annotations
        writes = annotations is not None and annotations.read_only_hint is False
        scopes = {c.access_scope for c in contracts} - {f"{spec.domain}:read"}
        scope = f"{spec.domain}:write" if writes else (min(scopes) if scopes else f"{spec.domain}:read")
        tool.meta = {**(tool.meta or {}), "mesh/products": [c.id for c in contracts], "mesh/scope": scope}


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
