"""The model layer: language models by name through litellm, reasoning with pydantic-ai agents
whose only tools are the gateway's MCP proxies and read-only Python functions.

`ModelConfig.from_settings(settings)` reads `MESH_MODEL` and friends; `build_model(config)` gives
a `LiteLLMModel` (any provider litellm knows, by name) or `ModelNotConfiguredError` when no model
is configured. `build_mesh_agent(...)` gives an agent whose MCP toolsets point at
`<gateway>/mcp/<domain>` with the caller's credential (`bearer_tokens`, `client_credentials`), so
the model can do only what the caller's scopes and policy allow; refusals reach the model as
failed tool results. Runs are traced with the OpenTelemetry GenAI conventions; `record_usage`
appends a run's token use to the audit ledger. See docs/models.md.
"""

from mesh.models._agent import (
    DECISION_META,
    DomainAuth,
    GatewayRefusals,
    bearer_tokens,
    build_mesh_agent,
    client_credentials,
    gateway_toolset,
)
from mesh.models._config import ModelConfig
from mesh.models._errors import (
    GatewayToolsUnavailableError,
    ModelAuthError,
    ModelCallTimeoutError,
    ModelConfigError,
    ModelError,
    ModelNotConfiguredError,
    ModelProviderError,
    ModelRateLimitedError,
    ModelRequestRefusedError,
    ModelServiceError,
    ModelUnreachableError,
)
from mesh.models._litellm import PROVIDER_ERRORS, LiteLLMTransport, load_litellm
from mesh.models._model import LiteLLMModel, build_model
from mesh.models._usage import USAGE_ACTION, record_usage, usage_record

__all__ = [
    "DECISION_META",
    "PROVIDER_ERRORS",
    "USAGE_ACTION",
    "DomainAuth",
    "GatewayRefusals",
    "GatewayToolsUnavailableError",
    "LiteLLMModel",
    "LiteLLMTransport",
    "ModelAuthError",
    "ModelCallTimeoutError",
    "ModelConfig",
    "ModelConfigError",
    "ModelError",
    "ModelNotConfiguredError",
    "ModelProviderError",
    "ModelRateLimitedError",
    "ModelRequestRefusedError",
    "ModelServiceError",
    "ModelUnreachableError",
    "bearer_tokens",
    "build_mesh_agent",
    "build_model",
    "client_credentials",
    "gateway_toolset",
    "load_litellm",
    "record_usage",
    "usage_record",
]
