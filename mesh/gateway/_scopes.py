"""Which OAuth scope a message needs, and which data products it touches.

| message | scope |
|---|---|
| `tools/call` of a tool with `_meta["mesh/scope"]` | that scope |
| `tools/call` of a read-only tool (`annotations.readOnlyHint`) | `<domain>:read` |
| `tools/call` of any other tool (an action) | `<domain>:write` |
| `resources/read` of `dataproduct://<id>/...` | the product contract's `access_scope` |
| anything else a client may send (`initialize`, `tools/list`, `ping`, ...) | `<domain>:read` |
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mesh.gateway._directory import DomainFacts
from mesh.gateway._jsonrpc import Message

SCOPE_META = "mesh/scope"
PRODUCTS_META = "mesh/products"


@dataclass(frozen=True, slots=True)
class Requirement:
    scope: str
    writes: bool = False
    products: list[dict[str, Any]] = field(default_factory=list)


def domain_scopes(domain: str) -> list[str]:
    return [f"{domain}:read", f"{domain}:write"]


def requirement(domain: str, message: Message, facts: DomainFacts) -> Requirement:
    read = f"{domain}:read"
    if message.method == "tools/call" and message.tool is not None:
        tool = facts.tools.get(message.tool)
        if tool is None:
            return Requirement(read)
        meta = tool.get("_meta") or {}
        annotations = tool.get("annotations") or {}
        writes = not annotations.get("readOnlyHint", False)
        scope = meta.get(SCOPE_META) or (f"{domain}:write" if writes else read)
        products = [facts.products[p] for p in meta.get(PRODUCTS_META, []) if p in facts.products]
        return Requirement(str(scope), writes, products)
    if message.method == "resources/read" and message.resource is not None:
        uri = message.resource
        if uri.startswith("dataproduct://"):
            product_id = uri.removeprefix("dataproduct://").split("/", 1)[0]
            contract = facts.products.get(product_id)
            if contract is not None:
                return Requirement(str(contract["access_scope"]), products=[contract])
    return Requirement(read)
