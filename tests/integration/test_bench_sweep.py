"""The projector's sweep benchmark (``benchmarks/projector.py --sweep``) runs and checks what it times."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_sweep_benchmark_marks_each_round_s_gone_and_writes_its_result(tmp_path: Path) -> None:
    out = tmp_path / "sweep.json"
    run = subprocess.run(
        [sys.executable, "benchmarks/projector.py", "--sweep", "--resources", "120", "--gone", "15", "--rounds", "2",
         "--results", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-2000:]
    result = json.loads(out.read_text())
    assert [(r["in_flight"], r["marked"]) for r in result["runs"]] == [(4, 15), (16, 15)]
    assert "15 of 120 marked missing" in run.stdout
