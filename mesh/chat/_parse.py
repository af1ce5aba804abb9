"""Reading the common question forms without a model: which form, and the facts it names.

The forms (see docs/chat.md): explain a decision, by its id or by agent, action verb, SKU,
warehouse, region and day or hour of the simulated week; list escalations (pending, or all); show
agents' credibility and autonomy; list an agent's recent decisions. Anything else is `unknown`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from mesh.chat._records import agent_name
from mesh.settings import DOMAINS

Form = Literal["explain", "escalations", "standings", "recent", "unknown"]

VERBS: dict[str, str] = {
    "reorder": "purchase_order",
    "re-order": "purchase_order",
    "reordered": "purchase_order",
    "order": "purchase_order",
    "ordered": "purchase_order",
    "purchase": "purchase_order",
    "purchased": "purchase_order",
    "buy": "purchase_order",
    "bought": "purchase_order",
    "po": "purchase_order",
    "replenish": "purchase_order",
    "replenished": "purchase_order",
    "transfer": "transfer",
    "transferred": "transfer",
    "move": "transfer",
    "moved": "transfer",
    "rebalance": "transfer",
    "rebalanced": "transfer",
    "ship": "shipment",
    "shipped": "shipment",
    "shipment": "shipment",
    "book": "shipment",
    "booked": "shipment",
    "reorders": "purchase_order",
    "orders": "purchase_order",
    "purchases": "purchase_order",
    "transfers": "transfer",
    "shipments": "shipment",
}
"""Action verbs and the decision type each names."""
STATUS_WORDS: dict[str, str] = {
    "escalate": "escalated",
    "escalated": "escalated",
    "deny": "denied",
    "denied": "denied",
    "refuse": "denied",
    "refused": "denied",
    "reject": "rejected",
    "rejected": "rejected",
    "fail": "failed",
    "failed": "failed",
}
REGION_WORDS = {
    "eu": "EU",
    "europe": "EU",
    "apac": "APAC",
    "asia": "APAC",
}

_WORD = re.compile(r"[a-z][a-z-]*")
_SKU = re.compile(r"\bsku[\s_-]?0*(\d{1,4})\b", re.IGNORECASE)
_WAREHOUSE = re.compile(r"\bwh-(na|eu|apac)-(\d+)\b", re.IGNORECASE)
_DAY = re.compile(r"\bday\s+(\d{1,4})\b", re.IGNORECASE)
_HOUR = re.compile(r"\bhour\s+(\d{1,5})\b", re.IGNORECASE)
_NORTH_AMERICA = re.compile(r"\bnorth[\s-]america\b|\bNA\b")
_ID_TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{5,199}")
_STRICT_ID = re.compile(
    r"^(?:[0-9a-f]{8}-h\d{3,}\.[A-Za-z0-9._:-]+|(?:chat|call|refresh|pins|esc)-[0-9a-f]{8,32})$"
)
_SKU_OR_WAREHOUSE = re.compile(r"^(?:SKU-\d+|WH-[A-Z]+-\d+|[A-Z]+-[A-Z]+)$", re.IGNORECASE)

_STANDING = ("credib", "autonomy", "trust", "standing", "quarantin", "strike", "reputation")
_ESCALATION = ("escalat", "held", "pending", "approval", "awaiting", "waiting")
_RECENT = ("recent", "latest", "last", "list", "show", "what did", "what has", "decisions")
_EXPLAIN = ("why", "explain", "what happened", "reason", "how come", "what led", "tell me about")


@dataclass
class ParsedQuestion:
    """What the deterministic path read in a question."""

    text: str
    form: Form = "unknown"
    id_tokens: list[str] = field(default_factory=list)
    """Tokens shaped like a decision id (checked against the ledger by the caller)."""
    strict_ids: list[str] = field(default_factory=list)
    """Tokens that can only be decision or escalation ids (`<run>-h<hour>.<...>`, `chat-<hex>` ...)."""
    agent: str | None = None
    action: str | None = None
    verb: str | None = None
    sku: str | None = None
    warehouse: str | None = None
    region: str | None = None
    day: int | None = None
    step: int | None = None
    status: str | None = None
    all_escalations: bool = False

    @property
    def has_filters(self) -> bool:
        return any(
            value is not None
            for value in (self.action, self.sku, self.warehouse, self.region, self.day, self.step)
        )

    def described(self) -> str:
        """The filters read, in words (`purchase order by agent:inventory of SKU-17 in EU on day 15`)."""
        name = {"purchase_order": "purchase order", "transfer": "transfer", "shipment": "shipment"}
        parts = [name.get(self.action, self.action) if self.action else "decision"]
        if self.agent:
            parts.append(f"by {self.agent}")
        if self.sku:
            parts.append(f"of {self.sku}")
        if self.warehouse:
            parts.append(f"at {self.warehouse}")
        if self.region:
            parts.append(f"in {self.region}")
        if self.day is not None:
            parts.append(f"on day {self.day}")
        if self.step is not None:
            parts.append(f"in hour {self.step}")
        if self.status:
            parts.append(f"that was {self.status}")
        return " ".join(parts)


def parse_question(text: str) -> ParsedQuestion:
    """Read the form and the facts of `text` (already validated)."""
    lowered = text.lower()
    words = _WORD.findall(lowered)
    parsed = ParsedQuestion(text=text)
    for token in _ID_TOKEN.findall(text):
        token = token.rstrip(".:-")
        if _SKU_OR_WAREHOUSE.match(token) or not any(c.isdigit() for c in token):
            continue
        if not any(c in token for c in ".-:_"):
            continue
        parsed.id_tokens.append(token)
        if _STRICT_ID.match(token):
            parsed.strict_ids.append(token)
    for word in words:
        if parsed.agent is None and (agent := agent_name(word)) is not None:
            parsed.agent = agent
        if parsed.action is None and word in VERBS:
            parsed.verb, parsed.action = word, VERBS[word]
        if parsed.status is None and word in STATUS_WORDS:
            parsed.status = STATUS_WORDS[word]
        if parsed.region is None and word in REGION_WORDS:
            parsed.region = REGION_WORDS[word]
    if "agent:" in lowered and parsed.agent is None:
        for domain in DOMAINS:
            if f"agent:{domain}" in lowered:
                parsed.agent = f"agent:{domain}"
    if (sku := _SKU.search(text)) is not None:
        parsed.sku = f"SKU-{int(sku[1]):02d}"
    if (warehouse := _WAREHOUSE.search(text)) is not None:
        parsed.warehouse = f"WH-{warehouse[1].upper()}-{int(warehouse[2])}"
        parsed.region = parsed.region or warehouse[1].upper()
    if parsed.region is None and _NORTH_AMERICA.search(text):
        parsed.region = "NA"
    if (day := _DAY.search(text)) is not None:
        parsed.day = int(day[1])
    if (hour := _HOUR.search(text)) is not None:
        parsed.step = int(hour[1])
    parsed.all_escalations = bool(re.search(r"\b(all|every|any|history|ever)\b", lowered))
    parsed.form = _form(parsed, lowered)
    return parsed


def _form(parsed: ParsedQuestion, lowered: str) -> Form:
    if parsed.id_tokens:
        return "explain"
    if any(stem in lowered for stem in _STANDING):
        return "standings"
    if parsed.has_filters and (any(stem in lowered for stem in _EXPLAIN) or parsed.action or parsed.sku):
        return "explain"
    if any(stem in lowered for stem in _ESCALATION):
        return "escalations"
    if any(stem in lowered for stem in _RECENT) and (parsed.agent or "decision" in lowered):
        return "recent"
    if parsed.has_filters:
        return "explain"
    return "unknown"
