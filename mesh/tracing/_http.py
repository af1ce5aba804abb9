"""The HTTP client side: the current trace context into outgoing request headers."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import httpx2
from opentelemetry import propagate
from opentelemetry.context import Context

if TYPE_CHECKING:
    from mcp.client import Transport

_Streams = TypeVar("_Streams")

MCP_TIMEOUT = httpx2.Timeout(30.0, read=300.0)
"""The MCP SDK's own default: 30 s to connect and write, 300 s to read a held-open stream."""


class _OutgoingRequest(Protocol):
    @property
    def headers(self) -> MutableMapping[str, str]: ...


RequestHook = Callable[[Any], Awaitable[None]]


def inject_trace_headers(headers: MutableMapping[str, str], *, context: Context | None = None) -> None:
    """Write the W3C `traceparent`/`tracestate` and `baggage` of `context` (default: the current
    context) into `headers`, through the global propagator. Writes nothing without a valid span."""
    propagate.inject(headers, context=context)


def trace_event_hooks() -> dict[str, list[RequestHook]]:
    """`event_hooks` for an `httpx.AsyncClient` or `httpx2.AsyncClient` that inject the context
    current when each request is sent: `httpx2.AsyncClient(event_hooks=trace_event_hooks())`.

    For async clients only (the hooks are coroutines); a sync client calls
    `inject_trace_headers(request.headers)` from a hook of its own.
    """
    return {"request": [_inject_into_request]}


async def _inject_into_request(request: _OutgoingRequest) -> None:
    propagate.inject(request.headers)


def traced_mcp_transport(
    url: str,
    *,
    headers: dict[str, str] | None = None,
    timeout: httpx2.Timeout = MCP_TIMEOUT,
    auth: httpx2.Auth | None = None,
) -> Transport:
    """A streamable-HTTP MCP transport whose every HTTP request carries the caller's trace context.

    Use it where a URL would go: `async with Client(traced_mcp_transport(url)) as client: ...`.

    The MCP SDK sends each message from a task that runs in the context of the call that made it,
    inside the SDK's own `MCP send <method>` CLIENT span, so the server's HTTP span becomes a child
    of that span (the SDK also puts the same context in the message's `_meta`, which is what the
    server's own MCP span continues). `headers`, `timeout` and `auth` configure the underlying
    `httpx2.AsyncClient`, which the transport creates when entered and closes on exit.
    """
    from mcp.client.streamable_http import streamable_http_client  # the MCP client is slow to import

    def http_client() -> httpx2.AsyncClient:
        return httpx2.AsyncClient(
            headers=headers, timeout=timeout, auth=auth, event_hooks=trace_event_hooks()
        )

    return _over_http_client(http_client, lambda http: streamable_http_client(url, http_client=http))


@asynccontextmanager
async def _over_http_client(
    http_client: Callable[[], httpx2.AsyncClient],
    transport: Callable[[httpx2.AsyncClient], AbstractAsyncContextManager[_Streams]],
) -> AsyncIterator[_Streams]:
    """Open an HTTP client, then the transport over it; close both, transport first."""
    async with http_client() as http, transport(http) as streams:
        yield streams
