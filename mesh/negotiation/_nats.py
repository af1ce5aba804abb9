"""The decision cycle distributed over NATS: a coordinator calls for proposals and collects the
agents' intents until each has answered or the deadline passes, whichever comes first.

Subjects (with an optional prefix): `cycles.open` carries each `CycleCall`; `intents.<cycle-id>`
the agents' `IntentBatch`es; `outcomes.<cycle-id>` the `CycleOutcome`, when published. Plain
NATS publish and subscribe. Batches are signed with the A2A-over-NATS binding's sender identity
(`SenderSigner` headers over the subject and body) when the agent has a signer; a coordinator
given a `SenderVerifier` refuses every batch whose signature does not verify, or whose verified
sender is not the agent the batch claims to come from.
"""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from pydantic import ValidationError

from mesh.bus import SenderRefusedError, SenderSigner, SenderVerifier
from mesh.bus._binding import lower_headers
from mesh.negotiation._capacities import Capacities
from mesh.negotiation._contract import IntentContract
from mesh.negotiation._cycle import DecisionCycle, ProposalSet
from mesh.negotiation._errors import CycleIdError
from mesh.negotiation._messages import CYCLE_ID_PATTERN, CycleCall, IntentBatch
from mesh.negotiation._outcome import CycleOutcome
from mesh.policy import PolicyDecision

CALL_SUBJECT = "cycles.open"
INTENTS_SUBJECT = "intents.{cycle_id}"
OUTCOME_SUBJECT = "outcomes.{cycle_id}"

Proposer = Callable[[CycleCall], Awaitable[Sequence[IntentContract]]]
"""An agent's proposal step: from what the call asks it to perceive, its intents for the cycle."""

RefusedBatch = Callable[[str | None, str], Awaitable[None]]
"""Told of each batch whose sender was refused: the claimed sender (None when unsigned) and why."""


def bus_agent_id(agent: str) -> str:
    """The bus identity of a negotiation agent: `agent:inventory` signs as `inventory`."""
    return agent.removeprefix("agent:")


async def serve_proposals(
    connection: NATS,
    agent: str,
    propose: Proposer,
    *,
    subject_prefix: str = "",
    signer: SenderSigner | None = None,
) -> Subscription:
    """Answer every call for proposals with one final `IntentBatch` of `propose`'s intents,
    signed by `signer` (whose agent id must be `bus_agent_id(agent)`) when one is given.

    A call already past its deadline is ignored. If `propose` raises, the batch is final, empty,
    and says why in `error`, so the coordinator need not wait for the deadline. Calls are
    answered one at a time, in order. Unsubscribe the returned subscription to stop.
    """

    async def on_call(message: Msg) -> None:
        try:
            call = CycleCall.model_validate_json(message.data)
        except ValidationError:
            return
        if datetime.now(UTC) >= call.deadline_at:
            return
        error = None
        try:
            intents = list(await propose(call))
        except Exception as failure:
            intents, error = [], f"{type(failure).__name__}: {failure}"[:2000]
        batch = IntentBatch(cycle_id=call.cycle_id, agent=agent, intents=intents, final=True, error=error)
        body = batch.model_dump_json().encode()
        headers = signer.headers(call.intents_subject, body) if signer is not None else None
        await connection.publish(call.intents_subject, body, headers=headers)

    return await connection.subscribe(subject_prefix + CALL_SUBJECT, cb=on_call)


class NatsCycleCoordinator:
    """Runs decision cycles whose proposals arrive over NATS.

    Intents are judged by policy as they arrive, so screening overlaps the wait for slower
    agents. Collection ends when every agent on the roster has sent its final batch, or at the
    deadline, whichever is first: the cycle never waits longer for anyone. Then:

    - an agent that sent nothing usable is listed in `absent_agents` ("no proposal by the
      deadline", or the error it reported);
    - an agent that sent intents but no final batch is listed too, and its intents are escalated
      or dropped (`NegotiationSettings.incomplete`): its proposal set may be partial;
    - batches for another cycle, from agents off the roster, after an agent's final batch,
      with intents of another agent, or malformed, are left out and listed in
      `rejected_messages`;
    - with a `verifier`, a batch whose sender identity does not verify (unsigned, unknown key,
      bad signature, replayed) or whose verified sender is not `bus_agent_id` of the agent it
      names is refused before it is read: listed in `rejected_messages` and passed to
      `on_refused` (to be audited).
    """

    def __init__(
        self,
        connection: NATS,
        cycle: DecisionCycle,
        *,
        deadline: float = 0.5,
        subject_prefix: str = "",
        publish_outcome: bool = False,
        verifier: SenderVerifier | None = None,
        on_refused: RefusedBatch | None = None,
    ) -> None:
        self.connection = connection
        self.cycle = cycle
        self.deadline = deadline
        self.subject_prefix = subject_prefix
        self.publish_outcome = publish_outcome
        self.verifier = verifier
        self.on_refused = on_refused

    async def run(
        self,
        roster: Collection[str],
        capacities: Capacities,
        *,
        perception: Mapping[str, Any] | None = None,
        cycle_id: str | None = None,
        deadline: float | None = None,
    ) -> CycleOutcome:
        """Call the agents on `roster` for proposals, collect until all answered or `deadline`
        seconds passed, and run the cycle on what arrived."""
        cycle_id = cycle_id or uuid.uuid4().hex
        if not re.fullmatch(CYCLE_ID_PATTERN, cycle_id):
            raise CycleIdError(cycle_id)
        wait = self.deadline if deadline is None else deadline
        began = time.perf_counter()
        opened_at = datetime.now(UTC)
        expected = set(roster)
        screener = self.cycle.screener()
        collected: dict[str, list[IntentContract]] = {}
        screened: dict[str, PolicyDecision] = {}
        finished: set[str] = set()
        errors: dict[str, str] = {}
        rejected: list[str] = []
        everyone = asyncio.Event()
        if not expected:
            everyone.set()

        async def on_batch(message: Msg) -> None:
            sender = None
            if self.verifier is not None:
                try:
                    sender = self.verifier.verify(
                        message.subject, lower_headers(message.headers), message.data
                    )
                except SenderRefusedError as refused:
                    await refuse(refused.sender, str(refused.reason))
                    return
            try:
                batch = IntentBatch.model_validate_json(message.data)
            except ValidationError as error:
                rejected.append(f"malformed batch: {error.errors()[0]['msg']}")
                return
            agent = batch.agent
            if sender is not None and bus_agent_id(agent) != sender:
                await refuse(sender, f"signed by {sender} but claims to come from {agent}")
                return
            if batch.cycle_id != cycle_id:
                rejected.append(f"batch from {agent} for cycle {batch.cycle_id}")
            elif agent not in expected:
                rejected.append(f"batch from {agent}, who is not on the roster")
            elif agent in finished:
                rejected.append(f"batch from {agent} after its final batch")
            else:
                for intent in batch.intents:
                    if intent.agent != agent:
                        rejected.append(f"{agent} sent intent {intent.intent_id} of {intent.agent}")
                        continue
                    collected.setdefault(agent, []).append(intent)
                    screened[intent.intent_id] = screener.decide(intent)
                if batch.error is not None:
                    errors[agent] = batch.error
                if batch.final:
                    finished.add(agent)
                    if finished >= expected:
                        everyone.set()

        async def refuse(claimed: str | None, reason: str) -> None:
            rejected.append(f"refused batch from {claimed or 'an unsigned sender'}: {reason}")
            if self.on_refused is not None:
                await self.on_refused(claimed, reason)

        intents_subject = self.subject_prefix + INTENTS_SUBJECT.format(cycle_id=cycle_id)
        subscription = await self.connection.subscribe(intents_subject, cb=on_batch)
        call = CycleCall(
            cycle_id=cycle_id,
            opened_at=opened_at,
            deadline_at=opened_at + timedelta(seconds=wait),
            intents_subject=intents_subject,
            perception=dict(perception or {}),
        )
        await self.connection.publish(self.subject_prefix + CALL_SUBJECT, call.model_dump_json().encode())
        called = time.perf_counter()
        try:
            await asyncio.wait_for(everyone.wait(), timeout=max(0.0, wait - (called - began)))
        except TimeoutError:
            pass
        finally:
            await subscription.unsubscribe()
        collected_at = time.perf_counter()

        waited_ms = f"{wait * 1000:g} ms"
        absent = {
            agent: f"failed to propose: {errors[agent]}"
            if agent in errors
            else f"no proposal by the deadline ({waited_ms})"
            for agent in sorted(expected)
            if agent not in collected and (agent not in finished or agent in errors)
        }
        incomplete = {
            agent: f"no final batch by the deadline ({waited_ms})"
            for agent in sorted(collected)
            if agent not in finished
        }
        proposals = ProposalSet(
            intents=[intent for agent in sorted(collected) for intent in collected[agent]],
            cycle_id=cycle_id,
            started_at=opened_at,
            screened=screened,
            incomplete_agents=incomplete,
            absent_agents=absent,
            rejected_messages=rejected,
            perception_ms=(called - began) * 1000,
            proposal_ms=(collected_at - called) * 1000,
            screener=screener,
        )
        outcome = await self.cycle.run_collected(proposals, capacities)
        if self.publish_outcome:
            subject = self.subject_prefix + OUTCOME_SUBJECT.format(cycle_id=cycle_id)
            await self.connection.publish(subject, outcome.model_dump_json().encode())
        return outcome
