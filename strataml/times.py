"""Timestamps as the contracts write them: RFC 3339 text, compared in UTC."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

_OFFSET = re.compile(r"[+-]([0-9]{2}):?([0-9]{2})$")
_WRITTEN = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z")
_INSTANT = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?(Z|[+-][0-9]{2}:[0-9]{2})")
# The last instant of a day datetime can hold: an inclusive end given as a date means the whole day.
_LAST_INSTANT = timedelta(days=1, microseconds=-1)


def parse_time(text: str, *, end: bool = False) -> datetime | None:
    """A time without offset counts as UTC. A plain date counts as that day's first instant, or,
    as the `end` of an inclusive interval (time ranges, split windows), as its last (TFC-0002)."""
    if not isinstance(text, str):
        return None
    if len(text) == 20 and _WRITTEN.fullmatch(text):
        # The form StrataML writes: nothing below would change its text but the Z, which
        # fromisoformat reads as +00:00 itself, in a third of the time (a run record holds three).
        try:
            return datetime.fromisoformat(text)
        except ValueError:
            return None
    raw = text.strip().replace(" ", "T", 1)
    if raw.endswith(("Z", "z")):
        raw = raw[:-1] + "+00:00"
    offset = _OFFSET.search(raw) if len(raw) > 10 else None
    if offset and (int(offset.group(1)) > 23 or int(offset.group(2)) > 59):
        return None  # +00:60 would read as an hour ahead: no such offset (RFC 3339)
    try:
        if len(raw) == 10:
            d = date.fromisoformat(raw)
            first = datetime(d.year, d.month, d.day, tzinfo=UTC)
            return first + _LAST_INSTANT if end else first
        value = datetime.fromisoformat(raw)
    except ValueError:
        return None
    if not value.tzinfo:
        return value.replace(tzinfo=UTC)
    try:
        value.astimezone(UTC)  # (0001-01-01T00:00+01:00 is in year 0 in UTC: no instant Python holds)
    except OverflowError:
        return None
    return value


def parse_instant(text: str) -> datetime | None:
    """`text` as an instant, spelled as RFC 3339 spells one (a date, a time of day with seconds,
    and its offset), or None: a date alone, or a time without its offset, reads as an instant
    only by a convention, and orders ambiguously (a ledger entry's `at`, TFC-0005)."""
    return parse_time(text) if isinstance(text, str) and _INSTANT.fullmatch(text) else None


def below_microseconds(text: str) -> int:
    """The nanoseconds past the microsecond an instant's text spells (its 7th to 9th fraction
    digits; 0 for none), which parse_instant's datetime cannot hold."""
    m = _INSTANT.fullmatch(text)
    digits = (m.group(1) or ".")[1:] if m else ""
    return int(digits[6:9].ljust(3, "0")) if len(digits) > 6 else 0


def utc_now() -> str:
    return stamp(datetime.now(UTC))


def stamp(when: datetime) -> str:
    """RFC 3339 in UTC to the second, the way StrataML writes every time."""
    return when.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
