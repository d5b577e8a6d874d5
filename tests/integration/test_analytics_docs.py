"""Every DuckDB query of docs/analytics.md runs on real tables; `inventory sql` and `lake maintain` work."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from inventory_cli.main import app
from inventory_core.settings import IcebergSettings
from inventory_lake import load_catalog
from inventory_lake.duck import open_views, query
from lake_writer.bootstrap import build_service
from lake_writer.handler import handle_batch
from lake_writer.settings import LakeWriterSettings
from pyiceberg.expressions import EqualTo
from typer.testing import CliRunner

from tests.builders import page, resource, scope, scope_completed, sqs_event
from tests.conftest import Stack

pytestmark = pytest.mark.emulator
DOC = Path(__file__).parents[2] / "docs" / "analytics.md"
NOW = datetime.now(UTC).replace(microsecond=0)


def doc_queries(dialect: str) -> list[str]:
    return re.findall(rf"```sql {dialect}\n(.*?)```", DOC.read_text(), re.S)


def seed(stack: Stack) -> None:
    """Two scans: web-1 stops (launched 90 days ago), web-2 disappears, an untagged instance appears."""
    service = build_service(LakeWriterSettings())
    launched = (NOW - timedelta(days=90)).isoformat()
    first = [resource(1, at=NOW - timedelta(hours=30)), resource(2, at=NOW - timedelta(hours=30))]
    handle_batch(sqs_event(page(first, execution_id="scan-1", started=NOW - timedelta(hours=30))), None, service)
    stopped = resource(1, at=NOW - timedelta(minutes=5), state="stopped")
    stopped = stopped.model_copy(update={"metadata": {**stopped.metadata, "LaunchTime": launched}})
    untagged = resource(3, at=NOW - timedelta(minutes=5)).model_copy(update={"tags": {}, "name": "bare"})
    second = page([stopped, untagged], execution_id="scan-2", started=NOW - timedelta(minutes=6))
    done = scope_completed(scope(), execution_id="scan-2", pages=1, count=2, started=NOW - timedelta(minutes=6))
    assert handle_batch(sqs_event(second, done), None, service) == {"batchItemFailures": []}


def test_every_documented_duckdb_query_runs_and_answers(stack: Stack) -> None:
    seed(stack)
    settings = IcebergSettings()
    con = open_views(load_catalog(settings), settings.iceberg_namespace)
    queries = doc_queries("duckdb")
    assert len(queries) >= 10
    assert len(doc_queries("athena")) == len(queries)
    results = [query(con, q) for q in queries]
    by_type = {(r[0], r[1]): r[2] for r in results[0][1]}
    assert by_type == {("111111111111", "ec2"): 2}  # web-1 and bare are active; web-2 is missing
    assert [r[3] for r in results[1][1]] == ["bare"]  # untagged
    assert [r[2] for r in results[3][1]] == ["web-0001"]  # stopped and launched 90 days ago
    assert [r[4] for r in results[4][1]] == ["bare"]  # appeared since yesterday
    assert [r[5] for r in results[5][1]] == ["web-0002"]  # disappeared since yesterday
    assert results[8][1] == [(resource(1).resource_arn, "web-0001", "running", "stopped")]  # changed state


def test_sql_command_writes_table_csv_json_and_parquet(stack: Stack, tmp_path: Path) -> None:
    seed(stack)
    runner = CliRunner()
    sql = "SELECT name, state FROM resources ORDER BY name"
    table = runner.invoke(app, ["sql", sql])
    assert table.exit_code == 0, table.output
    assert "bare" in table.output and "(3 rows)" in table.output
    as_json = runner.invoke(app, ["sql", "-f", "json", sql])
    assert json.loads(as_json.stdout) == [
        {"name": "bare", "state": "running"},
        {"name": "web-0001", "state": "stopped"},
        {"name": "web-0002", "state": "running"},
    ]
    as_csv = runner.invoke(app, ["sql", "-f", "csv", sql])
    assert as_csv.stdout.splitlines()[:2] == ["name,state", "bare,running"]
    out = tmp_path / "r.parquet"
    assert runner.invoke(app, ["sql", "-f", "parquet", "-o", str(out), sql]).exit_code == 0
    assert pq.read_table(out).num_rows == 3
    bad = runner.invoke(app, ["sql", "SELECT nope FROM resources"])
    assert bad.exit_code == 1
    assert "nope" in bad.output


def test_maintain_compacts_files_and_expires_old_snapshots(stack: Stack) -> None:
    seed(stack)
    # The lake writer overwrites a scope's partition whole (one file); a row taken out and put back in two
    # commits leaves the same three rows in two files of that partition, for the compaction to merge.
    settings = IcebergSettings()
    table = load_catalog(settings).load_table(f"{settings.iceberg_namespace}.resources")
    arn = resource(3).resource_arn
    row = table.scan(row_filter=EqualTo("resource_arn", arn)).to_arrow()
    table.delete(EqualTo("resource_arn", arn))
    table.append(row)
    result = CliRunner().invoke(app, ["lake", "maintain", "--keep-days", "0"])
    assert result.exit_code == 0, result.output
    lines = {tuple(line.split()[:2]): line.split()[2:] for line in result.stdout.splitlines()[1:] if line.strip()}
    before, after = lines[("resources", "before")], lines[("resources", "after")]
    assert int(after[0]) == 1 < int(before[0])  # snapshots
    assert int(after[1]) == 1 < int(before[1])  # data files
    assert after[3] == before[3] == "3"  # rows unchanged


def test_summary_counts_the_estate_and_the_changes_since_the_previous_scan(stack: Stack) -> None:
    from inventory_lake.analytics import summary

    seed(stack)
    settings = IcebergSettings()
    figures = summary(open_views(load_catalog(settings), settings.iceberg_namespace))
    assert figures["total"] == 3
    assert figures["byStatus"] == {"active": 2, "missing": 1}
    assert figures["byType"] == {"ec2": 3}
    assert figures["byAccount"] == {"111111111111": 3}
    assert figures["changesSincePreviousScan"] == {
        "currentExecutionId": "scan-2",
        "previousExecutionId": "scan-1",
        "appeared": 1,  # bare
        "disappeared": 1,  # web-0002
        "changed": 1,  # web-0001 stopped
    }
