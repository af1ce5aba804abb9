"""What a probe gets: the running mesh, the replay server, where to find recordings, and helpers
that read the ledger and fetch tokens the way any client of the mesh would."""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mesh.audit import LedgerEntry, open_audit_log
from mesh.evals._errors import EvalError
from mesh.evals._load import load_recording
from mesh.evals._replay import RecordingServer, ReplayServer
from mesh.evals._wire import Check, Fact, Recording
from mesh.identity import fetch_token, read_client_secret
from mesh.models import ModelConfig
from mesh.settings import MeshSettings
from mesh.supervisor import MeshState

LEDGER_WAIT = 5.0
"""Seconds a probe waits for queued audit records of reads to land."""


@dataclass
class EvalContext:
    settings: MeshSettings
    state: MeshState
    recordings_dir: Path
    workdir: Path
    run_id: str
    model: ModelConfig
    replay: ReplayServer | None = None
    recorder: RecordingServer | None = None
    """Live mode with `--record`: the live model's answers become recordings in `record_dir`."""
    record_dir: Path | None = None
    notes: list[str] = field(default_factory=list)
    recorded: list[Path] = field(default_factory=list)

    @property
    def gateway(self) -> str:
        if self.state.gateway_endpoint is None:
            raise EvalError("the running mesh has no gateway")
        return self.state.gateway_endpoint.rstrip("/")

    def agent_url(self, domain: str) -> str:
        for component in self.state.components:
            if component.name == f"agent-{domain}":
                return component.endpoint
        raise EvalError(f"the running mesh has no {domain} agent")

    def decision_id(self, case_id: str) -> str:
        return f"eval-{self.run_id}-{case_id}"

    def secret(self, client_id: str) -> str:
        return read_client_secret(self.settings.oauth_clients_file, client_id)

    async def token(self, client_id: str, domain: str, scopes: list[str]) -> str:
        issued = await fetch_token(
            f"{self.gateway}/oauth/token",
            client_id=client_id,
            client_secret=self.secret(client_id),
            scope=scopes,
            resource=f"{self.gateway}/mcp/{domain}",
        )
        return issued.access_token

    def use_recording(self, recording_id: str | None) -> None:
        """Serve `recording_id` to the model from now on (replay mode); or, recording a live model,
        make `recording_id` from its answers (None ends it and writes the file); else nothing."""
        if self.recorder is not None:
            if recording_id is not None:
                self.recorder.begin(recording_id)
                return
            made = self.recorder.end()
            if made is not None and self.record_dir is not None:
                self.recorded.append(write_recording(self.record_dir, made))
        elif self.replay is not None:
            self.replay.load(
                None if recording_id is None else load_recording(self.recordings_dir, recording_id)
            )

    async def records(self, decision_id: str, *, at_least: int = 1) -> list[LedgerEntry]:
        """The ledger's records of `decision_id`, waiting up to `LEDGER_WAIT` s for `at_least`."""
        deadline = time.monotonic() + LEDGER_WAIT
        while True:
            with open_audit_log(self.settings) as log:
                found = log.records_for(decision_id)
            if len(found) >= at_least or time.monotonic() > deadline:
                return found
            await asyncio.sleep(0.1)


def write_recording(directory: Path, recording: Recording) -> Path:
    """`<directory>/<id>.json`; a recording of that id already there is superseded, its version + 1."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{recording.id}.json"
    if path.exists():
        earlier = load_recording(directory, recording.id)
        recording = recording.model_copy(update={"version": earlier.version + 1})
    path.write_text(json.dumps(recording.model_dump(mode="json", exclude_none=True), indent=2) + "\n")
    return path


def status_counts(entries: Iterable[LedgerEntry]) -> dict[str, int]:
    return dict(Counter(str(entry.record.status) for entry in entries))


def lookup(document: Any, path: str) -> list[Any]:
    """The values at a dotted path; `*` fans out over a list's items."""
    values = [document]
    for part in path.split("."):
        following: list[Any] = []
        for value in values:
            if part == "*" and isinstance(value, list):
                following.extend(value)
            elif isinstance(value, dict) and part in value:
                following.append(value[part])
            elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
                following.append(value[int(part)])
        values = following
    return values


def check_fact(document: Any, fact: Fact) -> Check:
    values = lookup(document, fact.path)
    ok = bool(values)
    if ok and fact.equals is not None:
        ok = any(value == fact.equals for value in values)
    if ok and fact.contains is not None:
        ok = any(fact.contains.lower() in str(value).lower() for value in values)
    if ok and fact.at_least is not None:
        ok = any(isinstance(v, int | float) and v >= fact.at_least for v in values)
    if ok and fact.at_most is not None:
        ok = any(isinstance(v, int | float) and v <= fact.at_most for v in values)
    shown = repr(values[:3])[:120] if values else "nothing"
    return Check(name=f"fact {fact.describe()}", ok=ok, detail=f"found {shown}")
