"""The `mesh` command line: the one entry point that reads settings."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import signal
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import httpx
import nats
import typer
from opentelemetry import trace as otel_trace
from rich.console import Console
from rich.logging import RichHandler
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from mesh._command import command_settings as _settings
from mesh._command import err_console, response_problem
from mesh._command import fail as _fail
from mesh._command import running_gateway as _gateway_url
from mesh._command import running_state as _running_state
from mesh.assets._cli import assets_app
from mesh.audit import (
    AuditError,
    AuditLog,
    ReadOnlyQueryError,
    open_audit_log,
    render_decision,
    render_tail,
    render_verify,
)
from mesh.catalog import Catalog, read_catalog, render_catalog
from mesh.chat._cli import chat_command
from mesh.dataproducts import RefreshReply, request_refresh
from mesh.evals._cli import eval_command
from mesh.gateway._client import gateway_targets, operator_token
from mesh.gateway._console_cli import console_command
from mesh.identity import IdentityError
from mesh.identity import token_command as identity_token_command
from mesh.registry._cli import agents_command
from mesh.settings import DOMAINS, REVIEW_RULES, MeshSettings
from mesh.supervisor import (
    ComponentDiedError,
    MeshState,
    RunningMesh,
    StateFileError,
    SupervisorError,
    probe_ready,
    read_live_state,
    run_embedded,
)
from mesh.tracing import (
    TRACER_NAME,
    DecisionResolver,
    configure_tracing,
    recent_traces_command,
    shutdown_tracing,
    trace_command,
)

if TYPE_CHECKING:  # the coordinator loads the agents package: only `mesh demo` needs it
    from mesh.coordinator import WeekOptions, WeekReport
    from mesh.negotiation import CycleOutcome

app = typer.Typer(
    name="mesh",
    help="Run and inspect the governed mesh of supply-chain domain agents.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()

EXIT_NOT_RUNNING = 1
EXIT_NOT_READY = 2
EXIT_BAD_SETTINGS = 2


@dataclass(frozen=True, slots=True)
class _GlobalOptions:
    config: Path | None
    data_dir: Path | None


@app.callback()
def _global_options(
    ctx: typer.Context,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            dir_okay=False,
            help="TOML settings file (instead of MESH_CONFIG); MESH_* variables and --data-dir override it.",
        ),
    ] = None,
    data_dir: Annotated[
        Path | None,
        typer.Option(
            "--data-dir",
            file_okay=False,
            help="Where stores, keys and run state live (default .mesh); overrides MESH_DATA_DIR "
            "and the config file.",
        ),
    ] = None,
) -> None:
    ctx.obj = _GlobalOptions(config=config, data_dir=data_dir)


@app.command()
def up(ctx: typer.Context) -> None:
    """Start NATS (JetStream) and one MCP server per domain, then run until Ctrl-C or SIGTERM.

    Prints each component's endpoint once all of them are ready.
    Exit 0: stopped cleanly after Ctrl-C or SIGTERM.
    Exit 1: a mesh already runs from the data dir, a component failed to start,
    or a component died while running (the others are stopped first).
    Exit 130 or 143: interrupted while starting (what had started is stopped).
    """
    settings = _settings(ctx)
    _configure_logging(settings.log_level)
    raise typer.Exit(asyncio.run(_up(settings)))


@app.command()
def status(
    ctx: typer.Context,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON object instead of a table.")
    ] = False,
) -> None:
    """Show the mesh running from the data dir, probing each component's health URL live.

    Each probe has a 1 s timeout.
    Exit 0: every component is ready.
    Exit 1: no mesh runs from the data dir.
    Exit 2: some component is not ready (or the mesh is still starting).
    """
    settings = _settings(ctx)
    try:
        state = read_live_state(settings.state_file)
    except StateFileError as error:
        _fail(str(error), EXIT_NOT_RUNNING)
    if state is None:
        if as_json:
            typer.echo(json.dumps({"running": False, "data_dir": str(settings.data_dir.resolve())}))
        else:
            console.print(f"no mesh running from {settings.data_dir}", highlight=False, soft_wrap=True)
        raise typer.Exit(EXIT_NOT_RUNNING)
    ready = asyncio.run(probe_ready([component.health_url for component in state.components]))
    if as_json:
        typer.echo(json.dumps(_status_document(state, ready), indent=2))
    else:
        _print_status(state, ready)
    all_ready = bool(state.components) and all(ready)
    raise typer.Exit(0 if all_ready else EXIT_NOT_READY)


@app.command()
def catalog(
    ctx: typer.Context,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print every contract and quality report as JSON.")
    ] = False,
) -> None:
    """List the data products of the running mesh: owner, version, freshness and quality.

    Reads each domain's catalog through its MCP server, as any MCP client would.
    Exit 0: every domain answered. Exit 1: no mesh runs from the data dir.
    Exit 2: some domain could not be read (named in the output).
    """
    settings = _settings(ctx)
    state = _running_state(settings)
    with _traced(settings, "catalog"):
        found = asyncio.run(_catalog_via_gateway(state, settings, list(DOMAINS)))
    _print_catalog(found, as_json=as_json)
    raise typer.Exit(EXIT_NOT_READY if found.unreachable else 0)


@app.command()
def demo(
    ctx: typer.Context,
    hours: Annotated[
        int, typer.Option(min=1, max=336, help="Simulated hours, one decision cycle each.")
    ] = 168,
    reviewer: Annotated[
        str | None,
        typer.Option(
            help="How the auto-reviewer decides escalations: credible, approve or deny "
            "(default: the `reviewer` setting, MESH_REVIEWER)."
        ),
    ] = None,
) -> None:
    """Start the embedded mesh and run a simulated week of the supply chain on it, then stop.

    Every domain's data products are read through the gateway; then each simulated hour is one
    decision cycle: the agents propose over NATS, policy judges, conflicts are negotiated, the
    agents carry out what passed through the gateway, an auto-reviewer settles escalations, and
    everything is recorded in the ledger. Prints the week's table and where to look next.
    Exit 0 when the week ran; 1 when the mesh did not start, a domain could not be read, or the
    week stopped early.
    """
    settings = _settings(ctx)
    rule = reviewer or settings.reviewer
    if rule not in REVIEW_RULES:
        _fail(f"unknown reviewer rule {rule!r}; known: {', '.join(REVIEW_RULES)}", EXIT_BAD_SETTINGS)
    _configure_logging(settings.log_level)
    with _traced(settings, "demo"):
        from mesh.coordinator import WeekOptions

        code = asyncio.run(_demo(settings, WeekOptions(hours=hours, reviewer=rule)))
    raise typer.Exit(code)


@app.command("refresh")
def refresh_command(
    ctx: typer.Context,
    domains: Annotated[
        list[str] | None, typer.Argument(help="Domains to refresh (default: all five).", show_default=False)
    ] = None,
) -> None:
    """Refresh data products now, as one audited decision.

    Each domain's MCP server is asked over NATS to derive its products again, check them against
    their contracts and record the refresh in the audit ledger; the fresh quality is then read back
    over MCP. Exit 0: every domain refreshed. Exit 1: no mesh runs, or a domain failed (named).
    """
    settings = _settings(ctx)
    unknown = sorted(set(domains or ()) - set(DOMAINS))
    if unknown:
        _fail(f"unknown domain(s) {unknown}; known: {list(DOMAINS)}", EXIT_BAD_SETTINGS)
    state = _running_state(settings)
    chosen = [d for d in DOMAINS if d in domains] if domains else list(DOMAINS)
    decision_id = f"refresh-{uuid.uuid4().hex[:12]}"
    with _traced(settings, "refresh", {"mesh.decision_id": decision_id}):
        replies, found = asyncio.run(_refresh(state, settings, chosen, decision_id))
    failed = [reply for reply in replies if reply.error is not None]
    console.print(render_catalog(found))
    for reply in failed:
        err_console.print(Text(f"error: {reply.domain}: {reply.error}", style="red"), soft_wrap=True)
    refreshed = [reply for reply in replies if reply.error is None]
    console.print(
        f"decision {decision_id}: {len(refreshed)} domain(s) refreshed, recorded at audit seq "
        f"{', '.join(str(r.audit_seq) for r in refreshed) or '-'}",
        highlight=False,
    )
    _print_next_steps(settings, decision_id)
    raise typer.Exit(1 if failed or found.unreachable else 0)


async def _refresh(
    state: MeshState, settings: MeshSettings, domains: list[str], decision_id: str
) -> tuple[list[RefreshReply], Catalog]:
    if state.nats_endpoint is None:
        _fail("the running mesh has no NATS server", EXIT_NOT_RUNNING)
    replies = await _request_refresh(state.nats_endpoint, domains, decision_id)
    found = await _catalog_via_gateway(state, settings, domains)
    return replies, found


async def _catalog_via_gateway(state: MeshState, settings: MeshSettings, domains: list[str]) -> Catalog:
    """Every domain's catalog, read as the `mesh-cli` client through the governance gateway."""
    if state.gateway_endpoint is None:
        _fail("the running mesh has no gateway", EXIT_NOT_RUNNING)
    try:
        targets = await gateway_targets(
            state.gateway_endpoint, domains, clients_file=settings.oauth_clients_file, client_id="mesh-cli"
        )
    except IdentityError as error:
        _fail(f"no token from the gateway: {error}", EXIT_NOT_RUNNING)
    return await read_catalog(targets)


async def _request_refresh(nats_url: str, domains: list[str], decision_id: str) -> list[RefreshReply]:
    connection = await nats.connect(nats_url, name="mesh-cli", connect_timeout=5)
    try:
        return await request_refresh(connection, domains, decision_id=decision_id, requested_by="mesh-cli")
    finally:
        await connection.drain()


@app.command("trace")
def trace_command_(
    ctx: typer.Context,
    target: Annotated[
        str | None,
        typer.Argument(help="A trace id (32 hex digits) or a decision id; omit to list recent traces."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a tree or table.")] = False,
    limit: Annotated[int, typer.Option("--limit", min=1, help="How many recent traces to list.")] = 20,
) -> None:
    """Show the span tree of a trace, or of every trace of a decision, across processes.

    Without an argument, list recent traces. Exit 0: shown. Exit 1: unknown trace or decision,
    or nothing traced yet.
    """
    settings = _settings(ctx)
    if target is None:
        raise typer.Exit(
            recent_traces_command(
                span_store=settings.span_store,
                limit=limit,
                console=console,
                err_console=err_console,
                as_json=as_json,
            )
        )
    with contextlib.ExitStack() as stack:
        resolve_decision: DecisionResolver | None = None
        if settings.audit_backend != "sqlite" or settings.audit_path.exists():
            try:
                resolve_decision = stack.enter_context(open_audit_log(settings)).trace_ids
            except AuditError as error:
                err_console.print(f"warning: decision ids cannot be looked up: {error}", style="yellow")
        code = trace_command(
            target,
            span_store=settings.span_store,
            resolve_decision=resolve_decision,
            console=console,
            err_console=err_console,
            as_json=as_json,
        )
    raise typer.Exit(code)


@contextlib.contextmanager
def _traced(settings: MeshSettings, command: str, attributes: dict[str, str] | None = None) -> Iterator[None]:
    """Trace one CLI command as the root span of its own trace; spans are flushed at the end."""
    configure_tracing(
        "mesh-cli",
        span_store=settings.span_store if settings.local_traces else None,
        otlp_endpoint=settings.otlp_endpoint,
    )
    try:
        with otel_trace.get_tracer(TRACER_NAME).start_as_current_span(
            f"mesh {command}", attributes=attributes
        ):
            yield
    finally:
        shutdown_tracing()


@app.command("token")
def token_cmd(
    ctx: typer.Context,
    client: Annotated[str, typer.Option("--client", help="OAuth client id: inspector, operator ...")],
    domain: Annotated[
        str | None,
        typer.Option("--domain", help="Audience: the gateway's /mcp/<domain>."),
    ] = None,
    resource: Annotated[
        str | None,
        typer.Option("--resource", help="Audience URL (RFC 8707) instead of --domain."),
    ] = None,
    scope: Annotated[
        str | None,
        typer.Option("--scope", help="Space-separated scopes (default with --domain: <domain>:read)."),
    ] = None,
) -> None:
    """Print an access token for development: `TOKEN=$(mesh token --client inspector --domain demand)`.

    The client's secret is read from the data dir's clients file; the token comes from the running
    gateway's token endpoint. Exit 0: printed. 1: refused (reason on stderr). 2: no secret, no
    gateway, or bad options.
    """
    settings = _settings(ctx)
    if (domain is None) == (resource is None):
        _fail("give exactly one of --domain and --resource", EXIT_BAD_SETTINGS)
    if domain is not None and domain not in DOMAINS:
        _fail(f"unknown domain {domain!r}; known: {list(DOMAINS)}", EXIT_BAD_SETTINGS)
    gateway = _gateway_url(settings)
    code = identity_token_command(
        token_url=f"{(settings.oauth_issuer or gateway).rstrip('/')}/oauth/token",
        clients_file=settings.oauth_clients_file,
        client_id=client,
        scope=scope if scope is not None or domain is None else f"{domain}:read",
        resource=resource or f"{gateway}/mcp/{domain}",
        console=Console(),
        err_console=err_console,
    )
    raise typer.Exit(code)


escalations_app = typer.Typer(
    help="Calls held for a human, and changed tool definitions.", no_args_is_help=True
)
app.add_typer(escalations_app, name="escalations")
app.command("agents")(agents_command)
app.command("chat")(chat_command)
app.command("eval")(eval_command)
app.command("console")(console_command)
app.add_typer(assets_app, name="assets")


@escalations_app.command("list")
def escalations_list(
    ctx: typer.Context,
    status: Annotated[
        str | None, typer.Option("--status", help="pending, approved, denied, expired or consumed.")
    ] = "pending",
    show_all: Annotated[bool, typer.Option("--all", help="Every escalation, whatever its status.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List escalations (pending ones by default)."""
    settings = _settings(ctx)
    found = _operator_call(
        settings, "GET", "/api/escalations", params=None if show_all else {"status": status}
    )
    if as_json:
        typer.echo(json.dumps(found, indent=2))
        return
    table = Table(box=None, pad_edge=False)
    for column in ("id", "status", "kind", "caller", "call", "reasons", "expires"):
        table.add_column(column)
    for item in found:
        table.add_row(
            item["id"],
            item["status"],
            item["kind"],
            item["client_id"] or item["subject"],
            f"{item['domain']}.{item['tool'] or item['method']}",
            "; ".join(item["reasons"]),
            item["expires_at"][11:19],
        )
    console.print(table if found else "no escalations")


@escalations_app.command("approve")
def escalations_approve(ctx: typer.Context, escalation_id: Annotated[str, typer.Argument()]) -> None:
    """Approve: the identical call goes through once (a held tool definition is pinned)."""
    _decide_escalation(ctx, escalation_id, "approve")


@escalations_app.command("deny")
def escalations_deny(ctx: typer.Context, escalation_id: Annotated[str, typer.Argument()]) -> None:
    """Deny: the call stays refused."""
    _decide_escalation(ctx, escalation_id, "deny")


def _decide_escalation(ctx: typer.Context, escalation_id: str, verdict: str) -> None:
    settings = _settings(ctx)
    decided = _operator_call(settings, "POST", f"/api/escalations/{escalation_id}/{verdict}")
    console.print(f"{decided['id']}: {decided['status']} by {decided['decided_by']}", highlight=False)


def _operator_call(
    settings: MeshSettings, method: str, path: str, params: dict[str, str | None] | None = None
) -> Any:
    gateway = _gateway_url(settings)
    try:
        token = asyncio.run(operator_token(gateway, clients_file=settings.oauth_clients_file))
    except IdentityError as error:
        _fail(f"no operator token: {error}", EXIT_NOT_RUNNING)
    query = {k: v for k, v in (params or {}).items() if v is not None}
    try:
        response = httpx.request(
            method, f"{gateway}{path}", params=query, headers={"Authorization": f"Bearer {token}"}, timeout=10
        )
    except httpx.HTTPError as error:
        _fail(f"gateway unreachable: {error}", EXIT_NOT_RUNNING)
    if response.status_code >= 400:
        _fail(f"{response.status_code}: {response_problem(response)}", 1)
    return response.json()


audit_app = typer.Typer(help="Read and verify the tamper-evident audit ledger.", no_args_is_help=True)
app.add_typer(audit_app, name="audit")


@audit_app.command("verify")
def audit_verify(ctx: typer.Context) -> None:
    """Check every record's hash and link and every signed checkpoint; name the first bad record.

    Exit 0: the ledger is intact. Exit 1: something was edited, deleted, reordered or inserted.
    """
    with _audit_log(ctx) as log:
        report = log.verify()
    console.print(render_verify(report), soft_wrap=True)
    raise typer.Exit(0 if report.ok else 1)


@audit_app.command("tail")
def audit_tail(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, max=10_000, help="How many records.")] = 20,
) -> None:
    """The most recent records, oldest first."""
    with _audit_log(ctx) as log:
        console.print(render_tail(log.tail(limit)))


@audit_app.command("show")
def audit_show(
    ctx: typer.Context, decision_id: Annotated[str, typer.Argument(help="The decision id.")]
) -> None:
    """Everything recorded for one decision: data, policies, negotiation, outcome, trace.

    Exit 1 when the ledger holds no record of that decision.
    """
    with _audit_log(ctx) as log:
        entries = log.records_for(decision_id)
    if not entries:
        _fail(f"no audit record for decision {decision_id!r}", 1)
    console.print(render_decision(decision_id, entries))


@audit_app.command("query")
def audit_query(
    ctx: typer.Context,
    sql: Annotated[
        str, typer.Argument(help="One read-only SQL statement over audit_records, audit_checkpoints.")
    ],
    as_json: Annotated[bool, typer.Option("--json", help="Print rows as JSON objects.")] = False,
) -> None:
    """Run one read-only SQL statement. Writes are refused (exit 2); SQL errors exit 1."""
    with _audit_log(ctx) as log:
        try:
            columns, rows = log.query(sql)
        except ReadOnlyQueryError as error:
            _fail(str(error), 2)
        except Exception as error:  # the database's own message names the problem
            _fail(f"query failed: {error}", 1)
    if as_json:
        typer.echo(json.dumps([dict(zip(columns, row, strict=True)) for row in rows], indent=2, default=str))
        return
    table = Table(*columns)
    for row in rows:
        table.add_row(*(str(value) for value in row))
    console.print(table)
    console.print(f"{len(rows)} row(s)", style="dim")


def _audit_log(ctx: typer.Context) -> AuditLog:
    settings = _settings(ctx)
    if settings.audit_backend == "sqlite" and not settings.audit_path.exists():
        _fail(f"no audit ledger at {settings.audit_path} yet", 1)
    try:
        return open_audit_log(settings)
    except AuditError as error:
        _fail(str(error), 1)


def main() -> None:
    app(prog_name="mesh")


async def _demo(settings: MeshSettings, options: WeekOptions) -> int:
    console.print(
        f"starting the embedded mesh (seed {settings.seed}, scenario {settings.scenario}) "
        f"in {settings.data_dir}",
        highlight=False,
    )
    begun = time.perf_counter()
    try:
        async with run_embedded(settings) as mesh:
            console.print(f"mesh ready in {time.perf_counter() - begun:.1f}s", style="green")
            _print_components(mesh, settings)
            found = await _catalog_via_gateway(mesh.state, settings, list(DOMAINS))
            _print_catalog(found, as_json=False)
            if found.unreachable:
                return 1
            report = await _simulate_week(settings, mesh.state, options)
            console.print("stopping ...")
    except SupervisorError as error:
        err_console.print(Text(f"error: {error}", style="red"), soft_wrap=True)
        return 1
    console.print(
        "mesh stopped; the ledger and the traces stay in " + str(settings.data_dir), highlight=False
    )
    if report is None:
        return 1
    console.print(report.table())
    if report.example_decision is not None:
        _print_next_steps(settings, report.example_decision)
    return 0 if report.cycles == options.hours else 1


async def _simulate_week(settings: MeshSettings, state: MeshState, options: WeekOptions) -> WeekReport | None:
    from mesh.coordinator import WeekRun

    run = WeekRun(settings, state, options)
    console.print(
        f"\nsimulating {options.hours} hours of the {settings.scenario} scenario from "
        f"{run.twin.start:%Y-%m-%d %H:%M}Z, one decision cycle an hour (run {run.run_id}; "
        f"auto-reviewer: {options.reviewer})",
        highlight=False,
    )
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[status]}", style="dim"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, transient=False) as progress:
        task = progress.add_task("cycles", total=options.hours, status="")

        def on_cycle(step: int, outcome: CycleOutcome) -> None:
            report = run.report
            progress.update(
                task,
                advance=1,
                description=f"{run.twin.start + timedelta(hours=step + 1):%a %H:%M}",
                status=(
                    f"{report.decisions} decisions, {report.conflicts} conflicts, "
                    f"{report.escalated} escalated, service {100 * run.twin.service_level():.1f}%"
                ),
            )

        try:
            return await run.run(on_cycle)
        except Exception as error:  # the mesh is still stopped cleanly by the caller
            err_console.print(
                Text(
                    f"error: the week stopped at hour {run.twin.step}: {type(error).__name__}: {error}",
                    style="red",
                ),
                soft_wrap=True,
            )
            logging.getLogger("mesh").debug("week stopped", exc_info=True)
            return None


def _print_next_steps(settings: MeshSettings, decision_id: str) -> None:
    mesh = "uv run mesh" + ("" if settings.data_dir == Path(".mesh") else f" --data-dir {settings.data_dir}")
    console.print("look next:", style="dim")
    for command in (f"audit show {decision_id}", f"trace {decision_id}", "audit verify"):
        console.print(f"  {mesh} {command}", style="dim", highlight=False, soft_wrap=True)


def _print_catalog(found: Catalog, *, as_json: bool) -> None:
    if as_json:
        document = {
            "products": [entry.model_dump(mode="json", by_alias=True) for entry in found.entries],
            "unreachable": found.unreachable,
        }
        typer.echo(json.dumps(document, indent=2))
    else:
        console.print(render_catalog(found))
        below = [entry.contract.id for entry in found.entries if not entry.quality.passed]
        console.print(
            f"{len(found.entries)} data products in {len(found.domains)} domains; "
            + (f"below contract: {', '.join(below)}" if below else "all meet their contracts"),
            highlight=False,
        )
    for domain, reason in sorted(found.unreachable.items()):
        err_console.print(
            Text(f"error: domain {domain} could not be read: {reason}", style="red"), soft_wrap=True
        )


def _configure_logging(level: str) -> None:
    handler = RichHandler(console=err_console, show_path=False)
    try:
        logging.basicConfig(level=level.upper(), format="%(message)s", handlers=[handler])
    except ValueError as error:
        _fail(f"invalid settings: log_level: {error}", EXIT_BAD_SETTINGS)
    for chatty in ("httpx", "httpx2", "httpcore", "mcp", "a2a"):
        logging.getLogger(chatty).setLevel(logging.WARNING)


async def _up(settings: MeshSettings) -> int:
    loop = asyncio.get_running_loop()
    main_task = asyncio.current_task()
    assert main_task is not None
    stop_requested = asyncio.Event()
    received: list[signal.Signals] = []
    phase = "starting"

    def on_signal(signum: signal.Signals) -> None:
        received.append(signum)
        if phase == "running":
            stop_requested.set()
        elif phase == "starting" and len(received) == 1:
            main_task.cancel()

    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, on_signal, signum)
    begun = time.perf_counter()
    try:
        async with run_embedded(settings) as mesh:
            phase = "running"
            _print_components(mesh, settings)
            console.print(f"mesh ready in {time.perf_counter() - begun:.1f}s; Ctrl-C stops it", style="green")
            exit_code = await _run_until_stopped(mesh, stop_requested)
            phase = "stopping"
            console.print("stopping ...")
    except asyncio.CancelledError:
        if not received:
            raise
        main_task.uncancel()
        err_console.print(f"start interrupted by {received[0].name}; everything started was stopped")
        return 128 + received[0].value
    except SupervisorError as error:
        err_console.print(Text(f"error: {error}", style="red"), soft_wrap=True)
        return 1
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)
    console.print("mesh stopped")
    return exit_code


async def _run_until_stopped(mesh: RunningMesh, stop_requested: asyncio.Event) -> int:
    died = asyncio.create_task(mesh.wait())
    stop = asyncio.create_task(stop_requested.wait())
    try:
        await asyncio.wait([died, stop], return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (died, stop):
            task.cancel()
        await asyncio.wait([died, stop])
    if died.done() and not died.cancelled() and (error := died.exception()) is not None:
        if not isinstance(error, ComponentDiedError):
            raise error
        err_console.print(Text(f"error: {error}", style="red"), soft_wrap=True)
        err_console.print("stopping the other components", style="red")
        return 1
    return 0


def _print_components(mesh: RunningMesh, settings: MeshSettings) -> None:
    table = Table(title=f"mesh running from {settings.data_dir}")
    for column in ("component", "kind", "pid", "endpoint"):
        table.add_column(column)
    for component in mesh.state.components:
        table.add_row(component.name, component.kind, str(component.pid), component.endpoint)
    console.print(table)
    console.print(
        f"logs in {settings.run_dir / 'logs'}, state in {settings.state_file}",
        highlight=False,
        soft_wrap=True,
    )


def _status_document(state: MeshState, ready: list[bool]) -> dict[str, Any]:
    return {
        "running": True,
        "supervisor_pid": state.supervisor_pid,
        "started_at": state.started_at.isoformat(),
        "data_dir": state.data_dir,
        "components": [
            {
                "name": component.name,
                "kind": component.kind,
                "pid": component.pid,
                "endpoint": component.endpoint,
                "ready": component_ready,
            }
            for component, component_ready in zip(state.components, ready, strict=True)
        ],
    }


def _print_status(state: MeshState, ready: list[bool]) -> None:
    started = state.started_at.astimezone().strftime("%Y-%m-%d %H:%M:%S")
    console.print(
        f"mesh running from {state.data_dir} (supervisor pid {state.supervisor_pid}, started {started})",
        highlight=False,
        soft_wrap=True,
    )
    if not state.components:
        console.print("starting: no component is up yet", style="yellow")
        return
    table = Table()
    for column in ("component", "kind", "pid", "endpoint", "ready"):
        table.add_column(column)
    for component, component_ready in zip(state.components, ready, strict=True):
        table.add_row(
            component.name,
            component.kind,
            str(component.pid),
            component.endpoint,
            Text("ready", style="green") if component_ready else Text("not ready", style="red"),
        )
    console.print(table)
