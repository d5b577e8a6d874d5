"""`inventory demo`: a fresh local AWS, a seeded fleet, one full scan through every service, then the API."""

from __future__ import annotations

import os
import shutil
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from inventory_core.aws import AwsClientFactory
from inventory_core.items import Account
from inventory_core.topology import build_topology
from inventory_events import ScanCompleted, ScanRequested

from inventory_cli.fleet import Fleet, seed_fleet
from inventory_cli.moto_server import LOCAL_CREDENTIALS, MotoServer
from inventory_cli.provision import provision
from inventory_cli.runtime import Consumers, register_accounts, scan_service, start_scan_worker
from inventory_cli.summary import StoreSummary, summarize

HOME_ACCOUNT = "123456789012"
HOME_REGION = "us-east-1"
DEMO_ACCOUNTS: list[tuple[str, str]] = [
    ("111111111111", "Production"),
    ("222222222222", "Development"),
    ("333333333333", "Sandbox"),
]

Say = Callable[[str], None]


@dataclass
class DemoResult:
    fleet: Fleet
    scan: ScanCompleted
    summary: StoreSummary
    timings: dict[str, float]


def local_environment(endpoint: str) -> dict[str, str]:
    return {
        **LOCAL_CREDENTIALS,
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_DEFAULT_REGION": HOME_REGION,
        "AWS_REGION": HOME_REGION,
    }


def run_pipeline(resources: int, state_dir: Path, say: Say, *, prefix: str = "") -> DemoResult:
    """Provision, seed, scan and drain every consumer against the emulator that AWS_ENDPOINT_URL names."""
    timings: dict[str, float] = {}
    t0 = time.monotonic()
    clients = AwsClientFactory(HOME_REGION)
    env = provision(clients, build_topology(HOME_ACCOUNT, HOME_REGION, prefix=prefix), state_dir=state_dir)
    os.environ.update(env)
    timings["provision_s"] = time.monotonic() - t0
    say(f"provisioned table, topic, 4 queues + DLQs, buckets and Iceberg catalog ({timings['provision_s']:.1f}s)")

    t0 = time.monotonic()
    fleet = seed_fleet(DEMO_ACCOUNTS, list(_regions()), resources, prefix=prefix, progress=lambda m: say(f"  {m}"))
    register_accounts(
        clients,
        env["APP_TABLE_NAME"],
        [Account(account_id=a.account_id, account_name=a.name, sync_enabled=True) for a in fleet.accounts],
    )
    timings["seed_s"] = time.monotonic() - t0
    seeded = sum(len(v) for v in fleet.arns.values())
    say(
        f"seeded {seeded} resources in {len(fleet.accounts)} accounts x {len(fleet.regions)} regions "
        f"({timings['seed_s']:.1f}s)"
    )

    t0 = time.monotonic()
    scan = scan_service().scan(ScanRequested(execution_id=str(uuid.uuid4()), trigger="cli", requested_by="demo"))
    timings["scan_s"] = time.monotonic() - t0
    found = sum(a.resource_count for a in scan.accounts)
    say(f"scan {scan.execution_id}: {found} resources found ({timings['scan_s']:.1f}s)")

    t0 = time.monotonic()
    Consumers.build(clients, retry_delay_s=0.5).drain()
    timings["consumers_s"] = time.monotonic() - t0
    say(f"projector, lake writer and archiver drained their queues ({timings['consumers_s']:.1f}s)")
    return DemoResult(fleet=fleet, scan=scan, summary=summarize(clients), timings=timings)


def _regions() -> list[str]:
    from inventory_core.settings import RegionSettings

    return RegionSettings().inventory_regions


def run_demo(resources: int, serve: bool, port: int, state_root: Path, say: Say) -> DemoResult:
    state_dir = state_root / "demo"
    shutil.rmtree(state_dir, ignore_errors=True)  # a fresh emulator needs a fresh catalog: running twice works
    state_dir.mkdir(parents=True)
    server = MotoServer.start(log_path=state_dir / "moto.log")
    stop = threading.Event()
    try:
        os.environ.update(local_environment(server.endpoint))
        say(f"local AWS (moto) listening on {server.endpoint}")
        result = run_pipeline(resources, state_dir, say)
        say("resources per store (active):")
        for line in result.summary.lines():
            say(f"  {line}")
        if serve:
            _serve(port, stop, say)
        return result
    finally:
        stop.set()
        server.stop()


def demo_ui_url(port: int, token: str) -> str:
    """The UI, signed in: it reads the token from the fragment (never sent to a server) and removes it."""
    return f"http://127.0.0.1:{port}/#token={token}"


def _serve(port: int, stop: threading.Event, say: Say) -> None:
    import uvicorn
    from inventory_api.main import create_app

    clients = AwsClientFactory(HOME_REGION)
    Consumers.build(clients).start(stop)
    start_scan_worker(clients, stop)
    say(f"API: http://127.0.0.1:{port}/api/inventory/resources   (OpenAPI: http://127.0.0.1:{port}/docs)")
    # Every route but /healthz needs a bearer token: mint one with the key the API verifies against.
    from inventory_api.auth import load_or_create_local_key, mint_local_token

    from inventory_cli.runtime import LOCAL_DIR

    key_file = Path(os.environ.setdefault("AUTH_LOCAL_KEY_FILE", str(LOCAL_DIR / "auth-signing.key")))
    token = mint_local_token(load_or_create_local_key(key_file), "demo", "operator")
    from inventory_api.web import WebSettings

    if WebSettings().dist_dir() is not None:
        say(f"UI (signed in as demo, operator): {demo_ui_url(port, token)}")
    else:
        say("UI: not built, so / answers 404 (`make ui` builds it; `make demo` does)")
    say(f"Bearer token (user demo, role operator, valid 8 h):\n  export TOKEN={token}")
    say(f'  curl -H "Authorization: Bearer $TOKEN" http://127.0.0.1:{port}/api/inventory/resources')
    say("  other users and roles: inventory local token --user alice --role viewer|operator|admin")
    say("Ctrl-C stops the API, the consumers and the local AWS.")
    # The app trusts forwarded headers only from TRUSTED_PROXIES (inventory_api.edge), never uvicorn's default.
    uvicorn.run(create_app(), host="127.0.0.1", port=port, log_level="warning", proxy_headers=False)
