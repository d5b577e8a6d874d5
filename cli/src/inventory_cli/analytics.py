"""`inventory sql` and `inventory lake maintain`: DuckDB over the Iceberg tables, and table upkeep."""

from __future__ import annotations

import csv
import io
import json
import sys
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import duckdb
import typer
from inventory_core.settings import IcebergSettings
from inventory_lake import HISTORY_TABLE, RESOURCES_TABLE, SCOPE_PAGES_TABLE, load_catalog, load_table
from inventory_lake.duck import open_views, query
from inventory_lake.maintenance import compact, expire_snapshots, stats

from inventory_cli import runtime

lake_app = typer.Typer(help="Iceberg table maintenance (local catalog and self-managed Iceberg).", no_args_is_help=True)


class OutputFormat(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"
    parquet = "parquet"


def _settings() -> IcebergSettings:
    runtime.announce_target()  # where it reads from, first line on stderr
    try:
        return IcebergSettings()
    except ValueError as exc:
        raise typer.BadParameter(
            "no Iceberg catalog configured: run `inventory local up` or set ICEBERG_CATALOG_URI and ICEBERG_WAREHOUSE"
        ) from exc


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def render(columns: list[str], rows: list[tuple[Any, ...]], fmt: OutputFormat, max_width: int = 60) -> str:
    """Text form of a result: an aligned table, CSV or JSON lines-free JSON array."""
    if fmt is OutputFormat.json:
        return json.dumps([dict(zip(columns, map(_plain, row), strict=True)) for row in rows], indent=2) + "\n"
    if fmt is OutputFormat.csv:
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(columns)
        writer.writerows([[json.dumps(_plain(v)) if isinstance(v, dict | list) else v for v in row] for row in rows])
        return out.getvalue()
    cells = [[("NULL" if v is None else str(_plain(v)))[:max_width] for v in row] for row in rows]
    widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(columns)]
    line = "  ".join("-" * w for w in widths)
    body = ["  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)), line]
    body += ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)) for r in cells]
    body.append(f"({len(rows)} row{'s' if len(rows) != 1 else ''})")
    return "\n".join(body) + "\n"


def _run(con: duckdb.DuckDBPyConnection, sql: str, fmt: OutputFormat, output: Path | None) -> None:
    if fmt is OutputFormat.parquet:
        if output is None:
            raise typer.BadParameter("--format parquet needs --output FILE")
        con.execute(
            f"COPY ({sql.rstrip().rstrip(';')}) TO '{str(output).replace(chr(39), chr(39) * 2)}' (FORMAT parquet)"
        )
        typer.echo(f"wrote {output}")
        return
    columns, rows = query(con, sql)
    text = render(columns, rows, fmt) if columns else "OK\n"
    if output:
        output.write_text(text)
        typer.echo(f"wrote {output} ({len(rows)} rows)")
    else:
        sys.stdout.write(text)


def sql(
    statement: Annotated[str | None, typer.Argument(help="SQL to run; omit for an interactive shell.")] = None,
    fmt: Annotated[OutputFormat, typer.Option("--format", "-f", help="Output format.")] = OutputFormat.table,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write to a file instead of stdout.")] = None,
) -> None:
    """Query the inventory with DuckDB; `resources` and `resource_history` are ready as views."""
    settings = _settings()
    con = open_views(load_catalog(settings), settings.iceberg_namespace)
    if statement is not None:
        try:
            _run(con, statement, fmt, output)
        except duckdb.Error as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(1) from exc
        return
    typer.echo("DuckDB over the inventory. Views: resources, resource_history. End a statement with ';'. Ctrl-D quits.")
    buffer: list[str] = []
    while True:
        try:
            line = input("sql> " if not buffer else "...> ")
        except EOFError:
            typer.echo("")
            return
        buffer.append(line)
        if line.rstrip().endswith(";"):
            try:
                _run(con, "\n".join(buffer), fmt, None)
            except duckdb.Error as exc:
                typer.echo(f"error: {exc}", err=True)
            buffer = []


@lake_app.command("maintain")
def maintain(
    keep_days: Annotated[float, typer.Option(help="Keep snapshots newer than this many days.")] = 7.0,
    compact_files: Annotated[bool, typer.Option("--compact/--no-compact", help="Rewrite small files.")] = True,
) -> None:
    """Expire old snapshots and rewrite small files; report size, files and snapshots before and after."""
    settings = _settings()
    catalog = load_catalog(settings)
    typer.echo(f"{'table':<18} {'':>6} {'snapshots':>9} {'files':>6} {'bytes':>10} {'rows':>8}")
    for name in (RESOURCES_TABLE, HISTORY_TABLE, SCOPE_PAGES_TABLE):
        table = load_table(catalog, settings.iceberg_namespace, name)
        if table is None:
            continue
        before = stats(table)
        if compact_files:
            compact(table)
        expired = expire_snapshots(table, keep_days)
        after = stats(table)
        for label, s in (("before", before), ("after", after)):
            typer.echo(f"{name:<18} {label:>6} {s.snapshots:>9} {s.data_files:>6} {s.data_bytes:>10} {s.rows:>8}")
        typer.echo(f"{'':<18} expired {expired} snapshot(s)")
