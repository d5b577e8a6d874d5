"""`make demo` runs `inventory demo`; this runs the same steps without serving, as a separate process."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.emulator


def test_demo_runs_end_to_end_and_every_store_agrees(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "APP_", "ICEBERG_", "INVENTORY_"))}
    env["INVENTORY_STATE_DIR"] = str(tmp_path)
    cmd = [sys.executable, "-m", "inventory_cli", "demo", "--no-serve", "--resources", "40"]
    for attempt in range(2):  # running it twice works: the second run starts from scratch again
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300, check=False)
        assert done.returncode == 0, done.stdout + done.stderr
        total = re.search(r"^\s+total\s+(\d+)\s+(\d+)\s+(\d+)\s+\((\d+) raw documents\)", done.stdout, re.M)
        assert total, done.stdout
        ddb, ice, raw, docs = map(int, total.groups())
        assert ddb == ice == raw > 0, f"attempt {attempt}: {total.group(0)}"
        assert docs == 3
        assert "local AWS (moto) listening on http://127.0.0.1:" in done.stdout
