"""The demand agent: forecasts with their accuracy, from the demand domain's data products."""

from agents._skills import AgentSpec
from agents.demand._skills import FORECAST

SPEC = AgentSpec(
    domain="demand",
    name="Demand agent",
    description=(
        "Owns the demand domain's decisions: daily demand forecasts per SKU and region with 95% "
        "intervals and back-tested accuracy. Numbers come from deterministic models over the domain's "
        "data products, read through the governance gateway."
    ),
    version="1.0.0",
    questions=(
        "What is the EU forecast for SKU-17 next week?",
        "How accurate is the NA forecast for SKU-03?",
    ),
    skills=(FORECAST,),
    reaches={"demand": ("demand:read",)},
)

__all__ = ["SPEC"]
