"""What the model layer is told: which model, where, with which key and limits."""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

if TYPE_CHECKING:
    from mesh.settings import MeshSettings


class ModelConfig(BaseModel):
    """One model, by its litellm name (`openai/gpt-4.1-mini`, `anthropic/claude-sonnet-4-5`,
    `ollama/llama3.1`); an empty name means no model is configured.

    `base_url` points litellm at an OpenAI-compatible server (Ollama, vLLM, llama.cpp) or a
    provider's non-default endpoint. Without `api_key`, litellm reads the provider's usual
    variable (`OPENAI_API_KEY`, `ANTHROPIC_API_KEY`, ...). The key is never logged or shown.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = ""
    base_url: str | None = None
    api_key: SecretStr | None = None
    timeout: float = Field(default=60.0, gt=0)
    max_tokens: int | None = Field(default=None, ge=1)
    temperature: float | None = Field(default=None, ge=0, le=2)

    @classmethod
    def from_settings(cls, settings: MeshSettings) -> ModelConfig:
        return cls(
            name=settings.model,
            base_url=settings.model_base_url,
            api_key=settings.model_api_key,
            timeout=settings.model_timeout,
            max_tokens=settings.model_max_tokens,
            temperature=settings.model_temperature,
        )

    @property
    def configured(self) -> bool:
        return bool(self.name)

    @field_validator("name")
    @classmethod
    def _stripped(cls, name: str) -> str:
        return name.strip()

    @field_validator("base_url")
    @classmethod
    def _absolute_http_url(cls, url: str | None) -> str | None:
        if url is None or not url.strip():
            return None
        parts = urlsplit(url.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"base URL {url!r} is not an absolute http(s) URL, e.g. http://localhost:11434")
        if parts.username or parts.password:
            raise ValueError("put the key in MESH_MODEL_API_KEY, not in the base URL")
        return url.strip().rstrip("/")
