"""Errors of the model layer: one base, small leaves with structured fields.

A provider failure is also the matching pydantic-ai category (`ModelAuthenticationError`,
`ModelTimeoutError`, ...), so pydantic-ai's own machinery (a `FallbackModel`, retries keyed on
those categories) treats it as it treats any model's. Which provider exception becomes which leaf
is decided in one table, `mesh.models._litellm.PROVIDER_ERRORS`. Messages name the model, never a
key.
"""

from __future__ import annotations

from pydantic_ai import exceptions as pai


class ModelError(Exception):
    """Base error of the model layer."""


class ModelNotConfiguredError(ModelError):
    """Something needs a model and none is configured (`MESH_MODEL` is empty)."""

    def __init__(self, feature: str | None = None) -> None:
        self.feature = feature
        needs = f"{feature} needs a language model, and " if feature else ""
        super().__init__(
            f"{needs}no model is configured: set MESH_MODEL to a litellm model name, for example "
            "openai/gpt-4.1-mini, anthropic/claude-sonnet-4-5 or ollama/llama3.1 (with "
            "MESH_MODEL_BASE_URL for a local server); see docs/models.md"
        )


class ModelConfigError(ModelError):
    """The model settings cannot work, e.g. a model name litellm routes to no provider."""

    def __init__(self, model: str, reason: str) -> None:
        self.model = model
        self.reason = reason
        super().__init__(f"model {model!r}: {reason}")


class GatewayToolsUnavailableError(ModelError):
    """An agent could not open a domain's tools on the gateway: the gateway does not answer, or it
    refused the caller's credential (then `reason` says what the gateway said)."""

    def __init__(self, domain: str, url: str, reason: str) -> None:
        self.domain = domain
        self.url = url
        self.reason = reason
        super().__init__(f"the {domain} tools at {url} are unavailable: {reason}")


class ModelProviderError(ModelError, pai.ModelAPIError):
    """A model call the provider did not answer with a completion.

    `model_name` is the configured litellm name, `provider` the provider litellm routed it to,
    `status_code` the provider's HTTP status when there was one. The message says what failed
    and, when the provider said why, its reason with anything resembling a key removed.
    """

    def __init__(
        self,
        model_name: str,
        reason: str,
        *,
        provider: str | None = None,
        status_code: int | None = None,
    ) -> None:
        self.reason = reason
        self.provider = provider
        self.status_code = status_code
        super().__init__(model_name, f"model {model_name}: {reason}")


class ModelAuthError(ModelProviderError, pai.ModelAuthenticationError):
    """The provider refused the credentials, or does not let them use this model (401, 403)."""


class ModelCallTimeoutError(ModelProviderError, pai.ModelTimeoutError):
    """The provider did not answer within `model_timeout` seconds."""


class ModelUnreachableError(ModelProviderError, pai.ModelConnectionError):
    """No connection to the provider: a wrong base URL, a server that is down, no network."""


class ModelRateLimitedError(ModelProviderError, pai.ModelRateLimitError):
    """The provider refused the call for now: rate limit or quota (429)."""


class ModelRequestRefusedError(ModelProviderError, pai.ModelRequestRejectedError):
    """The provider refused this request: an unknown model, a bad parameter, a prompt too long."""


class ModelServiceError(ModelProviderError, pai.ModelServerError):
    """The provider failed to answer (5xx, or an answer that could not be read)."""
