"""What the tests ask of the operating system about processes they started."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import pytest

from mesh.supervisor import MeshState, read_state


def processes_mentioning(needle: Path) -> list[str]:
    """Command lines of live processes mentioning `needle` (our servers name their data dir)."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            command = cmdline.read_bytes()
        except OSError:
            continue
        if str(needle).encode() in command:
            found.append(command.replace(b"\0", b" ").decode())
    return found


@contextmanager
def mesh_up(data_dir: Path, environment: Mapping[str, str], *, within: float) -> Iterator[MeshState]:
    """`python -m mesh up` on `data_dir` with `MESH_*` taken only from `environment`; yields its
    state once every component is ready, and stops it (SIGTERM, then SIGKILL) afterwards."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("MESH_")} | dict(environment)
    process = subprocess.Popen(
        [sys.executable, "-m", "mesh", "--data-dir", str(data_dir), "up"],
        env=clean,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    state_file = data_dir / "run" / "state.json"
    deadline = time.monotonic() + within
    state = None
    while time.monotonic() < deadline and process.poll() is None:
        state = read_state(state_file) if state_file.exists() else None
        if state is not None and state.components:
            break
        time.sleep(0.1)
    try:
        if state is None or not state.components:
            process.kill()
            pytest.fail(f"mesh up did not become ready: {process.communicate(timeout=10)[1]}")
        yield state
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=within)
        finally:
            process.kill()
            if process.stderr is not None:
                process.stderr.close()
