"""The governance gateway: every MCP call is authenticated, scoped, decided by policy (allow,
warn, escalate, deny), forwarded with the gateway's own credential and recorded in the ledger."""

from mesh.gateway._app import Gateway, InProcessCredentials, build_gateway
from mesh.gateway._clients import COMPLIANCE_SCOPE, OPERATOR_SCOPE, READ_SCOPES, UPSTREAM_SCOPE, WRITE_SCOPES
from mesh.gateway._errors import GatewayConfigError, GatewayError, Refusal
from mesh.gateway._escalations import CallBinding, Escalation, EscalationStore
from mesh.gateway._pinning import ToolPins, definition_hash
from mesh.gateway._proxy import GovernedProxy
from mesh.gateway._ratelimit import Rate, RateLimiter

__all__ = [
    "COMPLIANCE_SCOPE",
    "OPERATOR_SCOPE",
    "READ_SCOPES",
    "UPSTREAM_SCOPE",
    "WRITE_SCOPES",
    "CallBinding",
    "Escalation",
    "EscalationStore",
    "Gateway",
    "GatewayConfigError",
    "GatewayError",
    "GovernedProxy",
    "InProcessCredentials",
    "Rate",
    "RateLimiter",
    "Refusal",
    "ToolPins",
    "build_gateway",
    "definition_hash",
]
