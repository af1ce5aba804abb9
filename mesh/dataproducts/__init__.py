"""Data products: contracts, their validation, and quality reports against them."""

from ._client import request_refresh
from ._contract import (
    CONTRACT_FORMAT,
    DataProductContract,
    Lineage,
    QualityTargets,
    load_contract,
    load_contracts,
)
from ._errors import ContractError, DataProductError
from ._quality import QualityCheck, QualityReport, assess_quality
from ._refresh import ProductRefresh, RefreshReply, RefreshRequest, refresh_subject

__all__ = [
    "CONTRACT_FORMAT",
    "ContractError",
    "DataProductContract",
    "DataProductError",
    "Lineage",
    "ProductRefresh",
    "QualityCheck",
    "QualityReport",
    "QualityTargets",
    "RefreshReply",
    "RefreshRequest",
    "assess_quality",
    "load_contract",
    "load_contracts",
    "refresh_subject",
    "request_refresh",
]
