"""The logistics agent: carrier and route choice under cost and carbon, and bookings."""

from agents._skills import AgentSpec
from agents.logistics._propose import proposer
from agents.logistics._skills import BOOK_SHIPMENT, RECOMMEND_CARRIER

SPEC = AgentSpec(
    domain="logistics",
    name="Logistics agent",
    description=(
        "Owns the logistics domain's decisions: which carrier to ship with on a lane, weighing cost "
        "against a carbon price and the origin region's carbon budget, and booking the shipment, "
        "which policy governs."
    ),
    version="1.0.0",
    questions=(
        "Which carrier should ship 1000 units from APAC to NA?",
        "What does the EU-NA lane cost per unit by carrier?",
    ),
    skills=(RECOMMEND_CARRIER, BOOK_SHIPMENT),
    reaches={"logistics": ("logistics:read", "logistics:write"), "sustainability": ("sustainability:read",)},
    proposer=proposer,
)

__all__ = ["SPEC"]
