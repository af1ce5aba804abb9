"""Reading the one JSON-RPC message of an MCP POST, and writing the gateway's own answers."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal

from mcp_types.methods import SPEC_CLIENT_METHODS, SPEC_CLIENT_NOTIFICATION_METHODS

RequestId = str | int
Kind = Literal["request", "notification", "response"]

KNOWN_METHODS = frozenset(SPEC_CLIENT_METHODS)
KNOWN_NOTIFICATIONS = frozenset(SPEC_CLIENT_NOTIFICATION_METHODS)


class MessageError(ValueError):
    """The body is not one well-formed JSON-RPC 2.0 message; `malformed` when it is not even JSON."""

    def __init__(self, problem: str, *, malformed: bool = False, request_id: RequestId | None = None) -> None:
        super().__init__(problem)
        self.problem = problem
        self.malformed = malformed
        self.request_id = request_id


@dataclass(frozen=True, slots=True)
class Message:
    kind: Kind
    method: str | None
    id: RequestId | None
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def tool(self) -> str | None:
        name = self.params.get("name") if self.method == "tools/call" else None
        return name if isinstance(name, str) else None

    @property
    def arguments(self) -> dict[str, Any]:
        arguments = self.params.get("arguments") if self.method == "tools/call" else None
        return arguments if isinstance(arguments, dict) else {}

    @property
    def resource(self) -> str | None:
        uri = self.params.get("uri") if self.method == "resources/read" else None
        return uri if isinstance(uri, str) else None

    @property
    def meta(self) -> dict[str, Any]:
        meta = self.params.get("_meta")
        return meta if isinstance(meta, dict) else {}


def parse_message(body: bytes) -> Message:
    """The single message MCP's streamable HTTP allows per POST (batches are not part of MCP)."""
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise MessageError(f"not JSON: {error}", malformed=True) from None
    if isinstance(document, list):
        raise MessageError("JSON-RPC batches are not supported by MCP; send one message per request")
    if not isinstance(document, dict) or document.get("jsonrpc") != "2.0":
        raise MessageError('not a JSON-RPC 2.0 message (jsonrpc must be "2.0")')
    request_id = document.get("id")
    if request_id is not None and (isinstance(request_id, bool) or not isinstance(request_id, str | int)):
        raise MessageError("id must be a string or an integer")
    method = document.get("method")
    if method is None:
        if request_id is None or ("result" not in document and "error" not in document):
            raise MessageError("neither a request, a notification nor a response")
        return Message("response", None, request_id)
    if not isinstance(method, str) or not method:
        raise MessageError("method must be a non-empty string", request_id=request_id)
    params = document.get("params", {})
    if not isinstance(params, dict):
        raise MessageError("params must be an object", request_id=request_id)
    return Message("notification" if request_id is None else "request", method, request_id, params)


def error_body(request_id: RequestId | None, code: int, message: str, data: Any = None) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message}
    if data is not None:
        error["data"] = data
    return {"jsonrpc": "2.0", "id": request_id, "error": error}
