"""Configuration of the model layer, and what happens without a model."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import SecretStr, ValidationError

from mesh.models import ModelConfig, ModelConfigError, ModelNotConfiguredError, build_mesh_agent, build_model
from mesh.settings import MeshSettings

REPO = Path(__file__).resolve().parents[2]


def test_without_a_model_what_needs_one_says_so_plainly() -> None:
    with pytest.raises(ModelNotConfiguredError) as raised:
        build_model(ModelConfig(), feature="operator chat")
    message = str(raised.value)
    assert message.startswith("operator chat needs a language model, and no model is configured")
    assert "MESH_MODEL" in message
    assert "docs/models.md" in message


def test_an_agent_without_a_model_is_refused_naming_the_feature() -> None:
    with pytest.raises(ModelNotConfiguredError, match=r"^free-text requests needs a language model"):
        build_mesh_agent(ModelConfig(name="  "), feature="free-text requests")


def test_the_model_layer_imports_without_litellm_until_a_model_is_built() -> None:
    """Everything that needs no model runs without paying for litellm's import (seconds)."""
    probe = "import sys, mesh.models; print('litellm' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.strip() == "False"


def test_settings_read_the_model_from_mesh_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MESH_MODEL", "ollama/llama3.1")
    monkeypatch.setenv("MESH_MODEL_BASE_URL", "http://127.0.0.1:11434/")
    monkeypatch.setenv("MESH_MODEL_API_KEY", "sk-never-shown-123456")
    monkeypatch.setenv("MESH_MODEL_TIMEOUT", "12.5")
    monkeypatch.setenv("MESH_MODEL_MAX_TOKENS", "512")
    monkeypatch.setenv("MESH_MODEL_TEMPERATURE", "0.2")
    settings = MeshSettings()
    config = ModelConfig.from_settings(settings)

    assert (config.name, config.base_url, config.timeout, config.max_tokens, config.temperature) == (
        "ollama/llama3.1",
        "http://127.0.0.1:11434",
        12.5,
        512,
        0.2,
    )
    assert config.api_key is not None
    assert config.api_key.get_secret_value() == "sk-never-shown-123456"
    assert "sk-never-shown" not in repr(settings) + repr(config) + str(config)


def test_components_get_the_model_settings_in_their_environment() -> None:
    settings = MeshSettings(model="openai/gpt-4.1-mini", model_api_key=SecretStr("sk-for-the-agents-1234"))
    environment = settings.component_environment()
    assert environment["MESH_MODEL"] == "openai/gpt-4.1-mini"
    assert environment["MESH_MODEL_API_KEY"] == "sk-for-the-agents-1234"
    assert "MESH_MODEL_BASE_URL" not in environment
    assert "MESH_MODEL" not in MeshSettings().component_environment()


@pytest.mark.parametrize(
    "url", ["localhost:11434", "ftp://models.example", "http://user:secret@models.example"]
)
def test_a_base_url_must_be_an_absolute_http_url_without_credentials(url: str) -> None:
    with pytest.raises(ValidationError, match="base_url"):
        ModelConfig(name="openai/gpt-4.1-mini", base_url=url)


def test_a_model_name_litellm_routes_nowhere_is_refused_when_the_model_is_built() -> None:
    with pytest.raises(ModelConfigError, match="routes this name to no provider"):
        build_model(ModelConfig(name="no-such-provider-model-xyz"))
