"""DuckDB over the Iceberg tables, with extensions loaded offline from their Python packages."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from urllib.parse import urlparse

import duckdb
from duckdb_extensions import import_extension
from pyiceberg.catalog import Catalog

from inventory_lake import HISTORY_TABLE, RESOURCES_TABLE, load_table

EXTENSIONS = ("httpfs", "avro", "iceberg", "aws")


def _sql_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def connect(extension_dir: Path | None = None) -> duckdb.DuckDBPyConnection:
    """Open an in-memory DuckDB with the Iceberg and S3 extensions loaded, and S3 credentials set.

    With ``AWS_ENDPOINT_URL`` set (an emulator), S3 goes there over path-style HTTP with the static keys
    of the environment; otherwise DuckDB uses the AWS credential chain.
    """
    con = duckdb.connect()
    ext_dir = extension_dir or Path(tempfile.gettempdir()) / f"inventory-duckdb-ext-{os.getuid()}"
    ext_dir.mkdir(parents=True, exist_ok=True)
    con.execute(f"SET extension_directory = {_sql_literal(str(ext_dir))}")
    for ext in EXTENSIONS:
        import_extension(ext, con=con)
        con.execute(f"LOAD {ext}")
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    endpoint = os.environ.get("AWS_ENDPOINT_URL")
    if endpoint:
        parsed = urlparse(endpoint)
        con.execute(
            "CREATE OR REPLACE SECRET inventory_s3 (TYPE s3, KEY_ID ?, SECRET ?, REGION ?, ENDPOINT ?, "
            "URL_STYLE 'path', USE_SSL ?)",
            [
                os.environ.get("AWS_ACCESS_KEY_ID", ""),
                os.environ.get("AWS_SECRET_ACCESS_KEY", ""),
                region,
                parsed.netloc,
                parsed.scheme == "https",
            ],
        )
    else:
        con.execute(
            f"CREATE OR REPLACE SECRET inventory_s3 (TYPE s3, PROVIDER credential_chain, REGION {_sql_literal(region)})"
        )
    return con


def attach_views(con: duckdb.DuckDBPyConnection, catalog: Catalog, namespace: str) -> dict[str, str]:
    """Create the views ``resources`` and ``resource_history`` over the tables' current snapshots.

    Returns:
        View name -> metadata location, for the tables that exist.
    """
    locations: dict[str, str] = {}
    for name in (RESOURCES_TABLE, HISTORY_TABLE):
        table = load_table(catalog, namespace, name)
        if table is None:
            continue
        locations[name] = table.metadata_location
        # the view name is one of our two table constants; the location is quoted by _sql_literal
        source = f"iceberg_scan({_sql_literal(table.metadata_location)})"
        con.execute(f"CREATE OR REPLACE VIEW {name} AS SELECT * FROM {source}")  # nosec B608
    return locations


def open_views(catalog: Catalog, namespace: str, extension_dir: Path | None = None) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection with ``resources`` and ``resource_history`` ready as views."""
    con = connect(extension_dir)
    attach_views(con, catalog, namespace)
    return con


def query(con: duckdb.DuckDBPyConnection, sql: str) -> tuple[list[str], list[tuple[object, ...]]]:
    """Run one statement; return column names and rows (empty for statements without a result)."""
    result = con.execute(sql)
    if result.description is None:
        return [], []
    return [d[0] for d in result.description], result.fetchall()
