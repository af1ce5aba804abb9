"""Policy decision time in process: the compiled bundle, against querying the uncompiled source.

The representative input is a shipment whose carbon rule warns, decided by the whole policy set
(`policies/`), without the decision cache. Alongside: the same input queried from the Rego
source (regopy's `set_input_term` + `query`, the way to skip compiling), the cost of turning
the `PolicyInput` into a document, the floor of the engine (the same input against a policy set
with no rules), a cache hit, and throughput from several threads.

    uv run python bench/policy_decision.py [--decisions 20000] [--baseline-decisions 500]

Target (ARCHITECTURE.md): policy decision in process at most 150 us at p50.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

from regopy import Interpreter  # type: ignore[import-untyped]

from mesh.policy import (
    CallerFacts,
    CarbonFacts,
    DataProductFacts,
    PolicyContext,
    PolicyInput,
    PolicySet,
    RegoPolicyEngine,
    RequestFacts,
)

POLICIES = Path(__file__).resolve().parents[1] / "policies"
TARGET_P50_US = 150.0

SHIPMENT = PolicyInput(
    caller=CallerFacts(
        subject="agent:logistics",
        client_id="logistics-agent",
        scopes=["logistics:read", "logistics:write", "sustainability:read"],
        autonomy="high",
        credibility=0.91,
        act_chain=["agent:orchestrator"],
    ),
    request=RequestFacts(
        method="tools/call",
        domain="logistics",
        required_scope="logistics:write",
        writes=True,
        tool="book_shipment",
        arguments={"carrier_id": "CAR-02", "origin": "WH-EU-1", "destination": "WH-EU-2", "units": 400},
    ),
    data_products=[
        DataProductFacts(
            id="sustainability.carbon_ledger", version="1.0.0", access_scope="sustainability:read"
        )
    ],
    context=PolicyContext(
        carbon=CarbonFacts(region="EU", budget_kg=10_000.0, spent_kg=8_800.0, projected_kg=350.0)
    ),
)


def timings(run: Callable[[], object], count: int) -> list[float]:
    for _ in range(min(count // 10, 500)):
        run()
    samples = []
    for _ in range(count):
        began = time.perf_counter()
        run()
        samples.append(time.perf_counter() - began)
    return samples


def percentile(samples: list[float], share: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] * 1e6


def line(label: str, samples: list[float]) -> float:
    p50 = percentile(samples, 0.50)
    print(f"  {label:44s} p50 {p50:9.1f} us   p99 {percentile(samples, 0.99):9.1f} us   (n={len(samples)})")
    return p50


def source_baseline(policy_set: PolicySet, document: str) -> Callable[[], object]:
    interpreter = Interpreter()
    for name, source in policy_set.modules.items():
        interpreter.add_module(name, source)
    interpreter.add_data_json(json.dumps(policy_set.data))

    def query() -> object:
        interpreter.set_input_term(document)
        return interpreter.query("x := data.mesh.results")

    return query


def empty_policy_set(directory: Path) -> Path:
    (directory / "VERSION").write_text("0.0.0\n")
    (directory / "mesh.rego").write_text(
        "package mesh\n\nimport rego.v1\n\nresults contains r if some r in []\n"
    )
    return directory


def throughput(engine: RegoPolicyEngine, threads: int, per_thread: int) -> float:
    def work() -> None:
        for _ in range(per_thread):
            engine.decide(SHIPMENT)

    workers = [threading.Thread(target=work) for _ in range(threads)]
    began = time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return threads * per_thread / (time.perf_counter() - began)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--decisions", type=int, default=20_000)
    parser.add_argument("--baseline-decisions", type=int, default=500)
    args = parser.parse_args()

    engine = RegoPolicyEngine.from_directory(POLICIES, cache_size=0)
    decision = engine.decide(SHIPMENT)
    print(f"policy set {engine.policy_version}: {len(engine.policy_set.modules)} modules")
    print(f"representative input: a shipment at 91.5% of EU's carbon budget -> {decision.decision}")
    assert decision.decision == "warn", decision

    print("\ndecision time")
    compiled = line(
        "compiled bundle (RegoPolicyEngine.decide)", timings(lambda: engine.decide(SHIPMENT), args.decisions)
    )
    document = json.dumps(SHIPMENT.model_dump(mode="json", exclude_none=True))
    baseline = line(
        "uncompiled source (set_input_term + query)",
        timings(source_baseline(engine.policy_set, document), args.baseline_decisions),
    )
    print(f"  compiled is {baseline / compiled:.1f}x faster than the source at p50")

    print("\nwhere the time goes")
    line(
        "PolicyInput -> document (model_dump)",
        timings(lambda: SHIPMENT.model_dump(mode="json", exclude_none=True), 20_000),
    )
    line("PolicyInput -> JSON text (model_dump_json)", timings(SHIPMENT.model_dump_json, 20_000))
    with tempfile.TemporaryDirectory() as directory:
        floor = RegoPolicyEngine.from_directory(empty_policy_set(Path(directory)), cache_size=0)
        floor_p50 = line("engine floor: same input, no rules", timings(lambda: floor.decide(SHIPMENT), 5_000))
    print(f"  the rules' share: {compiled - floor_p50:.1f} us of {compiled:.1f} us")
    cached = RegoPolicyEngine.from_directory(POLICIES)
    cached_p50 = line(
        "cache hit (the same input again)", timings(lambda: cached.decide(SHIPMENT), args.decisions)
    )

    print("\nthroughput (decisions/s, no cache)")
    serial = throughput(engine, 1, 4_000)
    parallel = throughput(engine, 4, 1_000)
    print(f"  1 thread {serial:8.0f}   4 threads {parallel:8.0f}   ({parallel / serial:.2f}x)")

    print(f"\ntarget: policy decision in process at most {TARGET_P50_US:.0f} us at p50")
    verdict = "PASS" if compiled <= TARGET_P50_US else "FAIL"
    print(f"  {verdict}  compiled bundle, every decision evaluated: p50 {compiled:.1f} us")
    verdict = "PASS" if cached_p50 <= TARGET_P50_US else "FAIL"
    print(f"  {verdict}  with the decision cache, repeated input: p50 {cached_p50:.1f} us")


if __name__ == "__main__":
    main()
