"""How trust is computed: the paper's weights and autonomy thresholds, the decay, the detectors."""

from __future__ import annotations

import math

from pydantic import BaseModel, ConfigDict, Field, model_validator

ACCURACY_WEIGHT = 0.3
CONSISTENCY_WEIGHT = 0.3
COMPLIANCE_WEIGHT = 0.4
"""Credibility = 0.3 prediction accuracy + 0.3 consistency + 0.4 policy compliance (DMAS 3.3)."""


class TrustSettings(BaseModel):
    """Every knob of the trust registry, with the defaults documented in docs/negotiation.md."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    high_above: float = Field(default=0.85, description="credibility above this: high autonomy")
    mediated_from: float = Field(default=0.70, description="from this up to high: mediated")
    low_from: float = Field(default=0.50, description="from this up to mediated: low; below: quarantined")

    half_life: float = Field(
        default=50.0, gt=0, description="observations after which an observation weighs half (inf: no decay)"
    )
    prior: float = Field(default=1.0, ge=0, le=1, description="the score of a component never observed")
    prior_weight: float = Field(
        default=3.0, ge=0, description="how many observations the prior counts for (it decays like them)"
    )

    z_tolerated: float = Field(default=3.0, gt=0, description="|z| up to this is consistent (score 1)")
    z_rejected: float = Field(default=6.0, gt=0, description="|z| from this is inconsistent (score 0)")
    relative_tolerance: float = Field(
        default=0.05, gt=0, description="smallest scale of a figure check, as a share of the reference"
    )
    population_window: int = Field(default=20, ge=1, description="recent errors per metric, all agents")
    history_window: int = Field(default=30, ge=2, description="recent proposals per agent and key")
    min_history: int = Field(default=8, ge=2, description="proposals before an agent's own history judges")
    history_floor: float = Field(
        default=0.10, gt=0, description="smallest scale of a history check, as a share of the median"
    )

    cusum_slack: float = Field(default=3.0, ge=0, description="k: |z| below this drains the CUSUM")
    cusum_threshold: float = Field(default=12.0, gt=0, description="h: the CUSUM at or above this strikes")
    strikes_to_quarantine: int = Field(default=3, ge=1)
    strike_window: int = Field(default=100, ge=1, description="observations a strike counts for")

    @property
    def decay(self) -> float:
        """The factor every weight is multiplied by at each new observation."""
        return 1.0 if math.isinf(self.half_life) else 0.5 ** (1.0 / self.half_life)

    @property
    def cusum_cap(self) -> float:
        """One observation adds at most half the threshold: a strike takes repeated evidence."""
        return self.cusum_threshold / 2

    @model_validator(mode="after")
    def _ordered(self) -> TrustSettings:
        if not 0 <= self.low_from <= self.mediated_from <= self.high_above <= 1:
            raise ValueError("thresholds must satisfy 0 <= low_from <= mediated_from <= high_above <= 1")
        if self.z_rejected <= self.z_tolerated:
            raise ValueError("z_rejected must be above z_tolerated")
        return self
