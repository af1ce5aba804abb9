"""NATS: the trace context in message headers, and PRODUCER/CONSUMER spans around publish and handle."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Protocol, TypeVar

from opentelemetry import propagate, trace
from opentelemetry.context import Context
from opentelemetry.trace import Span, SpanKind

from ._setup import TRACER_NAME

MESSAGING_SYSTEM = "nats"


class ReceivedMessage(Protocol):
    """What a consumer span reads of a received message; `nats.aio.msg.Msg` has it."""

    @property
    def subject(self) -> str: ...

    @property
    def data(self) -> bytes: ...

    @property
    def headers(self) -> dict[str, str] | None: ...


_Message = TypeVar("_Message", bound=ReceivedMessage)


@dataclass(frozen=True, slots=True)
class TracedPublish:
    """The PRODUCER span of one publish or request, and the headers to send with it."""

    span: Span
    headers: dict[str, str]


def inject_nats_headers(
    headers: Mapping[str, str] | None = None, *, context: Context | None = None
) -> dict[str, str]:
    """A new dict: `headers` plus the W3C trace context of `context` (default: the current one).

    Pass the result as `headers=` to `nc.publish` or `nc.request`. `headers` is not modified.
    """
    carrier = dict(headers or {})
    propagate.inject(carrier, context=context)
    return carrier


def extract_nats_context(msg_headers: Mapping[str, str] | None) -> Context:
    """The trace context a received message carries (`msg.headers`); an empty context without one.

    Header names are matched case-insensitively.
    """
    return propagate.extract({name.lower(): value for name, value in (msg_headers or {}).items()})


@contextmanager
def nats_producer_span(
    subject: str,
    headers: Mapping[str, str] | None = None,
    *,
    operation: str = "publish",
    tracer_provider: trace.TracerProvider | None = None,
) -> Iterator[TracedPublish]:
    """A current PRODUCER span named `<operation> <subject>` around a publish or a request.

    Yields the span and `headers` with the span's context injected; send those headers:

        with nats_producer_span(subject, operation="request") as sent:
            reply = await nc.request(subject, payload, headers=sent.headers)

    The span carries `messaging.system` = "nats", `messaging.destination.name` = subject and
    `messaging.operation.name` = operation; an exception is recorded on it and re-raised.
    """
    tracer = trace.get_tracer(TRACER_NAME, tracer_provider=tracer_provider)
    with tracer.start_as_current_span(
        f"{operation} {subject}",
        kind=SpanKind.PRODUCER,
        attributes={
            "messaging.system": MESSAGING_SYSTEM,
            "messaging.destination.name": subject,
            "messaging.operation.name": operation,
        },
    ) as span:
        yield TracedPublish(span=span, headers=inject_nats_headers(headers))


@contextmanager
def nats_consumer_span(
    msg: ReceivedMessage,
    *,
    operation: str = "process",
    tracer_provider: trace.TracerProvider | None = None,
) -> Iterator[Span]:
    """A current CONSUMER span named `<operation> <subject>` around handling `msg`.

    Its parent is the context in `msg.headers`, never the ambient one: a subscription's callback
    runs in the context of the code that subscribed, which did not send the message. A message
    without trace context starts a new trace. Attributes as for `nats_producer_span`, plus
    `messaging.message.body.size`; an exception is recorded on the span and re-raised.
    """
    tracer = trace.get_tracer(TRACER_NAME, tracer_provider=tracer_provider)
    with tracer.start_as_current_span(
        f"{operation} {msg.subject}",
        context=extract_nats_context(msg.headers),
        kind=SpanKind.CONSUMER,
        attributes={
            "messaging.system": MESSAGING_SYSTEM,
            "messaging.destination.name": msg.subject,
            "messaging.operation.name": operation,
            "messaging.message.body.size": len(msg.data),
        },
    ) as span:
        yield span


def traced_nats_handler(
    handler: Callable[[_Message], Awaitable[None]],
    *,
    operation: str = "process",
    tracer_provider: trace.TracerProvider | None = None,
) -> Callable[[_Message], Awaitable[None]]:
    """`handler` wrapped in `nats_consumer_span`: `nc.subscribe(subject, cb=traced_nats_handler(handle))`."""

    @functools.wraps(handler)
    async def traced(msg: _Message) -> None:
        with nats_consumer_span(msg, operation=operation, tracer_provider=tracer_provider):
            await handler(msg)

    return traced
