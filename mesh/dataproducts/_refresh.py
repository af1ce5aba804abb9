"""The refresh request a domain's MCP server answers on NATS, and its reply (wire shapes)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

REFRESH_FORMAT = "1"


def refresh_subject(domain: str) -> str:
    """NATS subject on which `domain`'s MCP server takes refresh requests (request/reply)."""
    return f"mesh.dataproducts.{domain}.refresh"


class RefreshRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    refresh_format: str = REFRESH_FORMAT
    decision_id: str = Field(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9._:-]+$")
    requested_by: str = Field(min_length=1, max_length=200, description="who asked (claimed, unverified)")


class ProductRefresh(BaseModel):
    model_config = ConfigDict(frozen=True)

    product_id: str
    version: str
    rows: int
    passed: bool
    failing: list[str] = Field(default_factory=list, description="checks below the contract, with detail")


class RefreshReply(BaseModel):
    """What a refresh did; `error` is set (and `products` empty) when it could not be done."""

    model_config = ConfigDict(frozen=True)

    refresh_format: str = REFRESH_FORMAT
    decision_id: str
    domain: str
    products: list[ProductRefresh] = Field(default_factory=list)
    audit_seq: int | None = None
    seconds: float = 0.0
    error: str | None = None
