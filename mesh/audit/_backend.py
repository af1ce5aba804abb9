"""What a ledger backend stores, and the interface every backend implements.

A backend is a dumb, durable, append-only table pair: it never computes hashes or signatures
(the writer and the verifier do), and its database refuses UPDATE and DELETE on both tables.
All methods are synchronous and called from one writer thread or one reader at a time.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

GENESIS_HASH = "0" * 64
"""The `prev_hash` of the first record."""


@dataclass(frozen=True, slots=True)
class StoredRecord:
    seq: int
    recorded_at: str
    decision_id: str
    body: str
    prev_hash: str
    hash: str


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """A signed statement that the chain had `head_hash` at record `seq`."""

    seq: int
    head_hash: str
    signed_at: str
    key_id: str
    signature: str

    def signed_message(self) -> bytes:
        return checkpoint_message(self.seq, self.head_hash, self.signed_at)


def checkpoint_message(seq: int, head_hash: str, signed_at: str) -> bytes:
    return f"mesh-audit-checkpoint\n{seq}\n{head_hash}\n{signed_at}".encode()


def record_hash(seq: int, recorded_at: str, decision_id: str, prev_hash: str, body: str) -> str:
    """SHA-256 over the record's position, time, decision, predecessor and canonical body."""
    digest = hashlib.sha256(f"{seq}\n{recorded_at}\n{decision_id}\n{prev_hash}\n".encode())
    digest.update(body.encode())
    return digest.hexdigest()


class LedgerBackend(Protocol):
    """Storage for the chain. Implementations: `SQLiteBackend`, `PostgresBackend`."""

    name: str

    def open(self) -> None:
        """Create tables, indexes and the append-only triggers if missing. Idempotent."""

    def close(self) -> None: ...

    def head(self) -> tuple[int, str]:
        """The last record's seq and hash; (0, GENESIS_HASH) when empty."""

    def append(self, records: Sequence[StoredRecord]) -> None:
        """Insert all of `records` in one transaction, durably, or none of them (then raise).

        Inside the transaction, with writers excluded, the current head must be the one the first
        record chains onto (`seq - 1`, `prev_hash`); otherwise raise `StaleHeadError` and write
        nothing. That lets several processes append to one ledger, each with its own writer."""

    def add_checkpoint(self, checkpoint: Checkpoint) -> None: ...

    def iter_records(self, after_seq: int = 0, batch_size: int = 10_000) -> Iterator[StoredRecord]:
        """Every record with seq > after_seq, in the order the database stores seq (ascending)."""

    def checkpoints(self) -> list[Checkpoint]:
        """All checkpoints, by ascending seq."""

    def records_for(self, decision_id: str) -> list[StoredRecord]: ...

    def tail(self, limit: int) -> list[StoredRecord]:
        """The last `limit` records, oldest first."""

    def query(self, sql: str, params: Sequence[Any] = ()) -> tuple[list[str], list[tuple[Any, ...]]]:
        """Run `sql` on a read-only connection; a write is refused with `ReadOnlyQueryError`."""
