"""The trust registry: credibility per agent from recorded outcomes, autonomy levels, quarantine."""

from __future__ import annotations

import math
import statistics
import threading
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

from mesh.policy import Autonomy, CallerFacts, Outcome
from mesh.trust._assessment import Anomaly, TrustAssessment
from mesh.trust._errors import ScoreRangeError
from mesh.trust._settings import ACCURACY_WEIGHT, COMPLIANCE_WEIGHT, CONSISTENCY_WEIGHT, TrustSettings
from mesh.trust._stats import Cusum, DecayingMean, robust_z

COMPLIANT: frozenset[Outcome] = frozenset({"allow", "warn"})
"""Outcomes that count as compliant: the action may proceed (warn is logged, not refused)."""


def credibility(accuracy: float, consistency: float, compliance: float) -> float:
    """0.3 prediction accuracy + 0.3 consistency + 0.4 policy compliance, within [0, 1]."""
    score = ACCURACY_WEIGHT * accuracy + CONSISTENCY_WEIGHT * consistency + COMPLIANCE_WEIGHT * compliance
    return min(1.0, max(0.0, score))


def autonomy_level(score: float, settings: TrustSettings | None = None) -> Autonomy:
    """Above 0.85 high, 0.70 to 0.85 mediated, 0.50 to 0.70 low, below 0.50 quarantined."""
    settings = settings or TrustSettings()
    if score > settings.high_above:
        return "high"
    if score >= settings.mediated_from:
        return "mediated"
    if score >= settings.low_from:
        return "low"
    return "quarantined"


@dataclass(slots=True)
class _AgentState:
    accuracy: DecayingMean
    consistency: DecayingMean
    compliance: DecayingMean
    cusum: Cusum
    observed: int = 0
    strikes: deque[int] = field(default_factory=deque)
    history: dict[str, deque[float]] = field(default_factory=dict)
    anomalies: deque[Anomaly] = field(default_factory=lambda: deque(maxlen=20))
    quarantine_reason: str | None = None


class TrustRegistry:
    """Credibility and autonomy of each agent, from what it was seen to do.

    Three components, each a decaying mean of scores in [0, 1] (`TrustSettings.half_life`
    observations, starting from `prior` weighted as `prior_weight` observations):

    - prediction accuracy: `record_prediction(agent, predicted, actual)` scores
      1 - min(1, |predicted - actual| / |actual|);
    - consistency: each figure checked against its data product (`check_figures`) and each
      proposal checked against the agent's own history (`observe_proposal`) scores 1 up to
      |z| = z_tolerated, 0 from z_rejected, linearly between (robust z: median and MAD);
    - policy compliance: `record_policy_outcome` scores allow and warn 1, escalate and deny 0.

    Every consistency z also feeds a CUSUM per agent; each alarm is a strike, and
    `strikes_to_quarantine` strikes within `strike_window` observations quarantine the agent
    until `release`. An agent is also quarantined while its credibility is below `low_from`.
    Safe to use from several threads.
    """

    def __init__(
        self, settings: TrustSettings | None = None, *, clock: Callable[[], datetime] | None = None
    ) -> None:
        self.settings = settings or TrustSettings()
        self._clock = clock or (lambda: datetime.now(UTC))
        self._agents: dict[str, _AgentState] = {}
        self._population: dict[str, deque[tuple[str, float]]] = {}
        self._lock = threading.Lock()

    def _state(self, agent: str) -> _AgentState:
        state = self._agents.get(agent)
        if state is None:
            s = self.settings
            state = _AgentState(
                accuracy=DecayingMean.starting(s.prior, s.prior_weight),
                consistency=DecayingMean.starting(s.prior, s.prior_weight),
                compliance=DecayingMean.starting(s.prior, s.prior_weight),
                cusum=Cusum(s.cusum_slack, s.cusum_threshold, s.cusum_cap),
            )
            self._agents[agent] = state
        return state

    # recording

    def record_accuracy(self, agent: str, score: float) -> None:
        _check("accuracy", score)
        with self._lock:
            self._state(agent).accuracy.add(score, self.settings.decay)

    def record_consistency(self, agent: str, score: float) -> None:
        _check("consistency", score)
        with self._lock:
            self._state(agent).consistency.add(score, self.settings.decay)

    def record_compliance(self, agent: str, score: float) -> None:
        _check("compliance", score)
        with self._lock:
            self._state(agent).compliance.add(score, self.settings.decay)

    def record_prediction(self, agent: str, predicted: float, actual: float) -> float:
        """Score a prediction against what happened; returns the accuracy recorded."""
        error = abs(predicted - actual) / abs(actual) if actual != 0 else (0.0 if predicted == 0 else 1.0)
        score = 1.0 - min(1.0, error)
        self.record_accuracy(agent, score)
        return score

    def record_policy_outcome(self, agent: str, outcome: Outcome) -> None:
        """Score a proposal's policy outcome (judged on its content, not on the agent's autonomy)."""
        self.record_compliance(agent, 1.0 if outcome in COMPLIANT else 0.0)

    def check_figures(
        self, agent: str, reported: Mapping[str, float], reference: Mapping[str, float]
    ) -> list[Anomaly]:
        """Check the figures an agent says it read against the data product's own, for every
        metric in both. The error is relative to the reference; its robust z is taken against
        the recent errors of the other agents on that metric (an error everyone shares, such as
        a product that moved since it was read, blames no one) once `min_history` of them are
        known (until then the product's figure is the truth), the scale floored at
        `relative_tolerance`. Returns the figures that stood out (|z| > z_tolerated)."""
        found: list[Anomaly] = []
        with self._lock:
            for metric in sorted(set(reported) & set(reference)):
                value, truth = float(reported[metric]), float(reference[metric])
                if not (math.isfinite(value) and math.isfinite(truth)):
                    z = math.inf
                else:
                    error = (value - truth) / max(abs(truth), 1e-9)
                    population = self._population.setdefault(
                        metric, deque(maxlen=self.settings.population_window)
                    )
                    others = [e for a, e in population if a != agent]
                    if len(others) < self.settings.min_history:
                        others = []
                    z, _ = robust_z(error, others, self.settings.relative_tolerance)
                    population.append((agent, error))
                anomaly = self._observe(agent, "figure", metric, value, truth, z)
                if anomaly is not None:
                    found.append(anomaly)
        return found

    def observe_proposal(self, agent: str, key: str, value: float) -> Anomaly | None:
        """Check a proposed figure (a quantity, an amount) against the agent's own last
        `history_window` proposals under `key`; judged once `min_history` are known, the scale
        floored at `history_floor` of the median. Returns the anomaly when it stood out."""
        with self._lock:
            state = self._state(agent)
            history = state.history.setdefault(key, deque(maxlen=self.settings.history_window))
            anomaly = None
            if not math.isfinite(value):
                anomaly = self._observe(agent, "proposal", key, value, 0.0, math.inf)
            elif len(history) >= self.settings.min_history:
                sample = list(history)
                floor = max(self.settings.history_floor * abs(statistics.median(sample)), 1e-9)
                z, median = robust_z(value, sample, floor)
                anomaly = self._observe(agent, "proposal", key, value, median, z)
            if math.isfinite(value):
                history.append(value)
            return anomaly

    def _observe(
        self,
        agent: str,
        kind: Literal["figure", "proposal"],
        metric: str,
        reported: float,
        expected: float,
        z: float,
    ) -> Anomaly | None:
        s = self.settings
        state = self._state(agent)
        state.observed += 1
        size = abs(z)
        score = (
            1.0 if size <= s.z_tolerated else max(0.0, (s.z_rejected - size) / (s.z_rejected - s.z_tolerated))
        )
        state.consistency.add(score, s.decay)
        if state.cusum.observe(size if math.isfinite(size) else s.cusum_slack + s.cusum_cap):
            state.strikes.append(state.observed)
        while state.strikes and state.strikes[0] <= state.observed - s.strike_window:
            state.strikes.popleft()
        if len(state.strikes) >= s.strikes_to_quarantine and state.quarantine_reason is None:
            state.quarantine_reason = (
                f"{len(state.strikes)} CUSUM alarms on inconsistent figures within "
                f"{s.strike_window} observations"
            )
        if size <= s.z_tolerated:
            return None
        anomaly = Anomaly(
            agent=agent,
            kind=kind,
            metric=metric,
            reported=reported if math.isfinite(reported) else 0.0,
            expected=expected,
            z=z if math.isfinite(z) else 1e9,
            at=self._clock(),
        )
        state.anomalies.append(anomaly)
        return anomaly

    # quarantine by hand

    def quarantine(self, agent: str, reason: str) -> None:
        with self._lock:
            self._state(agent).quarantine_reason = reason

    def release(self, agent: str) -> None:
        """Lift a quarantine (an operator's decision): strikes and the CUSUM start again; the
        scores stay as recorded, so an agent whose credibility is below `low_from` stays out."""
        with self._lock:
            state = self._state(agent)
            state.quarantine_reason = None
            state.strikes.clear()
            state.cusum.level = 0.0

    # reading

    def _standing(self, state: _AgentState) -> tuple[Autonomy, float]:
        score = credibility(state.accuracy.value, state.consistency.value, state.compliance.value)
        if state.quarantine_reason is not None:
            return "quarantined", score
        return autonomy_level(score, self.settings), score

    def assess(self, agent: str) -> TrustAssessment:
        with self._lock:
            state = self._state(agent)
            accuracy = state.accuracy.value
            consistency = state.consistency.value
            compliance = state.compliance.value
            score = credibility(accuracy, consistency, compliance)
            level = autonomy_level(score, self.settings)
            reasons = []
            if state.quarantine_reason is not None:
                level = "quarantined"
                reasons.append(state.quarantine_reason)
            elif level == "quarantined":
                reasons.append(f"credibility {score:.3f} below {self.settings.low_from}")
            return TrustAssessment(
                agent=agent,
                credibility=score,
                prediction_accuracy=accuracy,
                consistency=consistency,
                policy_compliance=compliance,
                autonomy=level,
                quarantined=level == "quarantined",
                strikes=len(state.strikes),
                cusum=state.cusum.level,
                observations={
                    "prediction_accuracy": state.accuracy.count,
                    "consistency": state.consistency.count,
                    "policy_compliance": state.compliance.count,
                },
                reasons=reasons,
            )

    def caller_facts(
        self,
        agent: str,
        *,
        client_id: str | None = None,
        scopes: Iterable[str] = (),
        act_chain: Iterable[str] = (),
    ) -> CallerFacts:
        """The caller part of a `PolicyInput`: subject, autonomy level and credibility."""
        with self._lock:
            level, score = self._standing(self._state(agent))
        return CallerFacts(
            subject=agent,
            client_id=client_id,
            scopes=list(scopes),
            autonomy=level,
            credibility=score,
            act_chain=list(act_chain),
        )

    def quarantined(self) -> list[str]:
        """The agents quarantined now (`PolicyContext.quarantined`), sorted."""
        with self._lock:
            return sorted(
                agent for agent, state in self._agents.items() if self._standing(state)[0] == "quarantined"
            )

    def anomalies(self, agent: str) -> list[Anomaly]:
        with self._lock:
            return list(self._state(agent).anomalies)

    def agents(self) -> list[str]:
        with self._lock:
            return sorted(self._agents)


def _check(component: str, score: float) -> None:
    if not (math.isfinite(score) and 0.0 <= score <= 1.0):
        raise ScoreRangeError(component, score)
