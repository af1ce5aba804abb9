"""Grouping agents into clusters for hierarchical negotiation."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from mesh.negotiation._contract import IntentContract

ClusterKey = Callable[[IntentContract], str]
"""What an agent is grouped by, read from its most urgent intent: a region, a resource ..."""


def by_primary_resource(intent: IntentContract) -> str:
    """The first resource the intent uses (agents competing for one warehouse end up together),
    or its domain when it uses none."""
    uses = intent.uses
    return uses[0].resource if uses else f"domain:{intent.domain}"


def cluster_agents(intents: Iterable[IntentContract], key: ClusterKey, size: int) -> list[list[str]]:
    """Agents in clusters of at most `size`: agents with the same key together, groups packed in
    key order, a group larger than `size` split. Deterministic for the same intents."""
    most_urgent: dict[str, IntentContract] = {}
    for intent in intents:
        held = most_urgent.get(intent.agent)
        if held is None or (-intent.priority, intent.intent_id) < (-held.priority, held.intent_id):
            most_urgent[intent.agent] = intent
    groups: dict[str, list[str]] = {}
    for agent, intent in most_urgent.items():
        groups.setdefault(key(intent), []).append(agent)
    clusters: list[list[str]] = []
    current: list[str] = []
    for group_key in sorted(groups):
        members = sorted(groups[group_key])
        if current and len(current) + len(members) > size:
            clusters.append(current)
            current = []
        while len(members) > size:
            clusters.append(members[:size])
            members = members[size:]
        current.extend(members)
        if len(current) >= size:
            clusters.append(current)
            current = []
    if current:
        clusters.append(current)
    return clusters
