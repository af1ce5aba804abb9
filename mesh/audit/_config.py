"""Choosing the backend from settings, at an entry point."""

from __future__ import annotations

from mesh.audit._backend import LedgerBackend
from mesh.audit._errors import AuditError
from mesh.audit._ledger import AuditLog, BackendFactory, Ledger
from mesh.audit._sqlite import SQLiteBackend
from mesh.settings import MeshSettings


def backend_factory(settings: MeshSettings) -> BackendFactory:
    """A factory of fresh, unopened backends as `settings` choose (one per connection user)."""
    if settings.audit_backend == "sqlite":
        path = settings.audit_path
        return lambda: SQLiteBackend(path)
    try:
        from mesh.audit._postgres import PostgresBackend
    except ImportError as error:  # psycopg is the `postgres` extra
        raise AuditError(
            f"the postgres audit backend needs psycopg ({error.name} is missing): "
            "install the extra with `uv sync --extra postgres`"
        ) from None
    assert settings.audit_dsn is not None
    dsn = settings.audit_dsn.get_secret_value()

    def make() -> LedgerBackend:
        return PostgresBackend(dsn)

    return make


def open_audit_log(settings: MeshSettings) -> AuditLog:
    return AuditLog(backend_factory(settings)(), settings.key_dir)


def open_ledger(settings: MeshSettings) -> Ledger:
    return Ledger(backend_factory(settings), settings.key_dir)
