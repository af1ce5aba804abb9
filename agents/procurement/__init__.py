"""The procurement agent: supplier choice under lead time, cost and labor compliance; purchase orders."""

from agents._skills import AgentSpec
from agents.procurement._propose import proposer
from agents.procurement._skills import PLACE_PURCHASE_ORDER, RECOMMEND_SUPPLIER

SPEC = AgentSpec(
    domain="procurement",
    name="Procurement agent",
    description=(
        "Owns the procurement domain's decisions: which supplier to buy a SKU from, weighing unit price, "
        "lead time and reliability among suppliers with verified labor compliance, and placing the "
        "purchase order, which policy governs."
    ),
    version="1.0.0",
    questions=("Which supplier should we buy SKU-03 from in NA?", "Is supplier SUP-NA-2 compliant?"),
    skills=(RECOMMEND_SUPPLIER, PLACE_PURCHASE_ORDER),
    reaches={"procurement": ("procurement:read", "procurement:compliance:read", "procurement:write")},
    proposer=proposer,
)

__all__ = ["SPEC"]
