"""The operator API on a real gateway served on loopback, with tokens from its own authorization
server: decisions, one decision's provenance, standings and the chat, for `mesh:operator` only."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from mesh.audit import Ledger
from mesh.cli import app
from mesh.gateway import build_gateway
from mesh.settings import MeshSettings
from tests.chat.conftest import ORDER, RUN, TIER2, TRANSFER, run_records
from tests.model_guard import ModelRequestGuard
from tests.net import free_port, serve_app


@dataclass(frozen=True)
class Served:
    url: str
    ledger: Ledger
    issue: Any

    def token(self, *scopes: str, audience: str | None = None) -> str:
        issued = self.issue(
            subject="operator:alice",
            client_id="operator",
            scopes=list(scopes),
            audience=audience or f"{self.url}/api",
        )
        return str(issued.access_token)

    def get(self, path: str, token: str | None, **params: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.get(f"{self.url}{path}", params=params, headers=headers, timeout=10)

    def chat(self, body: Any, token: str) -> httpx.Response:
        return httpx.post(
            f"{self.url}/api/chat", json=body, headers={"Authorization": f"Bearer {token}"}, timeout=30
        )


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    settings = MeshSettings(data_dir=tmp_path_factory.mktemp("operator-api"), model="")
    url = f"http://127.0.0.1:{free_port()}"
    ledger = Ledger.sqlite(settings.audit_path, settings.key_dir)
    for record in run_records():
        ledger.submit(record).result(timeout=10)
    gateway = build_gateway(
        settings,
        public_base_url=url,
        upstreams={"demand": f"http://127.0.0.1:{free_port()}/mcp"},
        ledger=ledger,
    )
    assert gateway.authorization_server is not None
    server = serve_app(gateway.app, int(url.rsplit(":", 1)[1]))
    try:
        yield Served(url, ledger, gateway.authorization_server.issue)
    finally:
        server.stop()
        ledger.close()


@pytest.fixture
def served(gateway: Served, model_guard: ModelRequestGuard) -> Served:
    """The gateway, reachable from this test (its loopback server passes the guard)."""
    model_guard.allow(gateway.url)
    return gateway


def test_the_operator_api_needs_an_operator_token_for_its_audience(served: Served) -> None:
    assert served.get("/api/decisions", None).status_code == 401
    assert served.get("/api/standings", served.token("mesh:directory")).status_code == 403
    other_audience = served.token("mesh:operator", audience=f"{served.url}/mcp/demand")
    assert served.get("/api/decisions", other_audience).status_code == 401
    assert served.chat({"question": "hi"}, served.token("demand:read")).status_code == 403


def test_decisions_are_listed_newest_first_and_filtered(served: Served) -> None:
    token = served.token("mesh:operator")

    listed = served.get("/api/decisions", token).json()["decisions"]
    by_inventory = served.get("/api/decisions", token, agent="inventory").json()["decisions"]
    with_sku = served.get("/api/decisions", token, q="sku-17", limit=1).json()["decisions"]

    ids = [row["decision_id"] for row in listed]
    assert ids.index(f"{RUN}-h030.trust.procurement") < ids.index(ORDER) < ids.index(TRANSFER)
    (transfer,) = [row for row in listed if row["decision_id"] == TRANSFER]
    assert transfer == {
        "decision_id": TRANSFER,
        "first_at": transfer["first_at"],
        "last_at": transfer["last_at"],
        "agent": "agent:inventory",
        "domain": "inventory",
        "action": "transfer",
        "status": "executed",
        "execution_mode": "autonomous",
        "records": 2,
        "summary": "transfer of 215 x SKU-08 from WH-EU-2 to WH-EU-1: executed (autonomous)",
    }
    assert [row["decision_id"] for row in by_inventory] == [f"{RUN}-h030.trust.inventory", TRANSFER]
    assert [row["decision_id"] for row in with_sku] == [ORDER]
    assert served.get("/api/decisions", token, limit=0).status_code == 422


def test_one_decision_comes_with_its_records_provenance_and_spans(served: Served) -> None:
    token = served.token("mesh:operator")

    found = served.get(f"/api/decisions/{ORDER}", token)
    missing = served.get("/api/decisions/no-such-decision", token)

    assert found.status_code == 200
    document = found.json()
    assert [r["action"] for r in document["records"]] == ["purchase_order", "review"]
    assert all(isinstance(r["seq"], int) and len(r["hash"]) == 64 for r in document["records"])
    provenance = document["provenance"]
    assert provenance["data"][0]["product_id"] == "telemetry.stock:WH-EU-1:SKU-17"
    assert provenance["policies"][0]["reasons"] == [TIER2]
    assert provenance["outcome"]["status"] == "rejected"
    assert provenance["outcome"]["execution_mode"] == "human"
    assert {c["subject"] for c in provenance["callers"]} == {"agent:procurement", "service:auto-reviewer"}
    assert document["spans"] == []
    assert missing.status_code == 404
    assert "no-such-decision" in missing.json()["detail"]


def test_standings_are_each_agents_latest_record(served: Served) -> None:
    standings = served.get("/api/standings", served.token("mesh:operator")).json()

    assert standings["note"] is None
    assert [(a["agent"], a["autonomy"], a["strikes"]) for a in standings["agents"]] == [
        ("agent:inventory", "high", 0),
        ("agent:procurement", standings["agents"][1]["autonomy"], 0),
    ]
    assert standings["agents"][1]["decision_id"] == f"{RUN}-h030.trust.procurement"
    assert standings["agents"][1]["credibility"] < standings["agents"][0]["credibility"]


def test_the_chat_answers_over_http_and_refuses_bad_input_naming_the_field(served: Served) -> None:
    token = served.token("mesh:operator")

    answered = served.chat({"question": f"explain {ORDER}"}, token)
    empty = served.chat({"question": "   "}, token)
    absent = served.chat({"asked": "why?"}, token)
    too_long = served.chat({"question": "x" * 2001}, token)

    assert answered.status_code == 200
    body = answered.json()
    assert set(body) == {"answer", "citations", "mode", "answered", "note", "decision_id"}
    assert (body["mode"], body["answered"], body["citations"]) == ("deterministic", True, [ORDER])
    (record,) = [e.record for e in served.ledger.records_for(body["decision_id"])]
    assert record.caller is not None
    assert record.caller.subject == "operator:alice"
    assert empty.status_code == 422
    assert empty.json()["detail"][0]["loc"] == ["body", "question"]
    assert absent.status_code == 422
    assert {tuple(p["loc"]) for p in absent.json()["detail"]} == {("body", "question"), ("body", "asked")}
    assert too_long.status_code == 422
    assert "2001 characters" in too_long.json()["detail"][0]["msg"]


def test_mesh_chat_says_plainly_when_no_mesh_is_running(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["--data-dir", str(tmp_path), "chat", "which escalations are pending?"])

    assert result.exit_code == 1
    assert "no mesh running from" in result.output
