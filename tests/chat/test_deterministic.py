"""The chat without a model: the common question forms answered from a ledger of real records,
citing decision ids, and saying so when the records do not answer."""

from __future__ import annotations

import pytest

from mesh.audit import Caller
from mesh.chat import (
    CHAT_ACTION,
    NO_MODEL_NOTE,
    ChatService,
    QuestionError,
    parse_question,
)
from mesh.coordinator._week import standing_changed
from mesh.trust import TrustRegistry
from tests.chat.conftest import ORDER, RUN, TIER2, TRANSFER, Filled

ALICE = Caller(subject="operator:alice", client_id="operator", scopes=["mesh:operator"])


async def test_a_decision_is_explained_by_its_id_citing_it(filled: Filled) -> None:
    chat = ChatService(filled.records, ledger=filled.ledger)

    answer = await chat.ask(f"explain {ORDER}", ALICE)

    assert (answer.mode, answer.answered, answer.citations) == ("deterministic", True, [ORDER])
    assert answer.note == NO_MODEL_NOTE
    assert TIER2 in answer.answer
    assert "purchase order of 900 x SKU-17 for WH-EU-1 from SUP-EU-2" in answer.answer
    assert "Reviewed by service:auto-reviewer (rule credible): deny" in answer.answer
    assert "It ended rejected (human)" in answer.answer


async def test_the_natural_language_form_finds_the_decision_by_agent_verb_sku_region_and_day(
    filled: Filled,
) -> None:
    chat = ChatService(filled.records)

    answer = await chat.ask("Why did the procurement agent reorder SKU-17 in EU on day 2?", ALICE)

    assert answer.answered
    assert answer.citations == [ORDER]
    assert f"Decision {ORDER} (run {RUN}, hour 30, day 2)" in answer.answer


async def test_a_decision_the_records_do_not_hold_is_not_invented(filled: Filled) -> None:
    chat = ChatService(filled.records)

    on_another_day = await chat.ask("why did the procurement agent reorder SKU-17 in EU on day 15?", ALICE)
    wrong_agent = await chat.ask("why did the inventory agent reorder SKU-17 in EU on day 2?", ALICE)
    unknown_id = await chat.ask(f"explain {RUN}-h099.procurement.po.WH-EU-1.SKU-17", ALICE)

    assert not on_another_day.answered
    assert on_another_day.citations == []
    assert "The records hold no purchase order by agent:procurement of SKU-17 in EU on day 15" in (
        on_another_day.answer
    )
    assert f"run {RUN}, with decisions in hours 2-30 (days 1-2)" in on_another_day.answer
    assert not wrong_agent.answered
    assert wrong_agent.citations == []
    assert "made by agent:procurement, not agent:inventory" in wrong_agent.answer
    assert ORDER not in wrong_agent.answer
    assert not unknown_id.answered
    assert "The ledger holds no decision" in unknown_id.answer


async def test_an_unanswerable_question_says_so_and_cites_nothing(filled: Filled) -> None:
    chat = ChatService(filled.records, ledger=filled.ledger)

    answer = await chat.ask("What will the weather be in Lyon tomorrow?", ALICE)

    assert (answer.answered, answer.citations) == (False, [])
    assert "I do not guess" in answer.answer
    assert "which escalations are pending?" in answer.answer  # what it can answer instead
    (record,) = [e.record for e in filled.ledger.records_for(answer.decision_id)]
    assert record.parameters["answered"] is False


async def test_escalations_list_the_pending_queue_and_the_escalated_decisions(filled: Filled) -> None:
    chat = ChatService(filled.records)

    answer = await chat.ask("Which escalations are pending?", ALICE)

    assert answer.answered
    assert answer.citations == [ORDER]
    assert (
        f"{filled.pending_id} (pending, call): procurement-agent calling procurement.place_purchase_order"
        in (answer.answer)
    )
    assert f"- {ORDER}: purchase order of 900 x SKU-17" in answer.answer
    assert TRANSFER not in answer.answer


async def test_credibility_and_autonomy_come_from_the_recorded_standings(filled: Filled) -> None:
    chat = ChatService(filled.records)
    expected = TrustRegistry()
    expected.record_policy_outcome("agent:procurement", "escalate")
    procurement = expected.assess("agent:procurement")

    answer = await chat.ask("What is the procurement agent's credibility?", ALICE)

    assert answer.answered
    assert answer.citations == [f"{RUN}-h030.trust.procurement"]
    assert f"agent:procurement: credibility {procurement.credibility:.3f}" in answer.answer
    assert f"autonomy {procurement.autonomy}" in answer.answer
    assert "agent:inventory" not in answer.answer


async def test_an_agents_recent_decisions_are_listed_newest_first(filled: Filled) -> None:
    answer = await ChatService(filled.records).ask("recent decisions of the inventory agent", ALICE)

    assert answer.answered
    assert answer.citations == [f"{RUN}-h030.trust.inventory", TRANSFER]


async def test_every_answer_is_recorded_in_the_ledger_with_its_caller_and_citations(filled: Filled) -> None:
    answer = await ChatService(filled.records, ledger=filled.ledger).ask(f"  explain {TRANSFER}  ", ALICE)

    (entry,) = filled.ledger.records_for(answer.decision_id)
    record = entry.record
    assert (record.action, record.agent, record.caller) == (CHAT_ACTION, "operator-chat", ALICE)
    assert record.parameters["question"] == f"explain {TRANSFER}"
    assert record.parameters["citations"] == [TRANSFER]
    assert record.parameters["mode"] == "deterministic"


@pytest.mark.parametrize(("question", "words"), [("   ", "is empty"), ("x" * 2001, "2001 characters")])
async def test_a_question_that_is_empty_or_too_long_is_refused_naming_the_field(
    filled: Filled, question: str, words: str
) -> None:
    with pytest.raises(QuestionError, match=words) as refused:
        await ChatService(filled.records, ledger=filled.ledger).ask(question, ALICE)
    assert refused.value.field == "question"
    assert filled.ledger.tail(100)[-1].record.action != CHAT_ACTION


def test_the_parser_reads_the_facts_of_the_issues_example() -> None:
    parsed = parse_question("why did the inventory agent reorder SKU-17 in EU on day 15?")

    assert (parsed.form, parsed.agent, parsed.action, parsed.sku, parsed.region, parsed.day) == (
        "explain",
        "agent:inventory",
        "purchase_order",
        "SKU-17",
        "EU",
        15,
    )


def test_a_standing_is_recorded_again_only_when_it_moved() -> None:
    trust = TrustRegistry()
    trust.record_policy_outcome("agent:logistics", "allow")
    before = trust.assess("agent:logistics")
    trust.record_policy_outcome("agent:logistics", "deny")

    assert not standing_changed(before, before)
    assert standing_changed(before, trust.assess("agent:logistics"))
