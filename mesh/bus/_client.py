"""The client side of the binding: an A2A SDK `ClientTransport` over NATS request/reply and inboxes."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Any, TypeVar
from uuid import uuid4

from a2a.client import ClientCallContext, ClientConfig, ClientFactory
from a2a.client.client_factory import TransportProducer
from a2a.client.errors import A2AClientError
from a2a.client.transports.base import ClientTransport
from a2a.types import (
    AgentCard,
    CancelTaskRequest,
    DeleteTaskPushNotificationConfigRequest,
    GetExtendedAgentCardRequest,
    GetTaskPushNotificationConfigRequest,
    GetTaskRequest,
    ListTaskPushNotificationConfigsRequest,
    ListTaskPushNotificationConfigsResponse,
    ListTasksRequest,
    ListTasksResponse,
    SendMessageRequest,
    SendMessageResponse,
    StreamResponse,
    SubscribeToTaskRequest,
    Task,
    TaskPushNotificationConfig,
)
from a2a.utils.errors import JSON_RPC_ERROR_CODE_MAP, A2AError
from a2a.utils.proto_utils import parse_lenient
from google.protobuf.json_format import MessageToDict  # type: ignore[import-untyped]
from google.protobuf.message import Message as ProtoMessage  # type: ignore[import-untyped]
from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.errors import MaxPayloadError, NoRespondersError
from nats.errors import TimeoutError as NatsTimeoutError
from opentelemetry.trace import TracerProvider

from mesh.tracing import nats_producer_span

from ._binding import (
    NATS_BINDING_URI,
    PROTOCOL_VERSION,
    RESERVED_HEADERS,
    STREAM_END_ERROR,
    STREAM_END_HEADER,
    STREAM_HEADER,
    STREAM_HEARTBEAT_HEADER,
    STREAM_INBOX_HEADER,
    STREAM_OPEN,
    STREAM_SEQ_HEADER,
    VERSION_HEADER,
    header_block_size,
    lower_headers,
    subject_of,
)
from ._errors import (
    BUS_ERROR_CODES,
    AgentUnreachableError,
    BusProtocolError,
    BusTimeoutError,
    PayloadTooLargeError,
    StreamBrokenError,
)
from ._identity import SenderSigner

DEFAULT_TIMEOUT = 30.0
DEFAULT_STREAM_IDLE_TIMEOUT = 30.0

_A2A_ERRORS = {code: error for error, code in JSON_RPC_ERROR_CODE_MAP.items()}
_ERROR_INFO = "type.googleapis.com/google.rpc.ErrorInfo"
_Proto = TypeVar("_Proto", bound=ProtoMessage)


class NatsClientTransport(ClientTransport):
    """Calls the agent whose interface URL is `url` (`nats://host:port/<subject>`) over `nc`.

    The connection belongs to the caller: the transport never connects or closes it (`close()`
    is a no-op), and it is used whatever host the URL names, which is only a hint for a client
    without a connection. With a `signer`, every request carries the sender identity headers; a
    server with a verifier refuses requests without them (`SenderRefusedError`).

    Each call waits at most `timeout` seconds for its reply (`ClientCallContext.timeout`
    overrides it per call); a stream fails when nothing arrives for `stream_idle_timeout`
    seconds (servers send heartbeats at least every 10 s). `ClientCallContext.service_parameters`
    travel as NATS headers; the binding's own header names cannot be set that way.
    """

    def __init__(
        self,
        nc: NATS,
        card: AgentCard,
        url: str,
        *,
        signer: SenderSigner | None,
        timeout: float = DEFAULT_TIMEOUT,
        stream_idle_timeout: float = DEFAULT_STREAM_IDLE_TIMEOUT,
        tracer_provider: TracerProvider | None = None,
    ) -> None:
        self.subject = subject_of(url)
        self.url = url
        self.agent_card = card
        self._nc = nc
        self._signer = signer
        self._timeout = timeout
        self._stream_idle_timeout = stream_idle_timeout
        self._tracer_provider = tracer_provider

    async def send_message(
        self, request: SendMessageRequest, *, context: ClientCallContext | None = None
    ) -> SendMessageResponse:
        return await self._call("SendMessage", request, SendMessageResponse(), context)

    async def send_message_streaming(
        self, request: SendMessageRequest, *, context: ClientCallContext | None = None
    ) -> AsyncGenerator[StreamResponse]:
        async for event in self._stream("SendStreamingMessage", request, context):
            yield event

    async def get_task(self, request: GetTaskRequest, *, context: ClientCallContext | None = None) -> Task:
        return await self._call("GetTask", request, Task(), context)

    async def list_tasks(
        self, request: ListTasksRequest, *, context: ClientCallContext | None = None
    ) -> ListTasksResponse:
        return await self._call("ListTasks", request, ListTasksResponse(), context)

    async def cancel_task(
        self, request: CancelTaskRequest, *, context: ClientCallContext | None = None
    ) -> Task:
        return await self._call("CancelTask", request, Task(), context)

    async def create_task_push_notification_config(
        self, request: TaskPushNotificationConfig, *, context: ClientCallContext | None = None
    ) -> TaskPushNotificationConfig:
        return await self._call(
            "CreateTaskPushNotificationConfig", request, TaskPushNotificationConfig(), context
        )

    async def get_task_push_notification_config(
        self, request: GetTaskPushNotificationConfigRequest, *, context: ClientCallContext | None = None
    ) -> TaskPushNotificationConfig:
        return await self._call(
            "GetTaskPushNotificationConfig", request, TaskPushNotificationConfig(), context
        )

    async def list_task_push_notification_configs(
        self, request: ListTaskPushNotificationConfigsRequest, *, context: ClientCallContext | None = None
    ) -> ListTaskPushNotificationConfigsResponse:
        return await self._call(
            "ListTaskPushNotificationConfigs", request, ListTaskPushNotificationConfigsResponse(), context
        )

    async def delete_task_push_notification_config(
        self, request: DeleteTaskPushNotificationConfigRequest, *, context: ClientCallContext | None = None
    ) -> None:
        await self._request("DeleteTaskPushNotificationConfig", request, context)

    async def subscribe(
        self, request: SubscribeToTaskRequest, *, context: ClientCallContext | None = None
    ) -> AsyncGenerator[StreamResponse]:
        async for event in self._stream("SubscribeToTask", request, context):
            yield event

    async def get_extended_agent_card(
        self, request: GetExtendedAgentCardRequest, *, context: ClientCallContext | None = None
    ) -> AgentCard:
        if not self.agent_card.capabilities.extended_agent_card:
            return self.agent_card
        return await self._call("GetExtendedAgentCard", request, AgentCard(), context)

    async def close(self) -> None:
        """Nothing to release: the NATS connection is the caller's."""

    async def _call(
        self, method: str, request: ProtoMessage, result: _Proto, context: ClientCallContext | None
    ) -> _Proto:
        response = await self._request(method, request, context)
        payload = response.get("result")
        if not isinstance(payload, dict):
            raise BusProtocolError(self.subject, f"the result of {method} is not an object")
        return parse_lenient(payload, result)

    async def _request(
        self,
        method: str,
        request: ProtoMessage,
        context: ClientCallContext | None,
        *,
        stream_inbox: str = "",
    ) -> dict[str, Any]:
        """Send one JSON-RPC request and wait for its reply: the success response (errors raise).

        With a `stream_inbox`, the reply is the stream-open acknowledgement: an empty dict.
        """
        body = json.dumps(
            {"jsonrpc": "2.0", "id": str(uuid4()), "method": method, "params": MessageToDict(request)},
            ensure_ascii=False,
        ).encode()
        headers = self._headers(body, context, stream_inbox)
        timeout = context.timeout if context is not None and context.timeout is not None else self._timeout
        with nats_producer_span(
            self.subject, headers, operation="request", tracer_provider=self._tracer_provider
        ) as sent:
            sent.span.set_attribute("rpc.system", "jsonrpc")
            sent.span.set_attribute("rpc.method", method)
            size = len(body) + header_block_size(sent.headers)
            if size > self._nc.max_payload:
                raise PayloadTooLargeError(size, self._nc.max_payload)
            try:
                reply = await self._nc.request(self.subject, body, timeout=timeout, headers=sent.headers)
            except NoRespondersError:
                raise AgentUnreachableError(self.subject) from None
            except NatsTimeoutError:
                raise BusTimeoutError(self.subject, timeout) from None
            except MaxPayloadError:
                raise PayloadTooLargeError(size, self._nc.max_payload) from None
        if stream_inbox and lower_headers(reply.headers).get(STREAM_HEADER.lower()) == STREAM_OPEN:
            return {}
        return self._response(reply.data)

    def _headers(self, body: bytes, context: ClientCallContext | None, stream_inbox: str) -> dict[str, str]:
        headers: dict[str, str] = {}
        if context is not None and context.service_parameters:
            headers.update(
                (name, value)
                for name, value in context.service_parameters.items()
                if name.lower() not in RESERVED_HEADERS
            )
        if self._signer is not None:
            headers.update(self._signer.headers(self.subject, body, stream_inbox=stream_inbox))
        else:
            headers[VERSION_HEADER] = PROTOCOL_VERSION
            if stream_inbox:
                headers[STREAM_INBOX_HEADER] = stream_inbox
        return headers

    def _response(self, data: bytes) -> dict[str, Any]:
        try:
            response = json.loads(data)
        except ValueError as error:
            raise BusProtocolError(self.subject, f"not JSON: {error}") from None
        if not isinstance(response, dict):
            raise BusProtocolError(self.subject, "not a JSON-RPC response object")
        failure = response.get("error")
        if failure is not None:
            raise self._error(failure)
        if "result" not in response:
            raise BusProtocolError(self.subject, "a JSON-RPC response with neither result nor error")
        return response

    def _error(self, error: Any) -> Exception:
        """The exception for a JSON-RPC error object: the binding's own codes, then the SDK's."""
        if not isinstance(error, dict):
            return BusProtocolError(self.subject, f"error is not an object: {error!r}")
        code, message = error.get("code"), str(error.get("message", ""))
        details = error.get("data")
        metadata: dict[str, Any] = {}
        for detail in details if isinstance(details, list) else []:
            if isinstance(detail, dict) and detail.get("@type") == _ERROR_INFO:
                metadata = detail.get("metadata") or {}
                break
        if not isinstance(code, int):
            return BusProtocolError(self.subject, f"error without an integer code: {error!r}")
        if code in BUS_ERROR_CODES:
            strings = {str(name): str(value) for name, value in metadata.items()}
            return BUS_ERROR_CODES[code].client_error(self.subject, strings)
        if code in _A2A_ERRORS:
            a2a_error: A2AError = _A2A_ERRORS[code](message, data=metadata or None)
            return a2a_error
        return A2AClientError(f"JSON-RPC Error {code}: {message}")

    async def _stream(
        self, method: str, request: ProtoMessage, context: ClientCallContext | None
    ) -> AsyncGenerator[StreamResponse]:
        inbox = self._nc.new_inbox()
        arrived: asyncio.Queue[Msg | None] = asyncio.Queue()

        async def on_message(msg: Msg) -> None:
            if lower_headers(msg.headers).get(STREAM_HEARTBEAT_HEADER.lower()):
                if msg.reply:
                    await self._nc.publish(msg.reply, b"")
                arrived.put_nowait(None)
                return
            arrived.put_nowait(msg)

        subscription = await self._nc.subscribe(inbox, cb=on_message)
        try:
            if await self._request(method, request, context, stream_inbox=inbox):
                raise BusProtocolError(self.subject, f"{method} was answered without opening a stream")
            async for event in self._events(arrived):
                yield event
        finally:
            with contextlib.suppress(Exception):
                await subscription.unsubscribe()

    async def _events(self, arrived: asyncio.Queue[Msg | None]) -> AsyncIterator[StreamResponse]:
        expected = 0
        while True:
            try:
                msg = await asyncio.wait_for(arrived.get(), self._stream_idle_timeout)
            except TimeoutError:
                raise BusTimeoutError(self.subject, self._stream_idle_timeout, "stream message") from None
            if msg is None:
                continue
            headers = lower_headers(msg.headers)
            seq = headers.get(STREAM_SEQ_HEADER.lower(), "")
            if seq != str(expected):
                raise StreamBrokenError(self.subject, f"expected message {expected}, got {seq or 'none'}")
            expected += 1
            end = headers.get(STREAM_END_HEADER.lower())
            if end is not None:
                if end == STREAM_END_ERROR:
                    raise StreamBrokenError(self.subject, "the server ended the stream with an error")
                return
            response = self._response(msg.data)
            result = response["result"]
            if not isinstance(result, dict):
                raise BusProtocolError(self.subject, "a stream event's result is not an object")
            yield parse_lenient(result, StreamResponse())


def nats_transport_producer(
    nc: NATS,
    *,
    signer: SenderSigner | None,
    timeout: float = DEFAULT_TIMEOUT,
    stream_idle_timeout: float = DEFAULT_STREAM_IDLE_TIMEOUT,
    tracer_provider: TracerProvider | None = None,
) -> TransportProducer:
    """A `ClientFactory` transport producer making `NatsClientTransport`s on `nc`."""

    def produce(card: AgentCard, url: str, _config: ClientConfig) -> ClientTransport:
        return NatsClientTransport(
            nc,
            card,
            url,
            signer=signer,
            timeout=timeout,
            stream_idle_timeout=stream_idle_timeout,
            tracer_provider=tracer_provider,
        )

    return produce


def register_nats_transport(
    factory: ClientFactory,
    nc: NATS,
    *,
    signer: SenderSigner | None,
    timeout: float = DEFAULT_TIMEOUT,
    stream_idle_timeout: float = DEFAULT_STREAM_IDLE_TIMEOUT,
    tracer_provider: TracerProvider | None = None,
) -> None:
    """Teach `factory` the NATS binding. It is chosen for a card whose NATS interface comes first
    among the bindings the factory's `ClientConfig.supported_protocol_bindings` lists, e.g.
    `[NATS_BINDING_URI, TransportProtocol.JSONRPC]` (or first in that list with
    `use_client_preference=True`)."""
    factory.register(
        NATS_BINDING_URI,
        nats_transport_producer(
            nc,
            signer=signer,
            timeout=timeout,
            stream_idle_timeout=stream_idle_timeout,
            tracer_provider=tracer_provider,
        ),
    )
