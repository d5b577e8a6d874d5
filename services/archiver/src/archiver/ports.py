"""Ports of the archiver."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol


class UploadError(RuntimeError):
    """An object could not be written after retries."""


class WriteConflictError(RuntimeError):
    """A conditional write lost: the object changed (or appeared, or vanished) since it was read."""


@dataclass(frozen=True)
class TaggedDocument:
    """A JSON document and the version tag (S3 ETag) it was read at."""

    document: Any
    etag: str


class ObjectStore(Protocol):
    """Where raw documents go. Writes are SSE-S3."""

    def put_json(self, key: str, document: Any) -> None:
        """Write a JSON document, overwriting (replays write the same object). Raises UploadError."""

    def get_json(self, key: str) -> Any | None:
        """Read a JSON document, or None if absent."""

    def get_tagged(self, key: str) -> TaggedDocument | None:
        """Read a JSON document with its version tag, or None if absent."""

    def keys_under(self, prefix: str) -> set[str]:
        """The keys of the objects whose key starts with ``prefix`` (one listing, strongly consistent in S3)."""

    def put_json_if(self, key: str, document: Any, *, etag: str | None) -> None:
        """Write only if the object is still at ``etag`` (``None``: only if it does not exist yet).

        Raises:
            WriteConflictError: Someone else wrote (or created, or deleted) the object first.
            UploadError: The write failed for another reason after retries.
        """


class ArchiverMetrics(Protocol):
    """Custom metrics of the archiver (TRD section 9)."""

    def upload_failed(self, key: str) -> None:
        """Count one object that could not be written after all retries (S3UploadFailures)."""
