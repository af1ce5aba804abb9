"""`ChatService.ask`: one operator question, one answer citing decision ids, one ledger record."""

from __future__ import annotations

import asyncio
import contextlib
import re
import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

from opentelemetry import trace
from opentelemetry.trace import TracerProvider
from pydantic import BaseModel

from mesh.assets import MODEL_SETTINGS_KEY, Assets, load_assets, model_settings_asset
from mesh.audit import AuditRecord, Caller, Ledger
from mesh.chat._answer import Answer, answer_deterministically
from mesh.chat._errors import QuestionError
from mesh.chat._parse import parse_question
from mesh.chat._records import OperatorRecords
from mesh.chat._tools import read_tools
from mesh.tracing import TRACER_NAME, current_trace_ids

if TYPE_CHECKING:  # pydantic-ai and the model layer load only when a model answers (seconds)
    from pydantic_ai.models import Model
    from pydantic_ai.usage import RunUsage

    from mesh.models import ModelConfig
    from mesh.settings import MeshSettings

MAX_QUESTION = 2000
"""Characters a question may have, after stripping."""
RECORDED_QUESTION = 500
"""Characters of the question the chat's audit record keeps."""
CHAT_AGENT = "operator-chat"
CHAT_ACTION = "chat/answer"
PROMPT_KEY = "prompt/operator-chat"
MODEL_REQUEST_LIMIT = 8
"""Model calls one question may take (tool calls and the answer)."""
NOT_ANSWERED = "the records do not answer this"

NO_MODEL_NOTE = (
    "No language model is configured (MESH_MODEL is empty): this answer comes from the "
    "deterministic path, which reads the records for the common question forms."
)
MODEL_NOT_ASKED_NOTE = (
    "Answered without the model, as asked: this answer comes from the deterministic path, which "
    "reads the records for the common question forms."
)

_BRACKETED = re.compile(r"\[([A-Za-z0-9][A-Za-z0-9._:-]{2,199})\]")
_BARE_ID = re.compile(r"\b[0-9a-f]{8}-h\d{3,}\.[A-Za-z0-9._:-]*[A-Za-z0-9]")

tracer = trace.get_tracer(TRACER_NAME)


class ChatAnswer(BaseModel):
    """What `POST /api/chat` answers."""

    answer: str
    citations: list[str]
    mode: Literal["model", "deterministic"]
    answered: bool
    note: str | None
    decision_id: str


def validated_question(question: object) -> str:
    """The question, stripped; `QuestionError` naming `question` when it is not 1..2000 characters."""
    if not isinstance(question, str):
        raise QuestionError("question", "must be a string")
    text = question.strip()
    if not text:
        raise QuestionError("question", "is empty; ask something, e.g. 'which escalations are pending?'")
    if len(text) > MAX_QUESTION:
        raise QuestionError("question", f"has {len(text)} characters; at most {MAX_QUESTION} are read")
    return text


class ChatService:
    """The operator chat over `records`.

    With a configured model (`model.configured`), a pydantic-ai agent answers with the read-only
    tools of `mesh.chat._tools` and the prompt asset `prompt/operator-chat`; every decision id it
    cites is checked against the ledger, and ids the ledger does not hold are dropped from the
    citations, marked in the text and named in the note. Its token use is recorded with
    `record_usage`. Without a model, or when the model fails, the deterministic path answers
    (`answer_deterministically`) and the note says why.

    Each answer is also appended to `ledger` (when given) as one record: action `chat/answer`,
    agent `operator-chat`, the operator as caller, the question (first 500 characters) and the
    citations as parameters, the prompt and model settings versions as assets.
    """

    def __init__(
        self,
        records: OperatorRecords,
        *,
        ledger: Ledger | None = None,
        model: ModelConfig | None = None,
        settings: MeshSettings | None = None,
        assets: Assets | None = None,
        tracer_provider: TracerProvider | None = None,
    ) -> None:
        self.records = records
        self.ledger = ledger
        self._config = model
        self._settings = settings
        self._assets = assets
        self._model: Model | None = None
        self._building = asyncio.Lock()
        self._tracer_provider = tracer_provider

    @property
    def model_configured(self) -> bool:
        """Whether a model answers (`model`, else `settings.model`, names one)."""
        if self._config is not None:
            return self._config.configured
        return self._settings is not None and bool(self._settings.model.strip())

    @property
    def config(self) -> ModelConfig:
        """The model's configuration (read from `settings` on first use)."""
        if self._config is None:
            from mesh.models import ModelConfig

            self._config = ModelConfig.from_settings(self._settings) if self._settings else ModelConfig()
        return self._config

    def _prompt_assets(self) -> Assets:
        if self._assets is None:
            self._assets = load_assets()
        return self._assets

    def _built_model(self) -> Model:
        """The model, built on first use and kept (building imports litellm: once per process)."""
        if self._model is None:
            from mesh.models import build_model

            self._model = build_model(self.config, feature="operator chat")
        return self._model

    async def ask(self, question: object, caller: Caller, *, use_model: bool = True) -> ChatAnswer:
        """Answer `question` for `caller`, by the model when one is configured and `use_model`,
        else by the deterministic path; `QuestionError` for a question that is not 1..2000
        characters. Never raises for what the model or the records do."""
        text = validated_question(question)
        chat_id = f"chat-{uuid.uuid4().hex[:16]}"
        with tracer.start_as_current_span("operator_chat", attributes={"mesh.decision_id": chat_id}):
            assets: dict[str, str] = {}
            if self.model_configured and use_model:
                answer, note, mode = await self._ask_model(text, chat_id, caller, assets)
            else:
                answer, note, mode = (
                    await answer_deterministically(self.records, parse_question(text)),
                    NO_MODEL_NOTE if not self.model_configured else MODEL_NOT_ASKED_NOTE,
                    "deterministic",
                )
            reply = ChatAnswer(
                answer=answer.text,
                citations=answer.citations,
                mode=mode,
                answered=answer.answered,
                note=note,
                decision_id=chat_id,
            )
            await self._record(reply, text, caller, assets)
        return reply

    async def warm(self) -> None:
        """Load the model layer and build the model in a worker thread, so that neither the first
        question nor the gateway's event loop waits seconds for it; a failure is left for the
        first question to report."""
        if not self.model_configured:
            return
        async with self._building:
            if self._model is None:
                with contextlib.suppress(Exception):
                    await asyncio.to_thread(self._built_model)

    async def _ask_model(
        self, text: str, chat_id: str, caller: Caller, assets: dict[str, str]
    ) -> tuple[Answer, str | None, Literal["model", "deterministic"]]:
        await self.warm()  # imports pydantic-ai and litellm off the event loop
        from pydantic_ai.usage import RunUsage, UsageLimits

        from mesh.models import build_mesh_agent

        usage = RunUsage()
        model: Model | None = None
        try:
            prompt = self._prompt_assets().prompt("operator-chat")
            assets.update(
                {PROMPT_KEY: prompt.version, MODEL_SETTINGS_KEY: model_settings_asset(self.config).version}
            )
            model = self._built_model()
            agent = build_mesh_agent(
                model,
                tools=read_tools(self.records),
                instructions=prompt.text,
                name=CHAT_AGENT,
                decision_id=chat_id,
                tracer_provider=self._tracer_provider,
            )
            result = await agent.run(
                text, usage=usage, usage_limits=UsageLimits(request_limit=MODEL_REQUEST_LIMIT)
            )
        except Exception as error:  # any failure of the model path falls back, saying why
            await self._usage(usage, chat_id, model, caller, failed=True)
            reason = _failure(error)
            fallback = await answer_deterministically(self.records, parse_question(text))
            return (
                fallback,
                f"The model failed ({reason}); this answer comes from the deterministic path instead.",
                "deterministic",
            )
        await self._usage(usage, chat_id, model, caller, failed=False)
        answer, flagged = self._checked(result.output.strip())
        note = None
        if flagged:
            note = (
                f"The model cited {len(flagged)} decision id(s) the ledger does not hold "
                f"({', '.join(flagged)}); they are marked in the answer and left out of the citations."
            )
        return answer, note, "model"

    def _checked(self, text: str) -> tuple[Answer, list[str]]:
        """The model's answer with its citations checked against the ledger."""
        cited = [*_BRACKETED.findall(text), *_BARE_ID.findall(text)]
        citations: list[str] = []
        flagged: list[str] = []
        for decision_id in dict.fromkeys(cited):
            if self.records.exists(decision_id):
                citations.append(decision_id)
            elif _looks_like_citation(decision_id):
                flagged.append(decision_id)
        for decision_id in flagged:
            text = text.replace(f"[{decision_id}]", f"[{decision_id}: not in the ledger]")
        answered = not text.lower().startswith(NOT_ANSWERED)
        return Answer(text, citations, answered), flagged

    async def _usage(
        self, usage: RunUsage, chat_id: str, model: Model | None, caller: Caller, *, failed: bool
    ) -> None:
        if self.ledger is None or model is None or usage.requests == 0:
            return
        from mesh.models import record_usage

        await record_usage(
            self.ledger,
            usage,
            decision_id=chat_id,
            model=model,
            agent=CHAT_AGENT,
            caller=caller,
            status="failed" if failed else "executed",
        )

    async def _record(self, reply: ChatAnswer, question: str, caller: Caller, assets: dict[str, str]) -> None:
        if self.ledger is None:
            return
        ids = current_trace_ids()
        record = AuditRecord(
            decision_id=reply.decision_id,
            occurred_at=datetime.now(UTC),
            agent=CHAT_AGENT,
            action=CHAT_ACTION,
            parameters={
                "question": question[:RECORDED_QUESTION],
                "citations": reply.citations,
                "mode": reply.mode,
                "answered": reply.answered,
            },
            execution_mode="autonomous",
            status="executed",
            outcome={"citations": float(len(reply.citations))},
            caller=caller,
            trace_id=ids.trace_id if ids else None,
            span_id=ids.span_id if ids else None,
            assets=assets or None,
        )
        await self.ledger.append(record)


def _looks_like_citation(token: str) -> bool:
    """Whether a bracketed token is meant as a decision id (not `[1]` or `[note]`)."""
    return any(c.isdigit() for c in token) and any(c in token for c in ".-:")


def _failure(error: BaseException) -> str:
    """Why the model path failed, without secrets: the model layer's messages carry none;
    pydantic-ai's run errors name what went wrong; anything else only by its type."""
    from pydantic_ai.exceptions import AgentRunError

    from mesh.models import ModelError

    if isinstance(error, ModelError | AgentRunError):
        message = str(error)
        return f"{type(error).__name__}: {message[:300]}"
    return type(error).__name__


def caller_of(subject: str, client_id: str | None, scopes: Any, act_chain: Any) -> Caller:
    """The audit `Caller` of a verified principal."""
    return Caller(subject=subject, client_id=client_id, scopes=sorted(scopes), act_chain=list(act_chain))
