"""Data products: contracts, their validation, and quality reports against them."""

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

__all__ = [
    "CONTRACT_FORMAT",
    "ContractError",
    "DataProductContract",
    "DataProductError",
    "Lineage",
    "QualityCheck",
    "QualityReport",
    "QualityTargets",
    "assess_quality",
    "load_contract",
    "load_contracts",
]
