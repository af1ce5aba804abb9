"""Decision-cycle latency over real NATS, flat and hierarchical, at 4, 16, 64 and 128 agents.

Each agent is an asyncio task with its own NATS connection, in a separate process (the agents'
host), answering every call for proposals with one Intent Contract: a reorder or a shipment on
its warehouse (8 agents a warehouse, every warehouse over-subscribed by about a third) drawing on
its region's carbon budget (three regions, shared by every cluster, over-subscribed too), with
carbon and impact facts for policy, evidence figures for the trust check, and quantities that
change every cycle (no policy cache hit). The coordinator, in this process, runs
`NatsCycleCoordinator.run` with the real policy set, a trust registry and a no-op executor
(execution is the gateway's cost, measured by bench/gateway_overhead.py): one cycle is from
publishing the call to the `CycleOutcome`, including collection, policy on every intent,
negotiation and feedback.

    uv run python bench/negotiation_cycle.py [--cycles 120] [--sizes 4 16 64 128]

Targets (ARCHITECTURE.md): 4 domains at most 15 ms p50; 128 domains hierarchical at most 60 ms.
Starts and stops its own nats-server on a free loopback port; every wait is bounded. Exits 0
whatever the verdicts, 1 when the benchmark itself could not run.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import select
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import nats
from nats.aio.client import Client as NATS

from mesh.negotiation import (
    Capacities,
    CycleCall,
    CycleOutcome,
    DecisionCycle,
    Evidence,
    IntentContract,
    NatsCycleCoordinator,
    NegotiationSettings,
    serve_proposals,
)
from mesh.policy import RegoPolicyEngine
from mesh.trust import TrustRegistry

ROOT = Path(__file__).resolve().parents[1]
POLICIES = ROOT / "policies"
REGIONS = ("NA", "EU", "APAC")
PER_WAREHOUSE = 8
TARGET_4_FLAT_MS = 15.0
TARGET_128_HIERARCHICAL_MS = 60.0
BOUND = 30.0
"""Seconds any one wait (server start, agents ready, one cycle) may take."""


def warehouse_of(number: int) -> str:
    return f"capacity:WH-{number // PER_WAREHOUSE:02d}"


def agent_name(number: int) -> str:
    return f"agent:d{number:03d}"


def on_hand(cycle: int, number: int) -> float:
    return float(100 + (cycle * 7 + number * 3) % 50)


def make_intent(number: int, call: CycleCall) -> IntentContract:
    cycle = int(call.perception["cycle"])
    region = REGIONS[number % 3]
    quantity = 90 + (cycle * 13 + number * 29) % 60
    shipment = number % 2 == 1
    carbon_kg = quantity * 0.05
    return IntentContract.model_validate(
        {
            "intent_id": f"{call.cycle_id}-{number}",
            "agent": agent_name(number),
            "domain": f"domain-{number:03d}",
            "decision_type": "shipment" if shipment else "reorder",
            "proposed_action": {"sku_id": f"SKU-{number % 40}", "quantity": quantity, "mode": "road"},
            "evidence": [
                {
                    "product_id": "inventory.stock_levels",
                    "version": f"1.0.{cycle}",
                    "as_of": call.opened_at,
                    "summary": "on hand at the warehouse",
                    "figures": {"on_hand": on_hand(cycle, number)},
                }
            ],
            "constraints": [
                {"resource": warehouse_of(number), "amount": quantity},
                {"resource": f"carbon:{region}", "amount": carbon_kg},
                {"limit": "max_delay_hours", "value": 48},
            ],
            "acceptable_modifications": [
                {"kind": "scale_quantity", "min_fraction": 0.5, "step": 0.25, "utility_cost": 1.0},
                {"kind": "delay", "max_hours": 24, "utility_cost": 4.0},
            ],
            "facts": {
                "carbon": {
                    "region": region,
                    "budget_kg": 50_000.0,
                    "spent_kg": 20_000.0,
                    "projected_kg": carbon_kg,
                }
            }
            if shipment
            else {"impact": {"order_value": quantity * 12.5, "units": quantity}},
            "priority": ((number * 37 + cycle) % 100) / 100,
            "created_at": call.opened_at,
        }
    )


def capacities(agents: int) -> Capacities:
    """Every warehouse about a third over-subscribed; every region's carbon about a fifth."""
    available: dict[str, float] = {}
    for warehouse in sorted({warehouse_of(n) for n in range(agents)}):
        members = sum(1 for n in range(agents) if warehouse_of(n) == warehouse)
        available[warehouse] = members * 120 * 0.75
    for index, region in enumerate(REGIONS):
        members = sum(1 for n in range(agents) if n % 3 == index)
        available[f"carbon:{region}"] = max(1.0, members * 120 * 0.05 * 0.8)
    return Capacities(available=available)


# the agents' host (a child process)


async def host_agents(url: str, agents: int) -> None:
    connections: list[NATS] = []
    for number in range(agents):
        connection = await nats.connect(url, connect_timeout=BOUND, max_reconnect_attempts=0)
        connections.append(connection)

        async def propose(call: CycleCall, number: int = number) -> list[IntentContract]:
            return [make_intent(number, call)]

        await serve_proposals(connection, agent_name(number), propose)
    for connection in connections:
        await connection.flush(timeout=int(BOUND))
    print("ready", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    await stop.wait()
    for connection in connections:
        await connection.close()


@contextmanager
def agents_process(url: str, agents: int) -> Iterator[None]:
    process = subprocess.Popen(
        [sys.executable, __file__, "--host-agents", str(agents), "--url", url],
        stdout=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        assert process.stdout is not None
        deadline = time.monotonic() + BOUND
        ready, _, _ = select.select([process.stdout], [], [], BOUND)
        if not ready or process.stdout.readline().strip() != b"ready" or time.monotonic() > deadline:
            raise RuntimeError(f"the agents' host did not start {agents} agents")
        yield
    finally:
        process.terminate()
        try:
            process.wait(BOUND)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(BOUND)


# the server and the coordinator


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def nats_server() -> Iterator[str]:
    binary = Path(sys.executable).parent / "nats-server"
    port = free_port()
    server = subprocess.Popen(
        [str(binary), "-a", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + BOUND
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("nats-server did not start") from None
                time.sleep(0.02)
        yield f"nats://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(BOUND)


def percentile(samples: Sequence[float], share: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def growth_exponent(points: Sequence[tuple[int, float]]) -> float:
    """Least-squares slope of log(latency) on log(agents)."""
    xs = [math.log(n) for n, _ in points]
    ys = [math.log(t) for _, t in points]
    mean_x, mean_y = sum(xs) / len(xs), sum(ys) / len(ys)
    return sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / sum(
        (x - mean_x) ** 2 for x in xs
    )


async def measure(
    url: str, engine: RegoPolicyEngine, agents: int, hierarchy: str, cycles: int, warmup: int
) -> list[Cycle]:
    connection = await nats.connect(url, connect_timeout=BOUND, max_reconnect_attempts=0)

    def figures(intent: IntentContract, evidence: Evidence) -> dict[str, float]:
        """What the product said at that version for this agent's warehouse: all agents honest."""
        number = int(intent.agent.removeprefix("agent:d"))
        return {"on_hand": on_hand(int(evidence.version.rsplit(".", 1)[1]), number)}

    async def execute(intent: IntentContract) -> None:
        return None

    cycle = DecisionCycle(
        engine,
        execute,
        trust=TrustRegistry(),
        figures=figures,
        settings=NegotiationSettings(hierarchy="flat" if hierarchy == "flat" else "hierarchical"),
    )
    coordinator = NatsCycleCoordinator(connection, cycle, deadline=BOUND)
    roster = [agent_name(n) for n in range(agents)]
    available = capacities(agents)
    cycles_seen: list[Cycle] = []
    try:
        for number in range(warmup + cycles):
            began, began_cpu = time.perf_counter(), time.process_time()
            outcome = await coordinator.run(roster, available, perception={"cycle": number})
            elapsed = (time.perf_counter() - began) * 1000
            spent = (time.process_time() - began_cpu) * 1000
            if outcome.absent_agents:
                raise RuntimeError(f"agents missed the cycle: {outcome.absent_agents}")
            if outcome.rounds_used > outcome.round_bound:
                raise RuntimeError(f"{outcome.rounds_used} rounds, above the bound {outcome.round_bound}")
            if number >= warmup:
                cycles_seen.append(Cycle.of(outcome, elapsed, spent))
    finally:
        await connection.drain()
    return cycles_seen


@dataclass(frozen=True, slots=True)
class Cycle:
    """What is kept of one measured cycle (not the outcome: a heap of outcomes would slow the
    garbage collector down, which a coordinator that hands them to the ledger does not pay)."""

    wall_ms: float
    cpu_ms: float
    phases: dict[str, float]
    rounds: int
    bound: int
    conflicts: int
    clusters: int
    modified: int

    @classmethod
    def of(cls, outcome: CycleOutcome, wall_ms: float, cpu_ms: float) -> Cycle:
        return cls(
            wall_ms,
            cpu_ms,
            outcome.timings_ms.model_dump(),
            outcome.rounds_used,
            outcome.round_bound,
            len(outcome.conflicts),
            outcome.clusters,
            len(outcome.with_status("modified")),
        )


async def run(args: argparse.Namespace) -> int:
    engine = RegoPolicyEngine.from_directory(POLICIES, cache_size=0)
    load = os.getloadavg()[0]
    print(f"policy set {engine.policy_version}; {os.cpu_count()} CPUs, load average {load:.1f}")
    print("agents: asyncio tasks with their own NATS connections, in a separate process")
    print(
        f"{'agents':>6} {'mode':>12} {'p50 ms':>8} {'p95 ms':>8} {'cpu ms':>7} | {'collect':>7} "
        f"{'policy':>7} {'resolve':>7} {'feedbk':>7} | {'rounds':>6} {'bound':>6} {'confl':>5} {'clust':>5} "
        f"{'modif':>5}"
    )
    p50s: dict[str, list[tuple[int, float]]] = {"flat": [], "hierarchical": []}
    with nats_server() as url:
        for agents in args.sizes:
            with agents_process(url, agents):
                for hierarchy in ("flat", "hierarchical"):
                    cycles = args.cycles if agents <= 16 else max(20, args.cycles // 2)
                    measured = await measure(url, engine, agents, hierarchy, cycles, warmup=5)
                    samples = [cycle.wall_ms for cycle in measured]
                    p50, p95 = percentile(samples, 0.5), percentile(samples, 0.95)
                    p50s[hierarchy].append((agents, p50))
                    last = measured[-1]
                    phases = " ".join(
                        f"{percentile([c.phases[phase] for c in measured], 0.5):>7.2f}"
                        for phase in ("proposal", "policy", "resolution", "feedback")
                    )
                    cpu = percentile([c.cpu_ms for c in measured], 0.5)
                    shape = (
                        f"{sum(c.rounds for c in measured) / len(measured):>6.1f} {last.bound:>6} "
                        f"{last.conflicts:>5} {last.clusters:>5} "
                        f"{sum(c.modified for c in measured) / len(measured):>5.1f}"
                    )
                    print(
                        f"{agents:>6} {hierarchy:>12} {p50:>8.2f} {p95:>8.2f} {cpu:>7.2f} | "
                        f"{phases} | {shape}"
                    )
    print("(cpu ms: the coordinator's CPU time per cycle, p50; the phase columns are p50 too;")
    print(" collect: from the call to the last intent, with the policy screening of intents as they arrive)")
    for hierarchy, points in p50s.items():
        if len(points) >= 2:
            print(
                f"growth exponent ({hierarchy}, log-log fit of p50 on agents): {growth_exponent(points):.2f}"
            )
    print("\ntargets")
    four = dict(p50s["flat"]).get(4)
    if four is not None:
        verdict = "PASS" if four <= TARGET_4_FLAT_MS else "FAIL"
        print(f"  {verdict}  4 domains: p50 {four:.2f} ms (target at most {TARGET_4_FLAT_MS:.0f} ms)")
    big = dict(p50s["hierarchical"]).get(128)
    if big is not None:
        verdict = "PASS" if big <= TARGET_128_HIERARCHICAL_MS else "FAIL"
        print(
            f"  {verdict}  128 domains hierarchical: p50 {big:.2f} ms "
            f"(target at most {TARGET_128_HIERARCHICAL_MS:.0f} ms)"
        )
    return 0


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--cycles", type=int, default=120, help="measured cycles at 4 and 16 (half above)")
    parser.add_argument("--sizes", type=int, nargs="+", default=[4, 16, 64, 128])
    parser.add_argument("--host-agents", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.host_agents is not None:
        asyncio.run(host_agents(args.url, args.host_agents))
        return
    try:
        sys.exit(asyncio.run(run(args)))
    except (RuntimeError, OSError) as error:
        print(f"benchmark could not run: {error}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
