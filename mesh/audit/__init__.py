"""The tamper-evident audit ledger: append-only, hash-chained, with signed checkpoints.

`Ledger` appends (one batching writer per process) and reads; `AuditLog` only reads and verifies.
Backends: `SQLiteBackend` (embedded default) and `PostgresBackend` (distributed), same schema.
"""

from mesh.audit._backend import GENESIS_HASH, Checkpoint, LedgerBackend, StoredRecord, record_hash
from mesh.audit._config import backend_factory, open_audit_log, open_ledger
from mesh.audit._errors import (
    AuditError,
    LedgerClosedError,
    LedgerWriteError,
    ReadOnlyQueryError,
    SigningKeyError,
    StaleHeadError,
)
from mesh.audit._ledger import AuditLog, Ledger, LedgerEntry
from mesh.audit._record import (
    RECORD_FORMAT,
    AuditRecord,
    Caller,
    DataProductInput,
    ExecutionMode,
    NegotiationStep,
    PolicyEvaluation,
    PolicyOutcome,
    Status,
)
from mesh.audit._render import render_decision, render_tail, render_verify
from mesh.audit._signing import CheckpointSigner, CheckpointVerifier, load_or_create_signer, load_verifier
from mesh.audit._sqlite import SQLiteBackend
from mesh.audit._verify import Problem, VerifyReport, verify_ledger
from mesh.audit._writer import LedgerWriter, Receipt

__all__ = [
    "GENESIS_HASH",
    "RECORD_FORMAT",
    "AuditError",
    "AuditLog",
    "AuditRecord",
    "Caller",
    "Checkpoint",
    "CheckpointSigner",
    "CheckpointVerifier",
    "DataProductInput",
    "ExecutionMode",
    "Ledger",
    "LedgerBackend",
    "LedgerClosedError",
    "LedgerEntry",
    "LedgerWriteError",
    "LedgerWriter",
    "NegotiationStep",
    "PolicyEvaluation",
    "PolicyOutcome",
    "Problem",
    "ReadOnlyQueryError",
    "Receipt",
    "SQLiteBackend",
    "SigningKeyError",
    "StaleHeadError",
    "Status",
    "StoredRecord",
    "VerifyReport",
    "backend_factory",
    "load_or_create_signer",
    "load_verifier",
    "open_audit_log",
    "open_ledger",
    "record_hash",
    "render_decision",
    "render_tail",
    "render_verify",
    "verify_ledger",
]
