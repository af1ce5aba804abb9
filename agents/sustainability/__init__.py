"""The sustainability agent: carbon budget tracking and the budget check of proposed shipments."""

from agents._skills import AgentSpec
from agents.sustainability._skills import CARBON_BUDGET_STATUS, CHECK_SHIPMENT

SPEC = AgentSpec(
    domain="sustainability",
    name="Sustainability agent",
    description=(
        "Owns the sustainability domain's decisions: each region's annual carbon budget, its headroom, "
        "and whether a proposed shipment fits it."
    ),
    version="1.0.0",
    questions=(
        "How much of the EU carbon budget is left this year?",
        "Would 800 units by air from EU to NA fit the carbon budget?",
    ),
    skills=(CARBON_BUDGET_STATUS, CHECK_SHIPMENT),
    reaches={"sustainability": ("sustainability:read",), "logistics": ("logistics:read",)},
)

__all__ = ["SPEC"]
