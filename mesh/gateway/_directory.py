"""What the gateway knows of each domain's server: its tools (pinned) and its data products.

Read with the gateway's own credential through the MCP SDK client, cached for `ttl` seconds."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from mcp import Client, MCPError
from mcp_types import TextResourceContents

from mesh.tracing import traced_mcp_transport


class UpstreamCredentials(Protocol):
    """The gateway's own access tokens for its upstream servers (never a caller's token)."""

    async def bearer(self, resource: str) -> str:
        """A valid access token whose audience is `resource`."""
        ...


@dataclass
class DomainFacts:
    tools: dict[str, dict[str, Any]] = field(default_factory=dict)
    products: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Contracts by product id, as the domain's `catalog://` resource serves them."""
    loaded_at: float = 0.0


class UpstreamDirectory:
    """Per domain: tool definitions and product contracts, loaded on first need and every `ttl`."""

    def __init__(
        self, upstreams: Mapping[str, str], credentials: UpstreamCredentials, *, ttl: float = 60.0
    ) -> None:
        self._upstreams = dict(upstreams)
        self._credentials = credentials
        self._ttl = ttl
        self._facts: dict[str, DomainFacts] = {}
        self.review: Callable[[str, list[dict[str, Any]]], list[dict[str, Any]]] | None = None
        """Applied to every tool list loaded: what it returns is what the gateway knows (pinning)."""
        self._locks = {domain: asyncio.Lock() for domain in upstreams}

    async def facts(self, domain: str) -> DomainFacts:
        known = self._facts.get(domain)
        if known is not None and time.monotonic() - known.loaded_at < self._ttl:
            return known
        async with self._locks[domain]:
            known = self._facts.get(domain)
            if known is None or time.monotonic() - known.loaded_at >= self._ttl:
                known = self._facts[domain] = await self._load(domain)
        return known

    def remember_tools(self, domain: str, tools: list[dict[str, Any]]) -> None:
        """Tool definitions seen passing through (already reviewed by pinning)."""
        facts = self._facts.setdefault(domain, DomainFacts())
        facts.tools.update({str(tool.get("name")): tool for tool in tools})

    async def call_tool(self, domain: str, tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
        """Call a read tool upstream with the gateway's credential; its structured result."""
        async with await self._client(domain) as client:
            result = await client.call_tool(tool, arguments)
        if result.is_error or result.structured_content is None:
            text = " ".join(getattr(block, "text", "") for block in result.content)
            raise LookupError(f"{domain}.{tool} failed: {text or 'no structured result'}")
        structured: dict[str, Any] = result.structured_content
        return structured

    async def _load(self, domain: str) -> DomainFacts:
        body: dict[str, Any] = {"products": []}
        async with await self._client(domain) as client:
            tools = (await client.list_tools()).tools
            try:
                catalog = await client.read_resource(f"catalog://{domain}")
            except MCPError:  # a server without data products: no product scopes to apply
                pass
            else:
                content = catalog.contents[0]
                if isinstance(content, TextResourceContents):
                    body = json.loads(content.text)
        listed = [tool.model_dump(mode="json", by_alias=True, exclude_none=True) for tool in tools]
        known = self.review(domain, listed) if self.review is not None else listed
        return DomainFacts(
            tools={str(tool["name"]): tool for tool in known},
            products={item["contract"]["id"]: item["contract"] for item in body["products"]},
            loaded_at=time.monotonic(),
        )

    async def _client(self, domain: str) -> Client:
        url = self._upstreams[domain]
        token = await self._credentials.bearer(url)
        return Client(traced_mcp_transport(url, headers={"Authorization": f"Bearer {token}"}))
