"""Credibility = 0.3 prediction accuracy + 0.3 consistency + 0.4 policy compliance, and the
autonomy levels it earns (DMAS paper, 3.3)."""

from __future__ import annotations

import math

import pytest

from mesh.trust import (
    DecayingMean,
    ScoreRangeError,
    TrustRegistry,
    TrustSettings,
    autonomy_level,
    credibility,
)

NO_DECAY_NO_PRIOR = TrustSettings(half_life=math.inf, prior_weight=0)


def test_credibility_formula_is_exact_on_constructed_inputs() -> None:
    trust = TrustRegistry(NO_DECAY_NO_PRIOR)
    for predicted, actual in ((90, 100), (120, 100), (70, 100)):  # accuracies 0.9, 0.8, 0.7
        trust.record_prediction("agent:a", predicted, actual)
    trust.record_consistency("agent:a", 1.0)
    trust.record_consistency("agent:a", 0.0)
    for outcome in ("allow", "warn", "allow", "deny"):
        trust.record_policy_outcome("agent:a", outcome)

    assessment = trust.assess("agent:a")
    assert assessment.prediction_accuracy == pytest.approx(0.8, abs=1e-12)
    assert assessment.consistency == 0.5
    assert assessment.policy_compliance == 0.75
    assert assessment.credibility == pytest.approx(0.3 * 0.8 + 0.3 * 0.5 + 0.4 * 0.75, abs=1e-12)
    assert assessment.credibility == pytest.approx(0.69, abs=1e-12)
    assert assessment.autonomy == "low"
    assert assessment.observations == {"prediction_accuracy": 3, "consistency": 2, "policy_compliance": 4}


def test_escalations_count_against_compliance_like_denials() -> None:
    trust = TrustRegistry(NO_DECAY_NO_PRIOR)
    trust.record_policy_outcome("agent:a", "escalate")
    trust.record_policy_outcome("agent:a", "allow")
    assert trust.assess("agent:a").policy_compliance == 0.5


def test_decay_weighs_an_observation_half_after_one_half_life() -> None:
    settings = TrustSettings(half_life=1.0, prior_weight=0)
    mean = DecayingMean.starting(settings.prior, settings.prior_weight)
    mean.add(1.0, settings.decay)
    mean.add(0.0, settings.decay)
    assert mean.value == pytest.approx((1.0 * 0.5 + 0.0) / (0.5 + 1.0))


def test_the_prior_fades_as_observations_come_in() -> None:
    settings = TrustSettings(half_life=10.0, prior=1.0, prior_weight=3.0)
    trust = TrustRegistry(settings)
    assert trust.assess("agent:new").credibility == 1.0
    trust.record_compliance("agent:new", 0.0)
    d = 0.5 ** (1 / 10)
    assert trust.assess("agent:new").policy_compliance == pytest.approx(3 * d / (3 * d + 1))


@pytest.mark.parametrize(
    ("score", "level"),
    [
        (1.0, "high"),
        (0.851, "high"),
        (0.85, "mediated"),
        (0.70, "mediated"),
        (0.6999, "low"),
        (0.50, "low"),
        (0.4999, "quarantined"),
        (0.0, "quarantined"),
    ],
)
def test_autonomy_levels_follow_the_papers_thresholds(score: float, level: str) -> None:
    assert autonomy_level(score) == level


def test_credibility_stays_within_zero_and_one() -> None:
    assert credibility(1.0, 1.0, 1.0) == 1.0
    assert credibility(0.0, 0.0, 0.0) == 0.0


@pytest.mark.parametrize("score", [-0.1, 1.1, math.nan, math.inf])
def test_a_score_outside_zero_and_one_is_refused(score: float) -> None:
    with pytest.raises(ScoreRangeError):
        TrustRegistry().record_accuracy("agent:a", score)


def test_the_registry_gives_the_policy_engine_its_caller_facts_and_quarantine_list() -> None:
    trust = TrustRegistry(NO_DECAY_NO_PRIOR)
    trust.record_compliance("agent:a", 1.0)
    trust.record_compliance("agent:b", 0.0)
    trust.record_accuracy("agent:b", 0.5)
    trust.record_consistency("agent:b", 0.5)
    facts = trust.caller_facts("agent:a", client_id="inventory-agent", scopes=["inventory:read"])
    assert (facts.subject, facts.client_id, facts.autonomy, facts.credibility) == (
        "agent:a",
        "inventory-agent",
        "high",
        1.0,
    )
    assert facts.scopes == ["inventory:read"]
    assert trust.assess("agent:b").credibility == pytest.approx(0.3)
    assert trust.quarantined() == ["agent:b"]
    trust.quarantine("agent:a", "operator: under investigation")
    assert trust.quarantined() == ["agent:a", "agent:b"]
    assert trust.assess("agent:a").reasons == ["operator: under investigation"]
    trust.release("agent:a")
    assert trust.quarantined() == ["agent:b"]
    trust.release("agent:b")
    assert trust.quarantined() == ["agent:b"], "a release does not lift a credibility below 0.50"
