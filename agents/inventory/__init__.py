"""The inventory agent: reorder recommendations under a service level, and stock transfers."""

from agents._skills import AgentSpec
from agents.inventory._propose import proposer
from agents.inventory._skills import RECOMMEND_REORDER, TRANSFER_STOCK

SPEC = AgentSpec(
    domain="inventory",
    name="Inventory agent",
    description=(
        "Owns the inventory domain's decisions: when and how much to reorder per SKU and warehouse "
        "under a service level (from the demand forecast and stock positions), and transfers of stock "
        "between warehouses, which policy governs."
    ),
    version="1.0.0",
    questions=("Should we reorder SKU-07 at WH-EU-1, and how much?", "How much SKU-01 is on hand in NA?"),
    skills=(RECOMMEND_REORDER, TRANSFER_STOCK),
    reaches={
        "inventory": ("inventory:read", "inventory:write"),
        "demand": ("demand:read",),
        "logistics": ("logistics:read",),
    },
    proposer=proposer,
)

__all__ = ["SPEC"]
