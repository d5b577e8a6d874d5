"""`inventory accounts ...` and `inventory scans ...`: onboarding and scan history without touching DynamoDB.

The commands call the API's own account and history services over the same adapters, so validation,
audit records and the ExternalId rules are the API's. The audit actor is the caller's AWS identity.
"""

from __future__ import annotations

import json
import sys
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, Any

import typer
from inventory_api.accounts import AccountService, Actor, InvalidAccountError
from inventory_api.auth import Principal, Role
from inventory_api.ports import StoreError
from inventory_api.schemas import AccountCreate, AccountPatch, AccountPublic
from inventory_api.service import ConflictError, NotFoundError
from pydantic import ValidationError

accounts_app = typer.Typer(help="The target accounts the scanner assumes roles into.", no_args_is_help=True)
scans_app = typer.Typer(help="Past and running scans (executions), whatever triggered them.", no_args_is_help=True)

#: Set by main: resolves and prints the target, returns the caller's identity ARN.
prepare: Callable[[], str] = lambda: "cli"  # noqa: E731


def _actor(identity: str) -> Actor:
    # The CLI acts with the operator's own AWS permissions: audited as admin, named by the AWS identity.
    return Actor(principal=Principal(user_id=identity, role=Role.admin), request_id=f"cli-{uuid.uuid4().hex}")


def _service() -> tuple[AccountService, Actor]:
    from inventory_cli import runtime

    identity = prepare()
    return runtime.account_service(), _actor(identity)


def _fail(message: str, code: int = 1) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


def _validation_message(exc: ValidationError) -> str:
    # Never echo the input: it may be the ExternalId.
    return "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'value'}: {e['msg']}" for e in exc.errors())


@contextmanager
def _errors() -> Iterator[None]:
    try:
        yield
    except ValidationError as exc:
        raise _fail(_validation_message(exc), 2) from None
    except InvalidAccountError as exc:
        raise _fail(str(exc), 2) from None
    except NotFoundError as exc:
        raise _fail(str(exc), 3) from None
    except ConflictError as exc:
        raise _fail(str(exc), 4) from None
    except StoreError as exc:
        raise _fail(f"a backing store failed: {exc}", 5) from None


def read_external_id() -> str:
    """From stdin when piped, else a hidden prompt: never a command-line argument (shell history, ps)."""
    if not sys.stdin.isatty():
        value = sys.stdin.readline().strip()
    else:
        value = str(typer.prompt("ExternalId", hide_input=True, confirmation_prompt=True)).strip()
    if not value:
        raise _fail("no ExternalId given on stdin or at the prompt", 2)
    return value


def _regions(values: list[str] | None) -> list[str] | None:
    if not values:
        return None
    return [r.strip() for value in values for r in value.split(",") if r.strip()]


def _row(a: AccountPublic) -> list[str]:
    last = f"{a.lastSyncStatus} {a.lastSyncedAt} ({a.lastSyncResourceCount or 0})" if a.lastSyncStatus else "never"
    return [
        a.accountId,
        a.accountName,
        "enabled" if a.syncEnabled else "disabled",
        a.roleName,
        ",".join(a.regions) if a.regions else "(default)",
        f"…{a.externalIdHint}" if a.externalIdHint else ("set" if a.externalIdConfigured else "-"),
        a.source,
        last,
    ]


def _table(header: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(str(c)) for c in column) for column in zip(header, *rows, strict=True)]
    for line in (header, *rows):
        typer.echo("  ".join(str(c).ljust(w) for c, w in zip(line, widths, strict=True)).rstrip())


def _show(account: AccountPublic, as_json: bool) -> None:
    if as_json:
        typer.echo(account.model_dump_json(indent=2))
    else:
        _table(["ACCOUNT", "NAME", "SYNC", "ROLE", "REGIONS", "EXTERNAL ID", "SOURCE", "LAST SYNC"], [_row(account)])


JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON (the API's shape).")]


@accounts_app.command("list")
def accounts_list(as_json: JsonOption = False) -> None:
    """Every registered account: sync state, role, regions, ExternalId hint, last sync."""
    service, _ = _service()
    with _errors():
        page = service.list_accounts()
    if as_json:
        typer.echo(page.model_dump_json(indent=2))
        return
    _table(
        ["ACCOUNT", "NAME", "SYNC", "ROLE", "REGIONS", "EXTERNAL ID", "SOURCE", "LAST SYNC"],
        [_row(a) for a in page.items],
    )
    typer.echo(f"{page.count} accounts")


@accounts_app.command("add")
def accounts_add(
    account_id: Annotated[str, typer.Argument(metavar="ID", help="12-digit AWS account id.")],
    name: Annotated[str, typer.Option("--name", help="Display name.")],
    role_name: Annotated[str | None, typer.Option(help="Role inside NucleusAccess-* (default: ROLE_NAME).")] = None,
    external_id: Annotated[
        bool, typer.Option("--external-id", help="Read the ExternalId from stdin (or a hidden prompt).")
    ] = False,
    regions: Annotated[list[str] | None, typer.Option("--regions", help="Regions (comma list or repeated).")] = None,
    enabled: Annotated[bool, typer.Option("--enabled/--disabled", help="Scan it (default) or not yet.")] = True,
    as_json: JsonOption = False,
) -> None:
    """Register an account (audited). The ExternalId is never a command-line argument."""
    service, actor = _service()
    with _errors():
        body = AccountCreate(
            accountId=account_id,
            accountName=name,
            roleName=role_name,
            externalId=read_external_id() if external_id else None,
            regions=_regions(regions),
            syncEnabled=enabled,
        )
        account = service.add(body, actor)
    typer.echo(f"added {account.accountId} ({account.accountName})", err=True)
    _show(account, as_json)


@accounts_app.command("update")
def accounts_update(
    account_id: Annotated[str, typer.Argument(metavar="ID")],
    name: Annotated[str | None, typer.Option("--name")] = None,
    role_name: Annotated[str | None, typer.Option(help="Role inside NucleusAccess-*; `default` resets it.")] = None,
    external_id: Annotated[bool, typer.Option("--external-id", help="Set a new ExternalId from stdin/prompt.")] = False,
    clear_external_id: Annotated[bool, typer.Option("--clear-external-id", help="Remove the ExternalId.")] = False,
    regions: Annotated[list[str] | None, typer.Option("--regions", help="`default` resets them.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Change an account's name, role, ExternalId or regions (audited)."""
    if external_id and clear_external_id:
        raise _fail("--external-id and --clear-external-id exclude each other", 2)
    service, actor = _service()
    fields: dict[str, Any] = {}
    if name is not None:
        fields["accountName"] = name
    if role_name is not None:
        fields["roleName"] = None if role_name == "default" else role_name
    if regions:
        fields["regions"] = None if regions == ["default"] else _regions(regions)
    if clear_external_id:
        fields["externalId"] = None
    with _errors():
        if external_id:
            fields["externalId"] = read_external_id()
        account = service.update(account_id, AccountPatch(**fields), actor)
    _show(account, as_json)


def _set_enabled(account_id: str, enabled: bool) -> None:
    service, actor = _service()
    with _errors():
        AccountCreate.model_validate({"accountId": account_id, "accountName": "-"})  # a clear error for a bad id
        account = service.set_enabled(account_id, enabled, actor)
    typer.echo(f"{account.accountId} ({account.accountName}): sync {'enabled' if enabled else 'disabled'}")


@accounts_app.command("enable")
def accounts_enable(account_id: Annotated[str, typer.Argument(metavar="ID")]) -> None:
    """Scan this account from the next scan on."""
    _set_enabled(account_id, True)


@accounts_app.command("disable")
def accounts_disable(account_id: Annotated[str, typer.Argument(metavar="ID")]) -> None:
    """Stop scanning it; its resources stay in the grid as last seen."""
    _set_enabled(account_id, False)


@accounts_app.command("remove")
def accounts_remove(
    account_id: Annotated[str, typer.Argument(metavar="ID")],
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask.")] = False,
) -> None:
    """Forget the account: its resources leave the grid, its history stays, nothing is marked missing."""
    service, actor = _service()
    if not yes and not typer.confirm(f"remove account {account_id} from the inventory?", err=True):
        raise typer.Exit(1)
    with _errors():
        AccountCreate.model_validate({"accountId": account_id, "accountName": "-"})
        service.remove(account_id, actor)
    typer.echo(f"removed {account_id}: its resources left the grid; history and the raw archive are kept")


@accounts_app.command("check")
def accounts_check(
    account_id: Annotated[str | None, typer.Argument(metavar="[ID]", help="One account; default: all.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Assume each account's role and make one cheap read per region: ok, access denied, not enabled, throttled."""
    service, actor = _service()
    with _errors():
        ids = [account_id] if account_id else [a.accountId for a in service.list_accounts().items]
        checks = [service.check(i, actor) for i in ids]
    if as_json:
        typer.echo(json.dumps([c.model_dump() for c in checks], indent=2))
    else:
        rows = [
            [c.accountId, r.region, r.status, r.action or "", (r.message or "")[:100]]
            for c in checks
            for r in c.results
        ]
        _table(["ACCOUNT", "REGION", "STATUS", "MISSING ACTION", "MESSAGE"], rows)
    if any(r.status != "ok" for c in checks for r in c.results):
        raise typer.Exit(1)


@accounts_app.command("adopt")
def accounts_adopt(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only list what would change.")] = False,
) -> None:
    """Find Account items the Nucleus app wrote without our GSI keys and add the keys (one table Scan)."""
    service, actor = _service()
    with _errors():
        result = service.adopt_unindexed(actor, dry_run=dry_run)
    for account in result.adopted:
        verb = "would adopt" if dry_run else "adopted"
        sync = "enabled" if account.syncEnabled else "disabled (enable with `inventory accounts enable`)"
        typer.echo(f"{verb} {account.accountId} ({account.accountName}): sync {sync}")
    for pk, reason in result.skipped:
        typer.echo(f"skipped {pk}: {reason}")
    typer.echo(f"{len(result.adopted)} Nucleus account items {'to adopt' if dry_run else 'adopted'}")


@scans_app.command("list")
def scans_list(
    limit: Annotated[int, typer.Option(min=1, max=100)] = 20,
    next_token: Annotated[str | None, typer.Option(help="Continue after a previous page.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Scan executions, newest first: trigger, who, start, end, status, accounts, resources, failed scopes."""
    from inventory_cli import runtime

    prepare()
    service, _ = runtime.history_service()
    with _errors():
        try:
            page = service.page(limit, next_token)
        except ValueError as exc:
            raise _fail(str(exc), 2) from None
    if as_json:
        typer.echo(page.model_dump_json(indent=2))
        return
    rows = [
        [
            s.executionId,
            s.trigger or "",
            s.requestedBy or "",
            s.startedAt or "",
            s.finishedAt or "",
            s.status,
            f"{s.accountsCompleted}/{s.accountsTotal}",
            "" if s.resourceCount is None else str(s.resourceCount),
            str(s.failedScopes),
        ]
        for s in page.items
    ]
    _table(["EXECUTION", "TRIGGER", "BY", "STARTED", "FINISHED", "STATUS", "ACCOUNTS", "RESOURCES", "FAILED"], rows)
    if page.nextToken:
        typer.echo(f"more: inventory scans list --next-token {page.nextToken}")


@scans_app.command("show")
def scans_show(execution_id: Annotated[str, typer.Argument(metavar="ID")], as_json: JsonOption = False) -> None:
    """One execution with its per-account progress."""
    from inventory_api.history import summarize
    from inventory_core.items import SCAN_STATUS_SK, account_id_of, is_account_key

    from inventory_cli import runtime

    prepare()
    _, history = runtime.history_service()
    with _errors():
        items = history.execution_items(execution_id)
    status = next((i for i in items if i.get("sk") == SCAN_STATUS_SK), None)
    if status is None:
        raise _fail(f"no scan execution {execution_id}", 3)
    summary = summarize(status, items)
    reported = {account_id_of(str(i["sk"])): i for i in items if is_account_key(str(i.get("sk", "")))}
    pending = "in_progress" if summary.status == "in_progress" else "unknown"
    accounts = [
        {"accountId": a, "status": pending, **reported.get(a, {})}
        for a in sorted({*(str(a) for a in status.get("accountIds") or []), *reported})
    ]
    if as_json:
        from inventory_api.service import plain_json

        rows = [{k: v for k, v in a.items() if k not in ("pk", "sk", "scopeKeys")} for a in accounts]
        typer.echo(json.dumps({**summary.model_dump(), "accounts": plain_json(rows)}, indent=2, default=str))
        return
    for key, value in summary.model_dump().items():
        typer.echo(f"{key:18} {value}")
    _table(
        ["ACCOUNT", "STATUS", "RESOURCES", "SCOPES DONE", "SCOPES FAILED", "DURATION MS"],
        [
            [
                str(i["accountId"]),
                str(i.get("status", "")),
                str(i.get("resourceCount", "")),
                str(i.get("scopesDone", 0)),
                str(i.get("scopesFailed", 0)),
                str(i.get("durationMs", "")),
            ]
            for i in accounts
        ],
    )
