"""The directory over HTTP on the real gateway (served by uvicorn on loopback, NATS connected),
its scope, and `mesh agents` against it."""

from __future__ import annotations

import asyncio
import json
import os
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from nats.aio.client import Client as NATS
from rich.console import Console
from typer.testing import CliRunner

import mesh.registry._cli as registry_cli
from mesh.audit import Ledger
from mesh.cli import app as mesh_app
from mesh.gateway import Gateway, build_gateway
from mesh.identity import IdentityError, fetch_token, read_client_secret
from mesh.registry import CardAnnouncer
from mesh.settings import MeshSettings
from mesh.supervisor import ComponentState, MeshState
from mesh.supervisor._state import write_state
from tests.net import free_port
from tests.registry.conftest import BOUND, Agents

pytestmark = pytest.mark.e2e

DIRECTORY_SCOPE = "mesh:directory"
UPSTREAMS = {"demand": "http://127.0.0.1:9/mcp"}  # never called here

Connect = Callable[[], Awaitable[NATS]]


@dataclass
class Served:
    url: str
    gateway: Gateway
    settings: MeshSettings
    agents: Agents

    def token(self, *scopes: str, audience: str | None = None) -> dict[str, str]:
        assert self.gateway.authorization_server is not None
        issued = self.gateway.authorization_server.issue(
            subject="operator:admin",
            client_id="operator",
            scopes=scopes,
            audience=audience or f"{self.url}/api",
        )
        return {"Authorization": f"Bearer {issued.access_token}"}


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, nats_url: str) -> Iterator[Served]:
    data_dir = tmp_path_factory.mktemp("registry-gateway")
    settings = MeshSettings(data_dir=data_dir, local_traces=False)
    agents = Agents(settings.key_dir, nats_url)
    for domain in ("demand", "logistics", "sustainability"):
        agents.key(domain)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    ledger = Ledger.sqlite(settings.audit_path, settings.key_dir)
    gateway = build_gateway(
        settings, public_base_url=url, upstreams=UPSTREAMS, ledger=ledger, nats_url=nats_url
    )
    server = uvicorn.Server(uvicorn.Config(gateway.app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + BOUND
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    assert server.started
    now = datetime.now(UTC)
    write_state(
        settings.state_file,
        MeshState(
            supervisor_pid=os.getpid(),
            started_at=now,
            data_dir=str(data_dir),
            seed=settings.seed,
            scenario=str(settings.scenario),
            components=(
                ComponentState(
                    name="gateway",
                    kind="gateway",
                    pid=os.getpid(),
                    endpoint=url,
                    health_url=f"{url}/healthz",
                    log="",
                ),
            ),
        ),
    )
    try:
        yield Served(url, gateway, settings, agents)
    finally:
        server.should_exit = True
        thread.join(BOUND)
        ledger.close()


@pytest.fixture
async def http(served: Served) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=served.url, trust_env=False, timeout=BOUND) as client:
        yield client


async def _listed(http: httpx.AsyncClient, served: Served, **params: str) -> dict[str, Any]:
    response = await http.get("/api/agents", params=params, headers=served.token(DIRECTORY_SCOPE))
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


async def _wait_for(http: httpx.AsyncClient, served: Served, agent: str, status: str) -> dict[str, Any]:
    deadline = time.monotonic() + BOUND
    while time.monotonic() < deadline:
        for entry in (await _listed(http, served))["agents"]:
            if entry["agent"] == agent and entry["status"] == status:
                return dict(entry)
        await asyncio.sleep(0.02)
    pytest.fail(f"waited {BOUND:g} s for {agent} to be listed {status}")


def _announcer(served: Served, nc: NATS, domain: str, **options: Any) -> CardAnnouncer:
    return CardAnnouncer(nc, served.agents.card(domain), signer=served.agents.signer(domain), **options)


# --- the scope ----------------------------------------------------------------------------------


async def test_reading_the_directory_without_a_token_is_401_pointing_at_the_metadata(
    http: httpx.AsyncClient, served: Served
) -> None:
    response = await http.get("/api/agents")
    assert response.status_code == 401
    challenge = response.headers["www-authenticate"]
    assert f'resource_metadata="{served.url}/.well-known/oauth-protected-resource/api"' in challenge
    assert f'scope="{DIRECTORY_SCOPE}"' in challenge
    metadata = (await http.get("/.well-known/oauth-protected-resource/api")).json()
    assert DIRECTORY_SCOPE in metadata["scopes_supported"]


async def test_a_token_without_the_directory_scope_is_403_naming_it(
    http: httpx.AsyncClient, served: Served
) -> None:
    for path in ("/api/agents", "/api/agents/logistics"):
        response = await http.get(path, headers=served.token("mesh:operator"))
        assert response.status_code == 403
        assert response.json()["detail"] == f"needs the scope {DIRECTORY_SCOPE}"
        assert 'error="insufficient_scope"' in response.headers["www-authenticate"]


async def test_a_token_for_another_audience_is_401(http: httpx.AsyncClient, served: Served) -> None:
    response = await http.get(
        "/api/agents", headers=served.token(DIRECTORY_SCOPE, audience=f"{served.url}/mcp/demand")
    )
    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["www-authenticate"]


@pytest.mark.parametrize(
    ("client_id", "granted"), [("mesh-cli", True), ("operator", True), ("inspector", False)]
)
async def test_which_builtin_clients_may_read_the_directory(
    served: Served, client_id: str, granted: bool
) -> None:
    async def ask() -> None:
        await fetch_token(
            f"{served.url}/oauth/token",
            client_id=client_id,
            client_secret=read_client_secret(served.settings.oauth_clients_file, client_id),
            scope=[DIRECTORY_SCOPE],
            resource=f"{served.url}/api",
        )

    if granted:
        await ask()
    else:
        with pytest.raises(IdentityError):
            await ask()


# --- listing, finding, down ---------------------------------------------------------------------


async def test_announced_agents_are_listed_and_found_over_http(
    http: httpx.AsyncClient, served: Served, connect: Connect
) -> None:
    async with (
        _announcer(served, await connect(), "logistics"),
        _announcer(served, await connect(), "demand"),
    ):
        logistics = await _wait_for(http, served, "logistics", "up")
        await _wait_for(http, served, "demand", "up")
        listed = await _listed(http, served)
        assert (listed["connected"], listed["detail"]) == (True, None)
        assert logistics["summary"]["name"] == "Logistics agent"
        assert [s["id"] for s in logistics["summary"]["skills"]] == [
            "recommend_carrier",
            "book_shipment",
            "ask",
        ]
        assert "carbon" in logistics["summary"]["skills"][0]["tags"]
        assert logistics["summary"]["interfaces"][0]["url"].endswith("/a2a.logistics.rpc")
        assert "card" not in logistics  # the list has summaries only

        def agents_of(found: dict[str, Any]) -> list[str]:
            return [entry["agent"] for entry in found["agents"]]

        assert agents_of(await _listed(http, served, skill="forecast")) == ["demand"]
        assert agents_of(await _listed(http, served, tag="Carbon")) == ["logistics"]
        assert agents_of(await _listed(http, served, q="carrier")) == ["logistics"]
        assert "logistics" in agents_of(await _listed(http, served, status="up"))

        one = await http.get("/api/agents/logistics", headers=served.token(DIRECTORY_SCOPE))
        assert one.status_code == 200
        assert one.json()["card"]["name"] == "Logistics agent"
        assert one.json()["card"]["signatures"][0]["protected"]
        assert one.json()["status"] == "up"


async def test_an_unknown_agent_is_404_with_the_known_ones(http: httpx.AsyncClient, served: Served) -> None:
    response = await http.get("/api/agents/carrier-x", headers=served.token(DIRECTORY_SCOPE))
    assert response.status_code == 404
    assert response.json()["detail"].startswith("no agent 'carrier-x' in the directory (known:")


@pytest.mark.parametrize(("params", "field"), [({"status": "sideways"}, "status"), ({"q": ""}, "q")])
async def test_bad_filters_are_422_naming_the_field(
    http: httpx.AsyncClient, served: Served, params: dict[str, str], field: str
) -> None:
    response = await http.get("/api/agents", params=params, headers=served.token(DIRECTORY_SCOPE))
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", field]


async def test_an_agent_that_stops_is_listed_down(
    http: httpx.AsyncClient, served: Served, connect: Connect
) -> None:
    async with _announcer(served, await connect(), "sustainability"):
        await _wait_for(http, served, "sustainability", "up")
    entry = await _wait_for(http, served, "sustainability", "down")
    assert entry["down_reason"] == "goodbye"
    down = await _listed(http, served, status="down")
    assert "sustainability" in [e["agent"] for e in down["agents"]]


async def test_without_nats_the_gateway_serves_an_empty_directory_and_says_why(tmp_path: Path) -> None:
    settings = MeshSettings(data_dir=tmp_path, local_traces=False)
    base = "http://gateway.test"
    with Ledger.sqlite(settings.audit_path, settings.key_dir) as ledger:
        gateway = build_gateway(settings, public_base_url=base, upstreams=UPSTREAMS, ledger=ledger)
        assert gateway.authorization_server is not None
        token = gateway.authorization_server.issue(
            subject="service:mesh-cli", client_id="mesh-cli", scopes=[DIRECTORY_SCOPE], audience=f"{base}/api"
        ).access_token
        headers = {"Authorization": f"Bearer {token}"}
        async with (
            gateway.app.router.lifespan_context(gateway.app),
            httpx.AsyncClient(transport=httpx.ASGITransport(app=gateway.app), base_url=base) as client,
        ):
            listed = (await client.get("/api/agents", headers=headers)).json()
            one = await client.get("/api/agents/logistics", headers=headers)
    assert (listed["connected"], listed["agents"]) == (False, [])
    assert "no --nats-url" in listed["detail"]
    assert one.status_code == 404
    assert "no --nats-url" in one.json()["detail"]


# --- mesh agents --------------------------------------------------------------------------------


def _mesh(served: Served, *arguments: str) -> Any:
    return CliRunner().invoke(mesh_app, ["--data-dir", str(served.settings.data_dir), "agents", *arguments])


async def test_mesh_agents_lists_the_agents_with_their_status_skills_and_interfaces(
    http: httpx.AsyncClient, served: Served, connect: Connect, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(registry_cli, "console", Console(width=200))
    async with _announcer(served, await connect(), "logistics"):
        await _wait_for(http, served, "logistics", "up")
        table = await asyncio.to_thread(_mesh, served)
        as_json = await asyncio.to_thread(_mesh, served, "--json", "--skill", "book_shipment")
        none = await asyncio.to_thread(_mesh, served, "--tag", "no-such-tag")
    assert table.exit_code == 0, table.output
    header, *rows = [line.split() for line in table.output.splitlines() if line.strip()]
    assert header == ["agent", "status", "skills", "interfaces", "last", "seen"]
    logistics = next(row for row in rows if row[0] == "logistics")
    assert logistics[1] == "up"
    assert logistics[2:5] == ["recommend_carrier,", "book_shipment,", "ask"]
    assert logistics[5:11] == ["NATS", "1.0,", "JSONRPC", "1.0/0.3,", "HTTP+JSON", "1.0/0.3"]
    assert logistics[-1] == "ago"

    assert as_json.exit_code == 0, as_json.output
    document = json.loads(as_json.output)
    assert document["connected"] is True
    assert [entry["agent"] for entry in document["agents"]] == ["logistics"]

    assert (none.exit_code, none.output.strip()) == (0, "no agent matches")


def test_mesh_agents_refuses_bad_options_and_says_when_no_mesh_runs(served: Served, tmp_path: Path) -> None:
    bad = _mesh(served, "--status", "sideways")
    assert bad.exit_code == 2
    assert "--status must be up or down" in bad.output
    nothing = CliRunner().invoke(mesh_app, ["--data-dir", str(tmp_path), "agents"])
    assert nothing.exit_code == 1
    assert "no mesh running" in nothing.output
