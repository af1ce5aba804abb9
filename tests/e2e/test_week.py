"""A few simulated hours over the real mesh (nats-server, gateway, MCP servers, agents as
processes): an agent killed mid-cycle does not stall the week, a spoofed batch on the bus is
refused and audited, and every decision is in a ledger that verifies."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import nats
import pytest
from nats.aio.msg import Msg

from mesh.audit import open_audit_log
from mesh.coordinator import WeekOptions, WeekRun
from mesh.negotiation import CycleCall, IntentBatch
from mesh.settings import MeshSettings
from mesh.supervisor import run_embedded

pytestmark = pytest.mark.e2e

HOURS = 5
KILL_AT = 2


async def test_a_killed_agent_and_a_spoofed_sender_do_not_stall_the_week(tmp_path: Path) -> None:
    settings = MeshSettings(data_dir=tmp_path / "data", local_traces=False)
    async with run_embedded(settings) as mesh:
        state = mesh.state
        logistics = next(c for c in state.components if c.name == "agent-logistics")
        assert state.nats_endpoint is not None
        spoofer = await nats.connect(state.nats_endpoint)
        killed: list[int] = []

        async def on_call(message: Msg) -> None:
            call = CycleCall.model_validate_json(message.data)
            forged = IntentBatch(cycle_id=call.cycle_id, agent="agent:logistics", intents=[], final=True)
            await spoofer.publish(call.intents_subject, forged.model_dump_json().encode())
            if call.perception["step"] == KILL_AT and logistics.pid is not None:
                os.kill(logistics.pid, signal.SIGKILL)  # while the agents are proposing
                killed.append(call.perception["step"])

        await spoofer.subscribe("cycles.open", cb=on_call)
        await spoofer.flush()
        outcomes = []
        run = WeekRun(settings, state, WeekOptions(hours=HOURS, deadline=1.0))
        try:
            report = await run.run(lambda step, outcome: outcomes.append(outcome))
        finally:
            await spoofer.drain()

    assert killed == [KILL_AT]
    assert report.cycles == HOURS == len(outcomes)
    for outcome in outcomes[KILL_AT + 1 :]:
        assert "agent:logistics" in outcome.absent_agents
        assert "deadline" in outcome.absent_agents["agent:logistics"]
        assert {r.agent for r in outcome.results} <= {"agent:inventory", "agent:procurement"}
    # A cycle whose agents all answered may close before the spoofed batch arrives; the cycles
    # without logistics wait for it until the deadline, so they surely see (and refuse) it.
    after_kill = outcomes[KILL_AT + 1 :]
    assert report.refused_messages >= len(after_kill)
    assert all(
        any("refused batch from an unsigned sender: unsigned" in m for m in outcome.rejected_messages)
        for outcome in after_kill
    )
    assert report.decisions > 0
    assert report.statuses["executed"] + report.statuses["modified"] > 0

    with open_audit_log(settings) as log:
        assert log.verify().ok
        _, refused = log.query(
            "SELECT count(*) FROM audit_records WHERE json_extract(body, '$.status') = 'refused'"
        )
        assert refused[0][0] >= len(after_kill)
        executed = next(r for o in outcomes for r in o.results if r.status in ("executed", "modified"))
        kinds = {entry.record.action for entry in log.records_for(executed.intent_id)}
        assert executed.decision_type in kinds  # the cycle's record
        assert "tools/call" in kinds  # the agent's governed call through the gateway, same decision
