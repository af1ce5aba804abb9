"""The ledger as the rest of the mesh uses it: append, read, verify."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

from mesh.audit._backend import LedgerBackend, StoredRecord
from mesh.audit._record import AuditRecord
from mesh.audit._signing import load_or_create_signer, load_verifier
from mesh.audit._sqlite import SQLiteBackend
from mesh.audit._verify import VerifyReport, verify_ledger
from mesh.audit._writer import LedgerWriter, Receipt

BackendFactory = Callable[[], LedgerBackend]


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    seq: int
    recorded_at: str
    hash: str
    record: AuditRecord

    @classmethod
    def from_stored(cls, stored: StoredRecord) -> LedgerEntry:
        return cls(stored.seq, stored.recorded_at, stored.hash, AuditRecord.model_validate_json(stored.body))


class AuditLog:
    """Read side: queries and verification, on a connection of its own (safe beside a writer)."""

    def __init__(self, backend: LedgerBackend, key_dir: Path) -> None:
        self._backend = backend
        self._key_dir = key_dir
        backend.open()

    def records_for(self, decision_id: str) -> list[LedgerEntry]:
        return [LedgerEntry.from_stored(r) for r in self._backend.records_for(decision_id)]

    def tail(self, limit: int = 20) -> list[LedgerEntry]:
        return [LedgerEntry.from_stored(r) for r in self._backend.tail(limit)]

    def trace_ids(self, decision_id: str) -> list[str]:
        """The traces a decision's records were written in, in order of first appearance."""
        found = [e.record.trace_id for e in self.records_for(decision_id) if e.record.trace_id]
        return list(dict.fromkeys(found))

    def query(self, sql: str, params: Sequence[Any] = ()) -> tuple[list[str], list[tuple[Any, ...]]]:
        """Read-only SQL over `audit_records` and `audit_checkpoints`; writes raise `ReadOnlyQueryError`."""
        return self._backend.query(sql, params)

    def verify(self) -> VerifyReport:
        return verify_ledger(self._backend, load_verifier(self._key_dir))

    def close(self) -> None:
        self._backend.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


class Ledger(AuditLog):
    """Read side plus the one writer. Open one per process that appends; close it at shutdown
    (that writes what is queued and signs a final checkpoint)."""

    def __init__(self, backend_factory: BackendFactory, key_dir: Path, **writer_options: Any) -> None:
        super().__init__(backend_factory(), key_dir)
        write_backend = backend_factory()
        write_backend.open()
        self._writer = LedgerWriter(write_backend, load_or_create_signer(key_dir), **writer_options)
        self._write_backend = write_backend

    @classmethod
    def sqlite(cls, path: Path, key_dir: Path, **writer_options: Any) -> Ledger:
        return cls(lambda: SQLiteBackend(path), key_dir, **writer_options)

    async def append(self, record: AuditRecord) -> Receipt:
        """Append and wait until the record is committed; raises `LedgerWriteError` if it was not."""
        return await self._writer.submit_async(record)

    def submit_async(self, record: AuditRecord) -> asyncio.Future[Receipt]:
        """Append from a running loop without awaiting yet (to pipeline many appends)."""
        return self._writer.submit_async(record)

    def submit(self, record: AuditRecord) -> Future[Receipt]:
        """Append without waiting (from any thread); the future resolves once committed."""
        return self._writer.submit(record)

    @property
    def head(self) -> tuple[int, str]:
        return self._writer.head

    def close(self) -> None:
        self._writer.close()
        self._write_backend.close()
        super().close()
