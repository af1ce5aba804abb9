"""The physical world of a simulated week: `Twin` (stock, arrivals, demand served, emissions) and
`WeekPerception`, what agents perceive of it each hour. `mesh.coordinator` runs the week's
decision cycles over the real mesh. See docs/simulation.md.
"""

from mesh.simulation._perception import PERCEPTION_FORMAT, CarbonView, SpendView, StockView, WeekPerception
from mesh.simulation._twin import Twin

__all__ = [
    "PERCEPTION_FORMAT",
    "CarbonView",
    "SpendView",
    "StockView",
    "Twin",
    "WeekPerception",
]
