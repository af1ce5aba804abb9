"""The server side of the binding: an agent's A2A request handler answering on its NATS subject.

Each request is handed to the A2A SDK's own `JsonRpcDispatcher`, the object behind
`create_jsonrpc_routes`, as a Starlette request built from the NATS message: method routing,
parameter parsing, version check, handler calls and error mapping are the SDK's, byte for byte
the same as over HTTP. This module adds what NATS needs around it: sender verification, a bound
on concurrent work, size limits, the reply, streams over an inbox, and a CONSUMER span.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from a2a.server.context import ServerCallContext
from a2a.server.request_handlers import RequestHandler, build_error_response
from a2a.server.routes.common import DefaultServerCallContextBuilder, ServerCallContextBuilder
from a2a.server.routes.jsonrpc_dispatcher import JsonRpcDispatcher
from a2a.utils.errors import A2AError, InternalError, InvalidRequestError
from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.errors import Error as NatsError
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeoutError
from opentelemetry.trace import Span, TracerProvider
from sse_starlette.sse import EventSourceResponse
from starlette.authentication import BaseUser
from starlette.requests import Request
from starlette.types import Message, Scope

from mesh.tracing import nats_consumer_span

from ._binding import (
    DEFAULT_QUEUE_GROUP,
    STREAM_END_COMPLETE,
    STREAM_END_ERROR,
    STREAM_END_HEADER,
    STREAM_HEADER,
    STREAM_HEARTBEAT_HEADER,
    STREAM_INBOX_HEADER,
    STREAM_OPEN,
    STREAM_SEQ_HEADER,
    STREAMING_METHODS,
    header_block_size,
    is_subject,
    lower_headers,
)
from ._errors import (
    BUS_ERROR_CODES,
    PAYLOAD_TOO_LARGE_CODE,
    SENDER_REFUSED_CODE,
    SERVER_BUSY_CODE,
    RefusalReason,
    SenderRefusedError,
    error_details,
)
from ._identity import SenderVerifier

logger = logging.getLogger(__name__)

SENDER_STATE_KEY = "a2a_nats_sender"
"""`ServerCallContext.state` key of the verified sender's agent id (None without a verifier)."""
SUBJECT_STATE_KEY = "a2a_nats_subject"
"""`ServerCallContext.state` key of the subject the request arrived on."""
SCOPE_KEY = "a2a_nats"
"""Key of the `NatsRequestInfo` in the Starlette scope a custom `ServerCallContextBuilder` sees."""

MAX_HEARTBEAT_INTERVAL = 10.0
"""The binding's bound: a stream is never silent longer than this (docs/a2a-nats-binding.md)."""

RefusalHook = Callable[[str | None, RefusalReason], None]
"""`on_refused(sender_claimed, reason)`: told of every refused request, before the refusal is sent."""


class NatsSender(BaseUser):
    """The verified sender of a request, as `request.user`; the SDK shows it as `context.user`."""

    def __init__(self, agent_id: str) -> None:
        self.agent_id = agent_id

    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def display_name(self) -> str:
        return self.agent_id

    @property
    def identity(self) -> str:
        return self.agent_id


@dataclass(slots=True)
class NatsRequestInfo:
    """What the binding knows of a request beyond its headers: `request.scope["a2a_nats"]`."""

    subject: str
    sender: str | None
    stream_inbox: str | None
    context: ServerCallContext | None = field(default=None, repr=False)


class _BusContextBuilder(ServerCallContextBuilder):
    """The configured builder, plus the sender and subject in the state and the context kept for us."""

    def __init__(self, inner: ServerCallContextBuilder) -> None:
        self._inner = inner

    def build(self, request: Request) -> ServerCallContext:
        context = self._inner.build(request)
        info: NatsRequestInfo = request.scope[SCOPE_KEY]
        context.state[SENDER_STATE_KEY] = info.sender
        context.state[SUBJECT_STATE_KEY] = info.subject
        info.context = context
        return context


@dataclass(slots=True)
class _StreamProgress:
    seq: int = 0
    last_sent: float = 0.0
    outcome: str = STREAM_END_COMPLETE


class NatsA2AServer:
    """Serves one agent's A2A `request_handler` on NATS `subject` (binding `NATS_BINDING_URI`).

    The same handler object can be served over HTTP (`create_jsonrpc_routes`) at the same time;
    both bindings call the same SDK dispatcher, so equal requests get equal answers.

    Contract:

    - **Subscription.** `start()` subscribes to `subject` in queue group `queue`: servers of one
      agent started with the same subject and queue share its requests, each request going to
      exactly one of them. `stop(grace)` unsubscribes after handling what NATS already
      delivered, waits up to `grace` seconds for requests in progress, then cancels the rest.
    - **Concurrency.** At most `max_concurrency` requests run at once; up to `max_backlog` more
      wait, and start in arrival order. A request arriving when `max_backlog` are waiting is
      answered at once with `SERVER_BUSY_CODE` (-32041) and not handled. A stream holds its
      slot until it ends. Requests are independent: two requests, even from one sender, may
      finish in either order.
    - **One answer per request.** A request with a reply subject gets exactly one reply on it:
      the JSON-RPC response, a JSON-RPC error, or (a streaming method) the stream-open
      acknowledgement. A request without a reply subject is dropped and logged.
    - **Checks before the handler**, each answered with a JSON-RPC error whose `id` is null
      because the body is not read: a body above `max_request_bytes` (default: the connection's
      max_payload) gets `PAYLOAD_TOO_LARGE_CODE` (-32042); with a `verifier`, a sender that fails
      verification gets `SENDER_REFUSED_CODE` (-32040), after `on_refused(claimed, reason)` ran.
      Then malformed JSON, an invalid request, an unknown method, bad params or an unsupported
      `A2A-Version` get the SDK's own errors (-32700, -32600, -32601, -32602, -32009).
    - **Streams.** `SendStreamingMessage` and `SubscribeToTask` need an `A2A-Stream-Inbox`
      header (else -32600). Errors found before the first event are the reply; otherwise the
      reply is the acknowledgement (empty body, `A2A-Stream: open`) and each event follows on the
      inbox as one JSON-RPC response, in the handler's order, numbered by `A2A-Stream-Seq` from
      0, then one end marker (empty body, the next `A2A-Stream-Seq`, `A2A-Stream-End: complete`,
      or `error` after an error event). After `heartbeat_interval` seconds without sending on
      the inbox the server asks the inbox (a heartbeat request); no answer, or no responders,
      ends the stream without an end marker and closes the handler's event stream.
    - **Sizes.** A reply or event above the connection's max_payload (headers included) is
      replaced by a -32042 error.
    - **Never crashes.** An exception in the handler or in this code is logged and answered with
      JSON-RPC internal error -32603 when a reply is still possible; the server keeps serving.
    - **Tracing.** Each request is handled in a CONSUMER span `process <subject>`, the child of
      the trace context in the request's headers; the SDK's own spans nest below it.
    """

    def __init__(
        self,
        nc: NATS,
        subject: str,
        request_handler: RequestHandler,
        *,
        verifier: SenderVerifier | None,
        queue: str = DEFAULT_QUEUE_GROUP,
        context_builder: ServerCallContextBuilder | None = None,
        on_refused: RefusalHook | None = None,
        max_concurrency: int = 64,
        max_backlog: int = 256,
        max_request_bytes: int | None = None,
        heartbeat_interval: float = 5.0,
        tracer_provider: TracerProvider | None = None,
    ) -> None:
        if not is_subject(subject):
            raise ValueError(f"{subject!r} is not a literal NATS subject")
        if max_concurrency < 1 or max_backlog < 0:
            raise ValueError("max_concurrency must be at least 1 and max_backlog at least 0")
        if not 0 < heartbeat_interval <= MAX_HEARTBEAT_INTERVAL:
            raise ValueError(f"heartbeat_interval must be in (0, {MAX_HEARTBEAT_INTERVAL:g}] seconds")
        self.subject = subject
        self.queue = queue
        self._nc = nc
        self._verifier = verifier
        self._on_refused = on_refused
        self._max_concurrency = max_concurrency
        self._max_backlog = max_backlog
        self._max_request_bytes = max_request_bytes
        self._heartbeat_interval = heartbeat_interval
        self._tracer_provider = tracer_provider
        self._dispatcher = JsonRpcDispatcher(
            request_handler,
            context_builder=_BusContextBuilder(context_builder or DefaultServerCallContextBuilder()),
            enable_v0_3_compat=False,
        )
        self._slots = asyncio.Semaphore(max_concurrency)
        self._tasks: set[asyncio.Task[None]] = set()
        self._subscription: Subscription | None = None

    @property
    def in_flight(self) -> int:
        """Requests running or waiting for a slot."""
        return len(self._tasks)

    async def start(self) -> None:
        """Subscribe; when this returns, the NATS server routes the subject's requests here."""
        if self._subscription is not None:
            raise RuntimeError("the server is already started")
        self._subscription = await self._nc.subscribe(self.subject, queue=self.queue, cb=self._on_message)
        # Served once the server has the SUB. nats-py 2.16 writes a flush's PING straight to the
        # socket, ahead of the SUB still in its pending buffer, so one flush can return first;
        # by the first PONG the SUB is written, and the second PING follows it on the wire.
        await self._nc.flush()
        await self._nc.flush()

    async def stop(self, grace: float = 5.0) -> None:
        subscription, self._subscription = self._subscription, None
        if subscription is not None and not self._nc.is_closed:
            with contextlib.suppress(NatsError):
                await subscription.drain()  # type: ignore[no-untyped-call]
        if self._tasks:
            _, pending = await asyncio.wait(set(self._tasks), timeout=grace)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.wait(pending)

    async def __aenter__(self) -> NatsA2AServer:
        await self.start()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.stop()

    async def _on_message(self, msg: Msg) -> None:
        if len(self._tasks) >= self._max_concurrency + self._max_backlog:
            logger.warning("%s: %d requests in progress; answering busy", self.subject, len(self._tasks))
            await self._reply_error(msg.reply, None, SERVER_BUSY_CODE, {})
            return
        task = asyncio.create_task(self._handle(msg))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _handle(self, msg: Msg) -> None:
        with nats_consumer_span(msg, tracer_provider=self._tracer_provider) as span:
            async with self._slots:
                try:
                    await self._serve(msg, span)
                except Exception as error:
                    logger.exception("%s: request failed", self.subject)
                    span.record_exception(error)
                    await self._reply_error(msg.reply, None, None, {}, internal=str(error))

    async def _serve(self, msg: Msg, span: Span) -> None:
        if not msg.reply:
            logger.warning("%s: dropped a request without a reply subject", self.subject)
            return
        limit = self._max_request_bytes or self._nc.max_payload
        if len(msg.data) > limit:
            await self._reply_error(
                msg.reply,
                None,
                PAYLOAD_TOO_LARGE_CODE,
                {"size": str(len(msg.data)), "maxPayload": str(limit)},
            )
            return
        headers = lower_headers(msg.headers)
        sender: str | None = None
        if self._verifier is not None:
            try:
                sender = self._verifier.verify(msg.subject, headers, msg.data)
            except SenderRefusedError as refused:
                await self._refuse(msg.reply, refused, span)
                return
            span.set_attribute("a2a.sender", sender)
        stream_inbox = headers.get(STREAM_INBOX_HEADER.lower())
        if stream_inbox is not None and not is_subject(stream_inbox):
            await self._reply_a2a_error(
                msg.reply, None, InvalidRequestError(message="A2A-Stream-Inbox is not a subject")
            )
            return
        if stream_inbox is None and (streaming := _streaming_request_id(msg.data)) is not None:
            error = InvalidRequestError(
                message="a streaming method over NATS needs the A2A-Stream-Inbox header"
            )
            await self._reply_a2a_error(msg.reply, streaming[0], error)
            return

        info = NatsRequestInfo(msg.subject, sender, stream_inbox)
        response = await self._dispatcher.handle_requests(_starlette_request(msg.data, headers, info, sender))
        state = info.context.state if info.context is not None else {}
        if method := state.get("method"):
            span.set_attribute("rpc.method", method)
        request_id = state.get("request_id")
        if isinstance(response, EventSourceResponse):
            if stream_inbox is None:  # not reached: checked above; never leave a stream open
                await _close(response.body_iterator)
                await self._reply_error(msg.reply, request_id, None, {}, internal="stream without inbox")
                return
            await self._stream(msg.reply, stream_inbox, request_id, response.body_iterator)
            return
        await self._reply(msg.reply, request_id, bytes(response.body))

    async def _refuse(self, reply: str, refused: SenderRefusedError, span: Span) -> None:
        logger.warning("%s: %s", self.subject, refused)
        span.set_attribute("a2a.refused", str(refused.reason))
        if self._on_refused is not None:
            try:
                self._on_refused(refused.sender, refused.reason)
            except Exception:
                logger.exception("%s: on_refused failed", self.subject)
        metadata = {"reason": str(refused.reason)}
        if refused.sender:
            metadata["sender"] = refused.sender
        await self._reply_error(reply, None, SENDER_REFUSED_CODE, metadata)

    async def _stream(
        self, reply: str, inbox: str, request_id: str | int | None, events: AsyncIterable[Any]
    ) -> None:
        loop = asyncio.get_running_loop()
        progress = _StreamProgress(last_sent=loop.time())
        await self._publish(reply, b"", {STREAM_HEADER: STREAM_OPEN})
        pump = asyncio.create_task(self._pump(inbox, request_id, events, progress))
        try:
            while not pump.done():
                await asyncio.wait({pump}, timeout=self._heartbeat_interval)
                if pump.done() or loop.time() - progress.last_sent < self._heartbeat_interval:
                    continue
                if not await self._client_listens(inbox):
                    logger.info("%s: stream to %s abandoned by its client", self.subject, inbox)
                    pump.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await pump
                    return
                progress.last_sent = loop.time()
            if (failure := pump.exception()) is not None:
                # The request is answered (the acknowledgement): log, never reply twice.
                logger.error("%s: stream to %s failed", self.subject, inbox, exc_info=failure)
        finally:
            if not pump.done():
                pump.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await pump

    async def _pump(
        self,
        inbox: str,
        request_id: str | int | None,
        events: AsyncIterable[Any],
        progress: _StreamProgress,
    ) -> None:
        loop = asyncio.get_running_loop()
        try:
            async for event in events:
                headers = {STREAM_SEQ_HEADER: str(progress.seq)}
                data = event.get("data", "").encode()
                failed = event.get("event") == "error"
                if len(data) + header_block_size(headers) > self._nc.max_payload:
                    data = _error_body(
                        request_id, PAYLOAD_TOO_LARGE_CODE, _size_metadata(len(data), self._nc)
                    )
                    failed = True
                await self._nc.publish(inbox, data, headers=headers)
                progress.seq += 1
                progress.last_sent = loop.time()
                if failed:
                    progress.outcome = STREAM_END_ERROR
                    break
        finally:
            await _close(events)
        end = {STREAM_SEQ_HEADER: str(progress.seq), STREAM_END_HEADER: progress.outcome}
        await self._nc.publish(inbox, b"", headers=end)

    async def _client_listens(self, inbox: str) -> bool:
        try:
            await self._nc.request(
                inbox, b"", timeout=self._heartbeat_interval, headers={STREAM_HEARTBEAT_HEADER: "1"}
            )
        except (NoRespondersError, NatsTimeoutError):
            return False
        return True

    async def _reply(self, reply: str, request_id: str | int | None, body: bytes) -> None:
        if len(body) > self._nc.max_payload:
            body = _error_body(request_id, PAYLOAD_TOO_LARGE_CODE, _size_metadata(len(body), self._nc))
        await self._publish(reply, body)

    async def _reply_a2a_error(self, reply: str, request_id: str | int | None, error: A2AError) -> None:
        await self._publish(reply, _json(build_error_response(request_id, error)))

    async def _reply_error(
        self,
        reply: str,
        request_id: str | int | None,
        code: int | None,
        metadata: Mapping[str, str],
        *,
        internal: str = "",
    ) -> None:
        if not reply:
            return
        if code is None:
            await self._reply_a2a_error(reply, request_id, InternalError(message=internal or None))
            return
        await self._publish(reply, _error_body(request_id, code, metadata))

    async def _publish(self, subject: str, body: bytes, headers: dict[str, str] | None = None) -> None:
        try:
            await self._nc.publish(subject, body, headers=headers)
        except NatsError as error:
            logger.warning("%s: could not reply on %s: %s", self.subject, subject, error)


def _starlette_request(
    body: bytes, headers: Mapping[str, str], info: NatsRequestInfo, sender: str | None
) -> Request:
    scope: Scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "nats",
        "path": "/",
        "raw_path": b"/",
        "root_path": "",
        "query_string": b"",
        "headers": [(name.encode("latin-1"), value.encode()) for name, value in headers.items()],
        "client": None,
        "server": None,
        SCOPE_KEY: info,
    }
    if sender is not None:
        scope["user"] = NatsSender(sender)
    delivered = False

    async def receive() -> Message:
        nonlocal delivered
        if delivered:
            return {"type": "http.disconnect"}
        delivered = True
        return {"type": "http.request", "body": body, "more_body": False}

    return Request(scope, receive)


def _streaming_request_id(body: bytes) -> tuple[str | int | None] | None:
    """(id,) when `body` is a request for a streaming method; a cheap look before parsing."""
    if b"SendStreamingMessage" not in body and b"SubscribeToTask" not in body:
        return None
    try:
        request: Any = json.loads(body)
    except ValueError:
        return None
    if not isinstance(request, dict) or request.get("method") not in STREAMING_METHODS:
        return None
    request_id = request.get("id")
    return (request_id if isinstance(request_id, str | int) and not isinstance(request_id, bool) else None,)


def _error_body(request_id: str | int | None, code: int, metadata: Mapping[str, str]) -> bytes:
    error = {"code": code, "message": BUS_ERROR_CODES[code].message, "data": error_details(code, metadata)}
    return _json({"jsonrpc": "2.0", "id": request_id, "error": error})


def _json(value: object) -> bytes:
    """JSON as the SDK's routes render it (Starlette's JSONResponse): compact, UTF-8."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


def _size_metadata(size: int, nc: NATS) -> dict[str, str]:
    return {"size": str(size), "maxPayload": str(nc.max_payload)}


async def _close(events: object) -> None:
    aclose = getattr(events, "aclose", None)
    if aclose is not None:
        try:
            await aclose()
        except Exception:
            logger.exception("closing a stream's events failed")
