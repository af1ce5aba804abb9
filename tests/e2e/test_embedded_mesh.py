"""The whole embedded mesh as a user runs it: real processes, real NATS, real MCP over loopback."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import nats
import pytest
from mcp import Client
from mcp_types import TextResourceContents

from mesh.gateway import READ_SCOPES
from mesh.gateway._client import GatewayTarget, gateway_targets
from mesh.settings import DOMAINS
from mesh.supervisor import MeshState, read_state
from mesh.supervisor._process import live_group_members
from mesh.tracing import traced_mcp_transport
from tests.processes import processes_mentioning

pytestmark = pytest.mark.e2e

BOUND = 90.0
"""Seconds any one step may take before the test gives up (start-up is ~5 s on 2 cores)."""


def _mesh(data_dir: Path, *arguments: str) -> list[str]:
    return [sys.executable, "-m", "mesh", "--data-dir", str(data_dir), *arguments]


def _environment() -> dict[str, str]:
    clean = {key: value for key, value in os.environ.items() if not key.startswith("MESH_")}
    return clean | {"COLUMNS": "200"}


def _wait_until_ready(state_file: Path, process: subprocess.Popen[str]) -> MeshState:
    deadline = time.monotonic() + BOUND
    while time.monotonic() < deadline and process.poll() is None:
        state = read_state(state_file) if state_file.exists() else None
        if state is not None and state.components:
            return state
        time.sleep(0.1)
    process.kill()
    pytest.fail(f"mesh up did not become ready: {process.communicate(timeout=10)}")


def _text(result: object) -> str:
    content = result.contents[0]  # type: ignore[attr-defined]
    assert isinstance(content, TextResourceContents)
    return content.text


async def _read_every_product(target: GatewayTarget, domain: str) -> int:
    """List and read every product of one domain with the MCP SDK client, through the gateway."""
    async with Client(traced_mcp_transport(target.url, headers=target.headers)) as client:
        uris = {str(resource.uri) for resource in (await client.list_resources()).resources}
        catalog = json.loads(_text(await client.read_resource(f"catalog://{domain}")))
        for item in catalog["products"]:
            product_id = item["contract"]["id"]
            for part in ("contract", "schema", "quality", "snapshot"):
                uri = f"dataproduct://{product_id}/{part}"
                assert uri in uris
                body = json.loads(_text(await client.read_resource(uri)))
                assert body, uri
            assert item["quality"]["checks"], product_id
        tools = (await client.list_tools()).tools
        answer = await client.call_tool(tools[0].name, {})
        assert not answer.is_error, answer.content
        assert answer.structured_content is not None
        return len(catalog["products"])


async def _jetstream_answers(nats_url: str) -> None:
    connection = await nats.connect(nats_url, connect_timeout=2, max_reconnect_attempts=0)
    try:
        await connection.jetstream().account_info()
    finally:
        await connection.close()


def test_mesh_up_serves_every_domain_over_streamable_http_and_stops_on_sigterm(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    process = subprocess.Popen(
        _mesh(data_dir, "up"),
        cwd=tmp_path,
        env=_environment(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        state = _wait_until_ready(data_dir / "run" / "state.json", process)

        status = subprocess.run(
            _mesh(data_dir, "status", "--json"),
            env=_environment(),
            capture_output=True,
            text=True,
            timeout=BOUND,
            check=False,
        )
        assert status.returncode == 0, status.stderr
        document = json.loads(status.stdout)
        assert document["running"] is True
        assert [(c["name"], c["ready"]) for c in document["components"]] == [
            ("nats", True),
            ("gateway", True),
            *((f"mcp-{domain}", True) for domain in DOMAINS),
            *((f"agent-{domain}", True) for domain in DOMAINS),
        ]

        async def read_all() -> dict[str, int]:
            await _jetstream_answers(state.components[0].endpoint)
            assert state.gateway_endpoint is not None
            targets = await gateway_targets(
                state.gateway_endpoint,
                DOMAINS,
                clients_file=data_dir / "keys" / "oauth-clients.json",
                client_id="mesh-cli",
                scopes=READ_SCOPES,
            )
            counts = await asyncio.gather(
                *(_read_every_product(targets[domain], domain) for domain in DOMAINS)
            )
            async with httpx.AsyncClient() as http:  # the domain servers take only the gateway's tokens
                direct = await http.post(
                    state.mcp_endpoints["demand"],
                    json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
                    headers={**targets["demand"].headers, "accept": "application/json, text/event-stream"},
                )
            assert direct.status_code == 401
            return dict(zip(DOMAINS, counts, strict=True))

        products = asyncio.run(asyncio.wait_for(read_all(), BOUND))
        assert all(count >= 3 for count in products.values()), products

        listed = subprocess.run(
            _mesh(data_dir, "catalog", "--json"),
            env=_environment(),
            capture_output=True,
            text=True,
            timeout=BOUND,
            check=False,
        )
        assert listed.returncode == 0, listed.stderr
        catalog = json.loads(listed.stdout)
        assert catalog["unreachable"] == {}
        assert len(catalog["products"]) == sum(products.values())

        decision_id = _refresh_and_trace(data_dir)

        process.send_signal(signal.SIGTERM)
        stdout, stderr = process.communicate(timeout=BOUND)
    finally:
        process.kill()

    assert process.returncode == 0, stderr
    assert "mesh stopped" in stdout
    verified = subprocess.run(
        _mesh(data_dir, "audit", "verify"),
        env=_environment(),
        capture_output=True,
        text=True,
        timeout=BOUND,
        check=False,
    )
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "ledger intact" in verified.stdout
    shown = subprocess.run(
        _mesh(data_dir, "audit", "show", decision_id),
        env=_environment(),
        capture_output=True,
        text=True,
        timeout=BOUND,
        check=False,
    )
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.count("dataproduct.refresh") >= 2
    assert not (data_dir / "run" / "state.json").exists()
    assert {c.pid: live_group_members(c.pid) for c in state.components if live_group_members(c.pid)} == {}
    assert processes_mentioning(data_dir) == []


def _refresh_and_trace(data_dir: Path) -> str:
    """`mesh refresh demand logistics`, then its trace must cross processes over NATS and HTTP."""
    refreshed = subprocess.run(
        _mesh(data_dir, "refresh", "demand", "logistics"),
        env=_environment(),
        capture_output=True,
        text=True,
        timeout=BOUND,
        check=False,
    )
    assert refreshed.returncode == 0, refreshed.stdout + refreshed.stderr
    decision_id = re.search(r"decision (refresh-[0-9a-f]+): 2 domain\(s\) refreshed", refreshed.stdout)
    assert decision_id is not None, refreshed.stdout
    deadline = time.monotonic() + 30
    spans: list[dict[str, object]] = []
    while time.monotonic() < deadline:  # servers export spans in batches about a second apart
        traced = subprocess.run(
            _mesh(data_dir, "trace", decision_id[1], "--json"),
            env=_environment(),
            capture_output=True,
            text=True,
            timeout=BOUND,
            check=False,
        )
        if traced.returncode == 0:
            spans = [span for t in json.loads(traced.stdout)["traces"] for span in t["spans"]]
            if {"mcp-demand", "mcp-logistics"} <= {s["service"] for s in spans if s["kind"] == "SERVER"}:
                break
        time.sleep(0.5)
    by_id = {span["span_id"]: span for span in spans}
    consumers = [
        s for s in spans if s["kind"] == "CONSUMER" and s["name"].startswith("process mesh.dataproducts.")
    ]
    http_servers = [s for s in spans if s["kind"] == "SERVER" and s["name"] == "POST /mcp"]
    assert {s["service"] for s in consumers} == {"mcp-demand", "mcp-logistics"}, spans
    assert all(by_id[s["parent_span_id"]]["service"] == "mesh-cli" for s in consumers)  # over NATS
    assert {s["service"] for s in http_servers} >= {"mcp-demand", "mcp-logistics"}
    assert {s["service"] for s in spans} == {"mesh-cli", "gateway", "mcp-demand", "mcp-logistics"}
    assert len({s["pid"] for s in spans}) == 4
    return decision_id[1]


def test_mesh_demo_runs_the_week_over_the_real_mesh_prints_its_table_and_exits_0(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    demo = subprocess.run(
        _mesh(data_dir, "demo", "--hours", "6"),
        cwd=tmp_path,
        env=_environment(),
        capture_output=True,
        text=True,
        timeout=BOUND * 2,
        check=False,
    )
    assert demo.returncode == 0, demo.stderr
    for domain in DOMAINS:
        assert f"\n {domain} " in demo.stdout
    assert "19 data products in 5 domains; all meet their contracts" in demo.stdout
    assert "mesh stopped" in demo.stdout
    for row in (
        "decision cycles",
        "conflicts per 100 decisions",
        "resolved without a human",
        "negotiation rounds",
        "policy outcomes",
        "autonomous share",
        "escalations",
        "cycle latency",
        "service level",
        "carbon",
    ):
        assert row in demo.stdout, row
    assert "6 simulated hours" in demo.stdout
    assert "audit show" in demo.stdout
    assert processes_mentioning(data_dir) == []
    verify = subprocess.run(
        _mesh(data_dir, "audit", "verify"),
        cwd=tmp_path,
        env=_environment(),
        capture_output=True,
        text=True,
        timeout=BOUND,
    )
    assert verify.returncode == 0, verify.stdout + verify.stderr
