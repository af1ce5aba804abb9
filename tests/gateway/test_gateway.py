"""The governance gateway through the real MCP client and raw HTTP, on a real mesh over loopback."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from mcp import Client, MCPError

from mesh.audit import AuditLog, LedgerEntry, SQLiteBackend
from mesh.gateway._client import GatewayTarget, gateway_targets
from mesh.gateway._errors import DENIED_BY_POLICY, HELD_FOR_APPROVAL
from mesh.identity import exchange_token, fetch_token, read_client_secret
from mesh.tracing import traced_mcp_transport
from mesh.world import generate_world
from tests.gateway.conftest import ESCALATION_TTL, RunningMesh

pytestmark = pytest.mark.e2e

WORLD = generate_world(7, "volatile")
ACCEPT = {"accept": "application/json, text/event-stream", "content-type": "application/json"}


async def _target(mesh: RunningMesh, client_id: str, domain: str, *scopes: str) -> GatewayTarget:
    targets = await gateway_targets(
        mesh.gateway, [domain], clients_file=mesh.clients_file, client_id=client_id, scopes=scopes or None
    )
    return targets[domain]


@asynccontextmanager
async def _client(target: GatewayTarget) -> AsyncIterator[Client]:
    async with Client(traced_mcp_transport(target.url, headers=target.headers)) as client:
        yield client


def _records(mesh: RunningMesh, decision_id: str) -> list[LedgerEntry]:
    deadline = time.monotonic() + 10
    while True:
        with AuditLog(SQLiteBackend(mesh.ledger), mesh.data_dir / "keys") as log:
            found = log.records_for(decision_id)
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


def _decision(tag: str) -> dict[str, str]:
    return {"mesh/decision_id": f"test-{tag}-{uuid.uuid4().hex[:8]}"}


def _call(tool: str, arguments: dict[str, Any], request_id: int = 1) -> dict[str, Any]:
    return {
        "jsonrpc": "2.0",
        "id": request_id,
        "method": "tools/call",
        "params": {"name": tool, "arguments": arguments},
    }


# --- the MCP authorization spec's MUSTs for a resource server ----------------------------------


async def test_must_serve_protected_resource_metadata_rfc9728(mesh: RunningMesh) -> None:
    async with httpx.AsyncClient() as http:
        document = (
            await http.get(f"{mesh.gateway}/.well-known/oauth-protected-resource/mcp/procurement")
        ).json()
        issuer = (await http.get(f"{mesh.gateway}/.well-known/oauth-authorization-server")).json()["issuer"]
    assert document["resource"] == f"{mesh.gateway}/mcp/procurement"
    assert document["authorization_servers"] == [issuer]
    assert {"procurement:read", "procurement:write", "procurement:compliance:read"} <= set(
        document["scopes_supported"]
    )


async def test_must_answer_401_with_www_authenticate_pointing_at_the_metadata(mesh: RunningMesh) -> None:
    async with httpx.AsyncClient() as http:
        response = await http.post(f"{mesh.gateway}/mcp/demand", json=_call("get_skus", {}), headers=ACCEPT)
    assert response.status_code == 401
    challenge = response.headers["www-authenticate"]
    assert challenge.startswith("Bearer ")
    assert f'resource_metadata="{mesh.gateway}/.well-known/oauth-protected-resource/mcp/demand"' in challenge
    assert 'scope="demand:read"' in challenge
    assert "error=" not in challenge  # RFC 6750 3.1: no error code when no credentials were sent


async def test_must_validate_the_audience_and_refuse_a_token_for_another_resource(mesh: RunningMesh) -> None:
    logistics = await _target(mesh, "operator", "logistics")
    async with httpx.AsyncClient() as http:
        response = await http.post(
            f"{mesh.gateway}/mcp/demand", json=_call("get_skus", {}), headers=ACCEPT | logistics.headers
        )
    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["www-authenticate"]
    assert "/mcp/logistics'], not for" in response.json()["error_description"]


async def test_must_return_401_for_invalid_or_expired_tokens(mesh: RunningMesh) -> None:
    from mesh.identity import SigningKey, load_or_create_signing_key

    real_key = load_or_create_signing_key(mesh.data_dir / "keys")
    now = int(time.time())
    claims = {
        "iss": mesh.gateway,
        "sub": "operator:admin",
        "client_id": "operator",
        "aud": f"{mesh.gateway}/mcp/demand",
        "scope": "demand:read",
        "jti": uuid.uuid4().hex,
    }
    forged = SigningKey.generate().sign(claims | {"iat": now, "nbf": now, "exp": now + 300})
    expired = real_key.sign(claims | {"iat": now - 900, "nbf": now - 900, "exp": now - 600})
    wrong_issuer = real_key.sign(
        claims | {"iss": "https://evil.example", "iat": now, "nbf": now, "exp": now + 300}
    )
    async with httpx.AsyncClient() as http:
        for token, words in (
            (forged, "no trusted key"),
            (expired, "expired"),
            (wrong_issuer, "issuer"),
            ("garbage", ""),
        ):
            response = await http.post(
                f"{mesh.gateway}/mcp/demand",
                json=_call("get_skus", {}),
                headers=ACCEPT | {"authorization": f"Bearer {token}"},
            )
            assert response.status_code == 401, words
            assert 'error="invalid_token"' in response.headers["www-authenticate"]
            assert words in response.json()["error_description"]


async def test_must_not_accept_a_token_in_the_query_string(mesh: RunningMesh) -> None:
    demand = await _target(mesh, "operator", "demand")
    token = demand.headers["Authorization"].removeprefix("Bearer ")
    async with httpx.AsyncClient() as http:
        response = await http.post(
            f"{mesh.gateway}/mcp/demand",
            params={"access_token": token},
            json=_call("get_skus", {}),
            headers=ACCEPT,
        )
    assert response.status_code == 401


async def test_must_not_pass_the_callers_token_through_to_the_domain_server(mesh: RunningMesh) -> None:
    demand = await _target(mesh, "operator", "demand")
    async with httpx.AsyncClient() as http:
        direct = await http.post(
            mesh.state.mcp_endpoints["demand"], json=_call("get_skus", {}), headers=ACCEPT | demand.headers
        )
    assert direct.status_code == 401  # the caller's token is worthless upstream ...
    async with _client(demand) as client:
        assert not (
            await client.call_tool("get_skus", {"limit": 1})
        ).is_error  # ... and the gateway still works


async def test_insufficient_scope_is_403_naming_the_scope(mesh: RunningMesh) -> None:
    reader = await _target(mesh, "inspector", "logistics")
    arguments = {"carrier_id": "CAR-3", "lane_id": "APAC-APAC", "sku_id": "SKU-01", "units": 1}
    async with httpx.AsyncClient() as http:
        response = await http.post(
            reader.url, json=_call("book_shipment", arguments), headers=ACCEPT | reader.headers
        )
    assert response.status_code == 403
    assert 'error="insufficient_scope"' in response.headers["www-authenticate"]
    assert 'scope="logistics:write"' in response.headers["www-authenticate"]


async def test_a_data_product_with_its_own_scope_needs_that_scope(mesh: RunningMesh) -> None:
    no_compliance = await _target(mesh, "inventory-agent", "procurement", "procurement:read")
    async with httpx.AsyncClient() as http:
        response = await http.post(
            no_compliance.url, json=_call("get_compliance_status", {}), headers=ACCEPT | no_compliance.headers
        )
    assert response.status_code == 403
    assert 'scope="procurement:compliance:read"' in response.headers["www-authenticate"]


# --- policy outcomes ----------------------------------------------------------------------------


async def test_an_allowed_read_is_forwarded_and_audited_with_its_policy_outcome(mesh: RunningMesh) -> None:
    meta = _decision("allow")
    async with _client(await _target(mesh, "operator", "demand")) as client:
        result = await client.call_tool(
            "get_forecast", {"sku_id": "SKU-07", "region": "EU", "limit": 2}, meta=meta
        )
    assert not result.is_error
    assert result.structured_content is not None
    assert len(result.structured_content["rows"]) == 2
    (entry,) = _records(mesh, meta["mesh/decision_id"])
    record = entry.record
    assert (record.status, record.execution_mode, record.agent) == ("executed", "autonomous", "operator")
    assert [p.outcome for p in record.policies] == ["allow"]
    assert [i.product_id for i in record.inputs] == ["demand.forecast"]
    assert record.trace_id is not None


async def test_a_shipment_within_10_percent_of_the_carbon_budget_is_warned_and_goes_through(
    mesh: RunningMesh,
) -> None:
    meta = _decision("warn")
    arguments = {"carrier_id": "CAR-3", "lane_id": "APAC-APAC", "sku_id": "SKU-01", "units": 10}
    async with _client(
        await _target(mesh, "logistics-agent", "logistics", "logistics:read", "logistics:write")
    ) as client:
        result = await client.call_tool("book_shipment", arguments, meta=meta)
    assert not result.is_error
    assert result.meta is not None
    note = result.meta["mesh/policy"]
    assert note["decision"] == "warn"
    assert any("APAC" in reason for reason in note["reasons"])
    (entry,) = _records(mesh, meta["mesh/decision_id"])
    assert entry.record.status == "executed"
    assert "warn" in [p.outcome for p in entry.record.policies]


async def test_a_shipment_over_the_carbon_budget_is_denied_with_reasons(mesh: RunningMesh) -> None:
    meta = _decision("carbon")
    arguments = {"carrier_id": "CAR-6", "lane_id": "APAC-NA", "sku_id": "SKU-01", "units": 1000}
    async with _client(
        await _target(mesh, "logistics-agent", "logistics", "logistics:read", "logistics:write")
    ) as client:
        with pytest.raises(MCPError) as caught:
            await client.call_tool("book_shipment", arguments, meta=meta)
        shipments = await client.call_tool("query_shipments", {"lane_id": "APAC-NA", "status": "booked"})
    assert caught.value.error.code == DENIED_BY_POLICY
    data = caught.value.error.data
    assert "decisions.shipment.carbon_budget" in data["policy_ids"]
    assert data["policy_version"].startswith("1.")
    assert shipments.structured_content is not None
    assert shipments.structured_content["rows"] == []  # nothing was booked
    (entry,) = _records(mesh, meta["mesh/decision_id"])
    assert (entry.record.status, entry.record.execution_mode) == ("denied", "blocked")


@pytest.mark.parametrize(("supplier", "why"), [("SUP-EU-3", "pending"), ("SUP-NA-2", "failed")])
async def test_a_purchase_order_from_a_supplier_without_verified_labor_compliance_is_denied(
    mesh: RunningMesh, supplier: str, why: str
) -> None:
    sku = next(
        r["sku_id"]
        for r in WORLD.domain_tables("procurement")["supplier_skus"]
        if r["supplier_id"] == supplier
    )
    async with _client(
        await _target(mesh, "procurement-agent", "procurement", "procurement:read", "procurement:write")
    ) as client:
        with pytest.raises(MCPError) as caught:
            await client.call_tool(
                "place_purchase_order", {"supplier_id": supplier, "sku_id": sku, "quantity": 10}
            )
    assert caught.value.error.code == DENIED_BY_POLICY
    assert "decisions.purchase_order.labor_compliance" in caught.value.error.data["policy_ids"]
    assert why in caught.value.error.message


def _critical_order_from_opaque_supplier() -> dict[str, Any]:
    critical = {s.sku_id for s in WORLD.skus if s.critical_material}
    sku = next(
        r["sku_id"]
        for r in WORLD.domain_tables("procurement")["supplier_skus"]
        if r["supplier_id"] == "SUP-APAC-1" and r["sku_id"] in critical
    )
    return {"supplier_id": "SUP-APAC-1", "sku_id": sku, "quantity": 20}


async def test_an_escalated_call_is_held_then_goes_through_once_after_approval(mesh: RunningMesh) -> None:
    order = _critical_order_from_opaque_supplier() | {"quantity": 21}
    target = await _target(
        mesh,
        "procurement-agent",
        "procurement",
        "procurement:read",
        "procurement:write",
        "procurement:compliance:read",
    )
    async with _client(target) as client:
        with pytest.raises(MCPError) as held:
            await client.call_tool("place_purchase_order", order)
        assert held.value.error.code == HELD_FOR_APPROVAL
        escalation_id = held.value.error.data["escalation_id"]
        with pytest.raises(MCPError) as still_held:
            await client.call_tool("place_purchase_order", order)
        assert still_held.value.error.data["escalation_id"] == escalation_id
        approved = await _operator(mesh, "POST", f"/api/escalations/{escalation_id}/approve")
        assert (approved["status"], approved["decided_by"]) == ("approved", "service:mesh-cli")
        with pytest.raises(MCPError):
            await client.call_tool("place_purchase_order", order | {"quantity": 22})  # not the identical call
        placed = await client.call_tool("place_purchase_order", order)
        assert not placed.is_error
        assert placed.meta is not None
        assert placed.meta["mesh/policy"]["approved_escalation"] == escalation_id
        with pytest.raises(MCPError) as again:
            await client.call_tool("place_purchase_order", order)  # the approval was used up
        assert again.value.error.data["escalation_id"] != escalation_id
    decision_id = held.value.error.data["decision_id"]
    statuses = [e.record.status for e in _records(mesh, decision_id)]
    assert statuses[0] == "escalated"
    assert "approved" in statuses


async def test_an_escalation_not_approved_in_time_expires_and_the_call_is_denied(mesh: RunningMesh) -> None:
    order = _critical_order_from_opaque_supplier() | {"quantity": 23}
    target = await _target(
        mesh,
        "procurement-agent",
        "procurement",
        "procurement:read",
        "procurement:write",
        "procurement:compliance:read",
    )
    async with _client(target) as client:
        with pytest.raises(MCPError) as held:
            await client.call_tool("place_purchase_order", order)
        escalation_id = held.value.error.data["escalation_id"]
        await asyncio.sleep(ESCALATION_TTL + 0.5)
        with pytest.raises(MCPError) as denied:
            await client.call_tool("place_purchase_order", order)
    assert denied.value.error.code == DENIED_BY_POLICY
    assert f"escalation {escalation_id} expired" in denied.value.error.message
    with pytest.raises(httpx.HTTPStatusError) as late:
        await _operator(mesh, "POST", f"/api/escalations/{escalation_id}/approve")
    assert late.value.response.status_code == 409


async def _operator(mesh: RunningMesh, method: str, path: str) -> Any:
    secret = read_client_secret(mesh.clients_file, "mesh-cli")
    token = await fetch_token(
        f"{mesh.gateway}/oauth/token",
        client_id="mesh-cli",
        client_secret=secret,
        scope="mesh:operator",
        resource=f"{mesh.gateway}/api",
    )
    async with httpx.AsyncClient() as http:
        response = await http.request(
            method, f"{mesh.gateway}{path}", headers={"authorization": f"Bearer {token.access_token}"}
        )
    response.raise_for_status()
    return response.json()


# --- delegation, limits, bad input --------------------------------------------------------------


async def test_token_exchange_keeps_the_act_chain_in_the_audit_record(mesh: RunningMesh) -> None:
    token_url = f"{mesh.gateway}/oauth/token"
    operator = await fetch_token(
        token_url,
        client_id="operator",
        client_secret=read_client_secret(mesh.clients_file, "operator"),
        scope="procurement:read",
        resource=f"{mesh.gateway}/mcp/procurement",
    )
    delegated = await exchange_token(
        token_url,
        client_id="procurement-agent",
        client_secret=read_client_secret(mesh.clients_file, "procurement-agent"),
        subject_token=operator.access_token,
        scope="procurement:read",
        resource=f"{mesh.gateway}/mcp/procurement",
    )
    meta = _decision("delegated")
    target = GatewayTarget(
        f"{mesh.gateway}/mcp/procurement", {"Authorization": f"Bearer {delegated.access_token}"}
    )
    async with _client(target) as client:
        assert not (await client.call_tool("get_supplier_scorecards", {"limit": 1}, meta=meta)).is_error
    (entry,) = _records(mesh, meta["mesh/decision_id"])
    assert entry.record.caller is not None
    assert entry.record.caller.subject == "operator:admin"
    assert entry.record.caller.client_id == "procurement-agent"
    assert entry.record.caller.act_chain == ["agent:procurement"]


async def test_too_many_calls_of_one_tool_get_429_with_retry_after(mesh: RunningMesh) -> None:
    target = await _target(mesh, "sustainability-agent", "sustainability")
    async with httpx.AsyncClient() as http:
        statuses = []
        for _ in range(40):
            response = await http.post(
                target.url, json=_call("get_emission_factors", {}), headers=ACCEPT | target.headers
            )
            statuses.append(response.status_code)
            if response.status_code == 429:
                break
    assert statuses[-1] == 429
    assert int(response.headers["retry-after"]) >= 1
    assert len(statuses) > 1  # the first calls went through to the domain server


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (b"{not json", 400, -32700),
        (b'[{"jsonrpc":"2.0","id":1,"method":"ping"}]', 400, -32600),
        (b'{"jsonrpc":"2.0","id":1,"method":"tools/destroy"}', 404, -32601),
        (b'{"jsonrpc":"2.0","id":1,"method":"ping","pad":"' + b"x" * (1024 * 1024) + b'"}', 413, -32600),
    ],
)
async def test_bad_input_gets_the_proper_status_and_error_and_the_gateway_stays_up(
    mesh: RunningMesh, body: bytes, status: int, code: int
) -> None:
    target = await _target(mesh, "inspector", "inventory")
    async with httpx.AsyncClient() as http:
        response = await http.post(target.url, content=body, headers=ACCEPT | target.headers)
        assert response.status_code == status
        assert response.json()["error"]["code"] == code
        assert (await http.get(f"{mesh.gateway}/healthz")).status_code == 200


async def test_a_revoked_token_is_refused(mesh: RunningMesh) -> None:
    secret = read_client_secret(mesh.clients_file, "inspector")
    target = await _target(mesh, "inspector", "demand")
    token = target.headers["Authorization"].removeprefix("Bearer ")
    async with httpx.AsyncClient() as http:
        revoked = await http.post(
            f"{mesh.gateway}/oauth/revoke", data={"token": token}, auth=("inspector", secret)
        )
        assert revoked.status_code == 200
        response = await http.post(target.url, json=_call("get_skus", {}), headers=ACCEPT | target.headers)
    assert response.status_code == 401
    assert "revoked" in response.json()["error_description"]


def test_refusals_are_audited(mesh: RunningMesh) -> None:
    with AuditLog(SQLiteBackend(mesh.ledger), mesh.data_dir / "keys") as log:
        _, rows = log.query(
            "SELECT json_extract(body, '$.status'), count(*) FROM audit_records "
            "WHERE json_extract(body, '$.agent') IS NULL OR json_extract(body, '$.status') = 'refused' GROUP BY 1"
        )
        assert dict(rows).get("refused", 0) >= 3
        assert log.verify().ok


def _mesh_cli(mesh: RunningMesh, *arguments: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("MESH_")} | {"COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "mesh", "--data-dir", str(mesh.data_dir), *arguments],
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_mesh_token_prints_only_a_token_the_gateway_accepts(mesh: RunningMesh) -> None:
    printed = _mesh_cli(
        mesh, "token", "--client", "inspector", "--domain", "demand", "--scope", "demand:read"
    )
    assert printed.returncode == 0, printed.stderr
    token = printed.stdout.strip()
    assert token.count(".") == 2
    response = httpx.post(
        f"{mesh.gateway}/mcp/demand",
        json=_call("get_skus", {}),
        headers=ACCEPT | {"authorization": f"Bearer {token}"},
    )
    assert response.status_code != 401
    refused = _mesh_cli(
        mesh, "token", "--client", "inspector", "--domain", "demand", "--scope", "demand:write"
    )
    assert refused.returncode == 1
    assert "invalid_scope" in refused.stderr
    assert refused.stdout == ""


async def test_mesh_escalations_lists_and_denies_a_held_call(mesh: RunningMesh) -> None:
    order = _critical_order_from_opaque_supplier() | {"quantity": 27}
    target = await _target(
        mesh,
        "procurement-agent",
        "procurement",
        "procurement:read",
        "procurement:write",
        "procurement:compliance:read",
    )
    async with _client(target) as client:
        with pytest.raises(MCPError) as held:
            await client.call_tool("place_purchase_order", order)
    escalation_id = held.value.error.data["escalation_id"]
    listed = await asyncio.to_thread(_mesh_cli, mesh, "escalations", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    assert escalation_id in {item["id"] for item in json.loads(listed.stdout)}
    denied = await asyncio.to_thread(_mesh_cli, mesh, "escalations", "deny", escalation_id)
    assert denied.returncode == 0, denied.stderr
    assert f"{escalation_id}: denied by service:mesh-cli" in denied.stdout
    again = await asyncio.to_thread(_mesh_cli, mesh, "escalations", "approve", escalation_id)
    assert again.returncode == 1
    assert "409" in again.stderr
