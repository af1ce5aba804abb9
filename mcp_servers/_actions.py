"""What an action tool did to its domain's products, as recorded in the store's action log.

The log is the source of truth for actions: a refresh rebuilds every product from the world and
then applies, in log order, the effects of the actions taken in that same world.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

ACTION_FORMAT = "1"


class RowInsert(BaseModel):
    """A new row of one product."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    product: str = Field(description="product name, e.g. shipments")
    row: dict[str, Any]


class RowIncrement(BaseModel):
    """Numeric columns of one existing row moved by the given amounts (negative to decrease)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    product: str
    key: dict[str, Any] = Field(description="the row's full key, as the contract declares it")
    deltas: dict[str, int | float]


class ActionEffect(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    inserts: list[RowInsert] = Field(default_factory=list)
    increments: list[RowIncrement] = Field(default_factory=list)

    @property
    def products(self) -> set[str]:
        return {insert.product for insert in self.inserts} | {change.product for change in self.increments}


class ActionRecord(BaseModel):
    """One action as logged: which tool, with what arguments, in which world, and its effect."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    action_format: str = ACTION_FORMAT
    seq: int = Field(ge=1, description="order in the domain's log; also numbers the ids it created")
    kind: str = Field(description="the action tool, e.g. book_shipment")
    world: str = Field(description="the refresh source the action was taken against")
    taken_at: datetime = Field(description="wall-clock time of the action")
    arguments: dict[str, Any]
    effect: ActionEffect
