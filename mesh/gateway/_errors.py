"""Every way the gateway can refuse or fail a call, mapped once: HTTP status, JSON-RPC code, audit."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from mcp_types import INTERNAL_ERROR, INVALID_REQUEST, METHOD_NOT_FOUND, PARSE_ERROR

from mesh.audit import ExecutionMode, Status

# Implementation-defined MCP error codes (-32000..-32019), the gateway's own.
DENIED_BY_POLICY = -32010
HELD_FOR_APPROVAL = -32011
RATE_LIMITED = -32012
UPSTREAM_UNAVAILABLE = -32013
TOOL_DEFINITION_HELD = -32014


@dataclass(frozen=True, slots=True)
class Mapping_:
    """One row of the table; `key` keeps rows with equal mappings distinct members of `Refusal`."""

    key: str
    http_status: int
    jsonrpc_code: int | None
    audit_status: Status
    execution_mode: ExecutionMode


class Refusal(Enum):
    """A reason the gateway answers instead of the domain's server."""

    UNAUTHENTICATED = Mapping_("unauthenticated", 401, None, "refused", "refused")
    INVALID_TOKEN = Mapping_("invalid_token", 401, None, "refused", "refused")
    INSUFFICIENT_SCOPE = Mapping_("insufficient_scope", 403, None, "refused", "refused")
    BODY_TOO_LARGE = Mapping_("body_too_large", 413, INVALID_REQUEST, "refused", "refused")
    MALFORMED_JSON = Mapping_("malformed_json", 400, PARSE_ERROR, "refused", "refused")
    INVALID_REQUEST = Mapping_("invalid_request", 400, INVALID_REQUEST, "refused", "refused")
    UNKNOWN_METHOD = Mapping_("unknown_method", 404, METHOD_NOT_FOUND, "refused", "refused")
    UNKNOWN_DOMAIN = Mapping_("unknown_domain", 404, None, "refused", "refused")
    SESSION_OF_ANOTHER_CALLER = Mapping_("session_of_another_caller", 404, None, "refused", "refused")
    RATE_LIMITED = Mapping_("rate_limited", 429, RATE_LIMITED, "refused", "refused")
    DENIED = Mapping_("denied", 200, DENIED_BY_POLICY, "denied", "blocked")
    ESCALATED = Mapping_("escalated", 200, HELD_FOR_APPROVAL, "escalated", "escalated")
    TOOL_HELD = Mapping_("tool_held", 200, TOOL_DEFINITION_HELD, "denied", "blocked")
    UPSTREAM_UNAVAILABLE = Mapping_("upstream_unavailable", 502, UPSTREAM_UNAVAILABLE, "failed", "autonomous")
    INTERNAL = Mapping_("internal", 500, INTERNAL_ERROR, "failed", "refused")

    @property
    def http_status(self) -> int:
        return self.value.http_status

    @property
    def jsonrpc_code(self) -> int | None:
        return self.value.jsonrpc_code


class GatewayError(Exception):
    """Base error of the gateway package."""


class GatewayConfigError(GatewayError):
    """The gateway cannot start with this configuration."""
