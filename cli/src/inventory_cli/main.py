"""The `inventory` command: the operator's entry point."""

from __future__ import annotations

import json
import logging
import os
import sys
import threading
import uuid
from typing import Annotated, Any

import typer
from inventory_core.aws import AwsClientFactory
from inventory_events import ScanRequested

from inventory_cli import analytics, dlq, member_role, operators, runtime, types
from inventory_cli.moto_server import MotoNotInstalledError, MotoServer, is_up, stop_pid

app = typer.Typer(help="AWS Auto-Discovery: inventory every resource of many AWS accounts.", no_args_is_help=True)
local_app = typer.Typer(help="The embedded local AWS (moto server on 127.0.0.1).", no_args_is_help=True)
consumers_app = typer.Typer(help="The three event consumers, driven by a local SQS poller.", no_args_is_help=True)
api_app = typer.Typer(help="The query service.", no_args_is_help=True)
app.add_typer(local_app, name="local")
app.add_typer(operators.scans_app, name="scans")
app.add_typer(dlq.dlq_app, name="dlq")
app.add_typer(consumers_app, name="consumers")
app.add_typer(api_app, name="api")
app.add_typer(analytics.lake_app, name="lake")
app.add_typer(member_role.app, name="member-role")
app.command("types")(types.types_command)
app.command("sql")(analytics.sql)


def say(message: str) -> None:
    typer.echo(message)


POWERTOOLS_SERVICES = ("ddb-projector", "lake-writer", "archiver")


def _setup_logging(verbose: bool) -> None:
    level = logging.INFO if verbose else logging.WARNING
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s %(message)s", stream=sys.stderr)
    # The consumers log through Powertools (JSON lines, as in Lambda); on a terminal keep them to warnings.
    for name in POWERTOOLS_SERVICES:
        service_logger = logging.getLogger(name)
        service_logger.setLevel(level)
        service_logger.propagate = False


@app.callback()
def main(
    local: Annotated[
        bool,
        typer.Option(
            "--local",
            help="Use the local stack (.inventory/local/local.env) instead of real AWS; or INVENTORY_TARGET=local.",
        ),
    ] = False,
) -> None:
    """AWS Auto-Discovery. Commands talk to real AWS (standard credential chain) unless --local is given."""
    runtime.TARGET_LOCAL = local


@local_app.callback()
def local_main() -> None:
    """The embedded local AWS: these commands always use the local stack."""
    runtime.TARGET_LOCAL = True


def _require_env() -> str:
    """Choose the target (real AWS unless --local), print it on stderr first, return the caller's identity ARN."""
    from inventory_cli.target import TargetError, announce

    try:
        target = runtime.select_target()
    except TargetError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    announce(target)
    if not os.environ.get("APP_TABLE_NAME"):
        raise typer.BadParameter("no stack configured: run `inventory local up` (or export the stack's variables)")
    return target.identity_arn


operators.prepare = _require_env
dlq.prepare = _require_env


@app.command()
def demo(
    resources: Annotated[int, typer.Option(help="Approximate number of simulated resources.")] = 300,
    serve: Annotated[bool, typer.Option(help="Serve the API after the scan (Ctrl-C stops everything).")] = True,
    port: Annotated[int, typer.Option(help="API port on 127.0.0.1.")] = 8000,
    verbose: bool = False,
) -> None:
    """Start a fresh local AWS, seed 3 accounts, scan them through every service, serve the API."""
    from inventory_cli.demo import run_demo

    _setup_logging(verbose)
    try:
        run_demo(resources, serve, port, runtime.STATE_DIR, say)
    except KeyboardInterrupt:
        say("stopped")
    except MotoNotInstalledError as exc:
        say(f"error: {exc}")
        raise typer.Exit(1) from exc


@local_app.command("up")
def local_up(port: Annotated[int, typer.Option(help="Port on 127.0.0.1.")] = 4566) -> None:
    """Start the moto server in the background and provision the stack (idempotent)."""
    from inventory_core.topology import build_topology

    from inventory_cli.demo import HOME_ACCOUNT, HOME_REGION, local_environment
    from inventory_cli.provision import provision

    state = runtime.local_state()
    if state and is_up(state["endpoint"]):
        endpoint = state["endpoint"]
        say(f"local AWS already running on {endpoint}")
    else:
        runtime.LOCAL_DIR.mkdir(parents=True, exist_ok=True)
        (runtime.LOCAL_DIR / "iceberg-catalog.db").unlink(missing_ok=True)  # the old warehouse died with moto
        try:
            server = MotoServer.start(port, log_path=runtime.LOCAL_DIR / "moto.log", detach=True)
        except RuntimeError as exc:
            say(f"error: {exc}")
            raise typer.Exit(1) from exc
        endpoint = server.endpoint
        pid = server.process.pid if server.process else None
        runtime.STATE_FILE.write_text(json.dumps({"endpoint": endpoint, "pid": pid, "port": server.port}))
        say(f"local AWS started on {endpoint} (pid {pid})")
    os.environ.update(local_environment(endpoint))
    env = provision(
        AwsClientFactory(HOME_REGION), build_topology(HOME_ACCOUNT, HOME_REGION), state_dir=runtime.LOCAL_DIR
    )
    runtime.write_env_file(runtime.ENV_FILE, {**local_environment(endpoint), **env})
    say(f"provisioned; environment in {runtime.ENV_FILE}")


@local_app.command("down")
def local_down() -> None:
    """Stop the background moto server."""
    state = runtime.local_state()
    if not state or not state.get("pid") or not stop_pid(int(state["pid"])):
        say("local AWS is not running")
    else:
        say("local AWS stopped")
    runtime.STATE_FILE.unlink(missing_ok=True)
    runtime.ENV_FILE.unlink(missing_ok=True)


@local_app.command("status")
def local_status() -> None:
    """Show whether the local AWS runs, and what each store holds."""
    state = runtime.local_state()
    if not state or not is_up(state["endpoint"]):
        say("local AWS: not running (start it with `inventory local up`)")
        raise typer.Exit(1)
    say(f"local AWS: running on {state['endpoint']} (pid {state.get('pid')})")
    runtime.load_local_env()
    from inventory_cli.summary import summarize

    for line in summarize(AwsClientFactory(os.environ["AWS_DEFAULT_REGION"])).lines():
        say(f"  {line}")


@local_app.command("maintenance")
def local_maintenance(
    days_ahead: Annotated[
        float, typer.Option(help="Apply the rules as if this many days had passed (the soak uses 40).", min=0)
    ] = 0,
) -> None:
    """Do what the bucket's lifecycle rules do in AWS (moto has none): expire staged pages, old versions."""
    from inventory_core.topology import BucketSpec

    from inventory_cli.maintenance import LifecycleRules, run_maintenance

    _require_env()
    bucket = os.environ["INVENTORY_BUCKET"]
    s3 = AwsClientFactory(os.environ["AWS_DEFAULT_REGION"]).client("s3")
    report = run_maintenance(s3, bucket, LifecycleRules.of(BucketSpec(name=bucket)), days_ahead=days_ahead)
    say(
        f"{bucket}: {report.versions_deleted} versions deleted ({report.bytes_freed / 1e6:.1f} MB), "
        f"{report.markers_added} delete markers added, {report.markers_removed} removed"
    )


@local_app.command("seed")
def local_seed(
    resources: Annotated[int, typer.Option(help="Approximate number of simulated resources.")] = 300,
) -> None:
    """Seed the simulated target accounts into the running local AWS."""
    from inventory_core.items import Account
    from inventory_core.settings import RegionSettings

    from inventory_cli.demo import DEMO_ACCOUNTS
    from inventory_cli.fleet import seed_fleet

    _require_env()
    fleet = seed_fleet(DEMO_ACCOUNTS, RegionSettings().inventory_regions, resources, progress=say)
    runtime.register_accounts(
        AwsClientFactory(os.environ["AWS_DEFAULT_REGION"]),
        os.environ["APP_TABLE_NAME"],
        [Account(account_id=a.account_id, account_name=a.name, sync_enabled=True) for a in fleet.accounts],
    )
    say(f"seeded {sum(len(v) for v in fleet.arns.values())} resources in {len(fleet.accounts)} accounts")


@local_app.command("token")
def local_token(
    user: Annotated[str, typer.Option(help="User id (the token's sub).")] = "alice",
    role: Annotated[str, typer.Option(help="viewer (read, export), operator (+ sync), admin (+ audit).")] = "viewer",
    hours: Annotated[
        int, typer.Option(help="Validity in hours (the API refuses local tokens over 12 h).", min=1, max=12)
    ] = 8,
) -> None:
    """Mint a bearer token for the local API (signed with a key created on first use in the state dir)."""
    from pathlib import Path

    from inventory_api.auth import load_or_create_local_key, mint_local_token

    key_file = Path(os.environ.get("AUTH_LOCAL_KEY_FILE") or runtime.LOCAL_DIR / "auth-signing.key")
    try:
        token = mint_local_token(load_or_create_local_key(key_file), user, role, ttl_s=hours * 3600)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--role") from None
    say(token)


@app.command()
def scan(
    account: Annotated[
        list[str] | None, typer.Option(help="Account id to scan (repeatable); default: all enabled.")
    ] = None,
    region: Annotated[
        list[str] | None, typer.Option(help="Region to scan (repeatable), or `all` for every enabled region.")
    ] = None,
    type_: Annotated[
        list[str] | None,
        typer.Option("--type", help="Resource type slug (repeatable), `trd` or `all`; default: SCAN_TYPES."),
    ] = None,
    config: Annotated[
        str | None, typer.Option(help="aws-auto-inventory YAML to execute (see `inventory config generate`).")
    ] = None,
    progress: Annotated[bool, typer.Option(help="Show a live progress bar on stderr.")] = True,
    verbose: bool = False,
) -> None:
    """Run one scan now, in this process, publishing to the topic."""
    from inventory_cli.scan_progress import ScanProgressBar, describe

    _setup_logging(verbose)
    identity = _require_env()
    # The options override the scanner's settings from the environment, for this scan only (the process
    # environment is left as it was: a later scan in the same process must not inherit them).
    overrides: dict[str, Any] = {}
    if region:
        overrides["inventory_regions"] = ",".join(region)
    if type_:
        overrides["scan_types"] = ",".join(type_)
    if config:
        overrides["inventory_config"] = config
    try:
        service = runtime.scan_service(**overrides)
    except (ValueError, KeyError, OSError) as exc:
        raise typer.BadParameter(str(exc)) from exc
    request = ScanRequested(
        execution_id=str(uuid.uuid4()), account_ids=account or None, trigger="cli", requested_by=identity
    )
    if progress:
        with ScanProgressBar() as bar:
            result = service.scan(request, progress=bar.update)
        if bar.last:
            say(describe(bar.last))
    else:
        result = service.scan(request)
    for summary in result.accounts:
        say(f"{summary.account_id}: {summary.status}, {summary.resource_count} resources")
    for skipped in result.skipped:
        say(f"{skipped.account_id}: skipped, {skipped.reason}")
    say(f"execution {result.execution_id} finished in {result.duration_ms} ms")
    if any(a.status == "failed" for a in result.accounts):
        raise typer.Exit(1)


accounts_app = operators.accounts_app
app.add_typer(accounts_app, name="accounts")


@accounts_app.command("import")
def accounts_import(
    from_organizations: Annotated[
        bool, typer.Option("--from-organizations", help="Add the member accounts of this AWS Organization.")
    ] = False,
) -> None:
    """Add accounts (syncEnabled false until an operator enables them); existing accounts are left as they are."""
    from scanner.bootstrap import import_organization_accounts
    from scanner.settings import ScannerSettings

    if not from_organizations:
        raise typer.BadParameter("say where the accounts come from: --from-organizations")
    _require_env()
    found, added = import_organization_accounts(ScannerSettings())
    for account in added:
        say(f"added {account.account_id} ({account.account_name}), syncEnabled false")
    say(f"{len(found)} accounts in the organization, {len(added)} added, {len(found) - len(added)} already registered")


config_app = typer.Typer(help="The aws-auto-inventory YAML the scanner executes.", no_args_is_help=True)
app.add_typer(config_app, name="config")


@config_app.command("generate")
def config_generate(
    account: Annotated[str | None, typer.Option(help="Only this account (must be syncEnabled).")] = None,
    output: Annotated[str | None, typer.Option(help="Write to this file instead of stdout.")] = None,
) -> None:
    """Write the inventory YAML for the active accounts (TRD section 2.2)."""
    from pathlib import Path

    from scanner.bootstrap import generate_config_text
    from scanner.settings import ScannerSettings

    _require_env()
    try:
        text = generate_config_text(ScannerSettings(), account)
    except (LookupError, ValueError) as exc:
        raise typer.BadParameter(str(exc)) from exc
    if output:
        Path(output).write_text(text, encoding="utf-8")
        say(f"config written to {output}")
    else:
        typer.echo(text, nl=False)


@consumers_app.command("run")
def consumers_run(
    until_idle: Annotated[bool, typer.Option(help="Stop once every queue is empty.")] = False,
    verbose: bool = False,
) -> None:
    """Long-poll the consumer queues and call each consumer's handler, as Lambda would."""
    _setup_logging(verbose)
    _require_env()
    consumers = runtime.Consumers.build(AwsClientFactory(os.environ["AWS_DEFAULT_REGION"]))
    if until_idle:
        consumers.drain()
        say("queues drained: " + ", ".join(f"{p.name} {p.processed} ok/{p.failed} failed" for p in consumers.pollers))
        return
    stop = threading.Event()
    threads = consumers.start(stop)
    say("consumers running; Ctrl-C stops them")
    try:
        for t in threads:
            t.join()
    except KeyboardInterrupt:
        stop.set()


@api_app.command("serve")
def api_serve(port: Annotated[int, typer.Option(help="Port on 127.0.0.1.")] = 8000) -> None:
    """Serve the API on 127.0.0.1 with uvicorn."""
    import uvicorn
    from inventory_api.main import create_app

    _require_env()
    say(f"API: http://127.0.0.1:{port}/api/inventory/resources")
    # The app trusts forwarded headers only from TRUSTED_PROXIES (inventory_api.edge), never uvicorn's default.
    uvicorn.run(create_app(), host="127.0.0.1", port=port, log_level="info", proxy_headers=False)
