"""What the trust registry says about an agent (format "1")."""

from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from mesh.policy import Autonomy

ASSESSMENT_FORMAT: Literal["1"] = "1"


STANDING_ACTION = "trust/standing"
"""The ledger action of an agent's standing (credibility and autonomy) as it moved at the end of a
decision cycle: written by the coordinator, read by the operator chat and console."""


class _Wire(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class Anomaly(_Wire):
    """A figure or proposal that stood out: against a data product's own figure (`figure`), or
    against the agent's own history (`proposal`)."""

    agent: str
    kind: Literal["figure", "proposal"]
    metric: str
    reported: float
    expected: float = Field(description="the data product's figure, or the median of the agent's history")
    z: float = Field(description="robust z-score (median and MAD, floored scale)")
    at: AwareDatetime


class TrustAssessment(_Wire):
    """An agent's credibility, its parts, and the autonomy level it earns."""

    assessment_format: Literal["1"] = ASSESSMENT_FORMAT
    agent: str
    credibility: float = Field(ge=0, le=1)
    prediction_accuracy: float = Field(ge=0, le=1)
    consistency: float = Field(ge=0, le=1)
    policy_compliance: float = Field(ge=0, le=1)
    autonomy: Autonomy
    quarantined: bool = Field(description="held in quarantine until released, whatever the score")
    strikes: int = Field(ge=0, description="CUSUM alarms within the strike window")
    cusum: float = Field(ge=0)
    observations: dict[str, int] = Field(description="per component, observations recorded")
    reasons: list[str] = Field(default_factory=list)
