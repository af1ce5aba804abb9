"""The agents' deterministic domain logic and request parsing, without a mesh."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from datetime import UTC, datetime
from statistics import NormalDist
from typing import Any

import pytest
from a2a.helpers import new_data_part, new_text_part
from a2a.types import Message, Role
from a2a.utils.errors import ContentTypeNotSupportedError, InvalidParamsError
from pydantic import TypeAdapter

import mcp_servers._server as server
import mcp_servers.inventory as inventory_server
import mcp_servers.logistics as logistics_server
import mcp_servers.procurement as procurement_server
import mcp_servers.sustainability as sustainability_server
from agents import _ids as ids
from agents import _mcp as agent_mcp
from agents import agent_spec, all_specs
from agents._skills import parse_request
from agents.demand._skills import daily_totals, recomputed
from agents.demand._wire import ForecastInput
from agents.inventory._logic import demand_between, demand_share, inventory_position, reorder_levels
from agents.logistics._logic import carrier_options
from agents.logistics._wire import BudgetSnapshot
from agents.procurement._logic import active_outages, supplier_options
from agents.procurement._wire import SupplierWeights
from agents.sustainability import _logic as sustainability_logic
from agents.sustainability._logic import headroom, status
from mcp_servers.demand import derive as derive_demand
from mcp_servers.sustainability import budget_status
from mesh.gateway._clients import builtin_clients
from mesh.gateway._errors import DENIED_BY_POLICY, HELD_FOR_APPROVAL, RATE_LIMITED, UPSTREAM_UNAVAILABLE
from mesh.settings import DOMAINS
from mesh.world import generate_world

WORLD = generate_world(7, "volatile")


def _message(*parts: Any) -> Message:
    return Message(role=Role.ROLE_USER, message_id="m", parts=list(parts))


# --- requests --------------------------------------------------------------------------------------


def test_a_request_is_one_data_part_naming_a_skill_and_its_input() -> None:
    message = _message(new_data_part({"skill": "forecast", "input": {"sku_id": "SKU-07", "region": "EU"}}))

    skill, arguments = parse_request(agent_spec("demand"), message)

    assert skill.id == "forecast"
    assert arguments == ForecastInput(sku_id="SKU-07", region="EU")


def test_a_text_only_request_is_content_type_not_supported() -> None:
    with pytest.raises(ContentTypeNotSupportedError) as caught:
        parse_request(agent_spec("demand"), _message(new_text_part("forecast SKU-07 please")))
    assert caught.value.data == {"reason": "no_skill_request", "skills": ["forecast"]}


def test_an_unknown_skill_is_invalid_params_listing_the_known_ones() -> None:
    with pytest.raises(InvalidParamsError) as caught:
        parse_request(agent_spec("logistics"), _message(new_data_part({"skill": "fly", "input": {}})))
    assert caught.value.data is not None
    assert caught.value.data["reason"] == "unknown_skill"
    assert caught.value.data["skills"] == ["recommend_carrier", "book_shipment"]


@pytest.mark.parametrize(
    ("data", "reason", "field"),
    [
        ({"skill": "forecast", "input": {"sku_id": "SKU-07"}}, "invalid_input", "input.region"),
        (
            {"skill": "forecast", "input": {"sku_id": "SKU-07", "region": "MARS"}},
            "invalid_input",
            "input.region",
        ),
        (
            {"skill": "forecast", "input": {"sku_id": "SKU-07", "region": "EU", "colour": "red"}},
            "invalid_input",
            "input.colour",
        ),
        ({"skill": 7, "input": {}}, "malformed_request", "skill"),
        ({"skill": "forecast", "input": [], "extra": 1}, "malformed_request", "input"),
    ],
)
def test_bad_input_is_invalid_params_naming_the_field(data: dict[str, Any], reason: str, field: str) -> None:
    with pytest.raises(InvalidParamsError) as caught:
        parse_request(agent_spec("demand"), _message(new_data_part(data)))
    assert caught.value.data is not None
    assert caught.value.data["reason"] == reason
    assert field in [e["field"] for e in caught.value.data["errors"]]


@pytest.mark.parametrize("domain", DOMAINS)
def test_every_example_on_a_card_is_a_valid_request(domain: str) -> None:
    spec = agent_spec(domain)
    for skill in spec.skills:
        for example in skill.examples:
            parsed, _ = parse_request(spec, _message(new_data_part(json.loads(example))))
            assert parsed.id == skill.id


def test_each_agent_asks_only_for_scopes_its_oauth_client_may_be_granted() -> None:
    clients = {c.client_id: c for c in builtin_clients("http://gw", "http://upstream/")}
    for spec in all_specs():
        allowed = set(clients[spec.client_id].allowed_scopes)
        wanted = {scope for scopes in spec.reaches.values() for scope in scopes}
        assert wanted <= allowed, spec.domain
        for domain, scopes in spec.reaches.items():
            assert all(scope.startswith(f"{domain}:") for scope in scopes)
        acting = [s.id for s in spec.skills if s.acts]
        assert bool(acting) == (f"{spec.domain}:write" in wanted)


# --- demand ----------------------------------------------------------------------------------------


def test_recomputing_from_the_hourly_history_reproduces_the_published_forecast() -> None:
    hourly = [
        r
        for r in WORLD.domain_tables("demand")["hourly_demand"]
        if (r["sku_id"], r["region"]) == ("SKU-07", "EU")
    ]
    published = derive_demand(WORLD)

    days, accuracy, model = recomputed(
        ForecastInput(sku_id="SKU-07", region="EU", horizon_days=14, method="recompute"),
        daily_totals(hourly),
        WORLD.as_of.date(),
    )

    expected = [r for r in published["forecast"] if (r["sku_id"], r["region"]) == ("SKU-07", "EU")]
    assert [(d.date.isoformat(), d.units, d.lower, d.upper) for d in days] == [
        (r["date"], r["units"], r["lower"], r["upper"]) for r in expected
    ]
    (back_test,) = [
        r for r in published["forecast_accuracy"] if (r["sku_id"], r["region"]) == ("SKU-07", "EU")
    ]
    assert (accuracy.mape, accuracy.bias) == (back_test["mape"], back_test["bias"])
    assert model == back_test["method"]


def test_daily_totals_sum_hours_per_utc_day() -> None:
    rows = [
        {"ts": "2026-01-05T23:00:00Z", "units": 1.5},
        {"ts": "2026-01-06T00:00:00Z", "units": 2},
        {"ts": "2026-01-05T01:00:00Z", "units": 1},
    ]

    assert [(d.isoformat(), u) for d, u in daily_totals(rows)] == [("2026-01-05", 2.5), ("2026-01-06", 2.0)]


# --- inventory -------------------------------------------------------------------------------------


def test_demand_between_takes_fractions_of_days_and_the_mean_beyond_the_horizon() -> None:
    daily = [10.0, 20.0, 30.0]

    assert demand_between(daily, 0, 1.5) == 10 + 10
    assert demand_between(daily, 0.5, 2) == 5 + 20
    assert demand_between(daily, 2, 5) == 30 + 20 + 20


def test_a_warehouses_share_follows_the_cycle_stock_of_its_regions_policies() -> None:
    policies = [
        {"warehouse_id": "WH-EU-1", "reorder_point": 100, "order_up_to": 400},
        {"warehouse_id": "WH-EU-2", "reorder_point": 50, "order_up_to": 150},
    ]

    assert demand_share("WH-EU-1", policies) == 0.75
    assert demand_share("WH-EU-2", policies) == 0.25


def test_reorder_levels_follow_the_periodic_review_formulas() -> None:
    forecast = [100.0] * 14
    levels = reorder_levels(
        share=0.5,
        forecast_units=forecast,
        first_day_upper=100 + 1.96 * 20,
        lead_time_days=4,
        review_period_days=7,
        service_level=0.95,
    )

    z = NormalDist().inv_cdf(0.95)
    assert levels.daily_sigma == pytest.approx(10)  # half of the region's 20
    assert levels.safety_stock == math.ceil(z * 10 * 2)
    assert levels.lead_time_demand == 200
    assert levels.reorder_point == 200 + levels.safety_stock
    assert levels.order_up_to == levels.reorder_point + 350


def test_the_inventory_position_counts_unshipped_supplier_orders_as_on_order() -> None:
    stock = {"on_hand": 400, "allocated": 50, "in_transit": 120}
    orders = [
        {"quantity": 120, "status": "in_transit"},  # already in in_transit
        {"quantity": 300, "status": "open"},
        {"quantity": 80, "status": "delayed"},
    ]

    position = inventory_position(stock, orders)

    assert (position.on_order, position.position) == (380, 400 - 50 + 120 + 380)


# --- logistics -------------------------------------------------------------------------------------


def _quote(carrier: str, cost: float, co2e: float, days: float) -> dict[str, Any]:
    return {
        "carrier_id": carrier,
        "carrier_name": carrier,
        "mode": "road",
        "cost": cost,
        "co2e_kg": co2e,
        "transit_days": days,
        "eta": datetime(2026, 2, 10, tzinfo=UTC),
    }


BUDGET = BudgetSnapshot(region="EU", year=2026, budget_kg=1000, spent_kg=800, remaining_kg=200, status="ok")


def test_the_choice_minimises_cost_plus_carbon_price_and_respects_the_budget_and_transit() -> None:
    quotes = [_quote("A", 100, 150, 5), _quote("B", 90, 250, 2), _quote("C", 120, 10, 9)]

    cheap = carrier_options(quotes, carbon_price_per_tonne=0, max_transit_days=None, budget=BUDGET)
    pricey = carrier_options(quotes, carbon_price_per_tonne=200, max_transit_days=None, budget=BUDGET)
    quick = carrier_options(quotes, carbon_price_per_tonne=0, max_transit_days=6, budget=BUDGET)

    assert [o.carrier_id for o in cheap] == ["A", "C", "B"]  # B would exceed the budget
    assert "carbon budget" in cheap[-1].excluded_because[0]
    assert not cheap[-1].feasible
    assert [o.carrier_id for o in pricey if o.feasible] == ["C", "A"]  # 122 < 130
    assert pricey[0].weighted_cost == pytest.approx(120 + 2)
    assert [o.carrier_id for o in quick if o.feasible] == ["A"]
    assert cheap[0].budget_status_after == "warning"  # 950 of 1000


# --- sustainability --------------------------------------------------------------------------------


@pytest.mark.parametrize("spent", [0, 500, 899.9, 900, 999, 1000, 1000.1, 2000])
def test_budget_status_bands_are_the_sustainability_domains(spent: float) -> None:
    assert status(spent, 1000) == budget_status(spent / 1000)


def test_headroom_before_the_warning_band() -> None:
    row = {
        "region": "NA",
        "year": 2026,
        "budget_kg": 1000.0,
        "spent_kg": 850.0,
        "as_of": "2026-02-02T00:00:00Z",
    }

    found = headroom(row)

    assert (found.remaining_kg, found.headroom_to_warning_kg, found.status) == (150, 50, "ok")


# --- procurement -----------------------------------------------------------------------------------


def test_suppliers_without_verified_labor_compliance_or_in_an_outage_are_excluded_with_reasons() -> None:
    tables = WORLD.domain_tables("procurement")
    cards = {r["supplier_id"]: r | {"name": r["name"]} for r in tables["suppliers"]}
    audits = {r["supplier_id"]: r for r in tables["compliance"]}
    offers = [
        {"supplier_id": s, "sku_id": "SKU-02", "unit_price": p, "critical_material": False}
        for s, p in (
            ("SUP-NA-2", 40.0),
            ("SUP-EU-3", 35.0),
            ("SUP-NA-1", 45.0),
            ("SUP-NA-3", 41.0),
            ("SUP-EU-1", 50.0),
        )
    ]
    outages = active_outages(
        [
            {
                "supplier_id": "SUP-EU-1",
                "start": "2026-01-31T00:00:00Z",
                "end": "2026-02-14T00:00:00Z",
                "reason": "flood",
            }
        ],
        WORLD.as_of,
    )

    options, excluded = supplier_options(
        offers=offers,
        scorecards=cards,
        compliance=audits,
        outages=outages,
        quantity=100,
        region=None,
        max_lead_time_days=None,
        weights=SupplierWeights(),
    )

    reasons = {e.supplier_id: e.reasons for e in excluded}
    assert reasons == {
        "SUP-EU-1": ["supply outage until 2026-02-14 (flood)"],
        "SUP-EU-3": ["labor compliance pending"],
        "SUP-NA-2": ["labor compliance failed"],
    }
    assert {o.supplier_id for o in options} == {"SUP-NA-1", "SUP-NA-3"}
    cheaper = next(o for o in options if o.supplier_id == "SUP-NA-3")
    assert cheaper.score_parts["cost"] == 1.0
    assert options[0].score >= options[1].score


def test_only_cost_weighs_when_the_weights_say_so() -> None:
    tables = WORLD.domain_tables("procurement")
    cards = {r["supplier_id"]: r for r in tables["suppliers"]}
    audits = {r["supplier_id"]: r for r in tables["compliance"]}
    offers = [
        {"supplier_id": s, "unit_price": p}
        for s, p in (("SUP-NA-1", 45.0), ("SUP-NA-3", 41.0), ("SUP-EU-2", 60.0))
    ]

    options, _ = supplier_options(
        offers=offers,
        scorecards=cards,
        compliance=audits,
        outages={},
        quantity=10,
        region="NA",
        max_lead_time_days=13.0,
        weights=SupplierWeights(cost=1, lead_time=0, reliability=0, transparency=0),
    )

    assert [o.supplier_id for o in options] == ["SUP-NA-1"]  # SUP-NA-3: 13.3 days; SUP-EU-2: not NA
    assert options[0].score == 100


# --- what agents mirror of the domains, and do not import ------------------------------------------


@pytest.mark.parametrize(
    ("ours", "theirs"),
    [
        (ids.Region, server.Region),
        (ids.SkuId, server.SkuId),
        (ids.SupplierId, server.SupplierId),
        (ids.WarehouseId, inventory_server.WarehouseId),
        (ids.TransferUnits, inventory_server.TransferUnits),
        (ids.LaneId, logistics_server.LaneId),
        (ids.CarrierId, logistics_server.CarrierId),
        (ids.ShipmentUnits, logistics_server.ShipmentUnits),
        (ids.OrderQuantity, procurement_server.OrderQuantity),
    ],
)
def test_the_agents_identifiers_are_the_domain_tools_argument_types(ours: Any, theirs: Any) -> None:
    assert TypeAdapter(ours).json_schema() == TypeAdapter(theirs).json_schema()


def test_the_agents_know_the_gateways_error_codes_and_the_carbon_band() -> None:
    assert (agent_mcp.DENIED_BY_POLICY, agent_mcp.HELD_FOR_APPROVAL) == (DENIED_BY_POLICY, HELD_FOR_APPROVAL)
    assert (agent_mcp.RATE_LIMITED, agent_mcp.UPSTREAM_UNAVAILABLE) == (RATE_LIMITED, UPSTREAM_UNAVAILABLE)
    assert sustainability_logic.WARNING_UTILIZATION == sustainability_server.WARNING_UTILIZATION


def test_an_agent_starts_without_the_domain_servers_or_the_gateway_package() -> None:
    code = (
        "import sys\n"
        "import agents, agents.__main__\n"
        "from mesh.settings import DOMAINS\n"
        "for domain in DOMAINS: agents.agent_spec(domain)\n"
        "print(sorted(m for m in sys.modules if m.startswith(('mcp_servers', 'mesh.gateway'))))\n"
    )
    found = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert found.stdout.strip() == "[]"
