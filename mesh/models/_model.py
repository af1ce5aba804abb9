"""The pydantic-ai model of the mesh: any provider by name, through litellm."""

from __future__ import annotations

import httpx2
from openai import AsyncOpenAI
from pydantic_ai.models.openai import OpenAIChatModel
from pydantic_ai.providers.openai_compatible import OpenAICompatibleProvider
from pydantic_ai.settings import ModelSettings

from mesh.models._config import ModelConfig
from mesh.models._errors import ModelNotConfiguredError
from mesh.models._litellm import LiteLLMTransport, route, semconv_provider

IN_PROCESS_URL = "http://litellm.invalid/v1"
"""Where the OpenAI SDK believes it sends requests; `LiteLLMTransport` answers them in process."""


class LiteLLMModel(OpenAIChatModel):
    """A pydantic-ai model whose requests go through `litellm.acompletion`, so every provider
    litellm knows works by name (`openai/...`, `anthropic/...`, `ollama/...`, any
    OpenAI-compatible server with a base URL).

    pydantic-ai turns messages and tools into Chat Completions (this is its `OpenAIChatModel`);
    the OpenAI SDK client underneath has no network of its own: its transport hands each request
    to litellm (see `LiteLLMTransport`). pydantic-ai ships a `LiteLLMProvider`, but that one talks
    to a LiteLLM *proxy server* over HTTP; this model needs no proxy.

    `system` (telemetry's `gen_ai.provider.name`) is the provider litellm routes to, `base_url`
    the configured one. Building it imports litellm (a few seconds, once per process) and checks
    that the name routes to a provider. Provider failures raise `ModelProviderError` leaves.
    """

    def __init__(self, config: ModelConfig) -> None:
        if not config.configured:
            raise ModelNotConfiguredError()
        self.config = config
        self.litellm_provider = route(config)
        transport = LiteLLMTransport(config, provider=self.litellm_provider)
        client = AsyncOpenAI(
            base_url=IN_PROCESS_URL,
            api_key="unused",  # litellm holds the real one
            http_client=httpx2.AsyncClient(transport=transport, timeout=config.timeout + 5.0),
            max_retries=0,
        )
        settings = ModelSettings()
        if config.max_tokens is not None:
            settings["max_tokens"] = config.max_tokens
        if config.temperature is not None:
            settings["temperature"] = config.temperature
        super().__init__(
            config.name,
            provider=OpenAICompatibleProvider(semconv_provider(self.litellm_provider), openai_client=client),
            settings=settings or None,
        )

    @property
    def base_url(self) -> str:
        return self.config.base_url or ""

    def __repr__(self) -> str:
        return f"LiteLLMModel({self.config.name!r}, provider={self.litellm_provider!r})"


def build_model(config: ModelConfig, *, feature: str | None = None) -> LiteLLMModel:
    """The configured model, or `ModelNotConfiguredError` saying that `feature` needs one."""
    if not config.configured:
        raise ModelNotConfiguredError(feature)
    return LiteLLMModel(config)
