"""Agent Cards, generated from each agent's spec: identity, skills, capabilities, the interfaces it
answers on, and the JSON Schemas of its skills' inputs and outputs; the files in `capability_cards/`
are these cards with placeholder URLs."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from a2a.types import AgentCapabilities, AgentCard, AgentExtension, AgentInterface, AgentSkill
from a2a.utils.constants import PROTOCOL_VERSION_0_3, PROTOCOL_VERSION_1_0, TransportProtocol

from agents._answer import ANSWER_FORMAT, ASK_SKILL, Answer
from agents._proto import to_dict
from agents._skills import AgentSpec
from agents._wire import DATA_MEDIA_TYPE, SKILL_REQUEST_FORMAT, TEXT_MEDIA_TYPE, Problem, SkillRequest
from mesh.bus import agent_subject, nats_agent_interface

JSONRPC_PATH = "/a2a/jsonrpc"
REST_PATH = "/a2a/rest"
SKILL_SCHEMAS_EXTENSION = "urn:agentic-mesh:a2a:skill-schemas:v1"
"""Card extension whose params carry the request envelope, each skill's input and output JSON
Schemas, the problem report of failed or held tasks, and the data of a free-text answer."""
FILE_BASE_URL = "http://{host}:{port}"
"""The base URL the files in `capability_cards/` show: ports differ per run."""
CARDS_DIR = Path(__file__).resolve().parent.parent / "capability_cards"


def http_interfaces(base_url: str, protocol_version: str) -> list[AgentInterface]:
    base = base_url.rstrip("/")
    return [
        AgentInterface(
            url=f"{base}{JSONRPC_PATH}",
            protocol_binding=TransportProtocol.JSONRPC,
            protocol_version=protocol_version,
        ),
        AgentInterface(
            url=f"{base}{REST_PATH}",
            protocol_binding=TransportProtocol.HTTP_JSON,
            protocol_version=protocol_version,
        ),
    ]


def build_card(
    spec: AgentSpec, base_url: str, *, extra_interfaces: Sequence[AgentInterface] = ()
) -> AgentCard:
    """The agent's card (unsigned) for an agent answering at `base_url`.

    `supported_interfaces`, in order of preference: `extra_interfaces` (the hook for other
    bindings served by the same request handler, such as A2A over NATS, which the mesh's agents
    prefer; a client skips a binding it does not know), then JSON-RPC and REST (A2A 1.0), then
    JSON-RPC and REST again for A2A 0.3 clients (same endpoints, the SDK's compatibility mode).
    """
    return AgentCard(
        name=spec.name,
        description=spec.description,
        version=spec.version,
        supported_interfaces=[
            *extra_interfaces,
            *http_interfaces(base_url, PROTOCOL_VERSION_1_0),
            *http_interfaces(base_url, PROTOCOL_VERSION_0_3),
        ],
        capabilities=AgentCapabilities(
            streaming=True,
            push_notifications=False,
            extended_agent_card=False,
            extensions=[
                AgentExtension(
                    uri=SKILL_SCHEMAS_EXTENSION,
                    description=(
                        "Send one application/json DataPart {skill, input}; params.skills holds each "
                        "skill's input and output JSON Schema, params.problem the status data of failed "
                        "or held tasks. Or, to an agent with a model, send text only (skill ask): "
                        "params.answer is the DataPart beside the answer's text."
                    ),
                    required=False,
                    params=skill_schemas(spec),
                )
            ],
        ),
        default_input_modes=[DATA_MEDIA_TYPE, TEXT_MEDIA_TYPE],
        default_output_modes=[DATA_MEDIA_TYPE, TEXT_MEDIA_TYPE],
        skills=[
            AgentSkill(
                id=skill.id,
                name=skill.name,
                description=skill.description,
                tags=list(skill.tags),
                examples=list(skill.examples),
                input_modes=[DATA_MEDIA_TYPE],
                output_modes=[DATA_MEDIA_TYPE, TEXT_MEDIA_TYPE],
            )
            for skill in spec.skills
        ]
        + [ask_skill(spec)],
    )


def ask_skill(spec: AgentSpec) -> AgentSkill:
    """The card's entry for free-text questions, which need a model on the agent."""
    reads = sorted(d for d, scopes in spec.reaches.items() if any(s.endswith(":read") for s in scopes))
    skills = [skill.id for skill in spec.skills if not skill.acts]
    return AgentSkill(
        id=ASK_SKILL,
        name="Ask in plain text",
        description=(
            f"Answers a question in plain text about the {spec.domain} domain. A language model "
            f"answers it using only the agent's read-only skills ({', '.join(skills)}) and the read-only "
            f"tools of the {', '.join(reads)} data products, through the governance gateway; it never "
            "acts. The answer comes as text and as an application/json DataPart (format "
            f"{ANSWER_FORMAT}, schema in the skill-schemas extension's params.answer) listing the tool "
            "calls with their outcomes, their data, the decision id, the model and the prompt version. "
            "Needs a language model configured on the agent (MESH_MODEL): an agent without one refuses "
            "text-only messages (content type not supported, -32005)."
        ),
        tags=["question", "free-text", spec.domain],
        examples=list(spec.questions),
        input_modes=[TEXT_MEDIA_TYPE],
        output_modes=[TEXT_MEDIA_TYPE, DATA_MEDIA_TYPE],
    )


def skill_schemas(spec: AgentSpec) -> dict[str, Any]:
    return {
        "format": SKILL_REQUEST_FORMAT,
        "request": SkillRequest.model_json_schema(),
        "problem": Problem.model_json_schema(),
        "answer": Answer.model_json_schema(),
        "skills": {
            skill.id: {
                "acts": skill.acts,
                "input": skill.input_model.model_json_schema(),
                "output": skill.output_model.model_json_schema(),
            }
            for skill in spec.skills
        },
    }


def card_document(card: AgentCard) -> dict[str, Any]:
    """The card as A2A 1.0 JSON, without signatures, with the interface URLs' host and port
    replaced by placeholders and whole numbers shown as such (protobuf keeps every number a double)."""
    document = to_dict(card)
    document.pop("signatures", None)
    for interface in document.get("supportedInterfaces", []):
        interface["url"] = placeholder_url(interface["url"])
    for extension in document.get("capabilities", {}).get("extensions", []):
        if "params" in extension:  # a protobuf Struct: a map, whose order protobuf does not keep
            extension["params"] = _sorted_keys(extension["params"])
    tidy: dict[str, Any] = _whole_numbers(document)
    return tidy


def placeholder_url(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{{host}}:{{port}}{parts.path}" if parts.scheme and parts.netloc else url


def card_file(domain: str, directory: Path = CARDS_DIR) -> Path:
    return directory / f"{domain}.json"


FILE_NATS_URL = "nats://{host}:{port}"
"""The NATS server the files in `capability_cards/` show."""


def render_card_file(spec: AgentSpec) -> str:
    nats = nats_agent_interface(FILE_NATS_URL, agent_subject(spec.domain))
    card = build_card(spec, FILE_BASE_URL, extra_interfaces=[nats])
    return json.dumps(card_document(card), indent=2, ensure_ascii=False) + "\n"


def write_card_files(specs: Sequence[AgentSpec], directory: Path = CARDS_DIR) -> list[Path]:
    """Write `<domain>.json` for each agent; return the files whose content changed."""
    changed = []
    for spec in specs:
        path, text = card_file(spec.domain, directory), render_card_file(spec)
        if not path.exists() or path.read_text() != text:
            path.write_text(text)
            changed.append(path)
    return changed


def stale_card_files(specs: Sequence[AgentSpec], directory: Path = CARDS_DIR) -> list[Path]:
    """The card files that are missing or differ from what the code generates."""
    return [
        card_file(spec.domain, directory)
        for spec in specs
        if not card_file(spec.domain, directory).exists()
        or card_file(spec.domain, directory).read_text() != render_card_file(spec)
    ]


def _sorted_keys(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _sorted_keys(value[key]) for key in sorted(value)}
    if isinstance(value, list):
        return [_sorted_keys(item) for item in value]
    return value


def _whole_numbers(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {key: _whole_numbers(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_whole_numbers(item) for item in value]
    return value
