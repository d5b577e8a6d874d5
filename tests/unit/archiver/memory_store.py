"""An in-memory object store for the archiver, with S3's conditional-write semantics (ETag per version)."""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from archiver.ports import TaggedDocument, WriteConflictError


@dataclass
class MemoryObjectStore:
    objects: dict[str, Any] = field(default_factory=dict)
    etags: dict[str, str] = field(default_factory=dict)
    conflicts: int = 0
    #: Called after each conditional read, before the caller writes: lets a test slip in a rival writer.
    after_read: Callable[[str], None] | None = None

    def _store(self, key: str, document: Any) -> None:
        self.objects[key] = copy.deepcopy(document)
        self.etags[key] = hashlib.md5(json.dumps(document, sort_keys=True).encode()).hexdigest()

    def put_json(self, key: str, document: Any) -> None:
        self._store(key, document)

    def get_json(self, key: str) -> Any | None:
        return copy.deepcopy(self.objects.get(key))

    def keys_under(self, prefix: str) -> set[str]:
        return {key for key in self.objects if key.startswith(prefix)}

    def get_tagged(self, key: str) -> TaggedDocument | None:
        if key not in self.objects:
            return None
        tagged = TaggedDocument(copy.deepcopy(self.objects[key]), self.etags[key])
        if self.after_read:
            hook, self.after_read = self.after_read, None
            hook(key)
        return tagged

    def put_json_if(self, key: str, document: Any, *, etag: str | None) -> None:
        if self.etags.get(key) != etag:
            self.conflicts += 1
            raise WriteConflictError(key)
        self._store(key, document)
