"""The grid snapshot's encoding: an Arrow IPC stream (LZ4), every column a string (``GRID_FIELDS``).

Why Arrow IPC: a reader maps it into columns without parsing (100,000 rows in about 0.1 s in a fresh process
on this 2-core machine, against about 0.6 s for the same rows as gzip'd CSV), and the API's cold start is what
the snapshot is for. Only the projector and the API import this module (both depend on pyarrow).
"""

from __future__ import annotations

import io
from collections.abc import Iterable

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.ipc as ipc

from inventory_core.grid import GRID_FIELDS

#: The snapshot's schema: every grid field as a string.
GRID_SCHEMA = pa.schema([(name, pa.string()) for name in GRID_FIELDS])


def table_from_rows(rows: Iterable[dict[str, str]]) -> pa.Table:
    """Grid rows (``inventory_core.grid.grid_row``) as a table of ``GRID_SCHEMA``."""
    return pa.Table.from_pylist(list(rows), schema=GRID_SCHEMA)


def encode_table(table: pa.Table) -> bytes:
    """The snapshot bytes of a table of ``GRID_SCHEMA``."""
    sink = io.BytesIO()
    options = ipc.IpcWriteOptions(compression="lz4")
    with ipc.new_stream(sink, GRID_SCHEMA, options=options) as writer:
        writer.write_table(table.select(list(GRID_FIELDS)).cast(GRID_SCHEMA), max_chunksize=65536)
    return sink.getvalue()


def decode_table(data: bytes) -> pa.Table:
    """The table of snapshot bytes (one chunk per column)."""
    return ipc.open_stream(io.BytesIO(data)).read_all().combine_chunks()


def apply_rows(table: pa.Table, rows: list[dict[str, str]]) -> pa.Table:
    """``table`` with ``rows`` put in: a row replaces the one with its ARN; the last of one ARN wins."""
    if not rows:
        return table
    newest = {row["resourceArn"]: row for row in rows}
    changed = pa.array(list(newest), pa.string())
    kept = table.filter(pc.invert(pc.is_in(table.column("resourceArn"), value_set=changed)))
    return pa.concat_tables([kept, table_from_rows(newest.values())]).combine_chunks()
