"""`inventory member-role template`: the member accounts' NucleusAccess-Inventory role as CloudFormation."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(
    help="The role the scanner assumes in each member account (NucleusAccess-Inventory).", no_args_is_help=True
)


@app.command("template")
def template(
    types: Annotated[
        str, typer.Option(help="Catalogue selection the role must read (SCAN_TYPES syntax: all, trd, slugs).")
    ] = "all",
    output: Annotated[Path | None, typer.Option(help="Write to this file instead of standard output.")] = None,
    indent: Annotated[
        int | None, typer.Option(help="Indent the JSON (compact by default: StackSets take 51,200 bytes inline).")
    ] = None,
) -> None:
    """Print the CloudFormation template of the member role, for a service-managed StackSet.

    Deploy it with parameters ScannerRoleArn (the stack output) and ExternalId, capability
    CAPABILITY_NAMED_IAM; see docs/deploy.md "IAM and the member-account role".
    """
    from scanner.catalog import select_specs
    from scanner.member_role import template as build

    try:
        specs = select_specs([t for t in types.split(",") if t.strip()])
    except KeyError as exc:
        raise typer.BadParameter(str(exc), param_hint="--types") from exc
    text = json.dumps(build(specs), indent=indent, separators=(",", ":") if indent is None else None)
    if output:
        output.write_text(text + "\n", encoding="utf-8")
        typer.echo(f"wrote {output} ({len(text.encode())} bytes)", err=True)
    else:
        typer.echo(text)
