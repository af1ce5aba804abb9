"""The one writer: batches appends, chains them, commits, then acknowledges; signs checkpoints."""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import UTC, datetime

from mesh.audit._backend import Checkpoint, LedgerBackend, StoredRecord, checkpoint_message, record_hash
from mesh.audit._errors import LedgerClosedError, LedgerWriteError, StaleHeadError
from mesh.audit._record import AuditRecord
from mesh.audit._signing import CheckpointSigner

logger = logging.getLogger("mesh.audit")


@dataclass(frozen=True, slots=True)
class Receipt:
    """What an acknowledged append returns: where the record sits in the chain."""

    seq: int
    hash: str
    decision_id: str
    recorded_at: str


@dataclass(frozen=True, slots=True)
class _Item:
    decision_id: str
    body: str
    future: Future[Receipt] | asyncio.Future[Receipt]
    loop: asyncio.AbstractEventLoop | None = None
    """Set for asyncio futures: they are settled on their loop, one call per batch and loop."""


_STOP = object()


class LedgerWriter:
    """Appends records through one thread so that the chain has exactly one head.

    Contract:
    - `submit` validates nothing further (an `AuditRecord` is valid by construction), renders the
      canonical body in the caller's thread and returns a future; it raises `LedgerClosedError`
      once `close` has begun. The queue is bounded (`max_pending`): `submit` blocks when full.
    - The thread takes whatever is queued (up to `max_batch`), assigns consecutive seqs from the
      current head, hashes each record onto its predecessor and commits the batch in one
      transaction. Only after the commit returns are the futures resolved with `Receipt`s, so an
      acknowledged record is durable and a crash loses only unacknowledged ones.
    - A failed commit (disk full, database locked, connection lost) is retried with exponential
      backoff up to `retry_attempts` times, the batch kept in memory; before each retry the head
      is re-read, so a commit that succeeded despite an error is acknowledged, not written twice.
      When retries run out, every future of the batch fails with `LedgerWriteError` and nothing
      of it is acknowledged; later batches start again from the database's real head.
    - A checkpoint (Ed25519 over seq, head hash and time) is signed every `checkpoint_every`
      records or `checkpoint_seconds`, whichever comes first, and at `close` when the head moved.
    """

    def __init__(
        self,
        backend: LedgerBackend,
        signer: CheckpointSigner,
        *,
        max_batch: int = 1000,
        max_pending: int = 100_000,
        checkpoint_every: int = 10_000,
        checkpoint_seconds: float = 60.0,
        retry_attempts: int = 6,
        retry_delay: float = 0.05,
    ) -> None:
        self._backend = backend
        self._signer = signer
        self._max_batch = max_batch
        self._checkpoint_every = checkpoint_every
        self._checkpoint_seconds = checkpoint_seconds
        self._retry_attempts = retry_attempts
        self._retry_delay = retry_delay
        self._queue: queue.Queue[_Item | object] = queue.Queue(maxsize=max_pending)
        self._closing = threading.Event()
        self._seq, self._head = backend.head()
        checkpoints = backend.checkpoints()
        self._checkpointed_seq = checkpoints[-1].seq if checkpoints else 0
        self._checkpointed_at = time.monotonic()
        self._thread = threading.Thread(target=self._run, name="audit-ledger-writer", daemon=True)
        self._thread.start()

    @property
    def head(self) -> tuple[int, str]:
        return self._seq, self._head

    def submit(self, record: AuditRecord) -> Future[Receipt]:
        """Queue `record` from any thread; the future resolves once it is committed."""
        future: Future[Receipt] = Future()
        self._put(_Item(record.decision_id, record.canonical_json(), future))
        return future

    def submit_async(self, record: AuditRecord) -> asyncio.Future[Receipt]:
        """Queue `record` from a running event loop; cheaper than `submit` for asyncio callers."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Receipt] = loop.create_future()
        self._put(_Item(record.decision_id, record.canonical_json(), future, loop))
        return future

    def _put(self, item: _Item) -> None:
        if self._closing.is_set():
            raise LedgerClosedError("the audit ledger is closed")
        self._queue.put(item)

    def close(self, timeout: float = 30.0) -> None:
        """Stop taking appends, write what is queued, sign a final checkpoint, stop the thread."""
        if self._closing.is_set():
            self._thread.join(timeout)
            return
        self._closing.set()
        self._queue.put(_STOP)
        self._thread.join(timeout)
        if self._thread.is_alive():
            logger.error("audit writer did not finish within %.0fs", timeout)

    def _run(self) -> None:
        stopping = False
        while not stopping:
            try:
                first = self._queue.get(timeout=self._checkpoint_seconds)
            except queue.Empty:
                self._maybe_checkpoint()
                continue
            batch: list[_Item] = []
            item: _Item | object = first
            while True:
                if item is _STOP:
                    stopping = True
                    break
                assert isinstance(item, _Item)
                batch.append(item)
                if len(batch) >= self._max_batch:
                    break
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
            if batch:
                self._write(batch)
                self._maybe_checkpoint()
        self._checkpoint(force=True)

    def _write(self, batch: list[_Item]) -> None:
        rows = self._chain(batch)
        attempt = 0
        while attempt < self._retry_attempts:
            attempt += 1
            try:
                self._backend.append(rows)
            except StaleHeadError as moved:  # another process appended: chain onto its head
                self._seq, self._head = moved.actual
                rows = self._chain(batch)
                attempt -= 1
                continue
            except Exception as error:  # the batch stays in memory; nothing was acknowledged
                if self._committed_anyway(rows):
                    break
                if attempt == self._retry_attempts:
                    logger.error("audit batch of %d lost after %d attempts: %s", len(rows), attempt, error)
                    failure = LedgerWriteError(str(error), records=len(rows), attempts=attempt)
                    _settle(batch, [failure for _ in batch])
                    self._seq, self._head = self._backend.head()
                    return
                logger.warning("audit batch of %d not written (attempt %d): %s", len(rows), attempt, error)
                time.sleep(self._retry_delay * 2 ** (attempt - 1))
                self._seq, self._head = self._backend.head()
                rows = self._chain(batch)
            else:
                break
        self._seq, self._head = rows[-1].seq, rows[-1].hash
        _settle(batch, [Receipt(row.seq, row.hash, row.decision_id, row.recorded_at) for row in rows])

    def _chain(self, batch: list[_Item]) -> list[StoredRecord]:
        seq, previous = self._seq, self._head
        recorded_at = datetime.now(UTC).isoformat()
        rows: list[StoredRecord] = []
        for item in batch:
            seq += 1
            digest = record_hash(seq, recorded_at, item.decision_id, previous, item.body)
            rows.append(StoredRecord(seq, recorded_at, item.decision_id, item.body, previous, digest))
            previous = digest
        return rows

    def _committed_anyway(self, rows: list[StoredRecord]) -> bool:
        try:
            return self._backend.head() == (rows[-1].seq, rows[-1].hash)
        except Exception:
            return False

    def _maybe_checkpoint(self) -> None:
        due = self._seq - self._checkpointed_seq >= self._checkpoint_every
        stale = time.monotonic() - self._checkpointed_at >= self._checkpoint_seconds
        if due or (stale and self._seq > self._checkpointed_seq):
            self._checkpoint(force=False)

    def _checkpoint(self, *, force: bool) -> None:
        if self._seq == 0 or self._seq == self._checkpointed_seq:
            return
        signed_at = datetime.now(UTC).isoformat()
        message = checkpoint_message(self._seq, self._head, signed_at)
        checkpoint = Checkpoint(
            self._seq, self._head, signed_at, self._signer.key_id, self._signer.sign(message)
        )
        try:
            self._backend.add_checkpoint(checkpoint)
        except Exception as error:
            logger.error("audit checkpoint at seq %d not written: %s", self._seq, error)
            if force:
                return
        else:
            self._checkpointed_seq = self._seq
        self._checkpointed_at = time.monotonic()


Outcome = Receipt | LedgerWriteError


def _settle(batch: list[_Item], outcomes: Sequence[Outcome]) -> None:
    """Resolve thread futures here and asyncio futures on their own loops, one call per loop."""
    by_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[Receipt], Outcome]]] = {}
    for item, outcome in zip(batch, outcomes, strict=True):
        if item.loop is None:
            assert isinstance(item.future, Future)
            if isinstance(outcome, Receipt):
                item.future.set_result(outcome)
            else:
                item.future.set_exception(outcome)
        else:
            assert isinstance(item.future, asyncio.Future)
            by_loop.setdefault(item.loop, []).append((item.future, outcome))
    for loop, pairs in by_loop.items():
        try:
            loop.call_soon_threadsafe(_settle_on_loop, pairs)
        except RuntimeError:  # that loop is closed: nobody is waiting any more
            logger.warning("audit receipts for %d record(s) had no event loop to go to", len(pairs))


def _settle_on_loop(pairs: list[tuple[asyncio.Future[Receipt], Outcome]]) -> None:
    for future, outcome in pairs:
        if future.cancelled():
            continue
        if isinstance(outcome, Receipt):
            future.set_result(outcome)
        else:
            future.set_exception(outcome)
