"""Running cases through the real mesh: one embedded mesh per run, cases one after another.

Replay mode starts a `ReplayServer` first and points the mesh's model at it; live mode (`model`)
uses that model with the provider's key from the environment.
"""

from __future__ import annotations

import shutil
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from mesh.evals import _adversarial as adversarial
from mesh.evals import _golden as golden
from mesh.evals._context import EvalContext
from mesh.evals._load import EVALS_DIR
from mesh.evals._replay import REPLAY_MODEL, RecordingServer, ReplayServer
from mesh.evals._wire import CaseResult, EvalCase
from mesh.models import ModelConfig
from mesh.settings import MeshSettings
from mesh.supervisor import ComponentSpec, embedded_components, run_embedded

START_TIMEOUT = 120.0
"""Seconds a component may take to start: CI machines are small and busy."""
WORLD_OVERLAY = EVALS_DIR / "world_overlay.json"
GOLDEN_PROBES: dict[str, Callable[[EvalContext, Any], Awaitable[golden.Probe]]] = {
    "agent_skill": golden.agent_skill,
    "agent_text": golden.agent_text,
    "operator_question": golden.operator_question,
    "negotiation_cycle": golden.negotiation_cycle,
}
ADVERSARIAL_PROBES: dict[str, Callable[[EvalContext, Any], Awaitable[adversarial.Finding]]] = {
    "prompt_injection": adversarial.prompt_injection,
    "text_injection": adversarial.text_injection,
    "poisoned_tool": adversarial.poisoned_tool,
    "scope_escalation": adversarial.scope_escalation,
    "token_misuse": adversarial.token_misuse,
    "forged_card": adversarial.forged_card,
    "spoofed_sender": adversarial.spoofed_sender,
    "byzantine_agent": adversarial.byzantine_agent,
    "tampered_ledger": adversarial.tampered_ledger,
    "oversized_input": adversarial.oversized_input,
    "malformed_input": adversarial.malformed_input,
    "failing_policy_engine": adversarial.failing_policy_engine,
}
LAST_KINDS = ("negotiation_cycle", "spoofed_sender", "tampered_ledger")
"""Kinds that change the mesh's state (a simulated week) or read the whole ledger run last."""


@dataclass(frozen=True)
class RunOptions:
    model: str | None = None
    """A live model's litellm name; None replays the recordings."""
    model_base_url: str | None = None
    """The live model's server, when not the provider's (Ollama, vLLM ...)."""
    record_dir: Path | None = None
    """With `model`: write the live model's answers as recordings here, one per case that has one."""
    recordings_dir: Path = EVALS_DIR / "recordings"
    world_overlay: Path | None = WORLD_OVERLAY
    components: Callable[[MeshSettings], Sequence[ComponentSpec]] | None = None
    """Builds the mesh's components (default `embedded_components`); tests swap a part."""


def run_order(cases: Sequence[EvalCase]) -> list[EvalCase]:
    return sorted(cases, key=lambda case: LAST_KINDS.index(case.kind) + 1 if case.kind in LAST_KINDS else 0)


async def run_cases(
    cases: Sequence[EvalCase],
    options: RunOptions,
    *,
    on_result: Callable[[CaseResult], None] | None = None,
    recorded: list[Path] | None = None,
) -> list[CaseResult]:
    """Start the embedded mesh in a temporary data dir, run every case in `run_order`, stop it."""
    live = ModelConfig(name=options.model or "", base_url=options.model_base_url)
    recorder = RecordingServer(live).start() if options.model and options.record_dir else None
    replay = ReplayServer().start() if options.model is None else None
    workdir = Path(tempfile.mkdtemp(prefix="mesh-eval-"))
    try:
        served_by = recorder or replay
        if served_by is not None:
            model = ModelConfig(
                name=f"openai/{REPLAY_MODEL}", base_url=served_by.url, api_key=SecretStr("eval-replay")
            )
        else:
            model = live
        settings = MeshSettings(
            data_dir=workdir / "data",
            local_traces=False,
            start_timeout=START_TIMEOUT,
            log_level="WARNING",
            model=model.name,
            model_base_url=model.base_url,
            model_api_key=model.api_key,
            world_overlay=options.world_overlay,
        )
        components = options.components(settings) if options.components else embedded_components(settings)
        results: list[CaseResult] = []
        async with run_embedded(settings, components=components) as mesh:
            context = EvalContext(
                settings=settings,
                state=mesh.state,
                recordings_dir=options.recordings_dir,
                workdir=workdir,
                run_id=uuid.uuid4().hex[:8],
                model=model,
                replay=replay,
                recorder=recorder,
                record_dir=options.record_dir,
                recorded=recorded if recorded is not None else [],
            )
            for case in run_order(cases):
                result = await run_case(context, case)
                results.append(result)
                if on_result is not None:
                    on_result(result)
        return results
    finally:
        for server in (replay, recorder):
            if server is not None:
                server.stop()
        shutil.rmtree(workdir, ignore_errors=True)


async def run_case(context: EvalContext, case: EvalCase) -> CaseResult:
    """One case; an exception in its probe is the case's error, not the run's end."""
    begun = time.perf_counter()
    fields: dict[str, Any] = {"id": case.id, "suite": case.suite, "kind": case.kind, "version": case.version}
    try:
        if case.kind in GOLDEN_PROBES:
            checks, outcomes = await GOLDEN_PROBES[case.kind](context, case)
            fields |= {"checks": checks, "policy_outcomes": outcomes}
        else:
            finding = await ADVERSARIAL_PROBES[case.kind](context, case)
            fields |= {
                "checks": finding.checks,
                "policy_outcomes": finding.outcomes,
                "attack_attempted": finding.attempted,
                "attack_succeeded": finding.succeeded,
                "contained_by": finding.contained_by,
            }
    except Exception as error:
        fields["error"] = f"{type(error).__name__}: {error}"[:500]
    finally:
        context.use_recording(None)
    return CaseResult(**fields, ms=round((time.perf_counter() - begun) * 1000, 1))
