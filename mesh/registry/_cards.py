"""Agent Cards as the registry handles them: JSON on the wire, checked for the announcing agent's
signature and identity, summarised and searched.

A card is taken only when, in this order: it is an Agent Card with the fields A2A requires
(`malformed`); it is signed (`unsigned`); a signature names the key pinned for the announcing
agent (`untrusted-key`) and verifies with it, ES256 only (`bad-signature`); and it names that
agent (`wrong-identity`): its name's first word is the agent id, case-insensitively ("Logistics
agent" for `logistics`), and an A2A-over-NATS interface it lists is on that agent's own subject.
Keys come only from the pinned set: a `jku` in a signature's header is never followed.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from typing import Any

from a2a.client.card_resolver import parse_agent_card
from a2a.types import AgentCard
from a2a.utils.errors import InvalidParamsError
from a2a.utils.proto_utils import validate_proto_required_fields
from a2a.utils.signing import InvalidSignaturesError, NoSignatureError, create_signature_verifier
from google.protobuf.json_format import MessageToDict  # type: ignore[import-untyped]
from joserfc.jwk import ECKey
from jwt.api_jwk import PyJWK
from jwt.exceptions import InvalidKeyError

from mesh.bus import NATS_BINDING_URI, InvalidInterfaceUrlError, agent_subject, subject_of
from mesh.registry._errors import AnnouncementRefusedError, RefusalReason
from mesh.registry._wire import CardSummary, InterfaceSummary, SkillSummary

CARD_ALGORITHM = "ES256"


def card_document(card: AgentCard | Mapping[str, Any]) -> dict[str, Any]:
    """The card as A2A 1.0 JSON (ProtoJSON: camelCase names); a mapping is deep-copied and must
    be plain JSON."""
    if isinstance(card, AgentCard):
        document: dict[str, Any] = MessageToDict(card)
        return document
    try:
        copied: dict[str, Any] = json.loads(json.dumps(dict(card)))
    except (TypeError, ValueError) as error:
        raise TypeError(f"the card is not plain JSON: {error}") from None
    return copied


def verify_agent_card(agent: str, document: Mapping[str, Any], key: ECKey | None) -> AgentCard:
    """The card, parsed, once it verifies as `agent`'s card with `key` (the public key pinned for
    `agent`; None when none is). Raises `AnnouncementRefusedError` naming the first check failed
    (see the module's docstring)."""
    try:
        card = parse_agent_card(copy.deepcopy(dict(document)))
        validate_proto_required_fields(card)
    except InvalidParamsError as error:
        missing = [e.get("field") for e in (error.data or {}).get("errors", [])]
        raise AnnouncementRefusedError(
            agent, RefusalReason.MALFORMED, f"the card lacks required fields {missing}"
        ) from None
    except Exception as error:  # protobuf's ParseError and friends
        raise AnnouncementRefusedError(
            agent, RefusalReason.MALFORMED, f"not an Agent Card: {error}"
        ) from None
    if not card.signatures:
        raise AnnouncementRefusedError(agent, RefusalReason.UNSIGNED, f"the card of {agent} is not signed")
    if key is None:
        raise AnnouncementRefusedError(agent, RefusalReason.UNTRUSTED_KEY, f"no key is pinned for {agent}")
    kids = {key.thumbprint(), *([key.kid] if key.kid else [])}
    public = PyJWK({**key.as_dict(private=False), "alg": CARD_ALGORITHM})
    named: list[str | None] = []

    def pinned(kid: str | None, _jku: str | None) -> PyJWK:  # a jku is never followed
        named.append(kid)
        if kid not in kids:
            raise InvalidKeyError(f"kid {kid!r} is not the key pinned for {agent}")
        return public

    try:
        create_signature_verifier(pinned, [CARD_ALGORITHM])(card)
    except NoSignatureError:
        raise AnnouncementRefusedError(agent, RefusalReason.UNSIGNED, "the card is not signed") from None
    except InvalidSignaturesError:
        if not any(kid in kids for kid in named):
            raise AnnouncementRefusedError(
                agent,
                RefusalReason.UNTRUSTED_KEY,
                f"the card is signed by {named}, not by the key pinned for {agent}",
            ) from None
        raise AnnouncementRefusedError(
            agent, RefusalReason.BAD_SIGNATURE, f"the signature by {agent}'s key does not verify"
        ) from None
    check_identity(agent, card)
    return card


def check_identity(agent: str, card: AgentCard) -> None:
    """Refuse (`wrong-identity`) a card that does not name `agent` (see the module's docstring)."""
    first_word = card.name.split(maxsplit=1)[0] if card.name.strip() else ""
    if first_word.casefold() != agent.casefold():
        raise AnnouncementRefusedError(
            agent,
            RefusalReason.WRONG_IDENTITY,
            f"the card is named {card.name!r}, whose first word is not the agent id {agent!r}",
        )
    own = agent_subject(agent)
    for interface in card.supported_interfaces:
        if interface.protocol_binding != NATS_BINDING_URI:
            continue
        try:
            subject = subject_of(interface.url)
        except InvalidInterfaceUrlError as error:
            raise AnnouncementRefusedError(agent, RefusalReason.MALFORMED, str(error)) from None
        if subject != own:
            raise AnnouncementRefusedError(
                agent,
                RefusalReason.WRONG_IDENTITY,
                f"the card lists NATS subject {subject!r}; {agent}'s is {own!r}",
            )


def summarise(card: AgentCard) -> CardSummary:
    interfaces = [
        InterfaceSummary(url=i.url, protocol_binding=i.protocol_binding, protocol_version=i.protocol_version)
        for i in card.supported_interfaces
    ]
    return CardSummary(
        name=card.name,
        description=card.description,
        version=card.version,
        url=interfaces[0].url if interfaces else None,
        skills=[
            SkillSummary(id=s.id, name=s.name, description=s.description, tags=list(s.tags))
            for s in card.skills
        ],
        interfaces=interfaces,
    )


def matches(
    summary: CardSummary, *, skill: str | None = None, tag: str | None = None, text: str | None = None
) -> bool:
    """Whether a card fits every filter given: `skill` a skill id (exact), `tag` a skill tag
    (case-insensitive), `text` a substring (case-insensitive) of the name, the description, or a
    skill's id, name, description or tag."""
    if skill is not None and skill not in {s.id for s in summary.skills}:
        return False
    if tag is not None and tag.casefold() not in {t.casefold() for s in summary.skills for t in s.tags}:
        return False
    if text is not None:
        needle = text.casefold()
        haystack = [
            summary.name,
            summary.description,
            *(part for s in summary.skills for part in (s.id, s.name, s.description, *s.tags)),
        ]
        if not any(needle in part.casefold() for part in haystack):
            return False
    return True
