"""The soak's short version in ``make test``: two scans of a few hundred resources through the real harness.

``make soak`` runs 20 x 10,000 (about an hour); this guards the harness itself (the scanner in its own process,
the three consumer processes, churn, the truth check, the per-process CPU and RSS, the report) so it cannot rot
between long runs. It runs as its own process, as ``make soak`` does: the harness sets the emulator's endpoint in
its environment.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_two_short_soak_scans_end_equal_to_the_truth_and_write_the_report(tmp_path: Path) -> None:
    report = tmp_path / "reliability.md"
    report.write_text("# Reliability report\n\n## Faults\n\nkept\n")
    # Its own process group: on a timeout or a failed assertion the whole soak (moto server, consumers) goes,
    # SIGTERM first (the soak stops its children in its finally), then SIGKILL. Under pytest-timeout's 600 s.
    soak = subprocess.Popen(
        [sys.executable, "-m", "tests.chaos.soak", "--scans", "2", "--resources", "300", "--report", str(report)],
        cwd=ROOT,
        env={k: v for k, v in os.environ.items() if not k.startswith("AWS_")},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        stdout, stderr = soak.communicate(timeout=480)
    finally:
        if soak.poll() is None:
            os.killpg(soak.pid, signal.SIGTERM)
            try:
                soak.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(soak.pid, signal.SIGKILL)
    assert soak.returncode == 0, stdout[-3000:] + stderr[-3000:]
    rows = [json.loads(line) for line in stdout.splitlines() if line.startswith('{"scan"')]
    assert [r["scan"] for r in rows] == [1, 2]
    assert all(r["ok"] and r["lost"] == 0 and r["false_missing"] == 0 for r in rows)
    second = rows[1]
    assert second["deleted"] > 0 and second["created"] > 0 and second["changed"] > 0  # churn between the scans
    assert second["consistent_s"] >= second["scan_s"] > 0
    assert set(second["cpu_s"]) == {
        "scanner",
        "ddb-projector",
        "lake-writer",
        "archiver",
        "table-maintenance",
        "moto",
        "moto-dynamodb",  # DynamoDB served by an emulator process of its own
    }
    assert second["cpu_s"]["scanner"] > 0 and second["cpu_s"]["moto"] > 0 and second["cpu_s"]["moto-dynamodb"] > 0
    # the server's CPU by action: the scanner's EC2 calls and the consumers' DynamoDB writes are among them
    actions = second["moto_actions"]
    assert any(a.startswith("ec2 Describe") for a in actions) and "dynamodb BatchWriteItem" in actions
    assert all(calls > 0 and cpu >= 0 for calls, cpu in actions.values())
    # each server answered its own services: every DynamoDB call, and only those, went to the DynamoDB server
    served = second["server_calls"]
    assert served["moto-dynamodb"].get("dynamodb BatchWriteItem", 0) > 0
    assert all(action.startswith("dynamodb ") for action in served["moto-dynamodb"])
    assert not any(action.startswith("dynamodb ") for action in served["moto"])
    assert any(action.startswith("ec2 Describe") for action in served["moto"])
    processes = ("scanner", "ddb-projector", "lake-writer", "archiver", "moto", "moto-dynamodb")
    assert all(second["rss_mb"][name] > 0 for name in processes)
    text = report.read_text()
    assert text.startswith("# Reliability report\n\n## Faults\n\nkept\n")  # the fault table is left as it was
    assert "## Soak" in text and text.count("equal to the truth") == 2
    assert "two moto servers, DynamoDB in one" in text
    assert "CPU seconds per scan" in text
    assert "moto's CPU seconds per scan by AWS action" in text
