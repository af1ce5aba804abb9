"""The one settings object, read only at the entry point.

Values come from, highest first: explicit keyword arguments, `MESH_*` environment variables,
an optional TOML file (`MESH_CONFIG` or `--config`), then the defaults below.
"""

from __future__ import annotations

import json
import os
from contextvars import ContextVar
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

DOMAINS: tuple[str, ...] = ("demand", "inventory", "logistics", "sustainability", "procurement")
REGIONS: tuple[str, ...] = ("NA", "EU", "APAC")

_config_file: ContextVar[Path | None] = ContextVar("mesh_config_file", default=None)

Port = Annotated[int, Field(ge=0, le=65535)]


class Scenario(StrEnum):
    STABLE = "stable"
    VOLATILE = "volatile"
    DISRUPTION = "disruption"


ReviewRule = Literal["credible", "approve", "deny"]
"""How the auto-reviewer of unattended runs decides escalations (`mesh.coordinator.AutoReviewer`)."""
REVIEW_RULES: tuple[ReviewRule, ...] = ("credible", "approve", "deny")


class MeshSettings(BaseSettings):
    """Everything `mesh` reads from its environment. Ports of 0 mean "pick a free one"."""

    model_config = SettingsConfigDict(env_prefix="MESH_", extra="forbid", frozen=True)

    data_dir: Path = Field(default=Path(".mesh"), description="where stores, keys and run state live")
    seed: int = Field(default=7, description="seed of the synthetic supply-chain world")
    scenario: Scenario = Field(default=Scenario.VOLATILE, description="stable, volatile or disruption")
    world_overlay: Path | None = Field(
        default=None, description="JSON file of row patches to the synthetic world (evals, what-if runs)"
    )
    host: str = Field(default="127.0.0.1", description="address every component binds to")
    nats_port: Port = 0
    nats_monitor_port: Port = 0
    mcp_ports: dict[str, Port] = Field(
        default_factory=dict, description="fixed port per domain MCP server, for example {demand = 8101}"
    )
    agent_ports: dict[str, Port] = Field(
        default_factory=dict, description="fixed port per domain agent (A2A), for example {demand = 8201}"
    )
    gateway_port: Port = Field(default=0, description="the governance gateway's port (0: a free one)")
    oauth_issuer: str | None = Field(
        default=None, description="issuer URL; default: the gateway's own embedded authorization server"
    )
    oauth_jwks_url: str | None = Field(
        default=None, description="JWKS of an external OIDC provider (with oauth_issuer): no embedded server"
    )
    oauth_algorithms: list[str] = Field(default_factory=lambda: ["ES256"])
    oauth_token_lifetime: float = Field(default=300.0, gt=0, le=3600, description="access token lifetime, s")
    oauth_leeway: float = Field(default=30.0, ge=0, le=300, description="clock skew allowed on exp/nbf, s")
    rate_per_client: float = Field(default=200.0, gt=0, description="gateway calls per second per client")
    rate_burst_per_client: int = Field(default=400, ge=1)
    rate_per_tool: float = Field(default=50.0, gt=0, description="calls per second per client and tool")
    rate_burst_per_tool: int = Field(default=100, ge=1)
    escalation_ttl: float = Field(default=900.0, gt=0, description="seconds an escalation waits for a human")
    reviewer: ReviewRule = Field(
        default="credible", description="how `mesh demo`'s auto-reviewer decides escalations"
    )
    start_timeout: float = Field(
        default=30.0, gt=0, description="seconds a component may take to become ready"
    )
    stop_timeout: float = Field(default=10.0, gt=0, description="seconds between SIGTERM and SIGKILL on stop")
    log_level: str = Field(default="INFO")
    audit_backend: Literal["sqlite", "postgres"] = Field(
        default="sqlite", description="sqlite (embedded, under data_dir) or postgres (audit_dsn)"
    )
    audit_dsn: SecretStr | None = Field(
        default=None, description="PostgreSQL connection string for the postgres audit backend"
    )

    otlp_endpoint: str | None = Field(
        default=None, description="OTLP/HTTP collector base URL (Jaeger, Tempo), e.g. http://collector:4318"
    )
    local_traces: bool = Field(default=True, description="keep spans in data_dir/traces for `mesh trace`")

    # --- models (mesh.models, docs/models.md) ---
    model: str = Field(
        default="", description="litellm model name, e.g. openai/gpt-4.1-mini or ollama/llama3.1; empty: none"
    )
    model_base_url: str | None = Field(
        default=None, description="base URL of an OpenAI-compatible server (Ollama, vLLM, llama.cpp)"
    )
    model_api_key: SecretStr | None = Field(
        default=None, description="the provider's API key; default: its usual variable, e.g. OPENAI_API_KEY"
    )
    model_timeout: float = Field(default=60.0, gt=0, description="seconds one model call may take")
    model_max_tokens: int | None = Field(default=None, ge=1, description="most output tokens per model call")
    model_temperature: float | None = Field(default=None, ge=0, le=2)
    # --- end models ---

    @model_validator(mode="after")
    def _postgres_needs_a_dsn(self) -> MeshSettings:
        if self.audit_backend == "postgres" and self.audit_dsn is None:
            raise ValueError("audit_backend 'postgres' needs audit_dsn (MESH_AUDIT_DSN)")
        return self

    @field_validator("mcp_ports", "agent_ports")
    @classmethod
    def _known_domains(cls, ports: dict[str, int]) -> dict[str, int]:
        unknown = sorted(set(ports) - set(DOMAINS))
        if unknown:
            raise ValueError(f"unknown domain(s) {unknown}; known: {list(DOMAINS)}")
        return ports

    @field_validator("host")
    @classmethod
    def _loopback_by_default(cls, host: str) -> str:
        if not host:
            raise ValueError("host must not be empty")
        return host

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        config_file = _config_file.get() or os.environ.get("MESH_CONFIG")
        if config_file:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=_existing(Path(config_file))))
        return tuple(sources)

    @property
    def run_dir(self) -> Path:
        return self.data_dir / "run"

    @property
    def state_file(self) -> Path:
        return self.run_dir / "state.json"

    @property
    def audit_path(self) -> Path:
        return self.data_dir / "audit" / "ledger.sqlite"

    @property
    def span_store(self) -> Path:
        return self.data_dir / "traces" / "spans.sqlite"

    def component_environment(self) -> dict[str, str]:
        """The settings a component process reads at its own entry point, as MESH_* variables."""
        environment = {
            "MESH_DATA_DIR": str(self.data_dir.resolve()),
            "MESH_SEED": str(self.seed),
            "MESH_SCENARIO": self.scenario.value,
            **({"MESH_WORLD_OVERLAY": str(self.world_overlay.resolve())} if self.world_overlay else {}),
            "MESH_HOST": self.host,
            "MESH_LOG_LEVEL": self.log_level,
            "MESH_AUDIT_BACKEND": self.audit_backend,
            "MESH_LOCAL_TRACES": "true" if self.local_traces else "false",
        }
        if self.audit_dsn is not None:
            environment["MESH_AUDIT_DSN"] = self.audit_dsn.get_secret_value()
        if self.otlp_endpoint is not None:
            environment["MESH_OTLP_ENDPOINT"] = self.otlp_endpoint
        # --- models ---
        for name in ("model", "model_base_url", "model_timeout", "model_max_tokens", "model_temperature"):
            value = getattr(self, name)
            if value is not None and value != "":
                environment[f"MESH_{name.upper()}"] = str(value)
        if self.model_api_key is not None:
            environment["MESH_MODEL_API_KEY"] = self.model_api_key.get_secret_value()
        # --- end models ---
        for name in ("oauth_issuer", "oauth_jwks_url"):
            value = getattr(self, name)
            if value is not None:
                environment[f"MESH_{name.upper()}"] = value
        environment["MESH_OAUTH_ALGORITHMS"] = json.dumps(self.oauth_algorithms)
        environment["MESH_OAUTH_TOKEN_LIFETIME"] = str(self.oauth_token_lifetime)
        environment["MESH_OAUTH_LEEWAY"] = str(self.oauth_leeway)
        environment["MESH_ESCALATION_TTL"] = str(self.escalation_ttl)
        for name in ("rate_per_client", "rate_burst_per_client", "rate_per_tool", "rate_burst_per_tool"):
            environment[f"MESH_{name.upper()}"] = str(getattr(self, name))
        return environment

    @property
    def oauth_clients_file(self) -> Path:
        return self.key_dir / "oauth-clients.json"

    @property
    def gateway_dir(self) -> Path:
        return self.data_dir / "gateway"

    @property
    def key_dir(self) -> Path:
        return self.data_dir / "keys"

    def domain_dir(self, domain: str) -> Path:
        return self.data_dir / "domains" / domain


def _existing(path: Path) -> Path:
    if not path.is_file():
        raise FileNotFoundError(f"config file {path} does not exist or is not a file")
    return path


def load_settings(config_file: Path | None = None, **overrides: Any) -> MeshSettings:
    """Build the settings at an entry point; `config_file` wins over `MESH_CONFIG`."""
    token = _config_file.set(config_file)
    try:
        return MeshSettings(**{k: v for k, v in overrides.items() if v is not None})
    finally:
        _config_file.reset(token)
