"""The operator chat and the operator's read-only views of the records.

`OperatorRecords` reads decisions (with their provenance and spans), agent standings,
escalations, the agent directory and the catalog; it serves the gateway's operator API
(`/api/decisions`, `/api/standings`, `/api/chat`, mesh/gateway/_operator.py) and the chat's tools.
`ChatService.ask(question, caller)` answers with a model when one is configured (read-only tools,
citations checked against the ledger) and by the deterministic path otherwise; every answer is a
`chat/answer` record in the ledger. `mesh chat` asks the running mesh's gateway. See docs/chat.md.
"""

from mesh.chat._answer import CAN_ANSWER, Answer, answer_deterministically, explain
from mesh.chat._errors import ChatError, DecisionNotFoundError, QuestionError
from mesh.chat._parse import ParsedQuestion, parse_question
from mesh.chat._records import (
    NO_STANDINGS,
    CyclePosition,
    Decision,
    OperatorRecords,
    Standing,
    cycle_position,
)
from mesh.chat._service import (
    CHAT_ACTION,
    CHAT_AGENT,
    MAX_QUESTION,
    NO_MODEL_NOTE,
    ChatAnswer,
    ChatService,
    validated_question,
)
from mesh.chat._tools import read_tools

__all__ = [
    "CAN_ANSWER",
    "CHAT_ACTION",
    "CHAT_AGENT",
    "MAX_QUESTION",
    "NO_MODEL_NOTE",
    "NO_STANDINGS",
    "Answer",
    "ChatAnswer",
    "ChatError",
    "ChatService",
    "CyclePosition",
    "Decision",
    "DecisionNotFoundError",
    "OperatorRecords",
    "ParsedQuestion",
    "QuestionError",
    "Standing",
    "answer_deterministically",
    "cycle_position",
    "explain",
    "parse_question",
    "read_tools",
    "validated_question",
]
