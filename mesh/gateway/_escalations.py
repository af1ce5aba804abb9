"""Held calls: an ESCALATE decision holds a call until an operator approves or denies it.

An escalation is bound to the exact call (caller, client, domain, method, tool, a hash of the
arguments, the policy version). Approval lets the identical call through once; a call after the
deadline is denied. Tool-definition changes held by pinning are escalations too (kind
"tool_change"), so one queue holds everything waiting for a human.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from mesh.gateway._errors import GatewayError

EscalationKind = Literal["call", "tool_change"]
EscalationStatus = Literal["pending", "approved", "denied", "expired", "consumed"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS escalations (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    binding TEXT NOT NULL,
    status TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    decided_by TEXT,
    decided_at TEXT,
    document TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS escalations_binding ON escalations (binding, status);
"""


class EscalationError(GatewayError):
    """Base of escalation refusals."""


class EscalationNotFoundError(EscalationError):
    def __init__(self, escalation_id: str) -> None:
        super().__init__(f"no escalation {escalation_id!r}")
        self.escalation_id = escalation_id


class EscalationClosedError(EscalationError):
    def __init__(self, escalation_id: str, status: str) -> None:
        super().__init__(f"escalation {escalation_id} is {status}, not pending")
        self.escalation_id = escalation_id
        self.status = status


@dataclass(frozen=True, slots=True)
class CallBinding:
    """What makes two calls "the identical call"."""

    subject: str
    client_id: str | None
    domain: str
    method: str
    tool: str | None
    arguments_hash: str
    policy_version: str

    @classmethod
    def of(
        cls,
        *,
        subject: str,
        client_id: str | None,
        domain: str,
        method: str,
        tool: str | None,
        arguments: dict[str, Any],
        policy_version: str,
    ) -> CallBinding:
        canonical = json.dumps(arguments, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        digest = hashlib.sha256(canonical.encode()).hexdigest()
        return cls(subject, client_id, domain, method, tool, digest, policy_version)

    @property
    def key(self) -> str:
        return json.dumps([getattr(self, name) for name in self.__slots__], separators=(",", ":"))


class Escalation(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    kind: EscalationKind
    status: EscalationStatus
    created_at: datetime
    expires_at: datetime
    decided_by: str | None = None
    decided_at: datetime | None = None
    subject: str
    client_id: str | None
    domain: str
    method: str
    tool: str | None
    arguments_hash: str
    policy_version: str
    reasons: list[str]
    policy_ids: list[str]
    decision_id: str
    detail: dict[str, Any] = {}


class EscalationStore:
    """Escalations in SQLite (WAL), safe from several threads; every change is one transaction."""

    def __init__(
        self,
        path: Path,
        *,
        ttl: timedelta = timedelta(minutes=15),
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.path = path
        self.ttl = ttl
        self._clock = clock or (lambda: datetime.now(UTC))
        self._lock = threading.Lock()
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._db() as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(_SCHEMA)

    def hold(
        self,
        binding: CallBinding,
        *,
        reasons: list[str],
        policy_ids: list[str],
        decision_id: str,
        kind: EscalationKind = "call",
        detail: dict[str, Any] | None = None,
    ) -> tuple[Escalation, bool]:
        """The pending escalation for this call, opened now if there is none; and whether it is new."""
        with self._lock, self._db() as db:
            row = db.execute(
                "SELECT document FROM escalations WHERE binding = ? AND status = 'pending' "
                "ORDER BY created_at DESC",
                (binding.key,),
            ).fetchone()
            if row is not None:
                pending = Escalation.model_validate_json(row[0])
                if pending.expires_at > self._clock():
                    return pending, False
                self._set_status(db, pending, "expired")
            now = self._clock()
            escalation = Escalation(
                id=f"esc-{uuid.uuid4().hex[:12]}",
                kind=kind,
                status="pending",
                created_at=now,
                expires_at=now + self.ttl,
                subject=binding.subject,
                client_id=binding.client_id,
                domain=binding.domain,
                method=binding.method,
                tool=binding.tool,
                arguments_hash=binding.arguments_hash,
                policy_version=binding.policy_version,
                reasons=reasons,
                policy_ids=policy_ids,
                decision_id=decision_id,
                detail=detail or {},
            )
            db.execute(
                "INSERT INTO escalations VALUES (?, ?, ?, ?, ?, ?, NULL, NULL, ?)",
                (
                    escalation.id,
                    kind,
                    binding.key,
                    "pending",
                    now.isoformat(),
                    escalation.expires_at.isoformat(),
                    escalation.model_dump_json(),
                ),
            )
            return escalation, True

    def take_approval(self, binding: CallBinding) -> Escalation | None:
        """An approved, unexpired escalation for exactly this call, consumed (it lets one call through)."""
        with self._lock, self._db() as db:
            row = db.execute(
                "SELECT document FROM escalations WHERE binding = ? AND status = 'approved' "
                "ORDER BY created_at",
                (binding.key,),
            ).fetchone()
            if row is None:
                return None
            approved = Escalation.model_validate_json(row[0])
            if approved.expires_at <= self._clock():
                self._set_status(db, approved, "expired")
                return None
            return self._set_status(db, approved, "consumed")

    def expired_for(self, binding: CallBinding) -> Escalation | None:
        """The latest escalation of this call if it ran out of time unanswered or unused."""
        with self._lock, self._db() as db:
            rows = db.execute(
                "SELECT document FROM escalations WHERE binding = ? AND status IN ('pending', 'approved')",
                (binding.key,),
            ).fetchall()
            lapsed = None
            for (document,) in rows:
                escalation = Escalation.model_validate_json(document)
                if escalation.expires_at <= self._clock():
                    lapsed = self._set_status(db, escalation, "expired")
            return lapsed

    def decide(self, escalation_id: str, *, approve: bool, by: str) -> Escalation:
        with self._lock, self._db() as db:
            escalation = self._get(db, escalation_id)
            if escalation.status == "pending" and escalation.expires_at <= self._clock():
                self._set_status(db, escalation, "expired")
                raise EscalationClosedError(escalation_id, "expired")
            if escalation.status != "pending":
                raise EscalationClosedError(escalation_id, escalation.status)
            return self._set_status(db, escalation, "approved" if approve else "denied", by=by)

    def get(self, escalation_id: str) -> Escalation:
        with self._db() as db:
            return self._get(db, escalation_id)

    def list(self, status: EscalationStatus | None = None, limit: int = 200) -> list[Escalation]:
        with self._db() as db:
            if status is None:
                rows = db.execute(
                    "SELECT document FROM escalations ORDER BY created_at DESC LIMIT ?", (limit,)
                ).fetchall()
            else:
                rows = db.execute(
                    "SELECT document FROM escalations WHERE status = ? ORDER BY created_at DESC LIMIT ?",
                    (status, limit),
                ).fetchall()
        return [Escalation.model_validate_json(document) for (document,) in rows]

    def _get(self, db: sqlite3.Connection, escalation_id: str) -> Escalation:
        row = db.execute("SELECT document FROM escalations WHERE id = ?", (escalation_id,)).fetchone()
        if row is None:
            raise EscalationNotFoundError(escalation_id)
        return Escalation.model_validate_json(row[0])

    def _set_status(
        self,
        db: sqlite3.Connection,
        escalation: Escalation,
        status: EscalationStatus,
        *,
        by: str | None = None,
    ) -> Escalation:
        changes: dict[str, Any] = {"status": status}
        if by is not None:
            changes |= {"decided_by": by, "decided_at": self._clock()}
        updated = escalation.model_copy(update=changes)
        db.execute(
            "UPDATE escalations SET status = ?, decided_by = ?, decided_at = ?, document = ? WHERE id = ?",
            (
                status,
                updated.decided_by,
                updated.decided_at.isoformat() if updated.decided_at else None,
                updated.model_dump_json(),
                escalation.id,
            ),
        )
        return updated

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        with closing(sqlite3.connect(self.path, timeout=10)) as db, db:
            yield db
