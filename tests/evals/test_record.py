"""Recordings made with a live model: `mesh eval --model M --record DIR` runs a case through the
real mesh against the live model and writes what it answered as a recording that replays.

The live model is played by a loopback OpenAI-compatible server answering from the case's stored
recording, so the recording made must match the stored one turn by turn."""

from __future__ import annotations

from pathlib import Path

import pytest

from mesh.evals import EVALS_DIR, load_cases
from mesh.evals._context import write_recording
from mesh.evals._load import load_recording
from mesh.evals._replay import ReplayServer
from mesh.evals._runner import RunOptions, run_cases

pytestmark = pytest.mark.e2e

CASE = "text-carbon-budget"


async def test_a_live_run_writes_the_models_answers_as_a_recording_that_replays(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (case,) = [c for c in load_cases(EVALS_DIR / "cases", ("golden",)) if c.id == CASE]
    stored = load_recording(EVALS_DIR / "recordings", CASE)
    live = ReplayServer().start()  # the "live" provider: answers as the stored recording says
    live.load(stored)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-stand-in")
    recorded: list[Path] = []
    try:
        options = RunOptions(
            model="openai/stand-in",
            model_base_url=live.url,
            record_dir=tmp_path / "made",
            recordings_dir=tmp_path,
        )
        (result,) = await run_cases([case], options, recorded=recorded)
    finally:
        live.stop()

    assert result.passed, result
    assert recorded == [tmp_path / "made" / f"{CASE}.json"]
    made = load_recording(tmp_path / "made", CASE)
    assert (made.made_with, made.version) == ("openai/stand-in", 1)
    assert [(t.content, t.tool_calls) for t in made.turns] == [
        (t.content, t.tool_calls) for t in stored.turns
    ]
    assert live.errors == []
    assert len(live.requests) == len(stored.turns)


def test_a_recording_made_again_supersedes_the_earlier_one(tmp_path: Path) -> None:
    stored = load_recording(EVALS_DIR / "recordings", CASE)

    first = write_recording(tmp_path, stored.model_copy(update={"version": 1}))
    again = write_recording(tmp_path, stored.model_copy(update={"version": 1}))

    assert first == again == tmp_path / f"{CASE}.json"
    assert load_recording(tmp_path, CASE).version == 2
