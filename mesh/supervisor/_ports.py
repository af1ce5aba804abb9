"""Loopback port choice and the "is it free" check done before anything starts."""

from __future__ import annotations

import socket
from collections.abc import Collection
from contextlib import ExitStack


def _family(host: str) -> socket.AddressFamily:
    return socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)[0][0]


def url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def pick_free_ports(host: str, count: int, *, exclude: Collection[int] = ()) -> list[int]:
    """Ports the kernel hands out for `bind(host, 0)`, distinct and not in `exclude`.

    The sockets are closed before returning, so another process may still take a port before
    the component binds it; the supervisor's check before start turns that into `PortInUseError`.
    """
    family = _family(host)
    ports: list[int] = []
    with ExitStack() as held:
        while len(ports) < count:
            probe = held.enter_context(socket.socket(family, socket.SOCK_STREAM))
            probe.bind((host, 0))
            port = probe.getsockname()[1]
            if port not in exclude and port not in ports:
                ports.append(port)
    return ports


def port_is_free(host: str, port: int) -> bool:
    """True when a listener could bind `host:port` now (SO_REUSEADDR, as servers set it)."""
    with socket.socket(_family(host), socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True
