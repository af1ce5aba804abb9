"""`mesh eval`: run the golden and adversarial suites through the real mesh, report, gate."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Annotated, Literal

import typer
from rich.console import Console
from rich.text import Text

from mesh.evals._errors import EvalError
from mesh.evals._gate import baseline_of, regressions, write_baseline
from mesh.evals._load import EVALS_DIR, SUITES, load_baseline, load_cases
from mesh.evals._report import report_document, results_table, totals_table
from mesh.evals._wire import CaseResult, Suite
from mesh.supervisor import SupervisorError

console = Console(width=None if sys.stdout.isatty() else 200)
err_console = Console(stderr=True)


def eval_command(
    suite: Annotated[
        Literal["golden", "adversarial", "all"], typer.Option("--suite", help="golden, adversarial or all.")
    ] = "all",
    model: Annotated[
        str | None,
        typer.Option(
            "--model",
            help="Run live with this litellm model (key from the environment) "
            "instead of replaying the recordings.",
        ),
    ] = None,
    model_base_url: Annotated[
        str | None,
        typer.Option(
            "--model-base-url", help="With --model: its server, e.g. http://localhost:11434 for Ollama."
        ),
    ] = None,
    record: Annotated[
        Path | None,
        typer.Option(
            "--record",
            file_okay=False,
            help="With --model: write the live model's answers as recordings into this directory "
            "(one per case that replays one; review them, then copy them into evals/recordings).",
        ),
    ] = None,
    gate: Annotated[
        bool, typer.Option("--gate", help="Exit 1 on any regression against the baseline.")
    ] = False,
    update_baseline: Annotated[
        bool, typer.Option("--update-baseline", help="Write this run's results as the new baseline.")
    ] = False,
    case: Annotated[list[str] | None, typer.Option("--case", help="Run only these case ids.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    evals_dir: Annotated[
        Path, typer.Option("--evals-dir", file_okay=False, help="Cases, recordings, baseline.")
    ] = EVALS_DIR,
) -> None:
    """Replay the eval cases through the real embedded mesh and report utility and attack success.

    Exit 0: ran (and with --gate, no regression). Exit 1: a regression (--gate), or the mesh did
    not start. Exit 2: a case, recording or baseline file is malformed (file and field named).
    """
    if (record or model_base_url) and not model:
        err_console.print(Text("error: --record and --model-base-url need --model", style="red"))
        raise typer.Exit(2)
    suites: tuple[Suite, ...] = SUITES if suite == "all" else (suite,)
    baseline_path = evals_dir / "baseline.json"
    try:
        every = load_cases(evals_dir / "cases", SUITES, include_retired=True)
        cases = [c for c in every if c.suite in suites and not c.retired and (not case or c.id in case)]
        baseline = load_baseline(baseline_path)
    except EvalError as error:
        err_console.print(Text(f"error: {error}", style="red"), soft_wrap=True)
        raise typer.Exit(2) from None
    unknown = sorted(set(case or ()) - {c.id for c in every})
    if unknown:
        err_console.print(Text(f"error: unknown case id(s) {unknown}", style="red"))
        raise typer.Exit(2)
    mode = f"live {model}" if model else "replay"
    if not as_json:
        console.print(
            f"running {len(cases)} case(s) ({suite}, {mode}) on a fresh embedded mesh ...", highlight=False
        )
    begun = time.perf_counter()

    def progress(result: CaseResult) -> None:
        if not as_json:
            mark = "[green]pass[/]" if result.passed else "[red]fail[/]"
            console.print(f"  {mark} {result.id} ({result.ms:.0f} ms)", highlight=False)

    from mesh.evals._runner import RunOptions, run_cases

    options = RunOptions(
        model=model,
        model_base_url=model_base_url,
        record_dir=record,
        recordings_dir=evals_dir / "recordings",
    )
    recorded: list[Path] = []
    try:
        results = asyncio.run(run_cases(cases, options, on_result=progress, recorded=recorded))
    except (SupervisorError, EvalError) as error:
        err_console.print(Text(f"error: {error}", style="red"), soft_wrap=True)
        raise typer.Exit(1) from None
    seconds = time.perf_counter() - begun
    if record is not None and not as_json:
        made = sorted(p.name for p in record.glob("*.json") if p.stat().st_mtime >= time.time() - seconds)
        console.print(
            f"{len(made)} recording(s) written to {record}: {', '.join(made) or 'none'}", highlight=False
        )
    found: list[str] | None = None
    if gate:
        known = {c.id: c for c in every}
        expected = [
            case_id
            for case_id in (baseline.cases if baseline else {})
            if not case
            and (case_id not in known or (known[case_id].suite in suites and not known[case_id].retired))
        ]
        found = regressions(results, baseline, expected_ids=expected)
    if as_json:
        typer.echo(json.dumps(report_document(results, seconds, mode=mode, gate=found), indent=2))
    else:
        console.print(results_table(results))
        console.print(totals_table(results, seconds))
    if update_baseline:
        write_baseline(baseline_path, baseline_of(results, baseline))
        if not as_json:
            console.print(f"baseline written to {baseline_path}", highlight=False)
    if found:
        for line in found:
            err_console.print(Text(f"regression: {line}", style="red"), soft_wrap=True)
        raise typer.Exit(1)
    if gate and not as_json:
        console.print("gate passed: no regression against the baseline", style="green")
