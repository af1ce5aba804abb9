"""Proxy overhead per MCP tool call: through the governance gateway against straight to the domain
server, in the same run, on loopback.

The script starts its own embedded mesh in a temporary data directory (rate limits raised so that
nothing throttles), then calls the same tool, `demand.get_skus` with `{"limit": 5}` (a small
read), on three paths, each with the same client (the MCP SDK's `mcp.Client` over
`mesh.tracing.traced_mcp_transport`) and one long-lived session per path:

- direct:       the demand MCP server's own URL.
- pass-through: a bare Python proxy in a process of its own (uvicorn and httpx, the gateway's
                server and client stack, forwarding the same headers, no governance at all): the
                floor any Python proxy hop costs on this machine.
- governed:     `{gateway}/mcp/demand` with an `inspector` token from the gateway's token
                endpoint; the gateway authenticates, checks session, rate limit, scope and tool
                pins, decides policy, forwards with its own credential and queues an audit record.

The direct and pass-through paths need a token the domain server accepts (issuer = the gateway,
audience = the server's own URL, scope `mcp:upstream`). This script mints it in process with the
signing key under DATA_DIR/keys. That is acceptable for a benchmark on a throwaway mesh only:
nothing else may hold that key or such a token but the gateway.

After a warm-up, the calls run in interleaved blocks (the order of the paths rotates every
round), so that machine noise falls on every path alike. It prints p50 and p99 per path, the
difference governed minus direct (split into the bare hop and what the gateway adds beyond it),
and the CPU each process spends per call (Linux /proc, every thread, so the gateway's audit
writer and span exporter count too). Calls are sequential, so the gateway's CPU per call is
most of its latency; on a shared machine the CPU table moves less with other load than the
latencies do. Then, measured alone after the mesh stopped:

- the policy decision (`RegoPolicyEngine.decide`) on the input the gateway builds for this call,
  with the decision cache (a repeated call, as in this run: the gateway's engine caches) and
  without (every call a new input);
- the audit append: building the record, `Ledger.submit` (what a read waits for) and an awaited
  `Ledger.append` (what an action waits for, a durable commit).

It also checks that every governed call left one audit record.

    uv run python bench/gateway_overhead.py [--calls 2000] [--block 100] [--warmup 200]

Targets (ARCHITECTURE.md): proxy overhead at most +1 ms at p50, governed against direct; policy
decision in process at most 150 us at p50. The script exits 0 whatever the verdicts; 1 when the
run itself fails, takes longer than --timeout seconds, or a governed call left no audit record.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.util
import json
import os
import platform
import socket
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from mcp import Client
from mcp_types import TextResourceContents
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from mesh.audit import AuditRecord, Caller, DataProductInput, Ledger, PolicyEvaluation, open_audit_log
from mesh.gateway import UPSTREAM_SCOPE
from mesh.gateway._client import gateway_targets
from mesh.identity import AuthorizationServer, Principal, load_or_create_signing_key
from mesh.policy import (
    CallerFacts,
    DataProductFacts,
    PolicyContext,
    PolicyDecision,
    PolicyInput,
    RegoPolicyEngine,
    RequestFacts,
)
from mesh.settings import MeshSettings
from mesh.supervisor import RunningMesh, mcp_component_name, run_embedded
from mesh.tracing import traced_mcp_transport

POLICIES = Path(__file__).resolve().parents[1] / "policies"
DOMAIN = "demand"
TOOL = "get_skus"
ARGUMENTS: dict[str, Any] = {"limit": 5}
CLIENT_ID = "inspector"
TARGET_OVERHEAD_MS = 1.0
TARGET_POLICY_US = 150.0
UNLIMITED = 1e9
TOKEN_VARIABLE = "BENCH_UPSTREAM_TOKEN"  # noqa: S105 (the name of a variable, not a secret)
# the gateway's own header filters (mesh/gateway/_proxy.py), so the floor forwards the same
_FORWARDED_REQUEST_HEADERS = frozenset({"accept", "content-type", "last-event-id", "accept-language"})
_FORWARDED_RESPONSE_HEADERS = frozenset(
    {"content-type", "cache-control", "mcp-session-id", "mcp-protocol-version"}
)


def percentile(samples: list[float], share: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


# --- the pass-through floor: a bare proxy in a process of its own ------------------------------


def pass_through_app(upstream: str, token: str) -> Starlette:
    """What any Python proxy hop must do: read the request, send it on, stream the answer back."""
    http = httpx.AsyncClient(timeout=httpx.Timeout(60.0), trust_env=False, follow_redirects=False)

    async def forward(request: Request) -> Response:
        headers = {
            name: value
            for name, value in request.headers.items()
            if name in _FORWARDED_REQUEST_HEADERS or name.startswith("mcp-")
        }
        headers["authorization"] = f"Bearer {token}"
        body = await request.body() if request.method == "POST" else None
        upstream_request = http.build_request(request.method, upstream, headers=headers, content=body)
        answer = await http.send(upstream_request, stream=True)
        return StreamingResponse(
            answer.aiter_raw(),
            status_code=answer.status_code,
            headers={k: v for k, v in answer.headers.items() if k.lower() in _FORWARDED_RESPONSE_HEADERS},
            background=BackgroundTask(answer.aclose),
        )

    return Starlette(routes=[Route("/mcp", forward, methods=["GET", "POST", "DELETE"])])


def serve_pass_through(port: int, upstream: str) -> None:
    app = pass_through_app(upstream, os.environ[TOKEN_VARIABLE])
    # the gateway's own uvicorn options (mesh/gateway/__main__.py)
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        access_log=False,
        limit_concurrency=1000,
        timeout_keep_alive=15,
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextlib.asynccontextmanager
async def pass_through_process(upstream: str, token: str) -> AsyncIterator[tuple[str, int]]:
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        __file__,
        "--serve-pass-through",
        str(port),
        "--upstream",
        upstream,
        env={**os.environ, TOKEN_VARIABLE: token},
    )
    try:
        for _ in range(200):
            with contextlib.suppress(OSError):
                _, writer = await asyncio.open_connection("127.0.0.1", port)
                writer.close()
                break
            if process.returncode is not None:
                raise RuntimeError(f"the pass-through proxy exited with {process.returncode}")
            await asyncio.sleep(0.05)
        else:
            raise RuntimeError("the pass-through proxy did not start listening")
        yield f"http://127.0.0.1:{port}/mcp", process.pid
    finally:
        if process.returncode is None:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), 10)
            except TimeoutError:
                process.kill()
                await process.wait()


# --- measuring the paths ------------------------------------------------------------------------


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU of a process, all its threads (Linux only)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class Lane:
    """One way to the demand server, measured block by block."""

    label: str
    client: Client
    pids: dict[str, int]
    """The processes this path runs through besides the client, by role."""
    samples: list[float] = field(default_factory=list)
    block_p50s: list[float] = field(default_factory=list)
    cpu: dict[str, float] = field(default_factory=dict)

    async def call(self) -> None:
        result = await self.client.call_tool(TOOL, ARGUMENTS)
        content = result.structured_content
        if result.is_error or content is None or content.get("returned") != ARGUMENTS["limit"]:
            text = " ".join(getattr(block, "text", "") for block in result.content)
            raise RuntimeError(f"{self.label}: {TOOL} failed: {text or content}")

    async def block(self, calls: int) -> None:
        before = self._cpu()
        samples = []
        for _ in range(calls):
            began = time.perf_counter()
            await self.call()
            samples.append(time.perf_counter() - began)
        after = self._cpu()
        for role, seconds in after.items():
            if role in before:
                self.cpu[role] = self.cpu.get(role, 0.0) + seconds - before[role]
        self.samples += samples
        self.block_p50s.append(percentile(samples, 0.5))

    def _cpu(self) -> dict[str, float]:
        found = {"client": time.process_time()}
        for role, pid in self.pids.items():
            seconds = cpu_seconds(pid)
            if seconds is not None:
                found[role] = seconds
        return found


async def measure(lanes: list[Lane], calls: int, block: int, warmup: int) -> None:
    """Warm up every lane, then run blocks, the lanes' order rotating every round."""
    for lane in lanes:
        for _ in range(warmup):
            await lane.call()
    for index in range(max(1, calls // block)):
        shift = index % len(lanes)
        for lane in lanes[shift:] + lanes[:shift]:
            await lane.block(block)


# --- the policy input and the audit record the gateway builds for this call ---------------------


@dataclass(frozen=True)
class CallFacts:
    """What the gateway knows when it decides this call: the caller and the tool's products."""

    principal: Principal
    scope: str
    writes: bool
    products: list[dict[str, Any]]


async def call_facts(client: Client, principal: Principal) -> CallFacts:
    """The facts the gateway's directory reads upstream (tool `_meta`, the domain's catalog), and
    the scope rule of mesh/gateway/_scopes.py for a tool call."""
    tool = next(t for t in (await client.list_tools()).tools if t.name == TOOL)
    definition = tool.model_dump(mode="json", by_alias=True, exclude_none=True)
    meta = definition.get("_meta") or {}
    writes = not (definition.get("annotations") or {}).get("readOnlyHint", False)
    catalog = (await client.read_resource(f"catalog://{DOMAIN}")).contents[0]
    assert isinstance(catalog, TextResourceContents)
    contracts = {item["contract"]["id"]: item["contract"] for item in json.loads(catalog.text)["products"]}
    return CallFacts(
        principal=principal,
        scope=meta.get("mesh/scope") or f"{DOMAIN}:{'write' if writes else 'read'}",
        writes=writes,
        products=[contracts[p] for p in meta.get("mesh/products", []) if p in contracts],
    )


def policy_input(facts: CallFacts) -> PolicyInput:
    """As `GovernedProxy._decide` builds it."""
    principal = facts.principal
    return PolicyInput(
        caller=CallerFacts(
            subject=principal.subject,
            client_id=principal.client_id,
            scopes=sorted(principal.scopes),
            act_chain=list(principal.act_chain),
        ),
        request=RequestFacts(
            method="tools/call",
            domain=DOMAIN,
            tool=TOOL,
            arguments=ARGUMENTS,
            required_scope=facts.scope,
            writes=facts.writes,
        ),
        data_products=[
            DataProductFacts(id=p["id"], version=p["version"], access_scope=p["access_scope"])
            for p in facts.products
        ],
        context=PolicyContext(),
    )


def audit_record(facts: CallFacts, decision: PolicyDecision, began: float) -> AuditRecord:
    """As `GovernedProxy._record` builds it for a forwarded read."""
    principal = facts.principal
    return AuditRecord(
        decision_id="call-0123456789abcdef",
        occurred_at=datetime.now(UTC),
        agent=principal.client_id,
        domain=DOMAIN,
        action="tools/call",
        parameters={"method": "tools/call", "tool": TOOL, "arguments": ARGUMENTS},
        inputs=[DataProductInput(product_id=p["id"], version=p["version"]) for p in facts.products],
        policies=[
            PolicyEvaluation(
                policy_id=r.policy_id,
                outcome=r.outcome,
                reasons=r.reasons,
                policy_version=decision.policy_version,
            )
            for r in decision.rules
        ],
        execution_mode="autonomous",
        status="executed",
        outcome={
            "upstream_status": 200.0,
            "upstream_ms": 3.0,
            "gateway_ms": round((time.perf_counter() - began) * 1000, 3),
        },
        caller=Caller(
            subject=principal.subject,
            client_id=principal.client_id,
            scopes=sorted(principal.scopes),
            act_chain=list(principal.act_chain),
        ),
        trace_id="0af7651916cd43dd8448eb211c80319c",
        span_id="b7ad6b7169203331",
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


async def async_timings(run: Callable[[], Awaitable[object]], count: int) -> tuple[list[float], float]:
    """Latencies, and the process CPU per call (this process's threads, the ledger writer's too)."""
    for _ in range(min(count // 10, 100)):
        await run()
    samples = []
    cpu = time.process_time()
    for _ in range(count):
        began = time.perf_counter()
        await run()
        samples.append(time.perf_counter() - began)
    return samples, (time.process_time() - cpu) / count


# --- the run ------------------------------------------------------------------------------------


@dataclass
class Run:
    lanes: list[Lane]
    facts: CallFacts
    governed_calls: int


@dataclass(frozen=True)
class AuditCheck:
    records: int
    outcome: str | None
    policy_version: str | None


def direct_token(settings: MeshSettings, issuer: str, audience: str) -> tuple[str, AuthorizationServer]:
    """An upstream token, minted with the gateway's signing key (benchmark only, see the docstring)."""
    server = AuthorizationServer(
        issuer=issuer,
        clients=[],
        signing_key=load_or_create_signing_key(settings.key_dir),
        token_lifetime=timedelta(hours=1),
    )
    issued = server.issue(
        subject="service:gateway", client_id="gateway", scopes=[UPSTREAM_SCOPE], audience=audience
    )
    return issued.access_token, server


def bench_settings(data_dir: Path) -> MeshSettings:
    """The defaults, but no rate limit a benchmark would hit and tokens that outlive the run."""
    return MeshSettings(
        data_dir=data_dir,
        rate_per_client=UNLIMITED,
        rate_burst_per_client=10**9,
        rate_per_tool=UNLIMITED,
        rate_burst_per_tool=10**9,
        oauth_token_lifetime=3600,
        log_level="WARNING",
    )


async def run(args: argparse.Namespace, settings: MeshSettings) -> Run:
    began = time.perf_counter()
    async with run_embedded(settings) as mesh:
        print(f"mesh started in {time.perf_counter() - began:.1f} s ({settings.data_dir})")
        return await run_on(args, settings, mesh)


async def run_on(args: argparse.Namespace, settings: MeshSettings, mesh: RunningMesh) -> Run:
    gateway_url = mesh.endpoints["gateway"]
    server_url = mesh.mcp_url(DOMAIN)
    pids = {c.name: c.pid for c in mesh.state.components if c.pid is not None}
    gateway_pid, server_pid = pids["gateway"], pids[mcp_component_name(DOMAIN)]
    governed_target = (
        await gateway_targets(
            gateway_url, [DOMAIN], clients_file=settings.oauth_clients_file, client_id=CLIENT_ID
        )
    )[DOMAIN]
    token, minter = direct_token(settings, gateway_url, server_url)
    principal = minter.verifier().verify(
        governed_target.headers["Authorization"].removeprefix("Bearer "), audience=governed_target.url
    )
    async with (
        pass_through_process(server_url, token) as (floor_url, floor_pid),
        Client(traced_mcp_transport(server_url, headers={"Authorization": f"Bearer {token}"})) as direct,
        Client(traced_mcp_transport(floor_url, headers={})) as floor,
        Client(traced_mcp_transport(governed_target.url, headers=governed_target.headers)) as governed,
    ):
        lanes = [
            Lane("direct (demand server)", direct, {"server": server_pid}),
            Lane("pass-through (bare proxy)", floor, {"proxy": floor_pid, "server": server_pid}),
            Lane("governed (gateway)", governed, {"proxy": gateway_pid, "server": server_pid}),
        ]
        facts = await call_facts(direct, principal)
        await measure(lanes, args.calls, args.block, args.warmup)
    return Run(lanes, facts, governed_calls=args.warmup + len(lanes[2].samples))


def audit_check(settings: MeshSettings) -> AuditCheck:
    """The gateway's records of this run's governed calls (read after it stopped and flushed)."""
    with open_audit_log(settings) as log:
        _, rows = log.query(
            "SELECT count(*), min(json_extract(body, '$.policies[0].outcome')), "
            "min(json_extract(body, '$.policies[0].policy_version')) FROM audit_records "
            "WHERE json_extract(body, '$.agent') = ? AND json_extract(body, '$.parameters.tool') = ? "
            "AND json_extract(body, '$.status') = 'executed'",
            (CLIENT_ID, TOOL),
        )
    records, outcome, version = rows[0]
    return AuditCheck(int(records), outcome, version)


def ms(seconds: float) -> str:
    return f"{seconds * 1e3:6.3f} ms"


def signed_ms(seconds: float) -> str:
    return f"{seconds * 1e3:+6.3f} ms"


def report_lanes(outcome: Run, args: argparse.Namespace, audited: AuditCheck) -> float:
    """Latency and CPU per lane; returns the overhead at p50 (governed - direct), in ms."""
    direct, floor, governed = outcome.lanes
    print(
        f"\nlatency per call, client side ({len(direct.samples):,} calls per path in "
        f"{len(direct.block_p50s)} interleaved blocks of {args.block}, after {args.warmup} warm-up calls)"
    )
    print(f"  {'':34s} {'p50':>9s} {'p99':>9s}")
    for lane in outcome.lanes:
        print(f"  {lane.label:34s} {ms(percentile(lane.samples, 0.5))} {ms(percentile(lane.samples, 0.99))}")

    def difference(slow: Lane, fast: Lane, share: float) -> float:
        return percentile(slow.samples, share) - percentile(fast.samples, share)

    overhead = difference(governed, direct, 0.5)
    print(
        f"  {'governed - direct':34s} {signed_ms(overhead)} {signed_ms(difference(governed, direct, 0.99))}"
    )
    print(f"  {'  of which a bare proxy hop':34s} {signed_ms(difference(floor, direct, 0.5))}")
    print(f"  {'  of which the gateway beyond it':34s} {signed_ms(difference(governed, floor, 0.5))}")
    rounds = [
        signed_ms(d).strip() for d in sorted(map(float.__sub__, governed.block_p50s, direct.block_p50s))
    ]
    print(
        f"  governed - direct at p50, round by round: median {rounds[len(rounds) // 2]}, "
        f"from {rounds[0]} to {rounds[-1]}"
    )
    print(
        f"  audit: {outcome.governed_calls:,} governed calls, {audited.records:,} records of them "
        f"(policy outcome {audited.outcome}, policy set {audited.policy_version})"
    )
    if all(lane.cpu.keys() >= {"client", *lane.pids} for lane in outcome.lanes):
        print("\nCPU per call, all threads of each process (Linux /proc, summed over the blocks)")
        print(f"  {'':34s} {'client':>9s} {'proxy':>9s} {'server':>9s} {'total':>9s}")
        for lane in outcome.lanes:
            per_call = {role: seconds / len(lane.samples) for role, seconds in lane.cpu.items()}
            proxy = ms(per_call["proxy"]) if "proxy" in per_call else f"{'-':>9s}"
            print(
                f"  {lane.label:34s} {ms(per_call['client'])} {proxy} {ms(per_call['server'])} "
                f"{ms(sum(per_call.values()))}"
            )
    return overhead * 1e3


def report_policy(facts: CallFacts, decisions: int) -> float:
    document = policy_input(facts)
    uncached = RegoPolicyEngine.from_directory(POLICIES, cache_size=0)
    cached = RegoPolicyEngine.from_directory(POLICIES)
    decision = uncached.decide(document)
    print(
        f"\npolicy decision alone (RegoPolicyEngine.decide, policy set {uncached.policy_version}; "
        f"the gateway's input for this call -> {decision.decision}, {', '.join(decision.policy_ids)})"
    )
    p50s = []
    for label, engine in (
        ("no cache (every call a new input)", uncached),
        ("cache hit (a repeated call)", cached),
    ):
        samples = timings(partial(engine.decide, document), decisions)
        p50s.append(percentile(samples, 0.5) * 1e6)
        print(
            f"  {label:40s} p50 {p50s[-1]:7.1f} us   p99 {percentile(samples, 0.99) * 1e6:7.1f} us"
            f"   (n={decisions:,})"
        )
    return p50s[0]


async def report_audit(facts: CallFacts, directory: Path, count: int) -> None:
    decision = RegoPolicyEngine.from_directory(POLICIES).decide(policy_input(facts))
    ledger = Ledger.sqlite(directory / "ledger.sqlite", directory / "keys")
    try:
        build = timings(lambda: audit_record(facts, decision, time.perf_counter()), count)
        record = audit_record(facts, decision, time.perf_counter())
        pending: list[Any] = []
        submit = timings(lambda: pending.append(ledger.submit(record)), count)
        for future in pending:
            future.result(timeout=60)
        appended, cpu = await async_timings(lambda: ledger.append(record), count)
    finally:
        ledger.close()
    print("\naudit append alone (SQLite ledger, the record the gateway builds for this call)")
    for label, samples in (
        ("build the AuditRecord", build),
        ("Ledger.submit (what a read waits for)", submit),
        ("Ledger.append awaited (what an action waits)", appended),
    ):
        print(
            f"  {label:46s} p50 {percentile(samples, 0.5) * 1e6:7.1f} us   "
            f"p99 {percentile(samples, 0.99) * 1e6:7.1f} us"
        )
    label = "CPU per record, appended one at a time"
    print(f"  {label:46s}     {cpu * 1e6:7.1f} us (the writer thread's included)")


def stack() -> str:
    """What serves HTTP here: uvicorn picks httptools and uvloop when they are installed."""
    http = "httptools" if importlib.util.find_spec("httptools") else "h11"
    loop = "uvloop" if importlib.util.find_spec("uvloop") else "asyncio"
    load = ", load average {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()) if hasattr(os, "getloadavg") else ""
    return f"Python {platform.python_version()}, {os.cpu_count()} CPUs{load}, uvicorn with {http} on {loop}"


async def main_async(args: argparse.Namespace) -> int:
    print(f"gateway overhead: MCP tools/call {DOMAIN}.{TOOL} {json.dumps(ARGUMENTS)}, one session per path")
    print(stack())
    with tempfile.TemporaryDirectory(prefix="gateway-bench-") as directory:
        settings = bench_settings(Path(directory) / "mesh")
        try:
            async with asyncio.timeout(args.timeout):
                outcome = await run(args, settings)
        except TimeoutError:
            print(f"error: the run took longer than {args.timeout:.0f} s; stopped", file=sys.stderr)
            return 1
        audited = audit_check(settings)
        overhead = report_lanes(outcome, args, audited)
        policy_p50 = report_policy(outcome.facts, args.decisions)
        await report_audit(outcome.facts, Path(directory) / "audit-alone", args.appends)

    if hasattr(os, "getloadavg"):
        print(
            "\nload average at the end {:.2f} {:.2f} {:.2f} (other work on the machine shows here)".format(
                *os.getloadavg()
            )
        )
    print("\ntargets (ARCHITECTURE.md)")
    verdict = "PASS" if overhead <= TARGET_OVERHEAD_MS else "FAIL"
    print(f"  {verdict}  proxy overhead at p50, governed - direct: {overhead:+.3f} ms (target <= +1 ms)")
    verdict = "PASS" if policy_p50 <= TARGET_POLICY_US else "FAIL"
    print(f"  {verdict}  policy decision at p50, no cache: {policy_p50:.1f} us (target <= 150 us)")
    if audited.records < outcome.governed_calls:
        print("error: governed calls without an audit record", file=sys.stderr)
        return 1
    return 0


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--calls", type=int, default=2000, help="measured calls per path (default 2000)")
    parser.add_argument("--block", type=int, default=100, help="calls per block; blocks alternate paths")
    parser.add_argument("--warmup", type=int, default=200, help="warm-up calls per path")
    parser.add_argument("--decisions", type=int, default=10_000, help="policy decisions timed")
    parser.add_argument("--appends", type=int, default=2000, help="audit appends timed")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds the mesh part may take")
    parser.add_argument("--serve-pass-through", type=int, metavar="PORT", help=argparse.SUPPRESS)
    parser.add_argument("--upstream", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_pass_through is not None:
        serve_pass_through(args.serve_pass_through, args.upstream)
        return
    sys.exit(asyncio.run(main_async(args)))


if __name__ == "__main__":
    main()
