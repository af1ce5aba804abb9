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


class StaleHeadError(AuditError):
    """Another writer (another process) appended first; the batch must be chained again."""

    def __init__(self, expected: tuple[int, str], actual: tuple[int, str]) -> None:
        super().__init__(f"ledger head moved: expected seq {expected[0]}, found seq {actual[0]}")
        self.expected = expected
        self.actual = actual


class LedgerClosedError(AuditError):
    """The ledger no longer takes appends."""


class ReadOnlyQueryError(AuditError):
    """A query that would write, or that the database refused as not read-only."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"refused: audit queries are read-only ({reason})")
        self.reason = reason


class SigningKeyError(AuditError):
    """The checkpoint signing key is missing, unreadable or too widely readable."""
