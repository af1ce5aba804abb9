"""litellm, the one place that knows providers: loaded on first use, and reached in process.

pydantic-ai speaks Chat Completions through the OpenAI SDK; `LiteLLMTransport` is that SDK's HTTP
transport, and answers each request by calling `litellm.acompletion` with the same body, so the
provider is whatever litellm routes the model name to. Nothing here opens a socket itself.
"""

from __future__ import annotations

import importlib
import json
import os
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Final, Protocol, cast

import httpx
import httpx2
import openai

from mesh.models._config import ModelConfig
from mesh.models._errors import (
    ModelAuthError,
    ModelCallTimeoutError,
    ModelConfigError,
    ModelProviderError,
    ModelRateLimitedError,
    ModelRequestRefusedError,
    ModelServiceError,
    ModelUnreachableError,
)

_KEY_HINT = "MESH_MODEL_API_KEY or the provider's own variable, e.g. OPENAI_API_KEY or ANTHROPIC_API_KEY"


@dataclass(frozen=True, slots=True)
class ProviderFailure:
    """One row of `PROVIDER_ERRORS`: a failure is this row's when an exception of `causes` is
    anywhere in its chain (litellm re-raises transport errors as other types), or when the
    provider answered with one of `statuses`."""

    leaf: type[ModelProviderError]
    reason: str
    causes: tuple[type[BaseException], ...] = ()
    statuses: range = range(0)

    def matches(self, chain: list[BaseException], status: int | None) -> bool:
        if status is not None and status in self.statuses:
            return True
        return any(isinstance(error, self.causes) for error in chain)


PROVIDER_ERRORS: Final[tuple[ProviderFailure, ...]] = (
    ProviderFailure(
        ModelCallTimeoutError,
        "no answer within {timeout:g} s",
        causes=(openai.APITimeoutError, httpx.TimeoutException, httpx2.TimeoutException),
        statuses=range(408, 409),
    ),
    ProviderFailure(
        ModelUnreachableError, "cannot reach {where}", causes=(httpx.TransportError, httpx2.TransportError)
    ),
    ProviderFailure(
        ModelAuthError,
        f"the provider refused the credentials; check {_KEY_HINT}",
        causes=(openai.AuthenticationError,),
        statuses=range(401, 402),
    ),
    ProviderFailure(
        ModelAuthError,
        "the credentials may not use this model",
        causes=(openai.PermissionDeniedError,),
        statuses=range(403, 404),
    ),
    ProviderFailure(
        ModelRequestRefusedError,
        "unknown model, or a wrong base URL",
        causes=(openai.NotFoundError,),
        statuses=range(404, 405),
    ),
    ProviderFailure(
        ModelRateLimitedError,
        "rate limit or quota reached",
        causes=(openai.RateLimitError,),
        statuses=range(429, 430),
    ),
    ProviderFailure(
        ModelRequestRefusedError,
        "the provider refused the request",
        causes=(openai.BadRequestError, openai.UnprocessableEntityError),
        statuses=range(400, 500),
    ),
    ProviderFailure(ModelServiceError, "the provider failed", statuses=range(500, 600)),
)
"""Which provider failure becomes which error, first match wins: transport failures first (found
anywhere in the exception chain), then the provider's HTTP status (litellm keeps it on its
exceptions, for every provider), then litellm's exception types for failures without a status.
Anything else raised while calling the provider is a `ModelServiceError` naming its type."""

SEMCONV_PROVIDERS: Final[dict[str, str]] = {
    "azure": "azure.ai.openai",
    "azure_ai": "azure.ai.inference",
    "bedrock": "aws.bedrock",
    "vertex_ai": "gcp.vertex_ai",
    "gemini": "gcp.gemini",
    "mistral": "mistral_ai",
    "cohere_chat": "cohere",
    "ollama_chat": "ollama",
    "xai": "x_ai",
    "watsonx": "ibm.watsonx.ai",
}
"""litellm provider names whose OpenTelemetry GenAI name (`gen_ai.provider.name`) differs; any
other provider keeps litellm's name (`openai`, `anthropic`, `ollama`, `hosted_vllm`, ...)."""

_DETAIL_LIMIT = 300
_LITELLM_PREFIX = re.compile(r"^(?:litellm\.\w+:\s*)*(?:\w+Error:\s*)*(?:\w+Exception\s*-\s*)?")
"""litellm's own labels before the provider's words: `litellm.RateLimitError: RateLimitError:
OpenAIException - `."""
_SECRETISH = re.compile(
    r"(?i)(?P<scheme>bearer\s+)\S+"
    r"|\b(?:sk|pk|rk|key)-[\w*.-]{4,}"
    r"|(?P<name>api[_-]?key[\"']?\s*[:=]\s*[\"']?)[^\s\"',;]+"
)


class _LiteLLM(Protocol):
    """The part of the `litellm` module the mesh uses."""

    disable_aiohttp_transport: bool
    suppress_debug_info: bool

    async def acompletion(self, **kwargs: Any) -> Any: ...

    def get_llm_provider(
        self, model: str, custom_llm_provider: str | None = None, api_base: str | None = None
    ) -> tuple[str, str, str | None, str | None]: ...


def load_litellm() -> _LiteLLM:
    """litellm, imported and configured once per process (the import takes seconds).

    - `LITELLM_LOCAL_MODEL_COST_MAP=True` unless set: the cost map bundled with litellm, instead of
      a download at import time;
    - httpx instead of aiohttp for its HTTP calls: one HTTP stack in the mesh, traced and mocked
      the same way (`respx`) as every other `httpx` client;
    - no feedback banners printed on errors.
    """
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    module = cast(_LiteLLM, importlib.import_module("litellm"))
    module.disable_aiohttp_transport = True
    module.suppress_debug_info = True
    return module


def route(config: ModelConfig) -> str:
    """The provider litellm sends `config.name` to, or `ModelConfigError`."""
    try:
        _, provider, _, _ = load_litellm().get_llm_provider(config.name, api_base=config.base_url)
    except Exception:  # litellm says so with a BadRequestError that has a long help text
        raise ModelConfigError(
            config.name,
            "litellm routes this name to no provider; prefix it with one, "
            "e.g. openai/gpt-4.1-mini, anthropic/claude-sonnet-4-5, ollama/llama3.1",
        ) from None
    return provider


def semconv_provider(provider: str) -> str:
    return SEMCONV_PROVIDERS.get(provider, provider)


class LiteLLMTransport(httpx2.AsyncBaseTransport):
    """The OpenAI SDK's transport for one configured model: Chat Completions requests are answered
    in process by `litellm.acompletion`, which calls the provider.

    Contract of `handle_async_request`:
    - `POST .../chat/completions` only; any other request is a 404 naming it.
    - The body is passed on as litellm's arguments, with the model's own name, base URL, key and
      timeout; parameters a provider does not take are dropped (`drop_params`), and nothing is
      retried here.
    - A completion comes back as the Chat Completions JSON body (200). With `"stream": true` it
      comes back as server-sent events, chunk by chunk, ending with `data: [DONE]`, and usage in
      the last chunk.
    - A provider failure raises the matching `ModelProviderError` (see `PROVIDER_ERRORS`), before
      any response or in the middle of a stream; the OpenAI SDK and pydantic-ai let it through
      unchanged, so the caller of the agent run gets it. Its message never holds the key.
    """

    def __init__(self, config: ModelConfig, *, provider: str) -> None:
        self.config = config
        self.provider = provider

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        if request.method != "POST" or not request.url.path.endswith("/chat/completions"):
            return httpx2.Response(
                404,
                json={
                    "error": {"message": f"only chat completions, not {request.method} {request.url.path}"}
                },
                request=request,
            )
        body: dict[str, Any] = json.loads(await request.aread())
        arguments = body | self._routing()
        if body.get("stream"):
            arguments["stream_options"] = {**(body.get("stream_options") or {}), "include_usage": True}
            chunks = await self._call(arguments)
            return httpx2.Response(
                200,
                headers={"content-type": "text/event-stream"},
                content=self._events(chunks),
                request=request,
            )
        completion = await self._call(arguments)
        return httpx2.Response(200, json=completion.model_dump(mode="json"), request=request)

    def _routing(self) -> dict[str, Any]:
        config = self.config
        routing: dict[str, Any] = {
            "model": config.name,
            "timeout": config.timeout,
            "drop_params": True,
            "num_retries": 0,
            "max_retries": 0,
        }
        if config.base_url is not None:
            routing["api_base"] = config.base_url
        if config.api_key is not None:
            routing["api_key"] = config.api_key.get_secret_value()
        return routing

    async def _call(self, arguments: dict[str, Any]) -> Any:
        try:
            return await load_litellm().acompletion(**arguments)
        except Exception as error:
            raise self.provider_error(error) from error

    async def _events(self, chunks: Any) -> AsyncIterator[bytes]:
        try:
            async for chunk in chunks:
                yield b"data: " + chunk.model_dump_json().encode() + b"\n\n"
        except Exception as error:
            raise self.provider_error(error) from error
        yield b"data: [DONE]\n\n"

    def provider_error(self, error: Exception) -> ModelProviderError:
        """The error to raise for what calling the provider raised (see `PROVIDER_ERRORS`)."""
        config = self.config
        status = getattr(error, "status_code", None)
        status_code = status if isinstance(status, int) else None
        chain = _chain(error)
        where = config.base_url or f"the {self.provider} API"
        detail = self._detail(error)
        for failure in PROVIDER_ERRORS:
            if failure.matches(chain, status_code):
                text = failure.reason.format(timeout=config.timeout, where=where)
                return failure.leaf(
                    config.name,
                    f"{text}: {detail}" if detail else text,
                    provider=self.provider,
                    status_code=status_code,
                )
        return ModelServiceError(
            config.name,
            f"calling the provider failed ({type(error).__name__}): {detail}",
            provider=self.provider,
            status_code=status_code,
        )

    def _detail(self, error: Exception) -> str:
        message = getattr(error, "message", None)
        text = _LITELLM_PREFIX.sub("", message if isinstance(message, str) else str(error))
        return redact(text, self.config.api_key.get_secret_value() if self.config.api_key else None)


def _chain(error: BaseException) -> list[BaseException]:
    """`error` and what caused it, through `__cause__` and `__context__`."""
    chain: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and current not in chain:
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


def redact(text: str, key: str | None = None) -> str:
    """`text` without `key` or anything that looks like a credential, on one line, shortened."""
    if key:
        text = text.replace(key, "[key]")
    text = _SECRETISH.sub(lambda m: (m.group("scheme") or m.group("name") or "") + "[redacted]", text)
    text = " ".join(text.split())
    return text if len(text) <= _DETAIL_LIMIT else text[: _DETAIL_LIMIT - 3] + "..."
