"""A2A SendMessage over the NATS binding against JSON-RPC over HTTP, same handler, in the same run.

An agent process serves two A2A request handlers, each on both bindings at once
(`NatsA2AServer` with sender verification, and `create_jsonrpc_routes` under uvicorn on
loopback):

- **agent**: the SDK's `DefaultRequestHandler` with an executor that echoes the text into a
  task artifact with a DataPart (as the bus tests do): what a mesh agent costs end to end.
- **binding**: the same handler class answering SendMessage with a Message at once, so that
  what is measured is the binding and the SDK's JSON-RPC layers, not the task machinery.

This process is the caller: per scenario, clients from the SDK's `ClientFactory`, one that picks
the NATS binding (signed requests), one JSON-RPC over HTTP (and, for the binding scenario, one
to a NATS server of the same handler without sender checks), sending SendMessage
(non-streaming) in turns. It starts and stops its own nats-server and agent process.

    uv run python bench/a2a_nats_vs_http.py [--requests 2000] [--rounds 20]

The A2A SDK wraps its handler and dispatcher methods in spans of its own (about 45 for one
SendMessage to the agent scenario's handler); `OTEL_INSTRUMENTATION_A2A_SDK_ENABLED=false` in the
environment turns them off in both processes, and the output says which.

Targets (ARCHITECTURE.md): A2A SendMessage over NATS at most 1.5 ms at p50, and at least 3x
faster than JSON-RPC over HTTP in the same run. "Where the time goes" prices the parts: the
handler called in process, a bare NATS request/reply, and the binding's signing and verifying.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import select
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import nats
import uvicorn
from a2a.client import Client, ClientConfig, ClientFactory
from a2a.helpers.proto_helpers import (
    get_message_text,
    new_data_part,
    new_task_from_user_message,
    new_text_message,
    new_text_part,
)
from a2a.server.agent_execution import AgentExecutor, RequestContext
from a2a.server.context import ServerCallContext
from a2a.server.events import EventQueue
from a2a.server.request_handlers import DefaultRequestHandler
from a2a.server.routes import create_jsonrpc_routes
from a2a.server.tasks import InMemoryTaskStore, TaskUpdater
from a2a.types import (
    AgentCapabilities,
    AgentCard,
    AgentInterface,
    AgentSkill,
    Message,
    Part,
    Role,
    SendMessageRequest,
    TaskState,
)
from a2a.utils.constants import TransportProtocol
from joserfc.jwk import ECKey
from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from starlette.applications import Starlette

from mesh.bus import (
    NATS_BINDING_URI,
    NatsA2AServer,
    PinnedSenderKeys,
    SenderSigner,
    SenderVerifier,
    agent_subject,
    nats_agent_interface,
    register_nats_transport,
)

TARGET_P50_MS = 1.5
TARGET_RATIO = 3.0
BOUND = 30.0
"""Seconds any start-up step may take before the benchmark gives up."""
AGENT = "echo"
INSTANT = "instant"
UNSIGNED = "instant-unsigned"
CALLER = "bench-caller"
TEXT = "reorder SKU-17 in EU"
SCENARIOS = {
    AGENT: ("agent", "DefaultRequestHandler, echo executor, a task"),
    INSTANT: ("binding", "the handler answers at once with a Message"),
}


class EchoExecutor(AgentExecutor):
    async def execute(self, context: RequestContext, event_queue: EventQueue) -> None:
        assert context.message is not None
        task = context.current_task or new_task_from_user_message(context.message)
        if context.current_task is None:
            await event_queue.enqueue_event(task)
        updater = TaskUpdater(event_queue, task.id, task.context_id)
        text = context.get_user_input()
        await updater.add_artifact([new_text_part(text), new_data_part({"echo": text})], name="echo")
        await updater.complete()

    async def cancel(self, context: RequestContext, event_queue: EventQueue) -> None:
        raise NotImplementedError


class InstantHandler(DefaultRequestHandler):
    """SendMessage answered at once with a Message: no task, no event queue."""

    async def on_message_send(self, params: SendMessageRequest, context: ServerCallContext) -> Message:
        return new_text_message(
            get_message_text(params.message), context_id=params.message.context_id or None
        )


def agent_card(name: str, nats_url: str, http_url: str) -> AgentCard:
    return AgentCard(
        name=name,
        description="Echoes the text it is sent.",
        version="1.0.0",
        supported_interfaces=[
            nats_agent_interface(nats_url, agent_subject(name)),
            AgentInterface(url=http_url, protocol_binding=TransportProtocol.JSONRPC, protocol_version="1.0"),
        ],
        capabilities=AgentCapabilities(streaming=True),
        default_input_modes=["text/plain"],
        default_output_modes=["text/plain", "application/json"],
        skills=[AgentSkill(id="echo", name="Echo", description="Echoes text.", tags=["bench"])],
    )


def message(text: str) -> SendMessageRequest:
    return SendMessageRequest(
        message=Message(
            role=Role.ROLE_USER, message_id=f"m-{time.perf_counter_ns()}", parts=[Part(text=text)]
        )
    )


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def wait_for_port(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + BOUND
    while time.monotonic() < deadline and process.poll() is None:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.01)
    raise SystemExit(f"nothing listens on port {port} (exit code {process.poll()})")


async def serve(nats_url: str, http_port: int, keys: Path) -> None:
    """The agent process: each scenario's handler on NATS and on HTTP JSON-RPC, until stdin closes.

    The binding scenario's handler is also served on a second subject without sender checks,
    to price them.
    """
    nc = await nats.connect(nats_url)
    verifier = SenderVerifier(PinnedSenderKeys.from_directory(keys))
    routes = []
    servers = []
    for name, kind in ((AGENT, DefaultRequestHandler), (INSTANT, InstantHandler)):
        card = agent_card(name, nats_url, f"http://127.0.0.1:{http_port}/{name}")
        handler = kind(EchoExecutor(), InMemoryTaskStore(), card)
        servers.append(NatsA2AServer(nc, agent_subject(name), handler, verifier=verifier))
        routes += create_jsonrpc_routes(handler, f"/{name}")
        if name == INSTANT:
            servers.append(NatsA2AServer(nc, agent_subject(UNSIGNED), handler, verifier=None))
    config = uvicorn.Config(
        Starlette(routes=routes), host="127.0.0.1", port=http_port, log_level="warning", access_log=False
    )
    http = uvicorn.Server(config)
    for server in servers:
        await server.start()
    serving = asyncio.create_task(http.serve())
    for _ in range(int(BOUND / 0.01)):
        if http.started:
            break
        await asyncio.sleep(0.01)
    print("ready", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    http.should_exit = True
    await serving
    for server in servers:
        await server.stop()
    await nc.close()


async def timed(call: Callable[[], Awaitable[object]], count: int) -> list[float]:
    samples = []
    for _ in range(count):
        began = time.perf_counter()
        await call()
        samples.append(time.perf_counter() - began)
    return samples


def percentile(samples: list[float], share: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] * 1e3


def line(label: str, samples: list[float]) -> float:
    p50 = percentile(samples, 0.50)
    print(f"  {label:52s} p50 {p50:7.3f} ms   p99 {percentile(samples, 0.99):7.3f} ms   (n={len(samples)})")
    return p50


def send(client: Client) -> Callable[[], Awaitable[object]]:
    async def call() -> object:
        async for event in client.send_message(message(TEXT)):
            if event.HasField("task"):
                assert event.task.status.state == TaskState.TASK_STATE_COMPLETED
            else:
                assert event.message.parts[0].text == TEXT
        return None

    return call


def nats_client(card: AgentCard, nc: NATS, signer: SenderSigner | None) -> Client:
    factory = ClientFactory(
        ClientConfig(
            streaming=False, supported_protocol_bindings=[NATS_BINDING_URI, TransportProtocol.JSONRPC]
        )
    )
    register_nats_transport(factory, nc, signer=signer)
    return factory.create(card)


async def compare(
    name: str, nats_url: str, http_base: str, nc: NATS, signer: SenderSigner, requests: int, rounds: int
) -> tuple[float, float]:
    """p50 of SendMessage over NATS and over HTTP for one scenario, the clients taking turns."""
    card = agent_card(name, nats_url, f"{http_base}/{name}")
    clients = {"A2A over NATS (signed, verified)": nats_client(card, nc, signer)}
    if name == INSTANT:
        unsigned = agent_card(UNSIGNED, nats_url, f"{http_base}/{name}")
        clients["A2A over NATS, no sender signature"] = nats_client(unsigned, nc, None)
    over_http = ClientFactory(ClientConfig(streaming=False)).create(card)
    clients["JSON-RPC over HTTP (httpx -> uvicorn)"] = over_http
    samples: dict[str, list[float]] = {label: [] for label in clients}
    try:
        for client in clients.values():
            await timed(send(client), 200)
        per_round = max(1, requests // rounds)
        for _ in range(rounds):
            for label, client in clients.items():
                samples[label] += await timed(send(client), per_round)
    finally:
        await over_http.close()
    print(f"\nSendMessage, {': '.join(SCENARIOS[name])}")
    p50 = {label: line(label, taken) for label, taken in samples.items()}
    nats_p50, http_p50 = p50["A2A over NATS (signed, verified)"], p50["JSON-RPC over HTTP (httpx -> uvicorn)"]
    print(f"  NATS is {http_p50 / nats_p50:.2f}x faster than HTTP at p50")
    return nats_p50, http_p50


async def measure(nats_url: str, http_base: str, signer: SenderSigner, requests: int, rounds: int) -> None:
    nc = await nats.connect(nats_url)
    try:
        results = {
            name: await compare(name, nats_url, http_base, nc, signer, requests, rounds) for name in SCENARIOS
        }
    finally:
        await nc.close()

    print("\nwhere the time goes")
    await where_the_time_goes(nats_url, signer)

    print(f"\ntargets: NATS p50 at most {TARGET_P50_MS} ms; at least {TARGET_RATIO:g}x faster than HTTP")
    for name, (nats_p50, http_p50) in results.items():
        ratio = http_p50 / nats_p50
        scenario = SCENARIOS[name][0]
        print(f"  {'PASS' if nats_p50 <= TARGET_P50_MS else 'FAIL'}  {scenario}: NATS p50 {nats_p50:.3f} ms")
        print(f"  {'PASS' if ratio >= TARGET_RATIO else 'FAIL'}  {scenario}: HTTP / NATS at p50 {ratio:.2f}x")


async def where_the_time_goes(nats_url: str, signer: SenderSigner) -> None:
    """Prints what the parts cost."""
    card = agent_card(AGENT, nats_url, "http://127.0.0.1/a2a")
    handler = DefaultRequestHandler(EchoExecutor(), InMemoryTaskStore(), card)

    async def handle() -> object:
        return await handler.on_message_send(message(TEXT), ServerCallContext())

    await timed(handle, 200)
    line("agent handler alone, in process (on_message_send)", await timed(handle, 2000))

    requester, responder = await nats.connect(nats_url), await nats.connect(nats_url)
    body = json.dumps({"jsonrpc": "2.0", "id": "1", "method": "SendMessage"}).encode() * 4

    async def echo(msg: Msg) -> None:
        await responder.publish(msg.reply, msg.data)

    await responder.subscribe("bench.echo", cb=echo)
    await responder.flush()
    await responder.flush()

    async def round_trip() -> object:
        return await requester.request("bench.echo", body, timeout=BOUND, headers={"A2A-Version": "1.0"})

    await timed(round_trip, 200)
    line("bare NATS request/reply, same size, to a Python echo", await timed(round_trip, 2000))
    await requester.close()
    await responder.close()

    subject = agent_subject(AGENT)
    verifier = SenderVerifier(lambda _agent: ECKey.import_key(signer.public_jwk()))
    signed: list[dict[str, str]] = []

    async def sign() -> object:
        headers = signer.headers(subject, body)
        signed.append({name.lower(): value for name, value in headers.items()})
        return headers

    line("signing a request (ES256, joserfc)", await timed(sign, 2000))
    unverified = iter(signed)

    async def verify() -> object:
        return verifier.verify(subject, next(unverified), body)

    line("verifying a request (ES256, window, nonce)", await timed(verify, 2000))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=2000, help="SendMessage calls per binding")
    parser.add_argument("--rounds", type=int, default=20, help="alternating rounds the calls are split into")
    parser.add_argument(
        "--serve", nargs=3, metavar=("NATS_URL", "HTTP_PORT", "KEY_DIR"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.serve:
        nats_url, http_port, keys = args.serve
        asyncio.run(serve(nats_url, int(http_port), Path(keys)))
        return

    binary = Path(sys.executable).parent / "nats-server"
    nats_port, http_port = free_port(), free_port()
    nats_url = f"nats://127.0.0.1:{nats_port}"
    key = ECKey.generate_key("P-256", private=True)
    signer = SenderSigner(CALLER, key)
    with tempfile.TemporaryDirectory() as keys:
        (Path(keys) / f"{CALLER}.jwk.json").write_text(json.dumps(signer.public_jwk()))
        broker = subprocess.Popen(
            [str(binary), "-a", "127.0.0.1", "-p", str(nats_port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        agent: subprocess.Popen[bytes] | None = None
        try:
            wait_for_port(nats_port, broker)
            agent = subprocess.Popen(
                [sys.executable, __file__, "--serve", nats_url, str(http_port), keys],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
            )
            assert agent.stdout is not None
            readable, _, _ = select.select([agent.stdout], [], [], BOUND)
            if not readable or agent.stdout.readline().strip() != b"ready":
                raise SystemExit(f"the agent process did not start (exit code {agent.poll()})")
            print(
                f"nats-server {nats_url}; agent process {agent.pid} on NATS and http://127.0.0.1:{http_port}"
            )
            sdk_spans = os.environ.get("OTEL_INSTRUMENTATION_A2A_SDK_ENABLED", "true").lower() == "true"
            print(f"the A2A SDK's own spans: {'on' if sdk_spans else 'off'} (no tracer provider: no-op)")
            asyncio.run(
                measure(nats_url, f"http://127.0.0.1:{http_port}", signer, args.requests, args.rounds)
            )
        finally:
            if agent is not None:
                assert agent.stdin is not None
                agent.stdin.close()
                try:
                    agent.wait(BOUND)
                except subprocess.TimeoutExpired:
                    agent.kill()
                    agent.wait(BOUND)
            broker.terminate()
            broker.wait(BOUND)


if __name__ == "__main__":
    main()
