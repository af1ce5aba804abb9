"""The model through the real stack: pydantic-ai, the OpenAI SDK, the in-process litellm
transport, litellm and its HTTP client, against mocked providers."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from pydantic_ai import Agent

from mesh.models import (
    LiteLLMModel,
    ModelAuthError,
    ModelCallTimeoutError,
    ModelConfig,
    ModelError,
    ModelProviderError,
    ModelRateLimitedError,
    ModelRequestRefusedError,
    ModelServiceError,
    ModelUnreachableError,
    build_mesh_agent,
    build_model,
)
from mesh.models._litellm import redact
from tests.model_guard import ModelRequestGuard
from tests.models.conftest import API_KEY, MODEL, PROVIDER, ScriptedProvider, Spans


async def test_a_prompt_reaches_the_provider_by_name_with_the_configured_key_and_limits(
    provider: ScriptedProvider,
) -> None:
    provider.answer("Demand in EU rises 4% next week.")
    config = MODEL.model_copy(update={"max_tokens": 256, "temperature": 0.1})
    agent = build_mesh_agent(config, instructions="Answer in one sentence.")

    result = await agent.run("How does EU demand move?")

    assert result.output == "Demand in EU rises 4% next week."
    (sent,) = provider.requests
    assert sent["model"] == "gpt-4.1-mini"  # litellm strips its routing prefix
    assert sent["messages"][0] == {"role": "system", "content": "Answer in one sentence."}
    assert sent["messages"][-1] == {"role": "user", "content": "How does EU demand move?"}
    assert sent["temperature"] == 0.1
    assert 256 in (sent.get("max_tokens"), sent.get("max_completion_tokens"))
    assert provider.headers[0]["authorization"] == f"Bearer {API_KEY}"
    assert (result.usage.input_tokens, result.usage.output_tokens, result.usage.requests) == (20, 8, 1)


async def test_each_model_call_is_a_genai_span(provider: ScriptedProvider, spans: Spans) -> None:
    provider.answer("Fine.")
    agent = build_mesh_agent(MODEL, tracer_provider=spans.provider, name="inventory-chat")

    await agent.run("Status?")

    (chat,) = spans.named("chat ")
    attributes = dict(chat.attributes or {})
    assert chat.name == "chat openai/gpt-4.1-mini"
    assert chat.kind.name == "CLIENT"
    assert attributes["gen_ai.operation.name"] == "chat"
    assert attributes["gen_ai.provider.name"] == attributes["gen_ai.system"] == "openai"
    assert attributes["gen_ai.request.model"] == "openai/gpt-4.1-mini"
    assert attributes["gen_ai.response.model"] == "gpt-4.1-mini-2025-04-14"
    assert attributes["gen_ai.usage.input_tokens"] == 20
    assert attributes["gen_ai.usage.output_tokens"] == 8
    assert tuple(attributes["gen_ai.response.finish_reasons"]) == ("stop",)  # type: ignore[arg-type]
    assert attributes["server.address"] == "llm.test"
    assert "Status?" not in json.dumps(attributes, default=str)  # no prompt content by default
    (run,) = spans.named("invoke_agent")
    assert chat.parent is not None
    assert chat.parent.span_id == run.context.span_id


async def test_a_streamed_run_comes_through_the_same_stack(model_guard: ModelRequestGuard) -> None:
    chunks: list[dict[str, Any]] = [
        {"choices": [{"index": 0, "delta": {"role": "assistant", "content": "Stock "}}]},
        {"choices": [{"index": 0, "delta": {"content": "is fine."}, "finish_reason": "stop"}]},
        {"choices": [], "usage": {"prompt_tokens": 9, "completion_tokens": 3, "total_tokens": 12}},
    ]
    events = "".join(
        "data: "
        + json.dumps(
            {"id": "chatcmpl-s", "object": "chat.completion.chunk", "created": 1, "model": "gpt-4.1-mini"}
            | chunk
        )
        + "\n\n"
        for chunk in chunks
    )
    model_guard.http.post(f"{PROVIDER}/chat/completions").respond(
        200, text=events + "data: [DONE]\n\n", headers={"content-type": "text/event-stream"}
    )
    agent: Agent[None, str] = build_mesh_agent(MODEL)

    async with agent.run_stream("Stock?") as run:
        text = await run.get_output()

    assert text == "Stock is fine."
    assert (run.usage.input_tokens, run.usage.output_tokens) == (9, 3)


async def test_a_model_on_an_openai_compatible_server_is_reached_through_its_base_url(
    model_guard: ModelRequestGuard, spans: Spans
) -> None:
    """Ollama by name (`ollama_chat/`: its chat API, with tools): litellm speaks Ollama's own API."""
    route = model_guard.http.post("http://ollama.test:11434/api/chat").respond(
        json={
            "model": "llama3.1",
            "created_at": "2026-01-01T00:00:00Z",
            "message": {"role": "assistant", "content": "Three warehouses are over capacity."},
            "done": True,
            "done_reason": "stop",
            "prompt_eval_count": 14,
            "eval_count": 6,
        }
    )
    model = build_model(ModelConfig(name="ollama_chat/llama3.1", base_url="http://ollama.test:11434"))
    agent = build_mesh_agent(model, tracer_provider=spans.provider)

    result = await agent.run("Which warehouses are full?")

    assert result.output == "Three warehouses are over capacity."
    assert json.loads(route.calls.last.request.content)["model"] == "llama3.1"
    assert (result.usage.input_tokens, result.usage.output_tokens) == (14, 6)
    (chat,) = spans.named("chat ")
    assert (chat.attributes or {})["gen_ai.provider.name"] == "ollama"


async def test_a_provider_of_another_api_is_reached_by_name(model_guard: ModelRequestGuard) -> None:
    """Anthropic by name: the same agent, litellm translates to the Messages API and back."""
    route = model_guard.http.post("https://api.anthropic.com/v1/messages").respond(
        json={
            "id": "msg_1",
            "type": "message",
            "role": "assistant",
            "model": "claude-sonnet-4-5",
            "content": [{"type": "text", "text": "Carbon budget is 82% used."}],
            "stop_reason": "end_turn",
            "usage": {"input_tokens": 17, "output_tokens": 7},
        }
    )
    config = ModelConfig(name="anthropic/claude-sonnet-4-5", api_key=SecretStr("sk-ant-test-key-0123456789"))
    model = build_model(config)
    assert isinstance(model, LiteLLMModel)
    assert model.system == "anthropic"

    result = await build_mesh_agent(model).run("Carbon budget?")

    assert result.output == "Carbon budget is 82% used."
    assert route.calls.last.request.headers["x-api-key"] == "sk-ant-test-key-0123456789"
    assert (result.usage.input_tokens, result.usage.output_tokens) == (17, 7)


@pytest.mark.parametrize(
    ("status", "error", "words"),
    [
        (401, ModelAuthError, "refused the credentials"),
        (403, ModelAuthError, "may not use this model"),
        (404, ModelRequestRefusedError, "unknown model, or a wrong base URL"),
        (400, ModelRequestRefusedError, "refused the request"),
        (429, ModelRateLimitedError, "rate limit or quota"),
        (500, ModelServiceError, "the provider failed"),
    ],
)
async def test_a_provider_failure_is_a_clear_error_naming_the_model_and_never_the_key(
    provider: ScriptedProvider, status: int, error: type[ModelProviderError], words: str
) -> None:
    provider.fail(status, f"Incorrect API key provided: {API_KEY}. Authorization: Bearer {API_KEY}")
    agent = build_mesh_agent(MODEL)

    with pytest.raises(error) as raised:
        await agent.run("Anything?")

    message = str(raised.value)
    assert message.startswith("model openai/gpt-4.1-mini: ")
    assert words in message
    assert API_KEY not in message
    assert API_KEY[:12] not in message
    assert (raised.value.model_name, raised.value.provider, raised.value.status_code) == (
        "openai/gpt-4.1-mini",
        "openai",
        status,
    )
    assert isinstance(raised.value, ModelError)


@pytest.mark.parametrize(
    ("failure", "error", "words"),
    [
        (httpx.ConnectError("connection refused"), ModelUnreachableError, f"cannot reach {PROVIDER}"),
        (httpx.ReadTimeout("timed out"), ModelCallTimeoutError, "no answer within 5 s"),
    ],
)
async def test_an_unreachable_or_silent_provider_is_a_clear_error(
    model_guard: ModelRequestGuard, failure: Exception, error: type[ModelProviderError], words: str
) -> None:
    model_guard.http.post(f"{PROVIDER}/chat/completions").mock(side_effect=failure)

    with pytest.raises(error, match=f"^model openai/gpt-4.1-mini: {words}"):
        await build_mesh_agent(MODEL).run("Anything?")


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("Incorrect API key provided: sk-proj-AbC123xyz987.", "Incorrect API key provided: [redacted]"),
        (
            "header Authorization: Bearer abc.def.ghi was refused",
            "header Authorization: Bearer [redacted] was",
        ),
        ('{"api_key": "k-123456789"}', '{"api_key": "[redacted]"}'),
        ("the key the-configured-secret leaked", "the key [key] leaked"),
    ],
)
def test_what_a_provider_says_is_shown_without_anything_resembling_a_key(text: str, shown: str) -> None:
    assert shown in redact(text, key="the-configured-secret")
