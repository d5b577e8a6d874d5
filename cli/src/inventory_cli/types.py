"""``inventory types``: the scanner's resource catalogue (what it lists, how, whether tagged, emulator coverage)."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from scanner.catalog import CATALOG, UNSUPPORTED, ResourceSpec, select_specs


def _listed_by(spec: ResourceSpec) -> str:
    call = f"{spec.service}.{spec.function}"
    if spec.lister == "ecs_services":
        return f"{call} per ecs cluster"
    if spec.parent:
        return f"{call} per {spec.parent} ({spec.parent_param})"
    return call


def _tags(spec: ResourceSpec) -> str:
    if spec.tagging == "api":
        return "tagging-api"
    if spec.tagging == "none":
        return "-"
    return f"per-resource ({spec.enricher})" if spec.enricher and "tags" in spec.enricher else "inline"


def _emulator(spec: ResourceSpec) -> str:
    return {True: "yes", False: "no", None: "?"}[spec.emulator]


def row(spec: ResourceSpec) -> dict[str, str]:
    """One catalogue line as strings."""
    return {
        "type": spec.slug,
        "cloudformation": spec.cfn_type,
        "service": spec.service,
        "listedBy": _listed_by(spec),
        "scope": "global" if spec.is_global else "regional",
        "tags": _tags(spec),
        "emulator": _emulator(spec),
        "source": "generated" if spec.generated else "hand-written",
    }


def types_command(
    select: Annotated[
        str, typer.Option("--select", help="trd, extended, emulator, all, or comma-separated slugs")
    ] = "all",
    unsupported: Annotated[bool, typer.Option("--unsupported", help="list the types not listed, with why")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="JSON lines instead of a table")] = False,
) -> None:
    """Print the resource catalogue: type, service, how it is listed, tags, emulator coverage."""
    if unsupported:
        for item in UNSUPPORTED:
            print(
                json.dumps({"cloudformation": item.cfn_type, "reason": item.reason})
                if as_json
                else f"{item.cfn_type:<60} {item.reason}"
            )
        print(f"{len(UNSUPPORTED)} CloudFormation types not listed") if not as_json else None
        return
    try:
        specs = select_specs([s for s in select.split(",") if s.strip()])
    except KeyError as exc:
        raise typer.BadParameter(str(exc.args[0]), param_hint="--select") from exc
    rows = [row(spec) for spec in specs]
    if as_json:
        for line in rows:
            print(json.dumps(line))
        return
    columns = ("type", "service", "listedBy", "scope", "tags", "emulator", "source")
    widths = {c: min(60, max(len(c), *(len(r[c]) for r in rows))) for c in columns}
    print("  ".join(c.upper().ljust(widths[c]) for c in columns))
    for line in rows:
        print("  ".join(line[c][: widths[c]].ljust(widths[c]) for c in columns))
    services = len({s.service for s in specs})
    emulated = sum(1 for s in specs if s.emulator)
    print(
        f"{len(specs)} types ({len(CATALOG)} in the catalogue) across {services} services; "
        f"{emulated} listed by the emulator; {len(UNSUPPORTED)} CloudFormation types unsupported (--unsupported)"
    )
