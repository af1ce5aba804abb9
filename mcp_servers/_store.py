"""A domain's own SQLite store: one table per data product, plus a refresh log.

Table and column names come only from validated contracts (identifiers checked there); every
value is a bound parameter. That is why the SQL below is built with f-strings (ruff S608).

Every write happens at refresh, in one transaction; reads open their own read-only connection,
so query tools never see a half-written refresh and never block each other.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from mesh.dataproducts import DataProductContract, QualityReport

_SQL_TYPES = {"string": "TEXT", "integer": "INTEGER", "number": "REAL", "boolean": "INTEGER"}


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

    def replace(
        self,
        products: Sequence[tuple[DataProductContract, Sequence[dict[str, Any]]]],
        reports: Mapping[str, QualityReport],
        *,
        source: str,
    ) -> None:
        """Replace every product's rows and record the refresh, all in one transaction."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with closing(sqlite3.connect(self.path, isolation_level=None)) as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("BEGIN IMMEDIATE")
            try:
                self._write(db, products, reports, source)
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

    @staticmethod
    def _write(
        db: sqlite3.Connection,
        products: Sequence[tuple[DataProductContract, Sequence[dict[str, Any]]]],
        reports: Mapping[str, QualityReport],
        source: str,
    ) -> None:
        db.execute(
            "CREATE TABLE IF NOT EXISTS _refresh (product_id TEXT PRIMARY KEY, refreshed_at TEXT, "
            "as_of TEXT, row_count INTEGER, source TEXT, quality TEXT)"
        )
        for contract, rows in products:
            columns = list(contract.columns)
            db.execute(f"DROP TABLE IF EXISTS {contract.table}")
            column_sql = ", ".join(f'"{c}" {_SQL_TYPES[contract.column_type(c)]}' for c in columns)
            key_sql = ", ".join(f'"{c}"' for c in contract.key)
            db.execute(f"CREATE TABLE {contract.table} ({column_sql}, PRIMARY KEY ({key_sql}))")
            if contract.time_field:
                db.execute(
                    f'CREATE INDEX {contract.table}_time ON {contract.table} ("{contract.time_field}")'
                )
            placeholders = ", ".join("?" for _ in columns)
            db.executemany(
                f"INSERT INTO {contract.table} VALUES ({placeholders})",  # noqa: S608
                ([row.get(c) for c in columns] for row in rows),
            )
            report = reports[contract.id]
            db.execute(
                "INSERT OR REPLACE INTO _refresh VALUES (?, ?, ?, ?, ?, ?)",
                (
                    contract.id,
                    report.refreshed_at.isoformat(),
                    report.as_of.isoformat(),
                    len(rows),
                    source,
                    report.model_dump_json(),
                ),
            )

    def last_refresh(self, product_id: str) -> Refresh | None:
        with self._read() as db:
            row = db.execute(
                "SELECT product_id, refreshed_at, as_of, row_count, source, quality FROM _refresh "
                "WHERE product_id = ?",
                (product_id,),
            ).fetchone()
        if row is None:
            return None
        return Refresh(
            product_id=row[0],
            refreshed_at=datetime.fromisoformat(row[1]),
            as_of=datetime.fromisoformat(row[2]),
            row_count=row[3],
            source=row[4],
            quality=QualityReport.model_validate(json.loads(row[5])),
        )

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
        clauses: list[str] = []
        params: list[Any] = []
        for column, value in (equals or {}).items():
            if value is None:
                continue
            if column not in contract.columns:
                raise KeyError(column)
            clauses.append(f'"{column}" = ?')
            params.append(value)
        if window is not None and contract.time_field is not None:
            if window.start is not None:
                clauses.append(f'"{contract.time_field}" >= ?')
                params.append(window.start)
            if window.end is not None:
                clauses.append(f'"{contract.time_field}" < ?')
                params.append(window.end)
        where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        order_columns = ([contract.time_field] if contract.time_field else []) + contract.key
        direction = " DESC" if newest_first else ""
        order = ", ".join(f'"{c}"{direction}' for c in order_columns)
        with self._read() as db:
            count_sql = f"SELECT COUNT(*) FROM {contract.table}{where}"  # noqa: S608
            total = db.execute(count_sql, params).fetchone()[0]
            cursor = db.execute(
                f"SELECT * FROM {contract.table}{where} ORDER BY {order} LIMIT ?",  # noqa: S608
                [*params, limit],
            )
            names = [d[0] for d in cursor.description]
            booleans = {c for c in names if contract.column_type(c) == "boolean"}
            rows = [
                {
                    n: (bool(v) if n in booleans and v is not None else v)
                    for n, v in zip(names, r, strict=True)
                }
                for r in cursor.fetchall()
            ]
        return rows, total

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        if not self.path.exists():
            raise FileNotFoundError(f"store {self.path} has not been refreshed yet")
        with closing(sqlite3.connect(f"file:{self.path}?mode=ro", uri=True)) as db:
            yield db
