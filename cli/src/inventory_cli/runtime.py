"""The local runtime: environment of the local stack, and the services wired to it.

This is the CLI's composition root. It starts the services' own entry points (handlers, scan service,
app) with settings read from the environment; it never reaches into their internals.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import typer
from archiver.bootstrap import build_service as build_archiver
from archiver.handler import handle_batch as archiver_batch
from archiver.settings import ArchiverSettings
from ddb_projector.bootstrap import build_service as build_projector
from ddb_projector.handler import handle_batch as projector_batch
from ddb_projector.settings import ProjectorSettings
from inventory_api.accounts import AccountService
from inventory_api.adapters.dynamodb_accounts import DynamoDbAccountStore
from inventory_api.adapters.dynamodb_audit import DynamoDbAuditLog
from inventory_api.adapters.dynamodb_reader import DynamoDbInventoryReader
from inventory_api.adapters.dynamodb_scan_history import DynamoDbScanHistory
from inventory_api.adapters.sts_access_check import StsAccessChecker, known_regions
from inventory_api.audit import AuditService
from inventory_api.history import ScanHistoryService
from inventory_core.aws import AwsClientFactory
from inventory_core.items import Account
from inventory_core.settings import RegionSettings
from inventory_core.sqs import LambdaHandler, SqsLambdaPoller, drain
from inventory_core.topology import CONSUMER_BATCH_SIZES, CONSUMER_BATCHING_WINDOWS_S
from lake_writer.bootstrap import build_service as build_lake_writer
from lake_writer.handler import handle_batch as lake_batch
from lake_writer.settings import LakeWriterSettings
from scanner.bootstrap import build_service as build_scanner
from scanner.service import ScanService
from scanner.settings import ScannerSettings
from scanner.worker import ScanRequestWorker

from inventory_cli import target

STATE_DIR = Path(os.environ.get("INVENTORY_STATE_DIR", ".inventory"))
LOCAL_DIR = STATE_DIR / "local"
STATE_FILE = LOCAL_DIR / "state.json"
ENV_FILE = LOCAL_DIR / "local.env"


def write_env_file(path: Path, env: Mapping[str, str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{k}={v}\n" for k, v in sorted(env.items())))


def read_env_file(path: Path) -> dict[str, str]:
    return target.read_env_file(path)


#: Set for each invocation by the CLI's callbacks: ``inventory --local ...`` and ``inventory local ...``.
TARGET_LOCAL = False


def target_is_local() -> bool:
    """The local stack only when asked (--local, INVENTORY_TARGET=local); real AWS otherwise."""
    return TARGET_LOCAL or target.wants_local()


def load_local_env() -> bool:
    """Use the local stack's environment when the local target was chosen; a stale env file is never read else."""
    if not target_is_local() or not ENV_FILE.exists():
        return False
    os.environ.update(read_env_file(ENV_FILE))
    return True


def select_target() -> target.Target:
    """Resolve where this command points (loading the local env file only for the local target)."""
    return target.resolve(target_is_local(), ENV_FILE)


def announce_target() -> None:
    """Print where the command points as its first stderr line; for commands that may also work without AWS."""
    try:
        chosen = select_target()
    except target.TargetError as exc:
        typer.echo(f"target: unresolved ({exc})", err=True)
        return
    target.announce(chosen)


def account_service() -> AccountService:
    """The API's account service over the same adapters, for `inventory accounts ...`."""
    clients = AwsClientFactory(os.environ.get("AWS_DEFAULT_REGION") or os.environ.get("AWS_REGION") or "us-east-1")
    table = clients.dynamodb_table(os.environ["APP_TABLE_NAME"])
    return AccountService(
        DynamoDbInventoryReader(table),
        DynamoDbAccountStore(table),
        StsAccessChecker(clients),
        AuditService(DynamoDbAuditLog(clients.dynamodb_table(os.environ["AUDIT_TABLE_NAME"]))),
        known_regions=known_regions(clients.session),
        default_regions=RegionSettings().inventory_regions,
        default_role_name=os.environ.get("ROLE_NAME") or "NucleusAccess-Inventory",
    )


def history_service() -> tuple[ScanHistoryService, DynamoDbScanHistory]:
    clients = AwsClientFactory(os.environ.get("AWS_DEFAULT_REGION") or os.environ.get("AWS_REGION") or "us-east-1")
    history = DynamoDbScanHistory(clients.dynamodb_table(os.environ["APP_TABLE_NAME"]))
    return ScanHistoryService(history), history


def local_state() -> dict[str, Any] | None:
    if not STATE_FILE.exists():
        return None
    state: dict[str, Any] = json.loads(STATE_FILE.read_text())
    return state


def register_accounts(clients: AwsClientFactory, table_name: str, accounts: list[Account]) -> None:
    table = clients.dynamodb_table(table_name)
    with table.batch_writer(overwrite_by_pkeys=["pk", "sk"]) as batch:
        for account in accounts:
            batch.put_item(Item=account.to_item())


def scan_service(**overrides: Any) -> ScanService:
    """The scanner with its settings from the environment; ``overrides`` (field names) take precedence over it."""
    return build_scanner(ScannerSettings(**overrides))


@dataclass
class Consumers:
    """The three consumers, each a poller over its queue calling the service's own batch handler."""

    pollers: list[SqsLambdaPoller]

    @classmethod
    def build(
        cls, clients: AwsClientFactory, *, retry_delay_s: float = 1.0, max_retry_delay_s: float = 30.0, wait_s: int = 2
    ) -> Consumers:
        env = os.environ
        projector = build_projector(ProjectorSettings(), clients)
        lake = build_lake_writer(LakeWriterSettings())
        archiver = build_archiver(ArchiverSettings(), clients)
        wiring: list[tuple[str, str, LambdaHandler]] = [
            ("ddb-projector", env["DDB_PROJECTOR_QUEUE_URL"], lambda e, c: projector_batch(e, c, projector)),
            ("lake-writer", env["LAKE_WRITER_QUEUE_URL"], lambda e, c: lake_batch(e, c, lake)),
            ("archiver", env["ARCHIVER_QUEUE_URL"], lambda e, c: archiver_batch(e, c, archiver)),
        ]
        sqs = clients.client("sqs")
        return cls(
            [
                SqsLambdaPoller(
                    sqs,
                    url,
                    handler,
                    name=name,
                    batch_size=CONSUMER_BATCH_SIZES[name],
                    batching_window_s=CONSUMER_BATCHING_WINDOWS_S[name],  # applies while running, not to drain()
                    retry_delay_s=retry_delay_s,
                    max_retry_delay_s=max_retry_delay_s,
                    wait_s=wait_s,
                )
                for name, url, handler in wiring
            ]
        )

    def drain(self, timeout_s: float = 900.0) -> None:
        drain(self.pollers, timeout_s=timeout_s)

    def start(self, stop: threading.Event) -> list[threading.Thread]:
        threads = [threading.Thread(target=p.run, args=(stop,), name=p.name, daemon=True) for p in self.pollers]
        for t in threads:
            t.start()
        return threads


def start_scan_worker(clients: AwsClientFactory, stop: threading.Event) -> threading.Thread:
    worker = ScanRequestWorker(clients.client("sqs"), os.environ["SCAN_REQUESTS_QUEUE_URL"], scan_service())
    thread = threading.Thread(target=worker.run, args=(stop,), name="scanner", daemon=True)
    thread.start()
    return thread
