"""The generated catalogue: ``generated.json`` (written by ``services/scanner/tools/gen_catalog.py``) as specs.

Every entry is data: the CloudFormation type, the botocore operation that lists it and where its items
are, the paths of the id, ARN, name, state and tags in an item, the IAM ARN format (with the source of
each of its variables) for APIs that give no ARN, and the parent type a child listing fans out from.
One normalizer, :func:`data_normalizer`, turns any of them into a Resource.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from typing import Any

from inventory_events import Resource

from scanner.catalog.spec import (
    InvalidResourceError,
    Normalizer,
    ResourceSpec,
    ScopeContext,
    _resource,
    all_scalars,
    dig,
    scalar_metadata,
    tag_map,
)

#: The key under which the adapter hands a child item the parent value its listing was called with.
PARENT_KEY = "_parent"
#: The key under which the adapter wraps list answers that are bare strings (names, ARNs, URLs).
STRING_KEY = "Id"
_VAR = re.compile(r"\{(\w+)\}")


@dataclass(frozen=True)
class Unsupported:
    """A CloudFormation type the catalogue cannot list, and why."""

    cfn_type: str
    reason: str


def partition_of(region: str) -> str:
    """The ARN partition of a region (``aws`` for the commercial regions and ``global``)."""
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


def arn_service(arn_template: str | None) -> str | None:
    """The service namespace of an ARN format (``arn:{partition}:lambda:...`` -> ``lambda``)."""
    parts = (arn_template or "").split(":")
    if len(parts) < 6 or parts[0] != "arn" or not re.fullmatch(r"[a-z0-9-]+", parts[2]):
        return None
    return parts[2]


def _path(path: str | None) -> str | None:
    return STRING_KEY if path == "." else path


def data_normalizer(
    slug: str,
    cfn_type: str,
    paths: Mapping[str, str | None],
    *,
    arn_template: str | None = None,
    arn_vars: Mapping[str, str] | None = None,
    default_state: str = "",
    metadata: tuple[str, ...] = (),
) -> Normalizer:
    """A normalizer driven by item paths; the ARN is read, or built from the IAM format and the item.

    ``default_state`` is the state of types whose API has none (``available``); ``metadata`` names dotted
    paths kept besides the item's top-level scalars (nested values such as ``Config.PrivateZone``).
    """
    id_path = _path(paths.get("id")) or STRING_KEY
    arn_path = _path(paths.get("arn"))
    name_path = _path(paths.get("name"))
    state_path = _path(paths.get("state"))
    tags_path = _path(paths.get("tags"))
    sources = dict(arn_vars or {})

    def normalize(item: Mapping[str, Any], ctx: ScopeContext) -> Resource:
        parent = item.get(PARENT_KEY)
        raw = {k: v for k, v in item.items() if k != PARENT_KEY}
        value = dig(raw, id_path)
        if value is None or value == "" or isinstance(value, (dict, list)):
            raise InvalidResourceError(f"{slug} item has no {id_path}")
        resource_id = str(value)
        arn = dig(raw, arn_path) if arn_path else None
        if not arn:
            if not arn_template:
                raise InvalidResourceError(f"{slug} item has no {arn_path} and the type has no ARN format")
            arn = _build_arn(arn_template, sources, raw, resource_id, parent, ctx)
        name = dig(raw, name_path) if name_path else None
        state = dig(raw, state_path) if state_path else None
        meta = all_scalars(raw, limit=20)
        meta.update(scalar_metadata(raw, metadata))
        meta["CloudFormationType"] = cfn_type
        if parent is not None:
            meta["parent"] = str(parent)
        return _resource(
            ctx,
            raw,
            resource_id=resource_id,
            resource_arn=str(arn),
            resource_type=slug,
            region=ctx.region,
            name=str(name) if name not in (None, "") else None,
            state=default_state if state is None or isinstance(state, (dict, list)) else str(state),
            tags=tag_map(dig(raw, tags_path)) if tags_path else {},
            metadata=meta,
        )

    return normalize


def _build_arn(
    template: str,
    sources: Mapping[str, str],
    item: Mapping[str, Any],
    resource_id: str,
    parent: Any,
    ctx: ScopeContext,
) -> str:
    def value(match: re.Match[str]) -> str:
        var = match.group(1)
        if var == "partition":
            return partition_of(ctx.region)
        if var == "region":
            return ctx.region
        if var == "account":
            return ctx.account_id
        source = sources.get(var, "id")
        if source == "parent":
            if parent is None:
                raise InvalidResourceError(f"no parent value for {var} of {template}")
            return str(parent).rsplit("/", 1)[-1] if str(parent).startswith("arn:") else str(parent)
        if source == "id-last":  # an id that is a path (Route 53's /hostedzone/Z1): its last segment
            return resource_id.rsplit("/", 1)[-1]
        if source.startswith("item:"):
            found = dig(item, source[5:])
            if found is None:
                raise InvalidResourceError(f"item has no {source[5:]} for {var} of {template}")
            return str(found)
        # IAM's variable name says it: SSM's parameter/{ParameterNameWithoutLeadingSlash} of /app/x is app/x
        return resource_id.lstrip("/") if var.endswith("WithoutLeadingSlash") else resource_id

    return _VAR.sub(value, template)


@cache
def load_data() -> dict[str, Any]:
    """The committed generated.json (read once per process)."""
    text = files("scanner.catalog").joinpath("generated.json").read_text(encoding="utf-8")
    return dict(json.loads(text))


def spec_from_entry(entry: Mapping[str, Any]) -> ResourceSpec:
    """One generated entry as a ResourceSpec."""
    slug = str(entry["slug"])
    paths = entry["paths"]
    parent = entry.get("parent") or {}
    tagging = "inline" if paths.get("tags") else ("api" if entry.get("taggable") else "none")
    return ResourceSpec(
        slug=slug,
        cfn_type=str(entry["cfn_type"]),
        service=str(entry["service"]),
        function=str(entry["operation"]),
        result_key=str(entry["result_key"]),
        flatten=entry.get("flatten"),
        normalize=data_normalizer(
            slug,
            str(entry["cfn_type"]),
            paths,
            arn_template=entry.get("arn_template"),
            arn_vars=entry.get("arn_vars"),
            default_state=str(entry.get("default_state", "")),
            metadata=tuple(entry.get("metadata", ())),
        ),
        is_global=bool(entry.get("global")),
        tagging=tagging,
        tag_service=arn_service(entry.get("arn_template")),
        parent=parent.get("cfn_type"),
        parent_param=parent.get("param"),
        parent_field=str(parent.get("field", "id")),
        account_param=entry.get("account_param"),
        emulator=bool(entry.get("emulator")),
        permissions=tuple(entry.get("list_permissions", ())),
        generated=True,
    )


@cache
def generated_specs() -> tuple[ResourceSpec, ...]:
    """Every generated type, sorted by CloudFormation type."""
    return tuple(spec_from_entry(e) for e in load_data()["types"])


@cache
def unsupported_types() -> tuple[Unsupported, ...]:
    """CloudFormation types listed as unsupported, with the reason."""
    return tuple(Unsupported(str(u["cfn_type"]), str(u["reason"])) for u in load_data()["unsupported"])
