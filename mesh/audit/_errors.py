from __future__ import annotations


class AuditError(Exception):
    """Base error of the audit package."""


class LedgerWriteError(AuditError):
    """Records that were not committed; none of them was acknowledged."""

    def __init__(self, reason: str, *, records: int, attempts: int) -> None:
        super().__init__(f"{records} audit record(s) not written after {attempts} attempt(s): {reason}")
        self.reason = reason
        self.records = records
        self.attempts = attempts


class LedgerClosedError(AuditError):
    """The ledger no longer takes appends."""


class ReadOnlyQueryError(AuditError):
    """A query that would write, or that the database refused as not read-only."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"refused: audit queries are read-only ({reason})")
        self.reason = reason


class SigningKeyError(AuditError):
    """The checkpoint signing key is missing, unreadable or too widely readable."""
