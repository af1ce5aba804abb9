"""A tiny agent for the bus tests: echoes the user's text and adds a DataPart saying who asked."""

from __future__ import annotations

import asyncio

from a2a.helpers.proto_helpers import new_data_part, new_task_from_user_message, new_text_part
from a2a.server.agent_execution import AgentExecutor, RequestContext
from a2a.server.events import EventQueue
from a2a.server.request_handlers import DefaultRequestHandler
from a2a.server.tasks import InMemoryTaskStore, TaskUpdater
from a2a.types import AgentCapabilities, AgentCard, AgentInterface, AgentSkill

from mesh.bus import SENDER_STATE_KEY


class EchoExecutor(AgentExecutor):
    """Creates a task, adds one artifact (the text, then what it knows of the caller), completes it.

    `gate`, when given, holds every execution until it is set (to keep requests in flight).
    """

    def __init__(self, replica: str = "replica-1", gate: asyncio.Event | None = None) -> None:
        self.replica = replica
        self.gate = gate
        self.executions = 0

    async def execute(self, context: RequestContext, event_queue: EventQueue) -> None:
        self.executions += 1
        assert context.message is not None
        task = context.current_task or new_task_from_user_message(context.message)
        if context.current_task is None:
            await event_queue.enqueue_event(task)
        if self.gate is not None:
            await self.gate.wait()
        updater = TaskUpdater(event_queue, task.id, task.context_id)
        text = context.get_user_input()
        caller = context.call_context
        facts = {
            "echo": text,
            "sender": caller.user.user_name,
            "verified": caller.state.get(SENDER_STATE_KEY),
            "replica": self.replica,
        }
        await updater.add_artifact([new_text_part(text), new_data_part(facts)], name="echo")
        await updater.complete()

    async def cancel(self, context: RequestContext, event_queue: EventQueue) -> None:
        raise NotImplementedError


def echo_card(interfaces: list[AgentInterface]) -> AgentCard:
    return AgentCard(
        name="echo",
        description="Echoes the text it is sent.",
        version="1.0.0",
        supported_interfaces=interfaces,
        capabilities=AgentCapabilities(streaming=True),
        default_input_modes=["text/plain"],
        default_output_modes=["text/plain", "application/json"],
        skills=[AgentSkill(id="echo", name="Echo", description="Echoes text.", tags=["test"])],
    )


def echo_handler(card: AgentCard, executor: EchoExecutor | None = None) -> DefaultRequestHandler:
    return DefaultRequestHandler(executor or EchoExecutor(), InMemoryTaskStore(), card)
