"""A domain's own SQLite store: one table per data product, a refresh log and an action log.

Table and column names come only from validated contracts (identifiers checked there); every
value is a bound parameter. That is why the SQL below is built with f-strings (ruff S608).

Every write happens in a `transaction()`: `BEGIN IMMEDIATE` takes the store's write lock before
the first read, so what a write depends on cannot change until it commits (no lost updates between
processes sharing the file). Reads outside a transaction open their own read-only connection, so
query tools never see a half-written refresh or action and never block each other.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

from mesh.dataproducts import DataProductContract, QualityReport

from ._actions import ActionEffect, ActionRecord, RowIncrement, RowInsert

_SQL_TYPES = {"string": "TEXT", "integer": "INTEGER", "number": "REAL", "boolean": "INTEGER"}
_NUMERIC = {"integer", "number"}
WRITE_LOCK_TIMEOUT_SECONDS = 30.0
"""How long a write waits for another writer (a refresh, a concurrent action) to commit."""

_REFRESH_COLUMNS = "product_id, refreshed_at, as_of, row_count, source, quality"


class StoreWriteError(Exception):
    """A write the store refused (the transaction rolls back); a defect of the caller, not bad input."""

    def __init__(self, product: str, detail: str) -> None:
        super().__init__(f"{product}: {detail}")
        self.product = product
        self.detail = detail


@dataclass(frozen=True)
class Refresh:
    product_id: str
    refreshed_at: datetime
    as_of: datetime
    row_count: int
    source: str
    quality: QualityReport


@dataclass(frozen=True)
class Window:
    """A half-open time window [start, end) over a product's time field, as ISO strings."""

    start: str | None = None
    end: str | None = None


class DomainStore:
    def __init__(self, path: Path) -> None:
        self.path = path

    @contextmanager
    def transaction(self, contracts: Iterable[DataProductContract]) -> Iterator[StoreTransaction]:
        """One write transaction over the products of `contracts`: committed when the block ends,
        rolled back when it raises. Waits up to `WRITE_LOCK_TIMEOUT_SECONDS` for other writers."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with closing(
            sqlite3.connect(self.path, isolation_level=None, timeout=WRITE_LOCK_TIMEOUT_SECONDS)
        ) as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("BEGIN IMMEDIATE")
            try:
                transaction = StoreTransaction(db, contracts)
                yield transaction
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

    def last_refresh(self, product_id: str) -> Refresh | None:
        """The product's latest refresh; None before the store's first refresh."""
        if not self.path.exists():
            return None
        with self._read() as db:
            if db.execute("SELECT 1 FROM sqlite_master WHERE name = '_refresh'").fetchone() is None:
                return None
            row = db.execute(
                f"SELECT {_REFRESH_COLUMNS} FROM _refresh WHERE product_id = ?",  # noqa: S608
                (product_id,),
            ).fetchone()
        return None if row is None else _refresh(row)

    def query(
        self,
        contract: DataProductContract,
        *,
        equals: Mapping[str, Any] | None = None,
        window: Window | None = None,
        limit: int,
        newest_first: bool = False,
    ) -> tuple[list[dict[str, Any]], int]:
        """Rows matching every `equals` filter and the window, up to `limit`; and how many matched."""
        where, params = _where(contract, equals)
        clauses = [where] if where else []
        if window is not None and contract.time_field is not None:
            if window.start is not None:
                clauses.append(f'"{contract.time_field}" >= ?')
                params.append(window.start)
            if window.end is not None:
                clauses.append(f'"{contract.time_field}" < ?')
                params.append(window.end)
        where_sql = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        order_columns = ([contract.time_field] if contract.time_field else []) + contract.key
        direction = " DESC" if newest_first else ""
        order = ", ".join(f'"{c}"{direction}' for c in order_columns)
        with self._read() as db:
            count_sql = f"SELECT COUNT(*) FROM {contract.table}{where_sql}"  # noqa: S608
            total = db.execute(count_sql, params).fetchone()[0]
            cursor = db.execute(
                f"SELECT * FROM {contract.table}{where_sql} ORDER BY {order} LIMIT ?",  # noqa: S608
                [*params, limit],
            )
            rows = _decoded(contract, cursor)
        return rows, total

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        if not self.path.exists():
            raise FileNotFoundError(f"store {self.path} has not been refreshed yet")
        with closing(sqlite3.connect(f"file:{self.path}?mode=ro", uri=True)) as db:
            yield db


class StoreTransaction:
    """The write API of a domain store, inside one `DomainStore.transaction()`.

    Products are named as in their contracts (`shipments`); every row written is checked against
    its contract's row schema first, and a row that does not conform is refused (`StoreWriteError`).
    """

    def __init__(self, db: sqlite3.Connection, contracts: Iterable[DataProductContract]) -> None:
        self._db = db
        self._contracts = {contract.name: contract for contract in contracts}
        self._validators: dict[str, Draft202012Validator] = {}
        db.execute(
            "CREATE TABLE IF NOT EXISTS _refresh (product_id TEXT PRIMARY KEY, refreshed_at TEXT, "
            "as_of TEXT, row_count INTEGER, source TEXT, quality TEXT)"
        )
        db.execute(
            "CREATE TABLE IF NOT EXISTS _actions (seq INTEGER PRIMARY KEY, kind TEXT NOT NULL, "
            "world TEXT NOT NULL, taken_at TEXT NOT NULL, record TEXT NOT NULL)"
        )

    def rows(self, product: str, equals: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        """Every row of `product` matching the `equals` filters (None values ignored), in key order."""
        contract = self._contract(product)
        where, params = _where(contract, equals)
        where_sql = f" WHERE {where}" if where else ""
        order = ", ".join(f'"{c}"' for c in contract.key)
        cursor = self._db.execute(
            f"SELECT * FROM {contract.table}{where_sql} ORDER BY {order}",  # noqa: S608
            params,
        )
        return _decoded(contract, cursor)

    def latest_refresh(self) -> Refresh | None:
        """The newest refresh of any product: its source names the world, its as_of the domain clock."""
        row = self._db.execute(
            f"SELECT {_REFRESH_COLUMNS} FROM _refresh ORDER BY refreshed_at DESC, product_id LIMIT 1"  # noqa: S608
        ).fetchone()
        return None if row is None else _refresh(row)

    def next_action_seq(self) -> int:
        (last,) = self._db.execute("SELECT COALESCE(MAX(seq), 0) FROM _actions").fetchone()
        return int(last) + 1

    def record_action(self, action: ActionRecord) -> None:
        """Append `action` to the log and apply its effect to the products."""
        self._db.execute(
            "INSERT INTO _actions VALUES (?, ?, ?, ?, ?)",
            (action.seq, action.kind, action.world, action.taken_at.isoformat(), action.model_dump_json()),
        )
        self.apply(action.effect)

    def actions(self, *, world: str) -> list[ActionRecord]:
        """The logged actions taken in `world`, in the order they were taken."""
        cursor = self._db.execute("SELECT record FROM _actions WHERE world = ? ORDER BY seq", (world,))
        return [ActionRecord.model_validate_json(record) for (record,) in cursor]

    def apply(self, effect: ActionEffect) -> None:
        for insert in effect.inserts:
            self._insert(insert)
        for increment in effect.increments:
            self._increment(increment)

    def replace_rows(self, product: str, rows: Sequence[dict[str, Any]]) -> None:
        """Drop and rebuild the product's table with `rows` (a refresh; rows are not checked here:
        the refresh measures them against the contract and reports it)."""
        contract = self._contract(product)
        columns = list(contract.columns)
        self._db.execute(f"DROP TABLE IF EXISTS {contract.table}")
        column_sql = ", ".join(f'"{c}" {_SQL_TYPES[contract.column_type(c)]}' for c in columns)
        key_sql = ", ".join(f'"{c}"' for c in contract.key)
        self._db.execute(f"CREATE TABLE {contract.table} ({column_sql}, PRIMARY KEY ({key_sql}))")
        if contract.time_field:
            self._db.execute(
                f'CREATE INDEX {contract.table}_time ON {contract.table} ("{contract.time_field}")'
            )
        placeholders = ", ".join("?" for _ in columns)
        self._db.executemany(
            f"INSERT INTO {contract.table} VALUES ({placeholders})",  # noqa: S608
            ([row.get(c) for c in columns] for row in rows),
        )

    def record_refresh(self, report: QualityReport, *, source: str) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO _refresh VALUES (?, ?, ?, ?, ?, ?)",
            (
                report.product_id,
                report.refreshed_at.isoformat(),
                report.as_of.isoformat(),
                report.row_count,
                source,
                report.model_dump_json(),
            ),
        )

    def _insert(self, insert: RowInsert) -> None:
        contract = self._contract(insert.product)
        unknown = sorted(set(insert.row) - set(contract.columns))
        if unknown:
            raise StoreWriteError(contract.id, f"columns {unknown} are not in the contract")
        row = {column: insert.row.get(column) for column in contract.columns}
        self._check(contract, row)
        names = ", ".join(f'"{c}"' for c in row)
        placeholders = ", ".join("?" for _ in row)
        try:
            self._db.execute(
                f"INSERT INTO {contract.table} ({names}) VALUES ({placeholders})",  # noqa: S608
                list(row.values()),
            )
        except sqlite3.IntegrityError as error:
            raise StoreWriteError(contract.id, f"row {_key_of(contract, row)}: {error}") from None

    def _increment(self, increment: RowIncrement) -> None:
        contract = self._contract(increment.product)
        if sorted(increment.key) != sorted(contract.key):
            raise StoreWriteError(contract.id, f"key {sorted(increment.key)} is not {contract.key}")
        numeric = {c for c in contract.columns if contract.column_type(c) in _NUMERIC}
        not_numeric = sorted(set(increment.deltas) - numeric)
        if not_numeric:
            raise StoreWriteError(contract.id, f"columns {not_numeric} are not numeric columns")
        assignments = ", ".join(f'"{c}" = "{c}" + ?' for c in increment.deltas)
        where, params = _where(contract, increment.key)
        updated = self._db.execute(
            f"UPDATE {contract.table} SET {assignments} WHERE {where}",  # noqa: S608
            [*increment.deltas.values(), *params],
        ).rowcount
        if updated != 1:
            raise StoreWriteError(contract.id, f"no row with key {increment.key}")
        (row,) = self.rows(increment.product, increment.key)
        self._check(contract, row)

    def _check(self, contract: DataProductContract, row: dict[str, Any]) -> None:
        if contract.name not in self._validators:
            self._validators[contract.name] = Draft202012Validator(contract.row_schema)
        error = next(iter(self._validators[contract.name].iter_errors(row)), None)
        if error is not None:
            where = "/".join(str(p) for p in error.absolute_path) or "(row)"
            raise StoreWriteError(
                contract.id, f"row {_key_of(contract, row)} breaks the contract at {where}: {error.message}"
            )

    def _contract(self, product: str) -> DataProductContract:
        try:
            return self._contracts[product]
        except KeyError:
            raise StoreWriteError(product, "no such product in this store") from None


def _where(contract: DataProductContract, equals: Mapping[str, Any] | None) -> tuple[str, list[Any]]:
    clauses: list[str] = []
    params: list[Any] = []
    for column, value in (equals or {}).items():
        if value is None:
            continue
        if column not in contract.columns:
            raise KeyError(column)
        clauses.append(f'"{column}" = ?')
        params.append(value)
    return " AND ".join(clauses), params


def _decoded(contract: DataProductContract, cursor: sqlite3.Cursor) -> list[dict[str, Any]]:
    names = [d[0] for d in cursor.description]
    booleans = {c for c in names if contract.column_type(c) == "boolean"}
    return [
        {n: (bool(v) if n in booleans and v is not None else v) for n, v in zip(names, r, strict=True)}
        for r in cursor.fetchall()
    ]


def _key_of(contract: DataProductContract, row: Mapping[str, Any]) -> dict[str, Any]:
    return {column: row.get(column) for column in contract.key}


def _refresh(row: Sequence[Any]) -> Refresh:
    return Refresh(
        product_id=row[0],
        refreshed_at=datetime.fromisoformat(row[1]),
        as_of=datetime.fromisoformat(row[2]),
        row_count=row[3],
        source=row[4],
        quality=QualityReport.model_validate(json.loads(row[5])),
    )
