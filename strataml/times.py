"""Timestamps as the contracts write them: RFC 3339 text, compared in UTC."""

from __future__ import annotations

from datetime import UTC, date, datetime


def parse_time(text: str) -> datetime | None:
    """A plain date counts as midnight UTC; a time without offset counts as UTC."""
    if not isinstance(text, str):
        return None
    raw = text.strip().replace(" ", "T", 1)
    if raw.endswith(("Z", "z")):
        raw = raw[:-1] + "+00:00"
    try:
        if len(raw) == 10:
            d = date.fromisoformat(raw)
            return datetime(d.year, d.month, d.day, tzinfo=UTC)
        value = datetime.fromisoformat(raw)
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def utc_now() -> str:
    return stamp(datetime.now(UTC))


def stamp(when: datetime) -> str:
    """RFC 3339 in UTC to the second, the way StrataML writes every time."""
    return when.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
