"""`mesh audit show` shows the versions of the assets a step used, and nothing for a record
written without them."""

from __future__ import annotations

from datetime import UTC, datetime

from rich.console import Console

from mesh.audit import AuditRecord, LedgerEntry, render_decision


def _shown(record: AuditRecord) -> str:
    console = Console(width=200, record=True)
    console.print(
        render_decision(record.decision_id, [LedgerEntry(1, "2026-11-21T00:00:00Z", "ab" * 32, record)])
    )
    return console.export_text()


def _record(assets: dict[str, str] | None) -> AuditRecord:
    return AuditRecord(
        decision_id="chat-0123",
        occurred_at=datetime(2026, 11, 21, tzinfo=UTC),
        agent="operator-chat",
        action="chat/answer",
        execution_mode="autonomous",
        status="executed",
        assets=assets,
    )


def test_a_records_asset_versions_are_shown() -> None:
    shown = _shown(
        _record({"prompt/operator-chat": "sha256:0123456789abcdef", "model/settings": "sha256:fedcba"})
    )

    assert "assets" in shown
    assert "model/settings@sha256:fedcba prompt/operator-chat@sha256:0123456789abcdef" in shown


def test_a_record_without_assets_shows_no_assets_row() -> None:
    assert "assets" not in _shown(_record(None))
