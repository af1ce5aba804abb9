"""Proving the chain: every hash, every link, every checkpoint and its signature."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Literal

from mesh.audit._backend import GENESIS_HASH, LedgerBackend, record_hash
from mesh.audit._signing import CheckpointVerifier

ProblemKind = Literal[
    "edited",  # a record's content no longer matches its hash
    "unlinked",  # a record does not point at its predecessor: inserted, reordered or predecessor edited
    "missing",  # a gap in the sequence: records deleted
    "out_of_order",  # seq not increasing
    "truncated",  # a checkpoint vouches for records that are gone
    "checkpoint_mismatch",  # a checkpoint's head hash differs from the chain at its seq
    "bad_signature",  # a checkpoint not signed by a pinned key
]


@dataclass(frozen=True, slots=True)
class Problem:
    kind: ProblemKind
    seq: int
    detail: str

    def __str__(self) -> str:
        return f"record {self.seq}: {self.kind}: {self.detail}"


@dataclass
class VerifyReport:
    records: int = 0
    checkpoints: int = 0
    head_seq: int = 0
    head_hash: str = GENESIS_HASH
    seconds: float = 0.0
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def first_problem(self) -> Problem | None:
        return self.problems[0] if self.problems else None


def verify_ledger(
    backend: LedgerBackend, verifier: CheckpointVerifier, *, max_problems: int = 100
) -> VerifyReport:
    """Walk the whole chain once and report what does not hold, first problem first.

    Editing a record breaks its own hash; re-hashing it breaks the next record's link; deleting
    leaves a gap; reordering or inserting breaks links and seqs; deleting or editing the tail is
    caught by the checkpoints signed over it. After a problem the walk resynchronises on the stored
    hash so that one tampering is reported once, not for every record after it.
    """
    began = time.perf_counter()
    report = VerifyReport()
    checkpoints = {c.seq: c for c in backend.checkpoints()}
    report.checkpoints = len(checkpoints)
    problems = report.problems
    expected_seq, previous = 1, GENESIS_HASH
    chain_at: dict[int, str] = {}
    for row in backend.iter_records():
        report.records += 1
        if row.seq != expected_seq:
            if row.seq > expected_seq:
                gap = f"{expected_seq}" if row.seq == expected_seq + 1 else f"{expected_seq} to {row.seq - 1}"
                problems.append(Problem("missing", expected_seq, f"record(s) {gap} are gone (deleted)"))
            else:
                problems.append(Problem("out_of_order", row.seq, f"expected seq {expected_seq}"))
        if row.prev_hash != previous:
            problems.append(
                Problem(
                    "unlinked",
                    row.seq,
                    "does not point at the record before it (inserted, reordered, "
                    "or its predecessor was edited and re-hashed)",
                )
            )
        if record_hash(row.seq, row.recorded_at, row.decision_id, row.prev_hash, row.body) != row.hash:
            problems.append(
                Problem("edited", row.seq, f"content does not match its hash (decision {row.decision_id})")
            )
        if row.seq in checkpoints:
            chain_at[row.seq] = row.hash
        previous = row.hash
        expected_seq = row.seq + 1
        report.head_seq, report.head_hash = row.seq, row.hash
        if len(problems) >= max_problems:
            break
    for seq, checkpoint in sorted(checkpoints.items()):
        if not verifier.valid(checkpoint.key_id, checkpoint.signed_message(), checkpoint.signature):
            problems.append(
                Problem("bad_signature", seq, f"checkpoint not signed by a pinned key ({checkpoint.key_id})")
            )
        elif seq > report.head_seq:
            problems.append(
                Problem(
                    "truncated", report.head_seq + 1, f"records up to {seq} were checkpointed but are gone"
                )
            )
        elif chain_at.get(seq) != checkpoint.head_hash:
            problems.append(
                Problem("checkpoint_mismatch", seq, "chain differs from what the checkpoint signed")
            )
    problems.sort(key=lambda p: p.seq)
    report.seconds = time.perf_counter() - began
    return report
