"""The HTTP server side: one SERVER span per request, continuing the caller's trace."""

from __future__ import annotations

import time
from collections.abc import Collection

from opentelemetry import context, propagate, trace
from opentelemetry.trace import SpanKind, StatusCode
from opentelemetry.util.types import AttributeValue
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ._setup import TRACER_NAME

DEFAULT_UNTRACED_PATHS: frozenset[str] = frozenset({"/healthz"})
"""Readiness probes: polled by the supervisor and `mesh status`, not worth a span each."""


class TraceContextMiddleware:
    """ASGI middleware wrapping each HTTP request in a SERVER span, child of its `traceparent`.

    Contract:
    - Only `http` scopes are traced. `websocket` and `lifespan` scopes, and requests whose path
      is in `untraced_paths`, pass through untouched.
    - The span is named `<METHOD> <path>` and carries `http.request.method`, `url.path`,
      `url.scheme`, `server.address`, `server.port`, `client.address`,
      `network.protocol.version`, `user_agent.original` when sent, and
      `http.response.status_code` once the response starts.
    - Its parent is the context in the request's W3C `traceparent`/`tracestate` (and `baggage`)
      headers, through the global propagator; without them it starts a new trace. It is the
      current span while the app runs, so spans the app starts in the request's task are its
      children.
    - Bodies are neither read nor buffered: `receive` is passed through and `send` only watched.
    - The span's end time is when the last body chunk was sent (`more_body` false), or when the
      app returned or raised if that came first (no complete response, a client disconnect), so
      a streaming response (SSE, MCP streamable HTTP) is measured until its end. The span is
      ended, and so exported, only once the app has returned: work after the response (Starlette
      background tasks) is not counted in its duration but may still add to it, and an exception
      raised after the response was sent (Starlette's error middleware sends its 500 first) is
      still recorded.
    - Status is ERROR for a 5xx response, or for an exception from the app, which is recorded on
      the span and re-raised; otherwise it stays unset (a 4xx is the client's error, not ours).
    - `tracer_provider` defaults to the global one, looked up when the span starts.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        untraced_paths: Collection[str] = DEFAULT_UNTRACED_PATHS,
        tracer_provider: trace.TracerProvider | None = None,
    ) -> None:
        self.app = app
        self.untraced_paths = frozenset(untraced_paths)
        self._tracer = trace.get_tracer(TRACER_NAME, tracer_provider=tracer_provider)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path") in self.untraced_paths:
            await self.app(scope, receive, send)
            return
        parent = propagate.extract(_headers(scope))
        method = str(scope.get("method", "GET"))
        span = self._tracer.start_span(
            f"{method} {scope.get('path', '')}",
            context=parent,
            kind=SpanKind.SERVER,
            attributes=_request_attributes(scope, method),
        )
        response_done_ns: int | None = None

        async def watched_send(message: Message) -> None:
            nonlocal response_done_ns
            if message["type"] == "http.response.start":
                status = int(message["status"])
                span.set_attribute("http.response.status_code", status)
                if status >= 500:
                    span.set_status(StatusCode.ERROR)
            await send(message)
            if message["type"] == "http.response.body" and not message.get("more_body", False):
                response_done_ns = time.time_ns()

        token = context.attach(trace.set_span_in_context(span, parent))
        try:
            await self.app(scope, receive, watched_send)
        except Exception as error:
            span.record_exception(error)
            span.set_status(StatusCode.ERROR, f"{type(error).__name__}: {error}")
            raise
        finally:
            context.detach(token)
            span.end(end_time=response_done_ns)


def _headers(scope: Scope) -> dict[str, str]:
    headers: dict[str, str] = {}
    for raw_name, raw_value in scope.get("headers", ()):
        name = raw_name.decode("latin-1").lower()
        value = raw_value.decode("latin-1")
        headers[name] = f"{headers[name]},{value}" if name in headers else value
    return headers


def _request_attributes(scope: Scope, method: str) -> dict[str, AttributeValue]:
    attributes: dict[str, AttributeValue] = {
        "http.request.method": method,
        "url.path": str(scope.get("path", "")),
        "url.scheme": str(scope.get("scheme", "http")),
        "network.protocol.version": str(scope.get("http_version", "1.1")),
    }
    server = scope.get("server")
    if server:
        host, port = server[0], server[1]
        attributes["server.address"] = str(host)
        if port is not None:
            attributes["server.port"] = int(port)
    client = scope.get("client")
    if client:
        attributes["client.address"] = str(client[0])
    for raw_name, raw_value in scope.get("headers", ()):
        if raw_name.lower() == b"user-agent":
            attributes["user_agent.original"] = raw_value.decode("latin-1")
            break
    return attributes
