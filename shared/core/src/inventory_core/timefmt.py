"""Timestamps as the table stores them: ISO 8601, UTC, fixed width, so strings sort like times."""

from __future__ import annotations

from datetime import UTC, datetime


def iso(value: datetime) -> str:
    """Format as ``2026-01-31T02:15:00.000000Z`` (fixed width: lexicographic order is time order)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_iso(value: str) -> datetime:
    """Parse what :func:`iso` wrote (or any ISO 8601 string with an offset or Z)."""
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
