"""Golden probes: what the mesh should do, checked against the case's expectations."""

from __future__ import annotations

from collections import Counter
from typing import Any

import httpx
from a2a.client import ClientConfig, ClientFactory
from a2a.helpers import new_text_part
from a2a.types import Message, Role, TaskState

from agents import PinnedCardKeys, public_keys_dir
from agents._executor import DECISION_METADATA
from agents._peers import TaskAnswer, send, skill_message
from agents._signing import card_verifier
from mesh.audit import LedgerEntry, open_audit_log
from mesh.evals._context import EvalContext, check_fact, status_counts
from mesh.evals._wire import (
    AgentSkillCase,
    AgentTextCase,
    Check,
    LedgerExpectation,
    NegotiationCycleCase,
    OperatorQuestionCase,
    SkillExpect,
)
from mesh.gateway._client import operator_token

A2A_TIMEOUT = 120.0
Probe = tuple[list[Check], dict[str, int]]
"""A probe's checks and the policy outcomes (audit statuses) it saw."""


def state_name(state: TaskState) -> str:
    name: str = TaskState.Name(state)
    return name.removeprefix("TASK_STATE_").lower().replace("_", "-")


def ledger_checks(entries: list[LedgerEntry], expected: list[LedgerExpectation]) -> list[Check]:
    checks = []
    for want in expected:
        found = [
            entry
            for entry in entries
            if entry.record.action == want.action
            and (want.domain is None or entry.record.domain == want.domain)
            and (want.tool is None or entry.record.parameters.get("tool") == want.tool)
            and (want.status is None or entry.record.status == want.status)
        ]
        checks.append(
            Check(name=want.describe(), ok=len(found) >= want.count, detail=f"{len(found)} record(s)")
        )
    return checks


async def ask_agent(context: EvalContext, domain: str, message: Message) -> TaskAnswer:
    """Send `message` to the agent of `domain` over A2A (its card verified against the pinned keys)."""
    pinned = PinnedCardKeys.from_directory(public_keys_dir(context.settings.key_dir))
    async with httpx.AsyncClient(timeout=A2A_TIMEOUT) as http:
        config = ClientConfig(supported_protocol_bindings=["JSONRPC"], streaming=False, httpx_client=http)
        client = await ClientFactory(config).create_from_url(
            context.agent_url(domain), signature_verifier=card_verifier(pinned)
        )
        try:
            return await send(client, message)
        finally:
            await client.close()


async def _skill_checks(
    context: EvalContext, decision_id: str, answer: TaskAnswer, output: dict[str, Any], expect: SkillExpect
) -> Probe:
    checks = [
        Check(
            name=f"task {expect.state}",
            ok=state_name(answer.state) == expect.state,
            detail=state_name(answer.state),
        )
    ]
    if expect.outcome is not None:
        got = answer.problem.get("outcome")
        checks.append(Check(name=f"outcome {expect.outcome}", ok=got == expect.outcome, detail=str(got)))
    wanted = sum(w.count for w in expect.ledger) or 1
    entries = await context.records(decision_id, at_least=wanted)
    for call in expect.tool_calls:
        found = [
            e
            for e in entries
            if e.record.action == "tools/call"
            and e.record.parameters.get("tool") == call.tool
            and (call.domain is None or e.record.domain == call.domain)
        ]
        statuses = sorted({str(e.record.status) for e in found})
        ok = bool(found) and (call.outcome is None or call.outcome in statuses)
        checks.append(
            Check(
                name=f"tool call {call.domain or '*'}.{call.tool}",
                ok=ok,
                detail=", ".join(statuses) or "none",
            )
        )
    checks += ledger_checks(entries, expect.ledger)
    checks += [check_fact(output, fact) for fact in expect.facts]
    return checks, status_counts(entries)


async def agent_skill(context: EvalContext, case: AgentSkillCase) -> Probe:
    decision_id = context.decision_id(case.id)
    message = skill_message(case.skill, case.input, message_id=f"{decision_id}.m1", decision_id=decision_id)
    answer = await ask_agent(context, case.agent, message)
    return await _skill_checks(context, decision_id, answer, dict(answer.output), case.expect)


ANSWER_FORMAT = "answer/1"


async def agent_text(context: EvalContext, case: AgentTextCase) -> Probe:
    """A text-only message; the agent answers through its model with artifact `answer` whose
    DataPart is `{"format": "answer/1", "answer", "tool_calls": [{"tool", "arguments", "outcome"}], ...}`."""
    decision_id = context.decision_id(case.id)
    context.use_recording(case.recording)
    message = Message(role=Role.ROLE_USER, message_id=f"{decision_id}.m1", parts=[new_text_part(case.text)])
    message.metadata.update({DECISION_METADATA: decision_id})
    try:
        answer = await ask_agent(context, case.agent, message)
    finally:
        context.use_recording(None)
    output = dict(answer.output)
    checks, outcomes = await _skill_checks(
        context, decision_id, answer, output, case.expect.model_copy(update={"tool_calls": []})
    )
    checks.append(
        Check(
            name=f"answer is {ANSWER_FORMAT}",
            ok=output.get("format") == ANSWER_FORMAT,
            detail=str(output.get("format") or answer.problem.get("message", ""))[:120],
        )
    )
    made = [
        (str(call.get("tool")), str(call.get("outcome")))
        for call in output.get("tool_calls") or []
        if isinstance(call, dict)
    ]
    for call in case.expect.tool_calls:
        ok = any(
            tool.endswith(call.tool) and (call.outcome is None or outcome == call.outcome)
            for tool, outcome in made
        )
        checks.append(Check(name=f"answer tool call {call.tool}", ok=ok, detail=str(made)[:120]))
    return checks, outcomes


async def operator_question(context: EvalContext, case: OperatorQuestionCase) -> Probe:
    context.use_recording(case.recording)
    try:
        token = await operator_token(context.gateway, clients_file=context.settings.oauth_clients_file)
        async with httpx.AsyncClient(timeout=A2A_TIMEOUT) as http:
            response = await http.post(
                f"{context.gateway}/api/chat",
                json={"question": case.question, "use_model": case.use_model},
                headers={"Authorization": f"Bearer {token}"},
            )
    finally:
        context.use_recording(None)
    expect = case.expect
    checks = [
        Check(
            name=f"HTTP {expect.status}",
            ok=response.status_code == expect.status,
            detail=f"{response.status_code} {response.text[:100]}",
        )
    ]
    body: dict[str, Any] = {}
    if response.headers.get("content-type", "").startswith("application/json"):
        parsed = response.json()
        body = parsed if isinstance(parsed, dict) else {}
    if expect.mode is not None:
        checks.append(
            Check(
                name=f"mode {expect.mode}", ok=body.get("mode") == expect.mode, detail=str(body.get("mode"))
            )
        )
    if expect.answered is not None:
        checks.append(
            Check(
                name=f"answered {expect.answered}",
                ok=body.get("answered") == expect.answered,
                detail=str(body.get("answered")),
            )
        )
    if expect.min_citations:
        cited = body.get("citations") or []
        checks.append(
            Check(
                name=f"at least {expect.min_citations} citation(s)",
                ok=len(cited) >= expect.min_citations,
                detail=str(len(cited)),
            )
        )
    checks += [check_fact(body, fact) for fact in expect.facts]
    outcomes: dict[str, int] = {}
    decision = body.get("decision_id")
    if isinstance(decision, str) and decision:
        outcomes = status_counts(await context.records(decision, at_least=1))
    return checks, outcomes


async def negotiation_cycle(context: EvalContext, case: NegotiationCycleCase) -> Probe:
    from mesh.coordinator import WeekOptions, WeekRun

    run = WeekRun(context.settings, context.state, WeekOptions(hours=case.hours, reviewer=case.reviewer))
    decisions: list[str] = []
    report = await run.run(lambda step, outcome: decisions.extend(r.intent_id for r in outcome.results))
    expect = case.expect
    checks = [
        Check(name=f"{expect.cycles} cycle(s)", ok=report.cycles == expect.cycles, detail=str(report.cycles)),
        Check(
            name=f"at least {expect.min_decisions} decision(s)",
            ok=report.decisions >= expect.min_decisions,
            detail=str(report.decisions),
        ),
    ]
    for status, least in expect.min_statuses.items():
        checks.append(
            Check(
                name=f"at least {least} {status}",
                ok=report.statuses[status] >= least,
                detail=str(report.statuses[status]),
            )
        )
    for outcome, least in expect.min_policy.items():
        checks.append(
            Check(
                name=f"policy {outcome} at least {least}",
                ok=report.policy[outcome] >= least,
                detail=str(report.policy[outcome]),
            )
        )
    actions: Counter[str] = Counter()
    statuses: Counter[str] = Counter()
    with open_audit_log(context.settings) as log:
        for decision in decisions:
            for entry in log.records_for(decision):
                actions[entry.record.action] += 1
                statuses[str(entry.record.status)] += 1
        verified = log.verify() if expect.ledger_verifies else None
    for action in expect.ledger_actions:
        checks.append(Check(name=f"ledger has {action}", ok=actions[action] > 0, detail=str(actions[action])))
    if verified is not None:
        checks.append(Check(name="ledger verifies", ok=verified.ok, detail=f"{verified.records} records"))
    return checks, dict(statuses)
