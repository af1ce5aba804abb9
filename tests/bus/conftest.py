"""Bus tests: a real nats-server on a free loopback port, a real DefaultRequestHandler behind it."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from a2a.client import Client, ClientCallContext, ClientConfig, ClientFactory
from a2a.server.request_handlers import RequestHandler
from a2a.types import AgentCard, AgentInterface, Message, Part, Role, SendMessageRequest, StreamResponse
from a2a.utils.constants import TransportProtocol
from joserfc.jwk import ECKey
from nats.aio.client import Client as NATS
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from mesh.bus import (
    NATS_BINDING_URI,
    NatsA2AServer,
    PinnedSenderKeys,
    RefusalReason,
    SenderSigner,
    SenderVerifier,
    agent_subject,
    nats_agent_interface,
    register_nats_transport,
)
from tests.net import nats_connections, nats_server

from ._echo import EchoExecutor, echo_card, echo_handler

BOUND = 10.0
"""Seconds any one wait in these tests may take before the test fails."""

CALLER = "caller"
MALLORY = "mallory"


@pytest.fixture(scope="module")
def nats_url() -> Iterator[str]:
    with nats_server(BOUND) as url:
        yield url


@dataclass(frozen=True)
class Keys:
    caller: ECKey
    mallory: ECKey
    stranger: ECKey
    """Not pinned anywhere."""

    @property
    def pinned(self) -> PinnedSenderKeys:
        return PinnedSenderKeys.from_jwks(
            {CALLER: self.caller.as_dict(private=False), MALLORY: self.mallory.as_dict(private=False)}
        )


@pytest.fixture(scope="module")
def keys() -> Keys:
    def generate() -> ECKey:
        return ECKey.generate_key("P-256", private=True)

    return Keys(generate(), generate(), generate())


@pytest.fixture
def signer(keys: Keys) -> SenderSigner:
    return SenderSigner(CALLER, keys.caller)


@pytest.fixture
async def connect(nats_url: str) -> AsyncIterator[Callable[[], Awaitable[NATS]]]:
    """Open NATS connections (one per role, as separate processes would); all closed after the test."""
    async with nats_connections(nats_url) as open_one:
        yield open_one


@pytest.fixture
async def nc(connect: Callable[[], Awaitable[NATS]]) -> NATS:
    """The caller's connection."""
    return await connect()


@dataclass
class Agent:
    """An echo agent served on NATS, and what it was told of refused requests."""

    server: NatsA2AServer
    executor: EchoExecutor
    card: AgentCard
    subject: str
    refusals: list[tuple[str | None, RefusalReason]] = field(default_factory=list)


ServeAgent = Callable[..., Awaitable[Agent]]


@pytest.fixture
async def serve_agent(
    connect: Callable[[], Awaitable[NATS]], nats_url: str, keys: Keys
) -> AsyncIterator[ServeAgent]:
    """Start echo agents on their own connections; `verify=False` serves without sender checks.

    With `handler`, that handler is served (`executor` is then only what the test holds).
    """
    servers: list[NatsA2AServer] = []

    async def serve(
        agent_id: str = "echo",
        *,
        executor: EchoExecutor | None = None,
        verify: bool = True,
        card: AgentCard | None = None,
        handler: RequestHandler | None = None,
        **options: Any,
    ) -> Agent:
        subject = agent_subject(agent_id)
        card = card or echo_card([nats_agent_interface(nats_url, subject)])
        executor = executor or EchoExecutor()
        refusals: list[tuple[str | None, RefusalReason]] = []
        server = NatsA2AServer(
            await connect(),
            subject,
            handler or echo_handler(card, executor),
            verifier=SenderVerifier(keys.pinned) if verify else None,
            on_refused=lambda sender, reason: refusals.append((sender, reason)),
            **options,
        )
        await server.start()
        servers.append(server)
        return Agent(server, executor, card, subject, refusals)

    yield serve
    for server in servers:
        await server.stop(grace=1.0)


def nats_client(
    card: AgentCard,
    nc: NATS,
    signer: SenderSigner | None,
    *,
    streaming: bool = False,
    tracer_provider: TracerProvider | None = None,
    **options: Any,
) -> Client:
    """A client from the SDK's ClientFactory that prefers the NATS binding, JSON-RPC over HTTP next."""
    factory = ClientFactory(
        ClientConfig(
            streaming=streaming,
            supported_protocol_bindings=[NATS_BINDING_URI, TransportProtocol.JSONRPC],
        )
    )
    register_nats_transport(
        factory, nc, signer=signer, timeout=BOUND, tracer_provider=tracer_provider, **options
    )
    return factory.create(card)


def user_message(text: str, *, task_id: str = "", context_id: str = "") -> SendMessageRequest:
    return SendMessageRequest(
        message=Message(
            role=Role.ROLE_USER,
            message_id=f"msg-{time.monotonic_ns()}",
            parts=[Part(text=text)],
            task_id=task_id,
            context_id=context_id,
        )
    )


async def collect(
    client: Client, request: SendMessageRequest, *, context: ClientCallContext | None = None
) -> list[StreamResponse]:
    async with asyncio.timeout(BOUND):
        return [event async for event in client.send_message(request, context=context)]


def interface(url: str, binding: str) -> AgentInterface:
    return AgentInterface(url=url, protocol_binding=binding, protocol_version="1.0")


class RecordingProvider:
    """A tracer provider of the test's own whose finished spans stay in memory."""

    def __init__(self) -> None:
        self.exporter = InMemorySpanExporter()
        self.provider = TracerProvider()
        self.provider.add_span_processor(SimpleSpanProcessor(self.exporter))

    def spans(self) -> list[ReadableSpan]:
        return list(self.exporter.get_finished_spans())

    async def await_span(self, name: str) -> ReadableSpan:
        """A server span ends after the client has its reply: wait for it, bounded."""
        await until(lambda: any(span.name == name for span in self.spans()), f"a span {name!r}")
        return next(span for span in self.spans() if span.name == name)


async def until(condition: Callable[[], bool], what: str, *, step: float = 0.005) -> None:
    """Wait until `condition()` holds, at most BOUND seconds, else fail naming `what`."""
    for _ in range(int(BOUND / step)):
        if condition():
            return
        await asyncio.sleep(step)
    pytest.fail(f"waited {BOUND:g} s for {what}")
