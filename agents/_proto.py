"""Protobuf JSON conversions for A2A types, in one place: protobuf ships no type stubs, so this is
the only module that imports it."""

from __future__ import annotations

from typing import Any, TypeVar

from a2a.types import AgentCard
from google.protobuf.json_format import MessageToDict, ParseDict  # type: ignore[import-untyped]

_Proto = TypeVar("_Proto")


def to_dict(message: Any) -> dict[str, Any]:
    """A protobuf message as its proto3 JSON object (camelCase names, defaults left out)."""
    document: dict[str, Any] = MessageToDict(message)
    return document


def from_dict(document: dict[str, Any], message: _Proto) -> _Proto:
    """Fill `message` from a proto3 JSON object (unknown fields are an error) and return it."""
    parsed: _Proto = ParseDict(document, message)
    return parsed


def card_from_dict(document: dict[str, Any]) -> AgentCard:
    return from_dict(document, AgentCard())
