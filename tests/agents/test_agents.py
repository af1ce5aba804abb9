"""The five agents as users meet them: found by their signed cards, called over A2A JSON-RPC and
REST (and 0.3 JSON-RPC) on loopback, reading and acting through the real gateway."""

from __future__ import annotations

import asyncio
import json
import math
import time
from datetime import timedelta
from typing import Any

import httpx
import pytest
from a2a.client.card_resolver import parse_agent_card
from a2a.helpers import get_data_parts, get_text_parts
from a2a.types import Task, TaskState
from a2a.utils.errors import ContentTypeNotSupportedError, InvalidParamsError

from agents import CardVerificationError, card_document, decision_id_for, verify_card
from agents._cards import card_file
from mesh.audit import AuditLog, LedgerEntry, SQLiteBackend
from mesh.gateway._client import operator_token
from mesh.settings import DOMAINS
from mesh.world import generate_world
from tests.agents.conftest import RunningMesh, a2a_client, call, send, skill_message

pytestmark = pytest.mark.e2e

WORLD = generate_world(7, "volatile")
BINDINGS = ["JSONRPC", "HTTP+JSON"]


def output(task: Task) -> dict[str, Any]:
    assert task.status.state == TaskState.TASK_STATE_COMPLETED, problem(task)
    (artifact,) = task.artifacts
    (data,) = get_data_parts(artifact.parts)
    assert isinstance(data, dict)
    assert get_text_parts(artifact.parts)  # the short text summary beside the data
    return data


def problem(task: Task) -> dict[str, Any]:
    found = get_data_parts(task.status.message.parts)
    return found[0] if found else {"text": get_text_parts(task.status.message.parts)}


def records(mesh: RunningMesh, decision_id: str) -> list[LedgerEntry]:
    deadline = time.monotonic() + 10
    while True:
        with AuditLog(SQLiteBackend(mesh.ledger), mesh.data_dir / "keys") as log:
            found = log.records_for(decision_id)
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


# --- discovery: the signed card at the well-known path -------------------------------------------


@pytest.mark.parametrize("domain", DOMAINS)
async def test_the_served_card_verifies_with_the_pinned_key_and_matches_its_file(
    mesh: RunningMesh, domain: str
) -> None:
    async with httpx.AsyncClient() as http:
        served = (await http.get(f"{mesh.agent(domain)}/.well-known/agent-card.json")).json()
    verify_card(served, mesh.pinned)
    assert served["signatures"][0]["protected"]
    assert served["url"] == f"{mesh.agent(domain)}/a2a/jsonrpc"  # the 0.3 fields are there too
    assert card_document(parse_agent_card(dict(served))) == json.loads(card_file(domain).read_text())


async def test_a_tampered_served_card_fails_verification(mesh: RunningMesh) -> None:
    async with httpx.AsyncClient() as http:
        served = (await http.get(f"{mesh.agent('logistics')}/.well-known/agent-card.json")).json()
    served["supportedInterfaces"][0]["url"] = "http://evil.example/a2a/jsonrpc"
    with pytest.raises(CardVerificationError) as caught:
        verify_card(served, mesh.pinned)
    assert caught.value.reason == "bad_signature"


# --- each agent's main skill, over JSON-RPC and REST ---------------------------------------------


@pytest.mark.parametrize("binding", BINDINGS)
async def test_demand_forecasts_sku_07_in_eu_with_its_accuracy(mesh: RunningMesh, binding: str) -> None:
    result = output(
        await call(mesh, "demand", "forecast", {"sku_id": "SKU-07", "region": "EU"}, binding=binding)
    )

    days = result["days"]
    assert len(days) == result["horizon_days"] == 14
    assert [d["date"] for d in days] == [
        (WORLD.as_of.date() + timedelta(days=h)).isoformat() for h in range(14)
    ]
    assert all(0 <= d["lower"] <= d["units"] <= d["upper"] for d in days)
    assert math.isclose(result["total_units"], sum(d["units"] for d in days), abs_tol=0.01)
    daily_history = 24 * WORLD.base_rate("SKU-07", "EU")
    assert 0.5 * daily_history < result["mean_daily_units"] < 2 * daily_history
    assert 0 < result["accuracy"]["mape"] < 0.5
    assert {s["product_id"] for s in result["sources"]} == {"demand.forecast", "demand.forecast_accuracy"}


async def test_a_recomputed_forecast_streams_and_agrees_with_the_published_one(mesh: RunningMesh) -> None:
    request = {"sku_id": "SKU-07", "region": "EU"}
    published = output(await call(mesh, "demand", "forecast", request))
    recomputed = output(
        await call(
            mesh, "demand", "forecast", request | {"method": "recompute", "horizon_days": 28}, streaming=True
        )
    )

    assert len(recomputed["days"]) == 28
    assert recomputed["days"][:14] == published["days"]  # the same model on the same history
    assert recomputed["accuracy"] == published["accuracy"]


@pytest.mark.parametrize("binding", BINDINGS)
async def test_inventory_recommends_a_reorder_from_the_forecast_and_the_stock_position(
    mesh: RunningMesh, binding: str
) -> None:
    result = output(
        await call(
            mesh,
            "inventory",
            "recommend_reorder",
            {"sku_id": "SKU-07", "warehouse_id": "WH-NA-1"},
            binding=binding,
        )
    )

    stock = next(
        r
        for r in WORLD.domain_tables("inventory")["stock_positions"]
        if (r["warehouse_id"], r["sku_id"]) == ("WH-NA-1", "SKU-07")
    )
    position = result["position"]
    assert (position["on_hand"], position["allocated"], position["in_transit"]) == (
        stock["on_hand"],
        stock["allocated"],
        stock["in_transit"],
    )
    assert (
        position["position"]
        == position["on_hand"] - position["allocated"] + position["in_transit"] + position["on_order"]
    )
    assert result["reorder_point"] == math.ceil(result["lead_time_demand"]) + result["safety_stock"]
    assert result["order_up_to"] == result["reorder_point"] + math.ceil(result["review_period_demand"])
    assert result["reorder"] == (position["position"] <= result["reorder_point"])
    expected_quantity = result["order_up_to"] - position["position"] if result["reorder"] else 0
    assert result["order_quantity"] == expected_quantity
    assert 0 < result["demand_share"] < 1
    assert result["service_level"] == result["published_policy"]["service_level"] == 0.98  # a critical SKU
    # the forecast-based levels land near the domain's own base-rate policy
    assert 0.5 < result["reorder_point"] / result["published_policy"]["reorder_point"] < 2


async def test_inventory_reorders_when_the_position_is_below_the_reorder_point(mesh: RunningMesh) -> None:
    results = [
        output(
            await call(mesh, "inventory", "recommend_reorder", {"sku_id": sku, "warehouse_id": "WH-APAC-1"})
        )
        for sku in ("SKU-01", "SKU-05", "SKU-09")
    ]
    for result in results:
        if result["reorder"]:
            assert result["order_quantity"] == result["order_up_to"] - result["position"]["position"] > 0
        else:
            assert result["position"]["position"] > result["reorder_point"]


@pytest.mark.parametrize("binding", BINDINGS)
async def test_logistics_chooses_a_carrier_within_the_carbon_budget(mesh: RunningMesh, binding: str) -> None:
    result = output(
        await call(
            mesh, "logistics", "recommend_carrier", {"lane_id": "APAC-NA", "units": 1000}, binding=binding
        )
    )

    options = {o["carrier_id"]: o for o in result["options"]}
    assert set(options) == {"CAR-4", "CAR-5", "CAR-6"}
    assert not options["CAR-6"]["feasible"]  # air: 66.7 t of CO2e, APAC has about 11.4 t left
    assert "carbon budget" in options["CAR-6"]["excluded_because"][0]
    chosen = result["chosen"]
    feasible = [o for o in result["options"] if o["feasible"]]
    assert chosen["carrier_id"] == min(feasible, key=lambda o: o["weighted_cost"])["carrier_id"]
    assert chosen["co2e_kg"] <= result["carbon_budget"]["remaining_kg"]
    for option in result["options"]:
        assert math.isclose(
            option["weighted_cost"], option["cost"] + option["co2e_kg"] / 1000 * 100, abs_tol=0.02
        )


async def test_a_higher_carbon_price_moves_the_choice_to_a_cleaner_carrier(mesh: RunningMesh) -> None:
    lane = {"lane_id": "EU-EU", "units": 500}
    cheap = output(await call(mesh, "logistics", "recommend_carrier", lane | {"carbon_price_per_tonne": 0}))
    fast = output(await call(mesh, "logistics", "recommend_carrier", lane | {"max_transit_days": 2.5}))

    assert cheap["chosen"]["cost"] == min(o["cost"] for o in cheap["options"])
    assert fast["chosen"]["transit_days"] <= 2.5
    assert all(o["transit_days"] > 2.5 for o in fast["options"] if not o["feasible"])


@pytest.mark.parametrize("binding", BINDINGS)
async def test_sustainability_tracks_each_regions_budget_and_checks_a_shipment(
    mesh: RunningMesh, binding: str
) -> None:
    status = output(await call(mesh, "sustainability", "carbon_budget_status", {}, binding=binding))
    check = output(
        await call(
            mesh,
            "sustainability",
            "check_shipment",
            {"carrier_id": "CAR-6", "lane_id": "APAC-NA", "units": 1000},
            binding=binding,
        )
    )

    budgets = {b["region"]: b for b in status["budgets"]}
    assert set(budgets) == {"NA", "EU", "APAC"}
    apac = budgets["APAC"]
    assert apac["status"] == "warning"
    assert math.isclose(apac["remaining_kg"], apac["budget_kg"] - apac["spent_kg"], abs_tol=0.01)
    assert apac["headroom_to_warning_kg"] == 0
    assert budgets["NA"]["headroom_to_warning_kg"] > 0
    assert (check["region"], check["verdict"], check["status_after"]) == (
        "APAC",
        "exceeds_budget",
        "exceeded",
    )
    assert check["quote"]["mode"] == "air"
    assert math.isclose(check["projected_kg"], apac["spent_kg"] + check["co2e_kg"], abs_tol=0.01)


def _sku_sold_by(*suppliers: str) -> str:
    sellers: dict[str, set[str]] = {}
    for offer in WORLD.domain_tables("procurement")["supplier_skus"]:
        sellers.setdefault(offer["sku_id"], set()).add(offer["supplier_id"])
    return next(sku for sku, who in sorted(sellers.items()) if set(suppliers) <= who)


@pytest.mark.parametrize("binding", BINDINGS)
async def test_procurement_never_chooses_a_supplier_without_verified_labor_compliance(
    mesh: RunningMesh, binding: str
) -> None:
    sku = _sku_sold_by("SUP-NA-2", "SUP-EU-3")  # failed and pending labor compliance
    result = output(
        await call(
            mesh, "procurement", "recommend_supplier", {"sku_id": sku, "quantity": 400}, binding=binding
        )
    )

    excluded = {e["supplier_id"]: e["reasons"] for e in result["excluded"]}
    assert "labor compliance failed" in excluded["SUP-NA-2"]
    assert "labor compliance pending" in excluded["SUP-EU-3"]
    assert result["chosen"]["supplier_id"] not in excluded
    assert {o["labor_compliance"] for o in result["options"]} == {"verified"}
    scores = [o["score"] for o in result["options"]]
    assert scores == sorted(scores, reverse=True)
    assert result["chosen"]["order_value"] == pytest.approx(400 * result["chosen"]["unit_price"])


# --- bad requests get the A2A spec's errors, on every binding ------------------------------------


@pytest.mark.parametrize("binding", BINDINGS)
async def test_an_unknown_skill_is_invalid_params(mesh: RunningMesh, binding: str) -> None:
    async with a2a_client(mesh, "demand", binding=binding) as client:
        with pytest.raises(InvalidParamsError) as caught:
            await send(client, skill_message("reorder", {"sku_id": "SKU-07"}))
    assert "unknown skill 'reorder'" in caught.value.message


@pytest.mark.parametrize("binding", BINDINGS)
async def test_input_that_fails_the_skills_schema_is_invalid_params_naming_the_field(
    mesh: RunningMesh, binding: str
) -> None:
    async with a2a_client(mesh, "inventory", binding=binding) as client:
        with pytest.raises(InvalidParamsError) as caught:
            await send(
                client, skill_message("recommend_reorder", {"sku_id": "SKU-7", "warehouse_id": "WH-EU-1"})
            )
    assert "sku_id" in caught.value.message


@pytest.mark.parametrize("binding", BINDINGS)
async def test_a_free_text_request_is_content_type_not_supported(mesh: RunningMesh, binding: str) -> None:
    message = skill_message("forecast", {})
    message.ClearField("parts")
    message.parts.add(text="how much SKU-07 will EU need next week?")
    async with a2a_client(mesh, "demand", binding=binding) as client:
        with pytest.raises(ContentTypeNotSupportedError) as caught:
            await send(client, message)
    assert "need a model" in caught.value.message


async def test_a2a_0_3_json_rpc_clients_are_served_on_the_same_endpoint(mesh: RunningMesh) -> None:
    url = f"{mesh.agent('sustainability')}/a2a/jsonrpc"

    def request(message_id: str, data: dict[str, Any]) -> dict[str, Any]:
        parts = [{"kind": "data", "data": data}]
        message = {"kind": "message", "role": "user", "messageId": message_id, "parts": parts}
        return {"jsonrpc": "2.0", "id": 1, "method": "message/send", "params": {"message": message}}

    async with httpx.AsyncClient(timeout=60) as http:
        good = (
            await http.post(url, json=request("v03-a", {"skill": "carbon_budget_status", "input": {}}))
        ).json()
        bad = (
            await http.post(url, json=request("v03-b", {"skill": "carbon_budget_status", "input": {"x": 1}}))
        ).json()

    assert good["result"]["kind"] == "task"
    assert good["result"]["status"]["state"] == "completed"
    assert bad["error"]["code"] == -32602


# --- actions go through the gateway: warn, deny, escalate, approve --------------------------------


async def test_a_booking_near_the_carbon_budget_is_made_and_carries_the_policy_warning(
    mesh: RunningMesh,
) -> None:
    task = await call(
        mesh, "logistics", "book_shipment", {"lane_id": "APAC-APAC", "units": 10, "sku_id": "SKU-01"}
    )

    result = output(task)
    assert result["shipment_id"].startswith("SHP-B-")
    assert result["chosen_by"] == "agent"
    assert result["carrier_id"] == result["recommendation"]["chosen"]["carrier_id"]
    assert result["policy"]["decision"] == "warn"
    assert "decisions.shipment.carbon_budget" in result["policy"]["policy_ids"]
    entries = records(mesh, decision_id_for("logistics", task.id))
    assert {e.record.agent for e in entries} == {"logistics-agent"}
    booked = [e.record for e in entries if e.record.parameters.get("tool") == "book_shipment"]
    assert [r.status for r in booked] == ["executed"]


async def test_a_booking_over_the_carbon_budget_is_denied_and_the_task_fails_with_the_reasons(
    mesh: RunningMesh,
) -> None:
    task = await call(
        mesh,
        "logistics",
        "book_shipment",
        {"lane_id": "APAC-NA", "units": 1000, "sku_id": "SKU-01", "carrier_id": "CAR-6"},
    )

    assert task.status.state == TaskState.TASK_STATE_FAILED
    report = problem(task)
    assert report["outcome"] == "denied"
    assert "decisions.shipment.carbon_budget" in report["policy_ids"]
    assert "carbon budget" in report["reasons"][0]
    assert get_text_parts(task.status.message.parts)[0].startswith("denied by policy")
    assert not task.artifacts


async def test_with_no_feasible_carrier_nothing_is_booked(mesh: RunningMesh) -> None:
    task = await call(
        mesh,
        "logistics",
        "book_shipment",
        {"lane_id": "APAC-NA", "units": 1000, "sku_id": "SKU-01", "max_transit_days": 3},
    )

    assert task.status.state == TaskState.TASK_STATE_FAILED
    assert problem(task)["outcome"] == "no_result"


async def test_a_purchase_order_from_a_supplier_that_failed_labor_compliance_is_denied(
    mesh: RunningMesh,
) -> None:
    sku = _sku_sold_by("SUP-NA-2")
    task = await call(
        mesh,
        "procurement",
        "place_purchase_order",
        {"sku_id": sku, "quantity": 10, "supplier_id": "SUP-NA-2"},
    )

    assert task.status.state == TaskState.TASK_STATE_FAILED
    report = problem(task)
    assert report["outcome"] == "denied"
    assert "decisions.purchase_order.labor_compliance" in report["policy_ids"]


async def test_an_escalated_purchase_order_is_input_required_until_approved_then_placed_once(
    mesh: RunningMesh,
) -> None:
    critical = {s.sku_id for s in WORLD.skus if s.critical_material}
    sku = next(
        offer["sku_id"]
        for offer in WORLD.domain_tables("procurement")["supplier_skus"]
        if offer["supplier_id"] == "SUP-APAC-1" and offer["sku_id"] in critical
    )
    order = {"sku_id": sku, "quantity": 21, "supplier_id": "SUP-APAC-1"}  # tier-2 transparency 0.49 < 0.6
    async with a2a_client(mesh, "procurement") as client:
        held = await send(client, skill_message("place_purchase_order", order))
        assert held.status.state == TaskState.TASK_STATE_INPUT_REQUIRED
        report = problem(held)
        assert report["outcome"] == "escalated"
        assert "decisions.purchase_order.tier2_transparency" in report["policy_ids"]
        escalation_id = report["escalation_id"]

        still_held = await send(client, skill_message("place_purchase_order", {}, task=held))
        assert still_held.status.state == TaskState.TASK_STATE_INPUT_REQUIRED
        assert problem(still_held)["escalation_id"] == escalation_id

        await _approve(mesh, escalation_id)
        placed = await send(client, skill_message("place_purchase_order", {}, task=held))

    assert placed.id == held.id
    result = output(placed)
    assert result["po_id"].startswith("PO-N-")
    assert (result["supplier_id"], result["quantity"], result["chosen_by"]) == ("SUP-APAC-1", 21, "caller")
    assert result["policy"]["approved_escalation"] == escalation_id
    statuses = [e.record.status for e in records(mesh, decision_id_for("procurement", held.id))]
    assert "escalated" in statuses
    assert "executed" in statuses


async def test_stock_transfers_go_through_the_gateway_under_the_callers_decision(mesh: RunningMesh) -> None:
    decision = f"test-transfer-{time.monotonic_ns()}"
    message = skill_message(
        "transfer_stock",
        {"from_warehouse_id": "WH-EU-1", "to_warehouse_id": "WH-EU-2", "sku_id": "SKU-07", "units": 25},
    )
    message.metadata.update({"mesh/decision_id": decision})
    async with a2a_client(mesh, "inventory", binding="HTTP+JSON") as client:
        task = await send(client, message)

    result = output(task)
    assert result["order_id"].startswith("TRF-")
    assert (result["lane_id"], result["needs_shipment"]) == ("EU-EU", False)
    entries = records(mesh, decision)
    assert [e.record.agent for e in entries] == ["inventory-agent"]
    assert entries[0].record.parameters["tool"] == "transfer_stock"


async def test_a_transfer_the_domain_refuses_fails_the_task_with_the_domains_reason(
    mesh: RunningMesh,
) -> None:
    task = await call(
        mesh,
        "inventory",
        "transfer_stock",
        {"from_warehouse_id": "WH-EU-2", "to_warehouse_id": "WH-EU-1", "sku_id": "SKU-07", "units": 90_000},
    )

    assert task.status.state == TaskState.TASK_STATE_FAILED
    report = problem(task)
    assert (report["outcome"], report["domain"], report["tool"]) == (
        "tool_error",
        "inventory",
        "transfer_stock",
    )
    assert "not enough stock" in report["message"]


async def test_concurrent_requests_to_one_agent_each_get_their_own_task(mesh: RunningMesh) -> None:
    regions = ["NA", "EU", "APAC"]
    tasks = await asyncio.gather(
        *(
            call(mesh, "demand", "forecast", {"sku_id": "SKU-03", "region": r, "horizon_days": 3})
            for r in regions
        )
    )

    assert len({t.id for t in tasks}) == 3
    assert [output(t)["region"] for t in tasks] == regions


async def _approve(mesh: RunningMesh, escalation_id: str) -> None:
    token = await operator_token(mesh.gateway, clients_file=mesh.clients_file)
    async with httpx.AsyncClient() as http:
        response = await http.post(
            f"{mesh.gateway}/api/escalations/{escalation_id}/approve",
            headers={"authorization": f"Bearer {token}"},
        )
    response.raise_for_status()
