from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from mcp import Client
from mcp.server.mcpserver import MCPServer
from mcp_types import TextResourceContents
from pydantic import BaseModel, ConfigDict
from rich.table import Table

from mesh.dataproducts import DataProductContract, QualityReport

MCPTarget = str | MCPServer
"""A streamable-HTTP URL, or (in tests) a server object for the in-memory transport."""


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
    async with Client(target) as client:
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
    table = Table(title="Data products", title_justify="left")
    for column in (
        "product",
        "version",
        "owner",
        "rows",
        "freshness (lag / SLA)",
        "completeness",
        "accuracy",
    ):
        table.add_column(column, justify="right" if column in {"rows"} else "left")
    table.add_column("quality")
    for entry in catalog.entries:
        q = entry.quality
        fresh, complete, accurate = q.check("freshness"), q.check("completeness"), q.check("accuracy")
        table.add_row(
            entry.contract.id,
            entry.contract.version,
            entry.contract.owner,
            str(q.row_count),
            f"{_duration(fresh.measured)} / {_duration(fresh.target)}",
            f"{complete.measured:.1%} (≥{complete.target:.0%})",
            f"{accurate.measured:.1%} (≥{accurate.target:.0%})",
            "[green]pass[/green]" if q.passed else "[red]fail[/red]",
        )
    return table


def _duration(seconds: float) -> str:
    delta = timedelta(seconds=seconds)
    if delta >= timedelta(days=1):
        return f"{delta.total_seconds() / 86400:g}d"
    if delta >= timedelta(hours=1):
        return f"{delta.total_seconds() / 3600:g}h"
    return f"{delta.total_seconds() / 60:g}m"
