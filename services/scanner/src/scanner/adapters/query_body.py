"""Query-protocol request bodies (SNS) encoded once, by a translation table.

botocore keeps a query request's body as a dict and urlencodes it each time the request is prepared: once for
the SigV4 payload hash and once more to send it, each with ``urllib.parse.quote_plus``, which calls a Python
function per byte. A PublishBatch carries up to 250 KB of JSON, most of it quoted characters, so at 10,000
resources this was 18% of the scanner's samples (py-spy, 2026-11-30). The hook below encodes the body once,
with ``str.translate`` over a 256-entry table, before the signer reads it: the same bytes as botocore's own
encoding (tests/unit/scanner/test_query_body.py), so the signature and the request are unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

#: Bytes ``quote_plus`` leaves as they are (urllib.parse._ALWAYS_SAFE); a space becomes "+".
_SAFE = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-~")
_TABLE = {byte: ("+" if byte == 0x20 else f"%{byte:02X}") for byte in range(256) if byte not in _SAFE}
_HOOKED = "_inventory_query_body"


def quote_plus(value: str | bytes) -> str:
    """``urllib.parse.quote_plus(value, safe="")`` for UTF-8 text or bytes, in C instead of per byte."""
    data = value.encode("utf-8") if isinstance(value, str) else value
    return data.decode("latin-1").translate(_TABLE)


def encode(params: Mapping[Any, Any]) -> str:
    """The body botocore's AWSRequestPreparer would send for ``params`` (urlencode of the UTF-8 items)."""
    if all(isinstance(v, str | bytes) and isinstance(k, str | bytes) for k, v in params.items()):
        return "&".join(f"{quote_plus(k)}={quote_plus(v)}" for k, v in params.items())
    # anything else (no query serializer makes it): botocore's own way
    return urlencode([(k.encode() if isinstance(k, str) else k, v) for k, v in params.items()], doseq=True)


def _encode_once(request: Any, **_: Any) -> None:
    if isinstance(request.data, Mapping):
        request.data = encode(request.data)


def encode_bodies_once(client: Any) -> Any:
    """Make ``client`` (a query-protocol client such as SNS) encode each request body once; idempotent."""
    if not getattr(client.meta, _HOOKED, False):
        # first, so the signer (a request-created handler of every client) hashes the encoded string
        client.meta.events.register_first(
            f"request-created.{client.meta.service_model.service_id.hyphenize()}", _encode_once
        )
        setattr(client.meta, _HOOKED, True)
    return client
