"""A running demo stack for the browser: its own moto server, the built UI served by the real API process.

Used by the browser tests (tests/browser) and the UI benchmark (benchmarks/ui.py). The API runs as a
separate uvicorn process (as `inventory demo` serves it), the consumers and the scan-request worker run
in this process like the demo's, and bulk resources are written straight into DynamoDB in the
projector's item shape (the slow scan path is covered elsewhere).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ddb_projector.adapters.grid_snapshot import S3SnapshotStore
from inventory_api.auth import load_or_create_local_key, mint_local_token
from inventory_cli.demo import DEMO_ACCOUNTS, HOME_ACCOUNT, HOME_REGION, demo_ui_url, local_environment
from inventory_cli.fleet import seed_fleet
from inventory_cli.moto_server import MotoServer, free_port
from inventory_cli.provision import provision
from inventory_cli.runtime import Consumers, register_accounts, start_scan_worker
from inventory_core.aws import AwsClientFactory
from inventory_core.grid import grid_row
from inventory_core.items import Account
from inventory_core.topology import build_topology

from tests.builders import bulk_resource_item

REPO = Path(__file__).resolve().parents[2]
WEB = REPO / "services" / "api" / "web"
DIST = WEB / "dist"
ARTIFACTS = REPO / "artifacts" / "browser"
BULK_REGIONS = ("us-east-1", "us-west-2", "eu-west-1", "ap-south-1")
BULK_TYPES = ("ec2", "lambda", "rds", "s3", "vpc", "elbv2", "ecs", "dynamodb")


def chromium_path() -> str | None:
    """Debian's chromium (Playwright cannot download its own browser here)."""
    for candidate in (os.environ.get("CHROMIUM_PATH"), shutil.which("chromium"), "/usr/bin/chromium"):
        if candidate and Path(candidate).is_file():
            return candidate
    return None


def ui_build_problem() -> str | None:
    """Build the UI if it is not built (npm ci + vite build); the reason it cannot be, or None."""
    if (DIST / "index.html").is_file():
        return None
    npm = shutil.which("npm")
    if npm is None:
        return "npm is not installed, so the UI cannot be built (make test installs it with the UI)"
    for args in ([npm, "ci", "--no-audit", "--no-fund"], [npm, "run", "build"]):
        done = subprocess.run(args, cwd=WEB, capture_output=True, text=True, check=False, timeout=600)
        if done.returncode != 0:
            return f"{' '.join(args[1:])} failed: {done.stderr[-2000:]}"
    return None


def bulk_accounts(n: int) -> list[tuple[str, str]]:
    return [(f"{900_000_000_000 + i * 1_111_111:012d}", f"bulk-{i}") for i in range(n)]


def bulk_item(i: int, accounts: list[tuple[str, str]]) -> dict[str, Any]:
    """Resource number i in the projector's TRD item shape (what the grid reads)."""
    account = accounts[i % len(accounts)][0]
    region, rtype = BULK_REGIONS[(i // 8) % len(BULK_REGIONS)], BULK_TYPES[i % len(BULK_TYPES)]
    name = f"{('web', 'api', 'db', 'batch', 'edge')[i % 5]}-{i:06d}"
    return bulk_resource_item(
        i,
        account=account,
        region=region,
        rtype=rtype,
        name=name,
        tags={"Name": name, "team": f"team-{i % 7}"},
        metadata={"Index": str(i)},
    )


def seed_bulk(
    clients: AwsClientFactory,
    table_name: str,
    n: int,
    owners: list[tuple[str, str]],
    threads: int = 4,
    *,
    items: bool = True,
) -> float:
    """Write n resources straight into the table, publish the grid snapshot the projector would have
    published for them (what a cold API loads), and register their accounts; seconds taken."""
    started = time.monotonic()

    def write(start: int) -> None:
        with clients.dynamodb_table(table_name).batch_writer() as batch:
            for i in range(start, n, threads):
                batch.put_item(Item=bulk_item(i, owners))

    if items:  # without them the grid still loads (from the snapshot), only the detail drawer finds nothing
        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(write, range(threads)))
    bucket = os.environ["INVENTORY_BUCKET"]
    S3SnapshotStore(clients.client("s3"), bucket).publish([grid_row(bulk_item(i, owners)) for i in range(n)], [], 0)
    register_accounts(clients, table_name, [Account(a, name, True) for a, name in owners])
    return time.monotonic() - started


@dataclass
class UiStack:
    base_url: str
    env: dict[str, str]
    clients: AwsClientFactory
    key_file: Path
    timings: dict[str, float] = field(default_factory=dict)

    def token(self, role: str = "operator", user: str = "demo") -> str:
        return mint_local_token(load_or_create_local_key(self.key_file), user, role)

    def url(self, path: str = "/", role: str = "operator", user: str = "demo") -> str:
        """The URL `make demo` prints (the UI signed in through the #token= fragment), at any page."""
        if path == "/":
            return demo_ui_url(int(self.base_url.rsplit(":", 1)[1]), self.token(role, user))
        return f"{self.base_url}{path}#token={self.token(role, user)}"


# 180 s: at load 20-35 on 2 cores (eight sessions at once) the API's imports took over 60 s and every browser
# test errored at setup with "did not answer /healthz in time".
def _wait_healthy(url: str, proc: subprocess.Popen[bytes], timeout_s: float = 180) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the API exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=2):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("the API did not answer /healthz in time")


def start_api(env: dict[str, str], log_path: Path) -> tuple[subprocess.Popen[bytes], str]:
    """The API as its own uvicorn process (as `inventory demo` serves it) on a free port, once healthy."""
    port = free_port()
    command = [sys.executable, "-m", "uvicorn", "--factory", "inventory_api.main:create_app"]
    command += ["--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
    with log_path.open("wb") as log:  # the child keeps its own copy of the descriptor
        proc = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(base, proc)
    except BaseException:
        stop_api(proc)
        raise
    return proc, base


def stop_api(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()


@contextmanager
def ui_stack(
    state_dir: Path,
    *,
    fleet_resources: int = 0,
    bulk: int = 0,
    api_env: dict[str, str] | None = None,
    bulk_items: bool = True,
) -> Iterator[UiStack]:
    """A fresh moto server with the stack provisioned; the demo's three accounts with a simulated fleet
    of `fleet_resources` (what Sync now scans), `bulk` resources written straight into the table (what
    the grid shows before any scan), the API process serving the built UI, the consumers and the scan
    worker running."""
    saved = dict(os.environ)
    state_dir.mkdir(parents=True, exist_ok=True)
    moto = MotoServer.start(log_path=state_dir / "moto.log")
    stop = threading.Event()
    workers: list[threading.Thread] = []
    proc: subprocess.Popen[bytes] | None = None
    timings: dict[str, float] = {}
    try:
        os.environ.update(local_environment(moto.endpoint))
        os.environ["AUTH_LOCAL_KEY_FILE"] = str(state_dir / "auth-signing.key")
        clients = AwsClientFactory(HOME_REGION)
        os.environ.setdefault("INVENTORY_REGIONS", "us-east-1,eu-west-1")
        t0 = time.monotonic()
        os.environ.update(provision(clients, build_topology(HOME_ACCOUNT, HOME_REGION), state_dir=state_dir))
        owners = bulk_accounts(4)
        if fleet_resources:
            owners = DEMO_ACCOUNTS
            seed_fleet(DEMO_ACCOUNTS, os.environ["INVENTORY_REGIONS"].split(","), fleet_resources)
        timings["provision_and_fleet_s"] = time.monotonic() - t0
        if bulk:
            timings["bulk_seed_s"] = seed_bulk(clients, os.environ["APP_TABLE_NAME"], bulk, owners, items=bulk_items)
        else:
            register_accounts(clients, os.environ["APP_TABLE_NAME"], [Account(a, n, True) for a, n in owners])
        if fleet_resources:
            workers += Consumers.build(clients).start(stop)
            workers.append(start_scan_worker(clients, stop))
        env = {**os.environ, "WEB_DIST_DIR": str(DIST), "RATE_LIMIT_PER_MINUTE": "100000", **(api_env or {})}
        proc, base = start_api(env, state_dir / "api.log")
        yield UiStack(base, env, clients, Path(os.environ["AUTH_LOCAL_KEY_FILE"]), timings)
    finally:
        stop.set()
        for worker in workers:  # before moto goes: a poll in flight would fail loudly
            worker.join(timeout=30)
        if proc is not None:
            stop_api(proc)
        moto.stop()
        os.environ.clear()
        os.environ.update(saved)


def shot(page: Any, name: str) -> Path:
    """Save a screenshot of the page's viewport under artifacts/browser/ (not committed)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path))
    return path


# Scroll the grid by `step` px per animation frame; the frame-to-frame times and the most row elements seen.
SCROLL_FRAMES_JS = """async ([frames, step]) => {
  const grid = document.querySelector('[data-testid=grid]');
  const times = [];
  let most = 0;
  let last = performance.now();
  for (let i = 0; i < frames; i++) {
    grid.scrollTop += step;
    await new Promise((resolve) => requestAnimationFrame(resolve));
    const now = performance.now();
    times.push(now - last);
    last = now;
    most = Math.max(most, document.querySelectorAll('[role=row][data-index]').length);
  }
  const indexes = [...document.querySelectorAll('[role=row][data-index]')].map((r) => Number(r.dataset.index));
  return { times, most, scrollTop: grid.scrollTop, lastIndex: Math.max(...indexes) };
}"""


def frame_stats(times: list[float]) -> dict[str, float]:
    ordered = sorted(times)

    def pick(p: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(len(ordered) * p))], 1)

    return {"frames": len(ordered), "p50_ms": pick(0.5), "p95_ms": pick(0.95), "max_ms": round(ordered[-1], 1)}
