"""A guard that fails any test sending a request that is neither mocked nor to a server the test
started, above all a real request to a model provider.

Three layers, because the mesh's libraries reach HTTP three ways:

- `httpx` (litellm, with its aiohttp transport off; the token client; the gateway's upstream calls)
  and `httpx2` (mcp, openai, pydantic-ai): `respx` routers with every request asserted mocked
  (`guard.http` for httpx, `guard.http2` for httpx2 through pytest-httpx2's `httpcore2` mocker).
  Mock a provider on them (`guard.http.post("https://llm.test/v1/chat/completions")`); let the
  test's own loopback servers through with `guard.allow(url)`.
- `aiohttp` (litellm's default transport, which `mesh.models` switches off): every request fails.
- sockets: a connection or name lookup for anything but loopback fails, whatever the client.

A refused request raises `UnmockedRequestError` where it was sent, and is remembered: the fixture
fails the test afterwards even when the code under test swallowed the error. Use it as a plugin
(`-p tests.model_guard`) or import the `model_guard` fixture into a conftest.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any
from unittest import mock

import aiohttp
import pytest
import pytest_httpx2  # noqa: F401  (registers respx's `httpcore2` mocker)
import respx
from respx.models import AllMockedAssertionError


class UnmockedRequestError(AllMockedAssertionError):
    """A request a test sent that no mock answers and no allowed server may receive.

    A subclass of respx's own assertion, so that respx still asks every active router."""


class _GuardedRouter(respx.MockRouter):
    def __init__(self, guard: ModelRequestGuard, using: str) -> None:
        super().__init__(assert_all_mocked=True, assert_all_called=False, using=using)
        self._guard = guard

    @contextmanager
    def resolver(self, request: Any) -> Iterator[Any]:
        try:
            with super().resolver(request) as resolved:
                yield resolved
        except UnmockedRequestError:
            raise
        except AllMockedAssertionError:
            raise self._guard.refuse(f"{request.method} {request.url}") from None


class ModelRequestGuard:
    """See the module's docstring. `violations` lists every refused request, in order."""

    def __init__(self) -> None:
        self.violations: list[str] = []
        self.http = _GuardedRouter(self, using="httpcore")
        self.http2 = _GuardedRouter(self, using="httpcore2")

    def allow(self, base_url: str) -> None:
        """Let requests under `base_url` (a server the test started) through, unmocked."""
        for router in (self.http, self.http2):
            router.route(url__startswith=base_url.rstrip("/")).pass_through()

    def refuse(self, what: str) -> UnmockedRequestError:
        self.violations.append(what)
        return UnmockedRequestError(
            f"unmocked request in a test: {what}; mock it on model_guard.http (httpx) or "
            "model_guard.http2 (httpx2), or allow a server the test started with model_guard.allow(url)"
        )

    def take_violations(self) -> list[str]:
        """The refused requests so far, forgotten (for tests of the guard itself)."""
        taken, self.violations = self.violations, []
        return taken

    def check(self) -> None:
        if self.violations:
            raise UnmockedRequestError(
                f"{len(self.violations)} unmocked request(s) were sent: " + "; ".join(self.violations)
            )

    @contextmanager
    def active(self) -> Iterator[ModelRequestGuard]:
        with ExitStack() as stack:
            stack.enter_context(self.http)
            stack.enter_context(self.http2)
            stack.enter_context(mock.patch.object(aiohttp.ClientSession, "_request", self._aiohttp_request))
            stack.enter_context(
                mock.patch.object(socket.socket, "connect", _guarded(self, socket.socket.connect))
            )
            stack.enter_context(
                mock.patch.object(socket.socket, "connect_ex", _guarded(self, socket.socket.connect_ex))
            )
            stack.enter_context(
                mock.patch.object(socket, "getaddrinfo", _guarded_lookup(self, socket.getaddrinfo))
            )
            yield self

    async def _aiohttp_request(self, method: str, url: Any, *_: Any, **__: Any) -> Any:
        raise self.refuse(f"{method} {url} (aiohttp)")


def _loopback(host: object) -> bool:
    if not isinstance(host, str):
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False


def _guarded(guard: ModelRequestGuard, connect: Any) -> Any:
    def guarded(sock: socket.socket, address: Any) -> Any:
        if sock.family in (socket.AF_INET, socket.AF_INET6) and not _loopback(address[0]):
            raise guard.refuse(f"connection to {address[0]}:{address[1]} (socket)")
        return connect(sock, address)

    return guarded


def _guarded_lookup(guard: ModelRequestGuard, getaddrinfo: Any) -> Any:
    def guarded(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else host
        if name is not None and not _loopback(name):
            raise guard.refuse(f"name lookup of {name} (socket)")
        return getaddrinfo(host, port, *args, **kwargs)

    return guarded


@contextmanager
def model_request_guard() -> Iterator[ModelRequestGuard]:
    """The guard, active for the `with` block."""
    guard = ModelRequestGuard()
    with guard.active():
        yield guard


@pytest.fixture(autouse=True)
def model_guard() -> Iterator[ModelRequestGuard]:
    """Every test under this fixture's scope runs guarded, and fails if it sent an unmocked
    request, even one whose error the code under test swallowed."""
    with model_request_guard() as guard:
        yield guard
    guard.check()
