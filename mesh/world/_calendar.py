from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

START = datetime(2026, 1, 5, tzinfo=UTC)
HISTORY_DAYS = 28
HORIZON_DAYS = 14
AS_OF = START + timedelta(days=HISTORY_DAYS)
HORIZON_END = AS_OF + timedelta(days=HORIZON_DAYS)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
HISTORY_HOURS = HISTORY_DAYS * 24
TOTAL_HOURS = (HISTORY_DAYS + HORIZON_DAYS) * 24


def at_hour(hour_index: int) -> datetime:
    return START + hour_index * HOUR


def iso_ts(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def iso_date(day: date) -> str:
    return day.isoformat()


def hour_index(ts: datetime) -> int:
    """Index of the hour holding `ts`, counted from START; ValueError outside [START, HORIZON_END)."""
    if ts.tzinfo is None or ts.utcoffset() is None:
        raise ValueError(f"timestamp {ts.isoformat()} is naive; pass a timezone-aware datetime (UTC)")
    if not START <= ts < HORIZON_END:
        raise ValueError(
            f"timestamp {iso_ts(ts)} is outside the world's time range "
            f"[{iso_ts(START)}, {iso_ts(HORIZON_END)})"
        )
    return int((ts - START) // HOUR)
