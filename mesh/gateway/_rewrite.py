"""Rewriting the JSON-RPC response inside an upstream MCP answer while streaming it through.

MCP's streamable HTTP answers a POST with either one JSON body or an SSE stream whose events carry
JSON-RPC messages (notifications first, then the response). The gateway passes every byte through
as it arrives, except the event holding the response to the request it governs, which it may
rewrite (add a policy warning to `_meta`, remove held tools from a tool list).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from typing import Any

from mesh.gateway._jsonrpc import RequestId

ResponseRewrite = Callable[[dict[str, Any]], dict[str, Any]]
MAX_JSON_BODY = 16 * 1024 * 1024


async def rewrite_response(
    chunks: AsyncIterator[bytes], content_type: str, request_id: RequestId, rewrite: ResponseRewrite
) -> AsyncIterator[bytes]:
    if content_type.startswith("text/event-stream"):
        async for piece in _rewrite_events(chunks, request_id, rewrite):
            yield piece
        return
    body = bytearray()
    async for chunk in chunks:
        body += chunk
        if len(body) > MAX_JSON_BODY:
            raise ValueError("upstream JSON answer larger than the gateway accepts")
    yield _rewrite_json(bytes(body), request_id, rewrite)


def _rewrite_json(body: bytes, request_id: RequestId, rewrite: ResponseRewrite) -> bytes:
    try:
        message = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return body
    if _is_response_to(message, request_id):
        return json.dumps(rewrite(message), separators=(",", ":")).encode()
    return body


async def _rewrite_events(
    chunks: AsyncIterator[bytes], request_id: RequestId, rewrite: ResponseRewrite
) -> AsyncIterator[bytes]:
    pending = b""
    async for chunk in chunks:
        pending += chunk
        while True:
            end, separator = _event_end(pending)
            if end < 0:
                break
            event, pending = pending[:end], pending[end + separator :]
            yield _rewrite_event(event, request_id, rewrite) + b"\n\n"
    if pending:
        yield pending


def _event_end(buffer: bytes) -> tuple[int, int]:
    candidates = [(buffer.find(sep), len(sep)) for sep in (b"\r\n\r\n", b"\n\n")]
    found = [(index, size) for index, size in candidates if index >= 0]
    return min(found) if found else (-1, 0)


def _rewrite_event(event: bytes, request_id: RequestId, rewrite: ResponseRewrite) -> bytes:
    lines = event.replace(b"\r\n", b"\n").split(b"\n")
    data = b"\n".join(line[5:].lstrip(b" ") for line in lines if line.startswith(b"data:"))
    if not data:
        return event
    try:
        message = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return event
    if not _is_response_to(message, request_id):
        return event
    others = [line for line in lines if not line.startswith(b"data:")]
    rewritten = json.dumps(rewrite(message), separators=(",", ":")).encode()
    return b"\n".join([*others, b"data: " + rewritten])


def _is_response_to(message: Any, request_id: RequestId) -> bool:
    return (
        isinstance(message, dict)
        and message.get("id") == request_id
        and ("result" in message or "error" in message)
    )
