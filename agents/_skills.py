"""What an agent is made of: its skills (typed input, typed output, deterministic logic) and the
domains it reaches through the gateway; and how a message names a skill and its input, or asks a
question in plain text."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from a2a.helpers import get_data_parts, get_text_parts
from a2a.types import Message
from a2a.utils.errors import ContentTypeNotSupportedError, InvalidParamsError
from pydantic import ValidationError

from agents._answer import MAX_QUESTION_CHARS
from agents._mcp import GatewayTools, ToolSession
from agents._wire import DATA_MEDIA_TYPE, SkillInput, SkillOutput, SkillRequest

In = TypeVar("In", bound=SkillInput)
Out = TypeVar("Out", bound=SkillOutput)


@dataclass(frozen=True)
class Skill(Generic[In, Out]):
    """One skill: card metadata, the input and output models, and `run`, the domain logic.

    `run(session, input)` reads (and for acting skills acts) through `session` and returns the
    output, or raises `SkillFailed` or a `ToolCallError` (see `agents._executor.OUTCOMES`).
    `acts` marks skills that call an action tool, so policy may warn, hold or deny them.
    """

    id: str
    name: str
    description: str
    tags: tuple[str, ...]
    examples: tuple[str, ...]
    input_model: type[In]
    output_model: type[Out]
    run: Callable[[ToolSession, In], Awaitable[Out]]
    acts: bool = False

    def parse(self, data: Mapping[str, Any]) -> In:
        """The validated input; `InvalidParamsError` naming each bad field otherwise."""
        try:
            return self.input_model.model_validate(dict(data))
        except ValidationError as error:
            raise InvalidParamsError(
                message=f"invalid input for skill {self.id!r}: {_first_problem(error)}",
                data={
                    "reason": "invalid_input",
                    "skill": self.id,
                    "errors": [
                        {"field": ".".join(["input", *map(str, e["loc"])]), "message": e["msg"]}
                        for e in error.errors()
                    ],
                },
            ) from None


AnySkill = Skill[Any, Any]


@dataclass(frozen=True)
class AgentSpec:
    """One domain agent: who it is, its skills, and the scopes it asks for per domain it reaches.

    `reaches` must stay within what the `<domain>-agent` OAuth client may be granted
    (`mesh.gateway._clients.builtin_clients`); asking for more gets no token at all.
    """

    domain: str
    name: str
    description: str
    version: str
    skills: tuple[AnySkill, ...]
    reaches: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    proposer: Callable[[GatewayTools], Callable[[Any], Awaitable[Any]]] | None = None
    """Builds the agent's part in decision cycles (`agents._proposals`), when it proposes."""
    questions: tuple[str, ...] = ()
    """Example free-text questions, shown on the card's `ask` skill."""

    @property
    def client_id(self) -> str:
        return f"{self.domain}-agent"

    def skill(self, skill_id: str) -> AnySkill | None:
        return next((s for s in self.skills if s.id == skill_id), None)


def find_request(message: Message) -> SkillRequest | None:
    """The skill request in a message: its one DataPart holding an object with a `skill` key."""
    for data in get_data_parts(message.parts):
        if isinstance(data, dict) and "skill" in data:
            try:
                return SkillRequest.model_validate(data)
            except ValidationError as error:
                raise InvalidParamsError(
                    message=f"malformed skill request: {_first_problem(error)}",
                    data={
                        "reason": "malformed_request",
                        "errors": [
                            {"field": ".".join(map(str, e["loc"])) or "data", "message": e["msg"]}
                            for e in error.errors()
                        ],
                    },
                ) from None
    return None


@dataclass(frozen=True)
class Question:
    """A free-text request: the text of a message that names no skill."""

    text: str


def find_question(message: Message) -> Question | None:
    """The message's text parts, joined, when there is any text."""
    text = "\n".join(part.strip() for part in get_text_parts(message.parts) if part.strip())
    return Question(text) if text else None


def read_request(
    spec: AgentSpec, message: Message, *, answers_questions: bool
) -> tuple[AnySkill, SkillInput] | Question:
    """What a message asks for, or the A2A error the client gets:

    - a DataPart with a skill request: the skill and its validated input; a malformed envelope,
      an unknown skill id, or input that fails the skill's schema is `InvalidParamsError`
      (-32602) with `data.reason` `malformed_request`, `unknown_skill` or `invalid_input` and the
      offending fields in `data.errors`;
    - else, when the agent `answers_questions` (it has a model) and the message has text: the
      `Question`; longer than `MAX_QUESTION_CHARS` is `InvalidParamsError`, `question_too_long`;
    - else `ContentTypeNotSupportedError` (-32005), saying what the agent takes, and without a
      model that free text needs one and how to configure it.
    """
    request = find_request(message)
    if request is not None:
        return _skill_call(spec, request)
    question = find_question(message)
    if question is None or not answers_questions:
        raise _no_request(spec, answers_questions=answers_questions)
    if len(question.text) > MAX_QUESTION_CHARS:
        raise InvalidParamsError(
            message=(
                f"the question has {len(question.text)} characters; the {spec.domain} agent takes at "
                f"most {MAX_QUESTION_CHARS}"
            ),
            data={
                "reason": "question_too_long",
                "errors": [{"field": "parts", "message": f"at most {MAX_QUESTION_CHARS} characters of text"}],
            },
        )
    return question


def parse_request(spec: AgentSpec, message: Message) -> tuple[AnySkill, SkillInput]:
    """The skill a message asks for and its validated input, for an agent without a model (see
    `read_request`: a text-only message is `ContentTypeNotSupportedError`)."""
    request = read_request(spec, message, answers_questions=False)
    assert not isinstance(request, Question)  # read_request refuses questions without a model
    return request


def _no_request(spec: AgentSpec, *, answers_questions: bool) -> ContentTypeNotSupportedError:
    skills = [s.id for s in spec.skills]
    structured = (
        f"one {DATA_MEDIA_TYPE} DataPart " + '{"skill": <skill id>, "input": {...}} naming one of its '
        f"skills ({', '.join(skills)})"
    )
    if answers_questions:
        message = f"the {spec.domain} agent takes a question as text, or {structured}"
    else:
        message = (
            f"free-text requests need a model, and none is configured for the {spec.domain} agent: set "
            "MESH_MODEL to a litellm model name, e.g. openai/gpt-4.1-mini or ollama_chat/llama3.1 (see "
            f"docs/models.md); without a model it takes {structured}"
        )
    return ContentTypeNotSupportedError(
        message=message, data={"reason": "no_skill_request", "skills": skills}
    )


def _skill_call(spec: AgentSpec, request: SkillRequest) -> tuple[AnySkill, SkillInput]:
    skill = spec.skill(request.skill)
    if skill is None:
        known = [s.id for s in spec.skills]
        raise InvalidParamsError(
            message=f"unknown skill {request.skill!r}; the {spec.domain} agent's skills: {', '.join(known)}",
            data={
                "reason": "unknown_skill",
                "skill": request.skill,
                "skills": known,
                "errors": [{"field": "skill", "message": f"not one of {known}"}],
            },
        )
    return skill, skill.parse(request.input)


def _first_problem(error: ValidationError) -> str:
    first = error.errors()[0]
    where = ".".join(map(str, first["loc"]))
    return f"{where}: {first['msg']}" if where else first["msg"]
