"""Aggregation, feasibility check and conflict resolution: pure functions of intents and capacities."""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from mesh.audit import NegotiationStep
from mesh.negotiation._cluster import ClusterKey, cluster_agents
from mesh.negotiation._contract import IntentContract
from mesh.negotiation._ladder import Stance, build_ladder
from mesh.negotiation._outcome import Conflict

COORDINATOR = "coordinator"
"""The `agent` of trace steps that no agent made (conflicts found by the coordinator)."""


def _step(round_number: int, agent: str, move: str, detail: dict[str, Any]) -> NegotiationStep:
    return NegotiationStep(round=round_number, agent=agent, move=move, detail=detail)


def fits(demand: float, capacity: float) -> bool:
    return demand <= capacity + 1e-9 * max(1.0, capacity)


@dataclass(slots=True)
class Party:
    """One intent at the table, at some stance of its ladder."""

    intent: IntentContract
    ladder: list[Stance]
    position: int = 0
    cluster: int = 0

    @property
    def agent(self) -> str:
        return self.intent.agent

    @property
    def stance(self) -> Stance:
        return self.ladder[self.position]

    def relief(self, resource: str, needed: float) -> tuple[int, float] | None:
        """The first later stance that frees `needed` of `resource`, else the first that frees
        the most; None when no later stance frees any."""
        current = self.stance.demand.get(resource, 0.0)
        best: tuple[int, float] | None = None
        for position in range(self.position + 1, len(self.ladder)):
            relief = current - self.ladder[position].demand.get(resource, 0.0)
            if relief >= needed - 1e-9 * max(1.0, needed):
                return position, relief
            if relief > 1e-12 and (best is None or relief > best[1]):
                best = position, relief
        return best

    def touches(self, resources: Mapping[str, object]) -> bool:
        return any(r in resources for stance in self.ladder for r in stance.demand)

    def step_cost(self, position: int) -> float:
        return self.ladder[position].utility_cost - self.stance.utility_cost


@dataclass(slots=True)
class Resolution:
    """Where every intent ended, which were admitted, and how it went."""

    hierarchy: Literal["flat", "hierarchical"]
    clusters: int
    agents: int
    constraints: int
    round_bound: int
    rounds_used: int
    stances: dict[str, Stance]
    admitted: set[str]
    left_out: dict[str, str]
    conflicts: list[Conflict]
    trace: list[NegotiationStep]
    timings_ms: dict[str, float] = field(default_factory=dict)


@dataclass(slots=True)
class _Record:
    """What all the tables of one cycle share: the (agent, resource) pairs spent, the trace,
    the rounds used, and the demand each conflict was first found at."""

    spent: set[tuple[str, str]] = field(default_factory=set)
    trace: list[NegotiationStep] = field(default_factory=list)
    rounds: int = 0
    first_found: dict[str, float] = field(default_factory=dict)


class _Table:
    """Some parties negotiating against some capacities: the demand they make of each resource,
    and which of them could draw on it at any stance."""

    def __init__(
        self,
        parties: Sequence[Party],
        capacity: Mapping[str, float],
        record: _Record,
        *,
        level: int | None = None,
    ) -> None:
        self.parties = parties
        self.capacity = capacity
        self.record = record
        self.level = level
        self.demand: dict[str, float] = dict.fromkeys(capacity, 0.0)
        self.claimants: dict[str, list[Party]] = {resource: [] for resource in capacity}
        for party in parties:
            for resource, amount in party.stance.demand.items():
                self.demand[resource] += amount
            for resource in {r for stance in party.ladder for r in stance.demand}:
                self.claimants[resource].append(party)

    def over(self) -> list[str]:
        """The over-subscribed resources, most over first (by share of capacity, then name);
        at the whole-cycle level (not a cluster's share) each is noted as a conflict."""
        capacity = self.capacity
        over = [r for r, d in self.demand.items() if not fits(d, capacity[r])]
        if self.level != 1:
            for resource in over:
                if resource not in self.record.first_found:
                    self._found(resource)
        return sorted(over, key=lambda r: (-(self.demand[r] - capacity[r]) / max(capacity[r], 1e-9), r))

    def _found(self, resource: str) -> None:
        demand = self.demand[resource]
        self.record.first_found[resource] = demand
        self.record.trace.append(
            _step(
                self.record.rounds,
                COORDINATOR,
                "conflict",
                {
                    "resource": resource,
                    "demand": round(demand, 6),
                    "capacity": self.capacity[resource],
                    "intent_ids": [p.intent.intent_id for p in self.parties if resource in p.stance.demand],
                },
            )
        )

    def move(self, party: Party, position: int) -> None:
        for resource, amount in party.stance.demand.items():
            self.demand[resource] -= amount
        party.position = position
        for resource, amount in party.stance.demand.items():
            self.demand[resource] += amount

    def negotiate(self) -> int:
        """Counter-proposal rounds among the table's parties against its capacities until no
        resource is over-subscribed or no concession is left; returns the rounds it used.

        Contract (the negotiation round):

        - A round picks the most over-subscribed resource (by share of capacity over, then name)
          for which some agent can still concede, and among the agents that can, the one whose
          conceding intent has the lowest priority, then the cheapest next step in utility, then
          the agent id. That agent concedes on that resource: its intents on it, lowest priority
          first, each move to the first later stance of its ladder that frees what is still
          over (or, failing that, the one that frees the most), until the excess is gone or its
          intents have nothing more to give on that resource.
        - Each (agent, resource) pair concedes in at most one round of a cycle (the spent pairs
          are shared by every table of the cycle, both levels of a hierarchical one). Hence the
          number of rounds is at most agents x constraints, whatever the ladders, and the loop
          terminates: the paper's bound. Stances only ever move forward.
        - Nothing is awaited: a round is a pure function of the table, so the outcome is the same
          for the same intents and capacities, in any process. Concurrency is the caller's: one
          table per cycle, used by one task.
        - Not guaranteed here: feasibility. What is still over-subscribed when no pair can
          concede is settled by admission (`_admit`), which leaves intents out.
        """
        capacity, record, level = self.capacity, self.record, self.level
        used = 0
        while True:
            chosen: tuple[str, str, list[Party]] | None = None
            for resource in self.over():
                excess = self.demand[resource] - capacity[resource]
                offer = self._offer(resource, excess, self.claimants[resource])
                if offer is not None:
                    chosen = resource, offer[0], offer[1]
                    break
            if chosen is None:
                return used
            resource, agent, conceding = chosen
            used += 1
            record.rounds += 1
            record.spent.add((agent, resource))
            excess = self.demand[resource] - capacity[resource]
            for party in conceding:
                target = party.relief(resource, excess)
                if target is None:
                    continue
                position, relief = target
                before = party.stance
                self.move(party, position)
                excess -= relief
                detail: dict[str, Any] = {
                    "intent_id": party.intent.intent_id,
                    "resource": resource,
                    "relief": round(relief, 6),
                    "moves": list(party.stance.moves[len(before.moves) :]),
                    "version": party.intent.version + 1,
                    "utility_cost": round(party.stance.utility_cost, 6),
                }
                if level is not None:
                    detail |= {"level": level, "cluster": party.cluster}
                    if level == 2:
                        detail["representative"] = f"cluster-{party.cluster}"
                record.trace.append(_step(record.rounds, agent, "counter", detail))
                if fits(self.demand[resource], capacity[resource]):
                    break

    def _offer(self, resource: str, excess: float, claimants: list[Party]) -> tuple[str, list[Party]] | None:
        by_agent: dict[str, list[tuple[float, float, str, Party]]] = {}
        for party in claimants:
            if (party.agent, resource) in self.record.spent:
                continue
            target = party.relief(resource, excess)
            if target is None:
                continue
            cost = party.step_cost(target[0])
            by_agent.setdefault(party.agent, []).append(
                (party.intent.priority, cost, party.intent.intent_id, party)
            )
        if not by_agent:
            return None
        agent = min(by_agent, key=lambda a: (min(entry[:2] for entry in by_agent[a]), a))
        conceding = sorted(by_agent[agent], key=lambda entry: entry[:3])
        return agent, [entry[3] for entry in conceding]


def _admit(parties: Sequence[Party], capacity: Mapping[str, float]) -> tuple[set[str], dict[str, str]]:
    """Admit intents most urgent first while every resource they draw on still fits; the rest
    are left out, with the resources they did not fit on. Whatever is admitted is feasible."""
    admitted: set[str] = set()
    left_out: dict[str, str] = {}
    taken: dict[str, float] = {}
    for party in sorted(parties, key=lambda p: (-p.intent.priority, p.intent.created_at, p.intent.intent_id)):
        demand = party.stance.demand
        short = sorted(r for r, amount in demand.items() if not fits(taken.get(r, 0.0) + amount, capacity[r]))
        if short:
            left_out[party.intent.intent_id] = "still infeasible after negotiation on " + ", ".join(
                f"{r} ({taken.get(r, 0.0) + demand[r]:g} > {capacity[r]:g})" for r in short
            )
            continue
        admitted.add(party.intent.intent_id)
        for resource, amount in demand.items():
            taken[resource] = taken.get(resource, 0.0) + amount
    return admitted, left_out


def _local_capacities(
    parties: Sequence[Party], capacity: Mapping[str, float], clusters: int
) -> list[dict[str, float]]:
    """Each cluster's capacities for level 1: a resource only its own members can draw on keeps
    its capacity; one that members of other clusters draw on too is left to level 2 (unbounded
    here, so that no cluster concedes on it without seeing the others' demand)."""
    claimed_by: dict[str, set[int]] = {}
    for party in parties:
        for resource in {r for stance in party.ladder for r in stance.demand}:
            claimed_by.setdefault(resource, set()).add(party.cluster)
    return [
        {r: capacity[r] if claimed_by.get(r, {k}) == {k} else math.inf for r in capacity}
        for k in range(clusters)
    ]


def resolve(
    intents: Sequence[IntentContract],
    capacity: Mapping[str, float],
    *,
    ladders: Mapping[str, list[Stance]] | None = None,
    hierarchical: bool,
    cluster_size: int,
    cluster_key: ClusterKey,
    unresolved_move: Literal["escalate", "drop"],
) -> Resolution:
    """Aggregate, check feasibility and resolve conflicts among `intents` (every resource they
    use must be in `capacity`); `ladders` by intent id, when already built.

    Flat: one table. Hierarchical: agents are clustered (`cluster_agents`); each cluster first
    settles alone the conflicts on resources only its members use (level 1), then the clusters'
    representatives settle what is still over-subscribed, the resources clusters share above all,
    against the whole capacity (level 2), each offering its cheapest member's concession; both
    levels spend the same (agent, resource) pairs, so the bound agents x constraints holds for
    the whole cycle. Either way, admission
    then leaves out what still does not fit: the admitted set is always feasible.
    """
    began = time.perf_counter()
    ladders = ladders or {}
    parties = [Party(intent, ladders.get(intent.intent_id) or build_ladder(intent)) for intent in intents]
    agents = {party.agent for party in parties}
    scoped = {
        r: capacity[r] for r in sorted({r for p in parties for stance in p.ladder for r in stance.demand})
    }
    record = _Record()
    table = _Table(parties, scoped, record)
    aggregated = time.perf_counter()

    contested = table.over()
    checked = time.perf_counter()

    clusters = 1
    if hierarchical and contested:
        groups = cluster_agents(intents, cluster_key, cluster_size)
        clusters = len(groups)
        cluster_of = {agent: k for k, group in enumerate(groups) for agent in group}
        for party in parties:
            party.cluster = cluster_of[party.agent]
        local = _local_capacities(parties, scoped, clusters)
        for k in range(clusters):
            _Table([p for p in parties if p.cluster == k], local[k], record, level=1).negotiate()
        table = _Table(parties, scoped, record, level=2)
        table.negotiate()
    elif contested:
        table.negotiate()

    if table.over():
        admitted, left_out = _admit(parties, scoped)
    else:
        admitted, left_out = {p.intent.intent_id for p in parties}, {}
    record.trace[len(contested) : len(contested)] = [
        _step(
            0,
            party.agent,
            "propose",
            {
                "intent_id": party.intent.intent_id,
                "version": party.intent.version,
                "priority": party.intent.priority,
                "uses": {r: round(a, 6) for r, a in party.ladder[0].demand.items()},
            },
        )
        for party in parties
        if party.touches(record.first_found)
    ]
    conflicts = []
    for party in parties:
        if not party.touches(record.first_found):
            continue
        intent_id = party.intent.intent_id
        if intent_id in admitted:
            step = _step(
                record.rounds,
                party.agent,
                "accept",
                {
                    "intent_id": intent_id,
                    "version": party.intent.version + (1 if party.stance.moves else 0),
                    "utility_cost": round(party.stance.utility_cost, 6),
                },
            )
        else:
            step = _step(
                record.rounds,
                COORDINATOR,
                unresolved_move,
                {"intent_id": intent_id, "reason": left_out[intent_id]},
            )
        record.trace.append(step)
    settled: dict[str, float] = {}
    for party in parties:
        if party.intent.intent_id in admitted:
            for resource, amount in party.stance.demand.items():
                settled[resource] = settled.get(resource, 0.0) + amount
    for resource, demand in sorted(record.first_found.items()):
        claimants = [
            p.intent.intent_id
            for p in parties
            if resource in p.ladder[0].demand or resource in p.stance.demand
        ]
        conflicts.append(
            Conflict(
                resource=resource,
                capacity=scoped[resource],
                demand=demand,
                settled_demand=settled.get(resource, 0.0),
                claimants=claimants,
                resolution="negotiated" if all(c in admitted for c in claimants) else "admission",
            )
        )
    resolved = time.perf_counter()
    return Resolution(
        hierarchy="hierarchical" if hierarchical else "flat",
        clusters=clusters,
        agents=len(agents),
        constraints=len(scoped),
        round_bound=len(agents) * len(scoped),
        rounds_used=record.rounds,
        stances={p.intent.intent_id: p.stance for p in parties},
        admitted=admitted,
        left_out=left_out,
        conflicts=conflicts,
        trace=record.trace,
        timings_ms={
            "aggregation": (aggregated - began) * 1000,
            "feasibility": (checked - aggregated) * 1000,
            "resolution": (resolved - checked) * 1000,
        },
    )
