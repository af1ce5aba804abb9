"""The chat with a model: a provider mocked at the HTTP layer calls the read-only tools, answers
with citations that are checked against the ledger; a failing model falls back, saying why."""

from __future__ import annotations

import json

from mesh.audit import Caller
from mesh.chat import CHAT_ACTION, ChatService
from mesh.models import USAGE_ACTION
from tests.chat.conftest import ORDER, TIER2, Filled
from tests.model_guard import ModelRequestGuard
from tests.models.conftest import API_KEY, MODEL, ScriptedProvider

ALICE = Caller(subject="operator:alice", client_id="operator", scopes=["mesh:operator"])


async def test_the_model_reads_the_ledger_with_its_tools_and_cites_the_decision(
    filled: Filled, model_guard: ModelRequestGuard
) -> None:
    provider = ScriptedProvider(model_guard)
    provider.call_tool("find_decisions", {"agent": "procurement", "sku": "SKU-17", "day": 2})
    provider.call_tool("get_decision", {"decision_id": ORDER})
    provider.answer(
        f"Procurement's order of SKU-17 was escalated for tier-2 transparency and denied [{ORDER}]."
    )
    chat = ChatService(filled.records, ledger=filled.ledger, model=MODEL)

    answer = await chat.ask("why did procurement reorder SKU-17 on day 2?", ALICE)

    assert (answer.mode, answer.answered, answer.citations, answer.note) == ("model", True, [ORDER], None)
    tools = {tool["function"]["name"] for tool in provider.requests[0]["tools"]}
    assert {"find_decisions", "get_decision", "list_escalations", "agent_standings"} <= tools
    (found,) = provider.tool_messages(1)
    assert [d["decision_id"] for d in json.loads(found["content"])["decisions"]] == [ORDER]
    read = provider.tool_messages(2)[-1]
    assert TIER2 in read["content"]
    assert "operator chat" in provider.requests[0]["messages"][0]["content"]  # the prompt asset
    records = {e.record.action: e.record for e in filled.ledger.records_for(answer.decision_id)}
    assert set(records) == {USAGE_ACTION, CHAT_ACTION}
    assert records[USAGE_ACTION].outcome["requests"] == 3
    assert records[CHAT_ACTION].parameters["citations"] == [ORDER]
    assets = records[CHAT_ACTION].assets or {}
    assert set(assets) == {"prompt/operator-chat", "model/settings"}
    assert API_KEY not in json.dumps(records[CHAT_ACTION].model_dump(mode="json"))


async def test_a_decision_id_the_model_made_up_is_flagged_and_not_cited(
    filled: Filled, model_guard: ModelRequestGuard
) -> None:
    invented = "5e1f00aa-h077.procurement.po.WH-NA-1.SKU-03"
    provider = ScriptedProvider(model_guard)
    provider.answer(f"It was escalated [{ORDER}], like the order before it [{invented}].")
    chat = ChatService(filled.records, ledger=filled.ledger, model=MODEL)

    answer = await chat.ask("why was SKU-17 escalated?", ALICE)

    assert answer.mode == "model"
    assert answer.citations == [ORDER]
    assert answer.note is not None
    assert invented in answer.note
    assert "does not hold" in answer.note
    assert f"[{invented}: not in the ledger]" in answer.answer


async def test_a_model_that_fails_leaves_the_answer_to_the_deterministic_path_saying_why(
    filled: Filled, model_guard: ModelRequestGuard
) -> None:
    provider = ScriptedProvider(model_guard)
    provider.fail(401, f"Incorrect API key provided: {API_KEY}")
    chat = ChatService(filled.records, ledger=filled.ledger, model=MODEL)

    answer = await chat.ask(f"explain {ORDER}", ALICE)

    assert (answer.mode, answer.citations) == ("deterministic", [ORDER])
    assert answer.note is not None
    assert answer.note.startswith("The model failed (ModelAuthError")
    assert API_KEY not in answer.note
    (record,) = [
        e.record for e in filled.ledger.records_for(answer.decision_id) if e.record.action == CHAT_ACTION
    ]
    assert record.parameters["mode"] == "deterministic"


async def test_an_operator_may_ask_the_deterministic_path_though_a_model_is_configured(
    filled: Filled, model_guard: ModelRequestGuard
) -> None:
    provider = ScriptedProvider(model_guard)
    chat = ChatService(filled.records, ledger=filled.ledger, model=MODEL)

    answer = await chat.ask(f"explain {ORDER}", ALICE, use_model=False)

    assert (answer.mode, answer.citations) == ("deterministic", [ORDER])
    assert answer.note is not None
    assert answer.note.startswith("Answered without the model, as asked")
    assert provider.requests == []
