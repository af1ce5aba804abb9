from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from datetime import timedelta
from typing import Any, Protocol

from mcp import Client
from mcp.server.mcpserver import MCPServer
from mcp_types import TextResourceContents
from pydantic import BaseModel, ConfigDict
from rich import box
from rich.table import Table
from rich.text import Text

from mesh.dataproducts import DataProductContract, QualityReport
from mesh.tracing import traced_mcp_transport


class HttpTarget(Protocol):
    """A streamable-HTTP endpoint and the headers (a bearer token) to send to it."""

    @property
    def url(self) -> str: ...

    @property
    def headers(self) -> dict[str, str]: ...


MCPTarget = HttpTarget | MCPServer
"""An endpoint behind the gateway, or (in tests) a server object for the in-memory transport."""


class CatalogEntry(BaseModel):
    model_config = ConfigDict(frozen=True)

    domain: str
    contract: DataProductContract
    quality: QualityReport


class Catalog(BaseModel):
    """Entries sorted by product id, and the domains that could not be read with the reason."""

    model_config = ConfigDict(frozen=True)

    entries: list[CatalogEntry]
    unreachable: dict[str, str]

    @property
    def domains(self) -> list[str]:
        return sorted({entry.domain for entry in self.entries})


async def read_catalog(targets: Mapping[str, MCPTarget], *, per_domain_seconds: float = 15.0) -> Catalog:
    """Read every domain's catalog resource concurrently; a domain that fails is reported, not fatal."""
    results = await asyncio.gather(
        *(
            asyncio.wait_for(_read_domain(domain, target), per_domain_seconds)
            for domain, target in targets.items()
        ),
        return_exceptions=True,
    )
    entries: list[CatalogEntry] = []
    unreachable: dict[str, str] = {}
    for domain, result in zip(targets, results, strict=True):
        if isinstance(result, BaseException):
            unreachable[domain] = _describe(result)
        else:
            entries.extend(result)
    return Catalog(entries=sorted(entries, key=lambda e: e.contract.id), unreachable=unreachable)


async def _read_domain(domain: str, target: MCPTarget) -> list[CatalogEntry]:
    server = (
        target if isinstance(target, MCPServer) else traced_mcp_transport(target.url, headers=target.headers)
    )
    async with Client(server) as client:
        result = await client.read_resource(f"catalog://{domain}")
    content = result.contents[0]
    if not isinstance(content, TextResourceContents):
        raise TypeError(f"catalog://{domain} did not return text")
    body: dict[str, Any] = json.loads(content.text)
    return [
        CatalogEntry(
            domain=domain,
            contract=DataProductContract.model_validate(item["contract"]),
            quality=QualityReport.model_validate(item["quality"]),
        )
        for item in body["products"]
    ]


def _describe(error: BaseException) -> str:
    if isinstance(error, TimeoutError):
        return "timed out"
    if isinstance(error, BaseExceptionGroup):
        return "; ".join(_describe(e) for e in error.exceptions)
    return f"{type(error).__name__}: {error}"


def render_catalog(catalog: Catalog) -> Table:
    """One row per product, grouped by owner domain; measures below target in red."""
    table = Table(title="Data products", title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("product", no_wrap=True, min_width=22)
    table.add_column("version")
    table.add_column("rows", justify="right")
    table.add_column("lag / SLA", justify="right")
    table.add_column("complete", justify="right")
    table.add_column("valid", justify="right")
    table.add_column("quality")
    domain = None
    for entry in catalog.entries:
        if entry.domain != domain:
            domain = entry.domain
            table.add_row(Text(domain, style="bold"), end_section=False)
        q = entry.quality
        fresh, complete, accurate = q.check("freshness"), q.check("completeness"), q.check("accuracy")
        failing = [check.name for check in q.checks if not check.passed]
        table.add_row(
            f"  {entry.contract.name}",
            entry.contract.version,
            str(q.row_count),
            _measure(f"{_duration(fresh.measured)} / {_duration(fresh.target)}", fresh.passed),
            _measure(f"{complete.measured:.1%}", complete.passed),
            _measure(f"{accurate.measured:.1%}", accurate.passed),
            Text("pass", style="green") if not failing else Text(f"fail: {', '.join(failing)}", style="red"),
        )
    return table


def _measure(text: str, passed: bool) -> Text:
    return Text(text, style="" if passed else "red")


def _duration(seconds: float) -> str:
    delta = timedelta(seconds=seconds)
    if delta >= timedelta(days=1):
        return f"{delta.total_seconds() / 86400:g}d"
    if delta >= timedelta(hours=1):
        return f"{delta.total_seconds() / 3600:g}h"
    return f"{delta.total_seconds() / 60:g}m"
