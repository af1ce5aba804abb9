"""Tool pinning: each tool definition seen upstream is recorded by hash on first sight; a later
change of description, schema or annotations is held (not offered, not callable) until approved.
This is the defence against rug pulls and tool poisoning by a compromised or changed server.

With a tool lock (the repository's reviewed definitions, `mesh.assets.ToolLock`), the locked tools
are pinned before they are ever seen: a definition that differs from the lock is held even at
first sight. Tools absent from the lock are still pinned on first sight."""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mesh.assets import ToolLock, definition_hash

_SCHEMA = """
CREATE TABLE IF NOT EXISTS tool_pins (
    domain TEXT NOT NULL,
    tool TEXT NOT NULL,
    hash TEXT NOT NULL,
    definition TEXT NOT NULL,
    pinned_at TEXT NOT NULL,
    pinned_by TEXT NOT NULL,
    PRIMARY KEY (domain, tool)
);
CREATE TABLE IF NOT EXISTS tool_changes (
    domain TEXT NOT NULL,
    tool TEXT NOT NULL,
    hash TEXT NOT NULL,
    definition TEXT NOT NULL,
    seen_at TEXT NOT NULL,
    PRIMARY KEY (domain, tool, hash)
);
"""

FIRST_USE = "first use"
LOCK = "lock"
"""`pinned_by` of a pin taken on first sight, and of one taken from the tool lock; any other
value is the operator who approved a change."""


@dataclass(frozen=True, slots=True)
class HeldChange:
    domain: str
    tool: str
    pinned_hash: str
    new_hash: str


@dataclass
class Review:
    """A tool list as upstream sent it, sorted into what may be offered and what is held."""

    offered: list[dict[str, Any]] = field(default_factory=list)
    newly_pinned: list[str] = field(default_factory=list)
    held: list[HeldChange] = field(default_factory=list)
    newly_held: list[HeldChange] = field(default_factory=list)


class ToolPins:
    """The pins of one gateway, in SQLite at `path`, seeded from `lock` when one is given.

    Seeding (at construction): a locked tool without a pin is pinned to the locked hash; a pin
    taken on first sight or from an earlier lock that differs from the lock is moved to it (the
    lock is the reviewed definition); a pin an operator approved is kept. A recorded change whose
    hash is the locked one is no longer a change."""

    def __init__(self, path: Path, lock: ToolLock | None = None) -> None:
        self.path = path
        self._lock = threading.Lock()
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._db() as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(_SCHEMA)
            if lock is not None:
                _seed(db, lock)
        self._held: set[tuple[str, str]] = set()
        self._loaded_version: int | None = None
        self._dirty = True
        self._reader: sqlite3.Connection | None = None

    def review(self, domain: str, tools: list[dict[str, Any]]) -> Review:
        """Pin unknown tools (trust on first use), offer unchanged ones, hold changed ones (a
        locked tool is never unknown: one that differs from the lock is held at first sight)."""
        review = Review()
        now = datetime.now(UTC).isoformat()
        with self._lock, self._db() as db:
            for tool in tools:
                name = str(tool.get("name"))
                digest = definition_hash(tool)
                row = db.execute(
                    "SELECT hash FROM tool_pins WHERE domain = ? AND tool = ?", (domain, name)
                ).fetchone()
                if row is None:
                    db.execute(
                        "INSERT INTO tool_pins VALUES (?, ?, ?, ?, ?, ?)",
                        (domain, name, digest, json.dumps(tool), now, FIRST_USE),
                    )
                    review.newly_pinned.append(name)
                    review.offered.append(tool)
                elif row[0] == digest:
                    review.offered.append(tool)
                else:
                    change = HeldChange(domain, name, row[0], digest)
                    review.held.append(change)
                    inserted = db.execute(
                        "INSERT OR IGNORE INTO tool_changes VALUES (?, ?, ?, ?, ?)",
                        (domain, name, digest, json.dumps(tool), now),
                    ).rowcount
                    if inserted:
                        review.newly_held.append(change)
            self._dirty = True
        return review

    def pinned_hash(self, domain: str, tool: str) -> str | None:
        with self._db() as db:
            row = db.execute(
                "SELECT hash FROM tool_pins WHERE domain = ? AND tool = ?", (domain, tool)
            ).fetchone()
        return None if row is None else str(row[0])

    def held(self, domain: str, tool: str) -> bool:
        """Whether the definition upstream serves now differs from the pinned one (a call must wait).

        Answered from memory on the hot path; the memory is reloaded from SQLite whenever the file
        changed (`PRAGMA data_version`), so an approval made by another process is seen at once."""
        with self._lock:
            self._refresh_held()
            return (domain, tool) in self._held

    def _refresh_held(self) -> None:
        if self._reader is None:
            self._reader = sqlite3.connect(self.path, timeout=10, check_same_thread=False)
        version = self._reader.execute("PRAGMA data_version").fetchone()[0]
        if version == self._loaded_version and not self._dirty:
            return
        rows = self._reader.execute(
            "SELECT c.domain, c.tool FROM tool_changes c JOIN tool_pins p USING (domain, tool) "
            "WHERE c.hash != p.hash"
        ).fetchall()
        self._held = {(str(d), str(t)) for d, t in rows}
        self._loaded_version = version
        self._dirty = False

    def approve(self, change: HeldChange, *, by: str) -> None:
        """Pin the changed definition: it is offered and callable from now on."""
        with self._lock, self._db() as db:
            row = db.execute(
                "SELECT definition FROM tool_changes WHERE domain = ? AND tool = ? AND hash = ?",
                (change.domain, change.tool, change.new_hash),
            ).fetchone()
            if row is None:
                raise KeyError(f"no held change {change.new_hash[:12]} of {change.domain}.{change.tool}")
            db.execute(
                "UPDATE tool_pins SET hash = ?, definition = ?, pinned_at = ?, pinned_by = ? "
                "WHERE domain = ? AND tool = ?",
                (change.new_hash, row[0], datetime.now(UTC).isoformat(), by, change.domain, change.tool),
            )
            db.execute(
                "DELETE FROM tool_changes WHERE domain = ? AND tool = ? AND hash = ?",
                (change.domain, change.tool, change.new_hash),
            )
            self._dirty = True

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        with closing(sqlite3.connect(self.path, timeout=10)) as db, db:
            yield db


def _seed(db: sqlite3.Connection, lock: ToolLock) -> None:
    now = datetime.now(UTC).isoformat()
    for domain, tools in lock.hashes.items():
        for tool, digest in tools.items():
            definition = json.dumps(lock.definitions.get(domain, {}).get(tool))
            row = db.execute(
                "SELECT hash, pinned_by FROM tool_pins WHERE domain = ? AND tool = ?", (domain, tool)
            ).fetchone()
            if row is None:
                db.execute(
                    "INSERT INTO tool_pins VALUES (?, ?, ?, ?, ?, ?)",
                    (domain, tool, digest, definition, now, LOCK),
                )
            elif row[0] != digest and row[1] in (FIRST_USE, LOCK):
                db.execute(
                    "UPDATE tool_pins SET hash = ?, definition = ?, pinned_at = ?, pinned_by = ? "
                    "WHERE domain = ? AND tool = ?",
                    (digest, definition, now, LOCK, domain, tool),
                )
            db.execute(
                "DELETE FROM tool_changes WHERE domain = ? AND tool = ? AND hash = ?", (domain, tool, digest)
            )


__all__ = ["FIRST_USE", "LOCK", "HeldChange", "Review", "ToolPins", "definition_hash"]
