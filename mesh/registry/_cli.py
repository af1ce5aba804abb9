"""`mesh agents`: the running mesh's agent directory, read from the gateway as `mesh-cli`."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from typing import Annotated, Any

import httpx
import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from mesh._command import command_settings, err_console, fail, response_problem, running_gateway
from mesh.bus import NATS_BINDING_URI
from mesh.gateway._clients import DIRECTORY_SCOPE
from mesh.identity import IdentityError, fetch_token, read_client_secret
from mesh.settings import MeshSettings

EXIT_LISTED = 0
EXIT_FAILED = 1
EXIT_BAD_OPTIONS = 2
CLIENT_ID = "mesh-cli"

console = Console()


def agents_command(
    ctx: typer.Context,
    skill: Annotated[str | None, typer.Option("--skill", help="Only agents with this skill id.")] = None,
    tag: Annotated[str | None, typer.Option("--tag", help="Only agents with a skill of this tag.")] = None,
    query: Annotated[
        str | None,
        typer.Option(
            "--query", "-q", help="Only agents whose name, description or skills contain this text."
        ),
    ] = None,
    status: Annotated[str | None, typer.Option("--status", help="Only agents up, or down.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the gateway's JSON answer.")] = False,
) -> None:
    """List the agents of the running mesh: who is up, their skills and interfaces.

    Agents announce their signed cards on NATS; the gateway lists those whose signatures verify
    with the pinned keys, and marks down an agent that said goodbye or missed its heartbeats.
    Exit 0: listed (possibly none). Exit 1: no mesh runs, or the gateway could not be read.
    Exit 2: bad options.
    """
    if status is not None and status not in ("up", "down"):
        fail(f"--status must be up or down, not {status!r}", EXIT_BAD_OPTIONS)
    for name, value in (("--skill", skill), ("--tag", tag), ("--query", query)):
        if value is not None and not value.strip():
            fail(f"{name} must not be empty", EXIT_BAD_OPTIONS)
    settings = command_settings(ctx)
    gateway = running_gateway(settings)
    params = {"skill": skill, "tag": tag, "q": query, "status": status}
    found = asyncio.run(
        _read_directory(settings, gateway, {k: v for k, v in params.items() if v is not None})
    )
    if as_json:
        typer.echo(json.dumps(found, indent=2))
        return
    if found.get("detail"):
        err_console.print(Text(f"warning: {found['detail']}", style="yellow"), soft_wrap=True)
    agents: list[dict[str, Any]] = found.get("agents", [])
    if not agents:
        filtered = any(v is not None for v in params.values())
        console.print("no agent matches" if filtered else "no agent has announced itself")
        return
    console.print(render_agents(agents))


def render_agents(agents: list[dict[str, Any]], *, now: datetime | None = None) -> Table:
    """The table `mesh agents` prints: agent, status, skills, interfaces, last seen."""
    table = Table(box=None, pad_edge=False)
    for column in ("agent", "status", "skills", "interfaces", "last seen"):
        table.add_column(column)
    moment = now or datetime.now(UTC)
    for entry in agents:
        summary = entry["summary"]
        up = entry["status"] == "up"
        status = Text(entry["status"], style="green" if up else "red")
        if not up and entry.get("down_reason"):
            status.append(f" ({entry['down_reason']})", style="dim")
        table.add_row(
            entry["agent"],
            status,
            ", ".join(skill["id"] for skill in summary["skills"]),
            ", ".join(_interfaces(summary["interfaces"])),
            _ago(datetime.fromisoformat(entry["last_seen"]), moment),
        )
    return table


def _interfaces(interfaces: list[dict[str, Any]]) -> list[str]:
    """Each binding once, in the card's order of preference, with its A2A versions."""
    versions: dict[str, list[str]] = {}
    for interface in interfaces:
        binding = interface["protocol_binding"]
        name = "NATS" if binding == NATS_BINDING_URI else binding
        known = versions.setdefault(name, [])
        if interface["protocol_version"] not in known:
            known.append(interface["protocol_version"])
    return [f"{name} {'/'.join(found)}" for name, found in versions.items()]


def _ago(then: datetime, now: datetime) -> str:
    seconds = max(0, int((now - then).total_seconds()))
    if seconds < 60:
        return f"{seconds}s ago"
    if seconds < 3600:
        return f"{seconds // 60}m ago"
    return then.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%SZ")


async def _read_directory(settings: MeshSettings, gateway: str, params: dict[str, str]) -> dict[str, Any]:
    try:
        token = await fetch_token(
            f"{gateway}/oauth/token",
            client_id=CLIENT_ID,
            client_secret=read_client_secret(settings.oauth_clients_file, CLIENT_ID),
            scope=[DIRECTORY_SCOPE],
            resource=f"{gateway}/api",
        )
    except IdentityError as error:
        fail(f"no token for the directory: {error}", EXIT_FAILED)
    try:
        async with httpx.AsyncClient(timeout=10, trust_env=False) as http:
            response = await http.get(
                f"{gateway}/api/agents",
                params=params,
                headers={"Authorization": f"Bearer {token.access_token}"},
            )
    except httpx.HTTPError as error:
        fail(f"gateway unreachable: {error}", EXIT_FAILED)
    if response.status_code >= 400:
        fail(f"the gateway answered {response.status_code}: {response_problem(response)}", EXIT_FAILED)
    try:
        found: dict[str, Any] = response.json()
    except ValueError:
        fail("the gateway's answer is not JSON", EXIT_FAILED)
    return found
