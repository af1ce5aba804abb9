"""Trust: credibility per agent, the autonomy level it earns, and quarantine of anomalous agents.

`TrustRegistry` records outcomes (prediction accuracy, consistency of reported figures and
proposals, policy compliance) and answers with a `TrustAssessment`, the `CallerFacts` the policy
engine reads (`autonomy`, `credibility`) and the quarantine list (`PolicyContext.quarantined`).
Credibility = 0.3 accuracy + 0.3 consistency + 0.4 compliance (DMAS paper, 3.3).
"""

from mesh.trust._assessment import ASSESSMENT_FORMAT, STANDING_ACTION, Anomaly, TrustAssessment
from mesh.trust._errors import ScoreRangeError, TrustError
from mesh.trust._registry import COMPLIANT, TrustRegistry, autonomy_level, credibility
from mesh.trust._settings import ACCURACY_WEIGHT, COMPLIANCE_WEIGHT, CONSISTENCY_WEIGHT, TrustSettings
from mesh.trust._stats import Cusum, DecayingMean, robust_z

__all__ = [
    "ACCURACY_WEIGHT",
    "ASSESSMENT_FORMAT",
    "COMPLIANCE_WEIGHT",
    "COMPLIANT",
    "CONSISTENCY_WEIGHT",
    "STANDING_ACTION",
    "Anomaly",
    "Cusum",
    "DecayingMean",
    "ScoreRangeError",
    "TrustAssessment",
    "TrustError",
    "TrustRegistry",
    "TrustSettings",
    "autonomy_level",
    "credibility",
    "robust_z",
]
