"""What the shared resources can give in one decision cycle's window: the other half of feasibility."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from mesh.negotiation._contract import RESOURCE_PATTERN

CAPACITIES_FORMAT: Literal["1"] = "1"

ResourceName = Annotated[str, StringConstraints(pattern=RESOURCE_PATTERN)]


class Capacities(BaseModel):
    """The amount of each resource available in this cycle's window, in the unit intents use.

    A resource an intent uses but which is not listed here is unknown: by default the intent is
    escalated ("no capacity known"), failing closed; `unknown="unlimited"` treats it as plentiful.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    capacities_format: Literal["1"] = CAPACITIES_FORMAT
    available: dict[ResourceName, Annotated[float, Field(ge=0)]]
    as_of: AwareDatetime | None = None
    unknown: Literal["escalate", "unlimited"] = "escalate"
