"""`python -m agents <domain>` as the supervisor runs it: settings from MESH_* variables, a key of
its own in the data dir, a signed card and /healthz, and a clean stop on SIGTERM."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from agents import PinnedCardKeys, card_key_path, public_keys_dir, verify_card

BOUND = 60.0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _agent(data_dir: Path, domain: str, port: int) -> subprocess.Popen[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("MESH_")} | {
        "MESH_DATA_DIR": str(data_dir),
        "MESH_LOCAL_TRACES": "false",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "agents", domain, "--port", str(port), "--gateway-url", "http://127.0.0.1:9"],
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_an_agent_process_serves_its_signed_card_and_stops_on_sigterm(tmp_path: Path) -> None:
    port = _free_port()
    process = _agent(tmp_path, "sustainability", port)
    try:
        deadline, ready = time.monotonic() + BOUND, False
        while not ready and time.monotonic() < deadline and process.poll() is None:
            try:
                ready = httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200
            except httpx.HTTPError:
                time.sleep(0.1)
        assert ready, process.stderr.read() if process.stderr else ""
        card = httpx.get(f"http://127.0.0.1:{port}/.well-known/agent-card.json").json()
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=BOUND)
    finally:
        process.kill()

    assert process.returncode == 128 + signal.SIGTERM, stderr  # SystemExit from exit_on_sigterm
    verify_card(card, PinnedCardKeys.from_directory(public_keys_dir(tmp_path / "keys")))
    assert card["supportedInterfaces"][0]["url"] == f"http://127.0.0.1:{port}/a2a/jsonrpc"
    assert card_key_path(tmp_path / "keys", "sustainability").exists()


def test_an_agent_with_an_unusable_key_does_not_start_and_says_why(tmp_path: Path) -> None:
    key = card_key_path(tmp_path / "keys", "demand")
    key.parent.mkdir(parents=True)
    key.write_text("{}")
    key.chmod(0o600)

    process = _agent(tmp_path, "demand", _free_port())
    _, stderr = process.communicate(timeout=BOUND)

    assert process.returncode == 2
    assert "demand agent not started" in stderr
    assert "not a P-256 private JWK" in stderr


def test_an_unknown_domain_is_refused() -> None:
    found = subprocess.run(
        [sys.executable, "-m", "agents", "nowhere"], capture_output=True, text=True, check=False
    )

    assert found.returncode == 2
    assert "invalid choice" in found.stderr
