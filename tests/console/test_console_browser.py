"""The operator console in a real headless Chromium (Debian's `chromium` and `chromium-driver`)
against a real running mesh: log in (a bad secret first), see the agents with their autonomy,
open a decision's provenance, approve a held call, and ask the chat a question whose answer
cites a decision that opens its provenance."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from mcp import Client, MCPError

from mesh.gateway._client import gateway_targets
from mesh.gateway._errors import HELD_FOR_APPROVAL
from mesh.identity import fetch_token
from mesh.settings import DOMAINS, MeshSettings
from mesh.supervisor import MeshState
from mesh.tracing import traced_mcp_transport
from mesh.world import generate_world
from tests.processes import mesh_up

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        not (os.access(CHROMIUM, os.X_OK) and os.access(CHROMEDRIVER, os.X_OK)),
        reason=f"the console's browser test needs Debian's chromium and chromium-driver "
        f"({CHROMIUM}, {CHROMEDRIVER}); `.ci/run` installs them as root",
    ),
]

BOUND = 90.0
"""Seconds the mesh may take to start and a step of the week to finish."""
UI = 30.0
"""Seconds the page may take to show what a step waits for (2 busy cores)."""
HOURS = 2


# --- the running mesh, with decisions and a held call in its ledger ------------------------------


def _environment() -> dict[str, str]:
    return {key: value for key, value in os.environ.items() if not key.startswith("MESH_")}


def _held_order() -> dict[str, Any]:
    """A purchase order policy escalates: a critical material from an opaque tier-2 supplier."""
    world = generate_world(MeshSettings().seed, MeshSettings().scenario)
    critical = {s.sku_id for s in world.skus if s.critical_material}
    sku = next(
        r["sku_id"]
        for r in world.domain_tables("procurement")["supplier_skus"]
        if r["supplier_id"] == "SUP-APAC-1" and r["sku_id"] in critical
    )
    return {"supplier_id": "SUP-APAC-1", "sku_id": sku, "quantity": 23}


async def _hold_a_call(gateway: str, clients_file: Path) -> tuple[str, str]:
    """The procurement agent's order, held for a human: (escalation id, decision id)."""
    scopes = ["procurement:read", "procurement:write", "procurement:compliance:read"]
    targets = await gateway_targets(
        gateway, ["procurement"], clients_file=clients_file, client_id="procurement-agent", scopes=scopes
    )
    target = targets["procurement"]
    async with Client(traced_mcp_transport(target.url, headers=target.headers)) as client:
        with pytest.raises(MCPError) as held:
            await client.call_tool("place_purchase_order", _held_order())
    assert held.value.error.code == HELD_FOR_APPROVAL
    data = held.value.error.data
    return data["escalation_id"], data["decision_id"]


async def _run_the_week(data_dir: Path, state: MeshState) -> int:
    from mesh.coordinator import WeekOptions, WeekRun  # loads the agents package

    report = await WeekRun(
        MeshSettings(data_dir=data_dir, local_traces=False), state, WeekOptions(hours=HOURS)
    ).run()
    return report.decisions


class OperatorApi:
    """The test's own view of the gateway's operator API, to check what the page shows."""

    def __init__(self, gateway: str, secret: str) -> None:
        token = asyncio.run(
            fetch_token(
                f"{gateway}/oauth/token",
                client_id="operator",
                client_secret=secret,
                scope=["mesh:operator"],
                resource=f"{gateway}/api",
            )
        )
        self._http = httpx.Client(
            base_url=gateway, headers={"Authorization": f"Bearer {token.access_token}"}, timeout=30
        )

    def get(self, path: str) -> Any:
        answer = self._http.get(path)
        assert answer.status_code == 200, answer.text
        return answer.json()

    def close(self) -> None:
        self._http.close()


@pytest.fixture(scope="module")
def mesh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[MeshState, Path]]:
    data_dir = tmp_path_factory.mktemp("console-mesh")
    environment = {"MESH_LOCAL_TRACES": "false", "MESH_START_TIMEOUT": str(BOUND)}  # 2 busy cores
    with mesh_up(data_dir, environment, within=BOUND * 2) as state:
        yield state, data_dir


# --- the browser ---------------------------------------------------------------------------------


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Any]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-extensions",
        "--no-first-run",
        "--no-default-browser-check",
        "--window-size=1400,1000",
        f"--user-data-dir={tmp_path / 'chromium-profile'}",
    ):
        options.add_argument(argument)
    service = Service(executable_path=str(CHROMEDRIVER), log_output=str(tmp_path / "chromedriver.log"))
    driver = webdriver.Chrome(options=options, service=service)
    driver.set_page_load_timeout(UI)
    try:
        yield driver
    finally:
        driver.quit()


def _clicked(by: str, selector: str) -> Any:
    """A wait condition that clicks the element once it is shown, finding it again each try (the
    list may be rendered anew between finding and clicking)."""

    def click(driver: Any) -> bool:
        element = driver.find_element(by, selector)
        if not (element.is_displayed() and element.is_enabled()):
            return False
        element.click()
        return True

    return click


def _wait(driver: Any, condition: Any, what: str) -> Any:
    """Wait for `condition`; an element the page re-rendered meanwhile (stale) is looked up again."""
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.support.ui import WebDriverWait

    waiting = WebDriverWait(driver, UI, ignored_exceptions=(StaleElementReferenceException,))
    return waiting.until(condition, message=f"waited {UI:.0f} s for {what}")


def _ready(view: str) -> Any:
    from selenium.webdriver.common.by import By

    def ready(driver: Any) -> bool:
        section = driver.find_element(By.ID, f"{view}-view")
        return section.is_displayed() and section.get_attribute("data-state") == "ready"

    return ready


def _login(driver: Any, secret: str) -> None:
    from selenium.webdriver.common.by import By

    field = driver.find_element(By.ID, "client-secret")
    field.clear()
    field.send_keys(secret)
    driver.find_element(By.ID, "login-button").click()


# --- the test ------------------------------------------------------------------------------------


def test_an_operator_logs_in_reads_provenance_approves_an_escalation_and_asks_the_chat(
    mesh: tuple[MeshState, Path], browser: Any
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as shown

    state, data_dir = mesh
    assert state.gateway_endpoint is not None
    gateway = state.gateway_endpoint.rstrip("/")
    assert asyncio.run(asyncio.wait_for(_run_the_week(data_dir, state), BOUND)) > 0
    escalation_id, held_decision = asyncio.run(
        _hold_a_call(gateway, data_dir / "keys" / "oauth-clients.json")
    )

    told = subprocess.run(
        [sys.executable, "-m", "mesh", "--data-dir", str(data_dir), "console", "--json", "--show-secret"],
        env=_environment(),
        capture_output=True,
        text=True,
        timeout=BOUND,
        check=False,
    )
    assert told.returncode == 0, told.stderr
    login = json.loads(told.stdout)
    assert (login["url"], login["client_id"]) == (f"{gateway}/console", "operator")
    api = OperatorApi(gateway, login["client_secret"])
    try:
        # A decision of the week with data products and policies behind it.
        documents = (
            api.get(f"/api/decisions/{d['decision_id']}") for d in api.get("/api/decisions")["decisions"]
        )
        week_decision = next(d for d in documents if d["provenance"]["data"] and d["provenance"]["policies"])
        standings = {s["agent"].removeprefix("agent:"): s for s in api.get("/api/standings")["agents"]}

        page = httpx.get(login["url"], timeout=30)
        assert page.headers["x-frame-options"] == "DENY"
        assert "default-src 'self'" in page.headers["content-security-policy"]

        # Log in: a wrong secret shows the token endpoint's error; the right one, who is in.
        browser.get(login["url"])
        assert browser.title == "Mesh operator console"
        _login(browser, "not-the-secret")
        error = _wait(browser, shown.visibility_of_element_located((By.ID, "login-error")), "the login error")
        assert "invalid_client" in error.text
        _login(browser, login["client_secret"])
        who = _wait(browser, shown.visibility_of_element_located((By.ID, "who")), "the logged-in operator")
        assert who.text == "operator:admin (client operator)"
        assert browser.find_element(By.ID, "client-secret").get_attribute("value") == ""
        kept = browser.execute_script(
            "return [window.localStorage.length, window.sessionStorage.length, document.cookie]"
        )
        assert kept == [0, 0, ""]

        # Agents: every domain's agent, up, with the autonomy its standing records.
        _wait(browser, _ready("agents"), "the agents view")
        rows = {
            row.get_attribute("data-agent"): row
            for row in browser.find_elements(By.CSS_SELECTOR, '[data-testid="agent-row"]')
        }
        assert set(DOMAINS) <= set(rows)
        for domain in DOMAINS:
            status = rows[domain].find_element(By.CSS_SELECTOR, '[data-testid="agent-status"]').text
            assert status == "up", domain
        assert standings, "the week recorded the agents' standings"
        for agent, standing in standings.items():
            autonomy = rows[agent].find_element(By.CSS_SELECTOR, '[data-testid="agent-autonomy"]').text
            assert autonomy == standing["autonomy"]
            credibility = rows[agent].find_element(By.CSS_SELECTOR, '[data-testid="agent-credibility"]').text
            assert credibility == f"{standing['credibility']:.3f}"

        # Decisions: filter down to one of the week's, open it, read its provenance.
        browser.find_element(By.ID, "tab-decisions").click()
        _wait(browser, _ready("decisions"), "the decisions view")
        wanted = week_decision["decision_id"]
        browser.find_element(By.ID, "decisions-q").send_keys(wanted)
        browser.find_element(By.ID, "decisions-apply").click()
        row_selector = f'[data-testid="decision-row"][data-decision-id="{wanted}"] td.summary'
        _wait(browser, _clicked(By.CSS_SELECTOR, row_selector), "the decision")
        _wait(browser, _ready("provenance"), "the provenance view")
        assert browser.find_element(By.ID, "provenance-id").text == wanted
        assert browser.current_url.endswith(f"#decision/{wanted}")
        tree = browser.find_element(By.ID, "provenance-tree")
        data = [item.text for item in tree.find_elements(By.CSS_SELECTOR, '[data-testid="prov-data-item"]')]
        assert [text.split(" ")[0] for text in data] == [
            item["product_id"] for item in week_decision["provenance"]["data"]
        ]
        policies = tree.find_element(By.CSS_SELECTOR, '[data-testid="prov-policies"]').text
        for policy in week_decision["provenance"]["policies"]:
            assert policy["policy_id"] in policies
        outcome = tree.find_element(By.CSS_SELECTOR, '[data-testid="prov-outcome"]').text
        assert week_decision["provenance"]["outcome"]["status"] in outcome
        records = tree.find_elements(By.CSS_SELECTOR, '[data-testid="prov-record"]')
        assert len(records) == len(week_decision["records"])

        # Escalations: the held call is pending; approve it; it leaves the list.
        browser.find_element(By.ID, "tab-escalations").click()
        _wait(browser, _ready("escalations"), "the escalations view")
        pending = browser.find_element(
            By.CSS_SELECTOR, f'[data-testid="escalation-row"][data-escalation-id="{escalation_id}"]'
        )
        assert "place_purchase_order" in pending.text
        link = pending.find_element(By.CSS_SELECTOR, '[data-testid="decision-link"]')
        assert link.get_attribute("data-decision-id") == held_decision
        pending.find_element(By.CSS_SELECTOR, f'[data-testid="approve-{escalation_id}"]').click()
        _wait(browser, shown.staleness_of(pending), "the approved escalation to leave the list")
        message = _wait(
            browser,
            shown.visibility_of_element_located((By.ID, "escalations-message")),
            "the approval's result",
        )
        assert message.text == f"{escalation_id}: approved by operator:admin"
        assert not browser.find_elements(By.CSS_SELECTOR, f'[data-escalation-id="{escalation_id}"]')
        decided = api.get(f"/api/escalations/{escalation_id}")
        assert (decided["status"], decided["decided_by"]) == ("approved", "operator:admin")

        # Chat: ask about the held decision; the answer cites it, and the citation opens it.
        browser.find_element(By.ID, "tab-chat").click()
        browser.find_element(By.ID, "chat-question").send_keys(f"explain decision {held_decision}")
        browser.find_element(By.ID, "chat-send").click()
        answer = _wait(
            browser,
            shown.visibility_of_element_located((By.CSS_SELECTOR, '[data-testid="chat-answer"]')),
            "the chat's answer",
        )
        assert held_decision in answer.find_element(By.CSS_SELECTOR, '[data-testid="chat-answer-text"]').text
        assert answer.find_element(By.CSS_SELECTOR, '[data-testid="chat-mode"]').text == "deterministic"
        citations = answer.find_elements(By.CSS_SELECTOR, '[data-testid="chat-citation"]')
        cited = [citation.get_attribute("data-decision-id") for citation in citations]
        assert held_decision in cited
        citations[cited.index(held_decision)].click()
        _wait(browser, _ready("provenance"), "the cited decision's provenance")
        assert browser.find_element(By.ID, "provenance-id").text == held_decision
        statuses = [  # inside a closed <details>: not displayed, so read the text content
            record.get_attribute("textContent")
            for record in browser.find_elements(By.CSS_SELECTOR, '[data-testid="prov-record"] summary')
        ]
        assert any("escalated" in status for status in statuses), statuses
        assert any("approved" in status for status in statuses), statuses

        # Log out: back to the login form, nobody named.
        browser.find_element(By.ID, "logout").click()
        _wait(browser, shown.visibility_of_element_located((By.ID, "login-form")), "the login form")
        assert not browser.find_element(By.ID, "app-view").is_displayed()
    finally:
        api.close()
