"""Domain agents, one package per domain: an A2A 1.0 server (JSON-RPC and REST, 0.3 compatible)
whose skills take and return structured data, decide with deterministic domain logic, and read and
act only through the governance gateway with the agent's own credentials.

`python -m agents <domain>` runs one; `python -m agents cards` writes `capability_cards/`.
`agent_spec(domain)` is an agent's definition, `build_agent_app` builds it as an ASGI app,
`build_card` its Agent Card; `verify_card` checks a card's signature against pinned keys.

With a model, an agent also answers free-text questions (`agents._ask.FreeText`, kept out of this
package's imports because the model layer loads pydantic-ai): the answer is text with an `Answer`
beside it.
"""

from __future__ import annotations

import importlib

from agents._answer import (
    ANSWER_ARTIFACT,
    ANSWER_FORMAT,
    ASK_SKILL,
    TOOL_REFUSED_ACTION,
    Answer,
    TokenUse,
    ToolCall,
    ToolData,
)
from agents._cards import (
    FILE_BASE_URL,
    JSONRPC_PATH,
    REST_PATH,
    SKILL_SCHEMAS_EXTENSION,
    build_card,
    card_document,
    stale_card_files,
    write_card_files,
)
from agents._errors import (
    AgentConfigError,
    AgentError,
    CardError,
    CardKeyError,
    CardVerificationError,
    GatewayUnavailable,
    PolicyDenied,
    PolicyEscalated,
    SkillFailed,
    ToolCallError,
    ToolFailed,
)
from agents._executor import DECISION_METADATA, OUTCOMES, SkillExecutor, SkillRequestHandler, decision_id_for
from agents._mcp import GatewayTools, ToolSession
from agents._server import AgentApp, ProtocolBinding, build_agent_app
from agents._signing import (
    PinnedCardKeys,
    card_key_path,
    card_verifier,
    load_or_create_card_key,
    public_keys_dir,
    sign_card,
    verify_card,
)
from agents._skills import AgentSpec, Question, Skill, read_request
from agents._wire import Problem, SkillRequest
from mesh.settings import DOMAINS


def agent_spec(domain: str) -> AgentSpec:
    """One domain's agent; an unknown domain is a ValueError naming the known ones."""
    if domain not in DOMAINS:
        raise ValueError(f"unknown domain {domain!r}; known: {list(DOMAINS)}")
    spec: AgentSpec = importlib.import_module(f"agents.{domain}").SPEC
    return spec


def all_specs() -> list[AgentSpec]:
    return [agent_spec(domain) for domain in DOMAINS]


__all__ = [
    "ANSWER_ARTIFACT",
    "ANSWER_FORMAT",
    "ASK_SKILL",
    "DECISION_METADATA",
    "FILE_BASE_URL",
    "JSONRPC_PATH",
    "OUTCOMES",
    "REST_PATH",
    "SKILL_SCHEMAS_EXTENSION",
    "TOOL_REFUSED_ACTION",
    "AgentApp",
    "AgentConfigError",
    "AgentError",
    "AgentSpec",
    "Answer",
    "CardError",
    "CardKeyError",
    "CardVerificationError",
    "GatewayTools",
    "GatewayUnavailable",
    "PinnedCardKeys",
    "PolicyDenied",
    "PolicyEscalated",
    "Problem",
    "ProtocolBinding",
    "Question",
    "Skill",
    "SkillExecutor",
    "SkillFailed",
    "SkillRequest",
    "SkillRequestHandler",
    "TokenUse",
    "ToolCall",
    "ToolCallError",
    "ToolData",
    "ToolFailed",
    "ToolSession",
    "agent_spec",
    "all_specs",
    "build_agent_app",
    "build_card",
    "card_document",
    "card_key_path",
    "card_verifier",
    "decision_id_for",
    "load_or_create_card_key",
    "public_keys_dir",
    "read_request",
    "sign_card",
    "stale_card_files",
    "verify_card",
    "write_card_files",
]
