"""Ports of the archiver."""

from __future__ import annotations

from typing import Any, Protocol


class UploadError(RuntimeError):
    """An object could not be written after retries."""


class ObjectStore(Protocol):
    """Where raw documents go. Writes are SSE-S3 and overwrite (replays write the same object)."""

    def put_json(self, key: str, document: Any) -> None:
        """Write a JSON document. Raises UploadError."""

    def get_json(self, key: str) -> Any | None:
        """Read a JSON document, or None if absent."""


class ArchiverMetrics(Protocol):
    """Custom metrics of the archiver (TRD section 9)."""

    def upload_failed(self, key: str) -> None:
        """Count one object that could not be written after all retries (S3UploadFailures)."""
