"""The domains' MCP tool definitions as assets: the hash the gateway pins them by, the lock file
that holds the reviewed hashes in the repository, and the definitions the servers offer now.

The lock (`mcp_servers/tools.lock.json`) is `{"format": 1, "tools": {domain: {tool: hash}},
"definitions": {domain: {tool: definition}}}`; `hash` is `definition_hash(definition)`, the same
hash the gateway's tool pinning compares. `mesh assets lock` writes it from the servers' real tool
lists, `mesh assets check` and a test compare it with them.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mesh.assets._errors import AssetError
from mesh.settings import DOMAINS

LOCK_FORMAT = 1
LOCK_FILE_NAME = "tools.lock.json"
PINNED_FIELDS = ("name", "title", "description", "inputSchema", "outputSchema", "annotations", "_meta")
"""The fields of a tool definition a client or a model reads; a change in any of them is a change."""

_HASH = re.compile(r"^[0-9a-f]{64}$")

Definitions = dict[str, dict[str, dict[str, Any]]]
"""Tool definitions by domain, then by tool name, as an MCP client dumps them (JSON, by alias)."""


def canonical_json(value: Any) -> bytes:
    """The one text of a JSON value that is hashed: sorted keys, no spaces, UTF-8."""
    return json.dumps(value, sort_keys=True, separators=(",", ":")).encode()


def _pinned(tool: Mapping[str, Any]) -> dict[str, Any]:
    return {key: tool.get(key) for key in PINNED_FIELDS}


def definition_hash(tool: Mapping[str, Any]) -> str:
    """SHA-256 (64 hex) over the fields a client or a model reads of a tool: what the gateway pins."""
    return hashlib.sha256(canonical_json(_pinned(tool))).hexdigest()


def tool_version(tool: Mapping[str, Any]) -> str:
    """The asset version of a tool definition: `sha256:` and the first 16 hex of its pin hash."""
    return version_of_hash(definition_hash(tool))


def version_of_hash(digest: str) -> str:
    return "sha256:" + digest[:16]


@dataclass(frozen=True)
class ToolLock:
    """The reviewed tool definitions: `hashes[domain][tool]` and the definitions they hash."""

    hashes: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    definitions: Mapping[str, Mapping[str, Mapping[str, Any]]] = field(default_factory=dict)
    path: Path | None = None

    @classmethod
    def of(cls, definitions: Mapping[str, Mapping[str, Mapping[str, Any]]]) -> ToolLock:
        """The lock of `definitions` (what `mesh assets lock` writes)."""
        return cls(
            hashes={
                domain: {name: definition_hash(tool) for name, tool in sorted(tools.items())}
                for domain, tools in sorted(definitions.items())
            },
            definitions={
                domain: dict(sorted(tools.items())) for domain, tools in sorted(definitions.items())
            },
        )

    @classmethod
    def read(cls, path: Path, *, domains: tuple[str, ...] = DOMAINS) -> ToolLock:
        """Read and validate a lock file; `AssetError` naming the field that is wrong."""
        try:
            content = path.read_bytes()
        except FileNotFoundError:
            raise AssetError(path, None, "missing; write it with `mesh assets lock`") from None
        except OSError as error:
            raise AssetError(path, None, f"unreadable ({error.strerror})") from None
        try:
            document = json.loads(content)
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            raise AssetError(path, None, f"not JSON ({error})") from None
        if not isinstance(document, dict):
            raise AssetError(path, None, "not a JSON object")
        if document.get("format") != LOCK_FORMAT:
            raise AssetError(path, "format", f"must be {LOCK_FORMAT}, got {document.get('format')!r}")
        hashes = _object(path, "tools", document.get("tools"))
        definitions = _object(path, "definitions", document.get("definitions"))
        for domain in domains:
            if domain not in hashes:
                raise AssetError(path, f"tools.{domain}", "missing: every domain's tools are locked")
        read_hashes: dict[str, dict[str, str]] = {}
        read_definitions: Definitions = {}
        for domain, tools in hashes.items():
            if domain not in domains:
                raise AssetError(path, f"tools.{domain}", f"unknown domain; known: {list(domains)}")
            tools = _object(path, f"tools.{domain}", tools)
            defined = _object(path, f"definitions.{domain}", definitions.get(domain))
            extra = sorted(set(defined) - set(tools))
            if extra:
                raise AssetError(
                    path, f"definitions.{domain}.{extra[0]}", "defined but not locked in `tools`"
                )
            read_hashes[domain], read_definitions[domain] = {}, {}
            for name, digest in tools.items():
                where = f"tools.{domain}.{name}"
                if not isinstance(digest, str) or not _HASH.match(digest):
                    raise AssetError(path, where, f"must be 64 lowercase hex digits, got {digest!r}")
                definition = defined.get(name)
                if not isinstance(definition, dict):
                    raise AssetError(path, f"definitions.{domain}.{name}", "missing or not a JSON object")
                if definition.get("name") != name:
                    raise AssetError(
                        path,
                        f"definitions.{domain}.{name}.name",
                        f"must be {name!r}, got {definition.get('name')!r}",
                    )
                if definition_hash(definition) != digest:
                    raise AssetError(
                        path,
                        where,
                        "does not match the hash of its definition (edited by hand?); "
                        "rewrite the lock with `mesh assets lock`",
                    )
                read_hashes[domain][name] = digest
                read_definitions[domain][name] = definition
        for domain in definitions:
            if domain not in hashes:
                raise AssetError(path, f"definitions.{domain}", "defined but not locked in `tools`")
        return cls(read_hashes, read_definitions, path)

    def document(self) -> dict[str, Any]:
        """The lock file's JSON document."""
        return {
            "format": LOCK_FORMAT,
            "comment": "written by `mesh assets lock` from the domain servers' tool lists; "
            "`mesh assets check` compares them. Review a change of `definitions` before committing it.",
            "tools": {domain: dict(tools) for domain, tools in self.hashes.items()},
            "definitions": {
                domain: {name: dict(definition) for name, definition in tools.items()}
                for domain, tools in self.definitions.items()
            },
        }

    def write(self, path: Path) -> None:
        path.write_text(json.dumps(self.document(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")

    def hash_of(self, domain: str, tool: str) -> str | None:
        return self.hashes.get(domain, {}).get(tool)


def _object(path: Path, where: str, value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise AssetError(path, where, "missing or not a JSON object")
    return value


@dataclass(frozen=True, slots=True)
class LockProblem:
    """One difference between the lock and what a domain's server offers now."""

    domain: str
    tool: str
    problem: str

    def __str__(self) -> str:
        return f"tool/{self.domain}/{self.tool}: {self.problem}"


def lock_problems(lock: ToolLock, live: Mapping[str, Mapping[str, Mapping[str, Any]]]) -> list[LockProblem]:
    """Every tool whose definition differs from the lock, is new, or is locked but gone."""
    problems: list[LockProblem] = []
    for domain in sorted(set(lock.hashes) | set(live)):
        locked, offered = lock.hashes.get(domain, {}), live.get(domain, {})
        for name in sorted(set(locked) | set(offered)):
            if name not in offered:
                problems.append(LockProblem(domain, name, "locked, but the server no longer offers it"))
            elif name not in locked:
                problems.append(LockProblem(domain, name, "offered by the server but not in the lock"))
            elif definition_hash(offered[name]) != locked[name]:
                problems.append(
                    LockProblem(
                        domain,
                        name,
                        f"definition changed: locked {version_of_hash(locked[name])}, "
                        f"served {tool_version(offered[name])}",
                    )
                )
    return problems


def live_definitions(domains: tuple[str, ...] = DOMAINS) -> Definitions:
    """The tool definitions each domain's MCP server offers, read in process with the MCP client
    (servers built over an empty scratch store: tool definitions do not depend on the data)."""
    return asyncio.run(_live_definitions(domains))


async def _live_definitions(domains: tuple[str, ...]) -> Definitions:
    # imported here: the domain servers load only for `mesh assets lock` and `check`
    from mcp import Client

    from mcp_servers import DomainStore, build_server, domain_spec

    found: Definitions = {}
    with tempfile.TemporaryDirectory(prefix="mesh-assets-") as scratch:
        for domain in domains:
            server = build_server(domain_spec(domain), DomainStore(Path(scratch) / f"{domain}.sqlite"))
            async with Client(server) as client:
                tools = (await client.list_tools()).tools
            found[domain] = {
                tool.name: tool.model_dump(mode="json", by_alias=True, exclude_none=True) for tool in tools
            }
    return found
