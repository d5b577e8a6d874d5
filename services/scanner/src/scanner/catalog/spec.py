"""Spec types of the catalogue and the field-driven normalizers every type can use.

A :class:`ResourceSpec` is one aws-auto-inventory "sheet" (service, function, result_key, flatten)
plus what we know about the type: its slug, CloudFormation type, whether it is global, how to build
its ARN, name and state, where its tags come from and, for child types, the parent it fans out from.
Normalizers are pure functions of the raw item, so they are unit-tested without any network. Listing
strategies (``lister``) and enrichments that need more API calls (``enricher``) are named here and
implemented by the session adapter, so this package stays free of boto3.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from inventory_events import Resource


class InvalidResourceError(ValueError):
    """A raw item lacks what its normalizer needs; the item is skipped with a warning."""


@dataclass(frozen=True)
class ScopeContext:
    """Where a raw item was found."""

    account_id: str
    region: str
    discovered_at: datetime


Normalizer = Callable[[Mapping[str, Any], ScopeContext], Resource]


@dataclass(frozen=True)
class ResourceSpec:
    """One resource type: how to list it and how to normalize its items."""

    slug: str
    cfn_type: str
    service: str
    function: str
    result_key: str
    normalize: Normalizer
    flatten: str | None = None
    parameters: Mapping[str, Any] = field(default_factory=dict)
    is_global: bool = False
    page_size_param: str | None = None
    page_size: int | None = None
    #: A listing the adapter implements itself (e.g. ECS services need their clusters first).
    lister: str | None = None
    #: Extra calls the adapter makes per page (tags, regions, details) before normalizing.
    enricher: str | None = None
    #: The sheet name in the aws-auto-inventory YAML.
    sheet: str = ""
    #: Where tags come from: ``api`` (one Resource Groups Tagging API pass per account and region, joined by
    #: ARN), ``inline`` (the list answer or the type's enricher carries them) or ``none`` (not taggable).
    tagging: str = "inline"
    #: The service namespace of the type's ARNs (``lambda``, ``elasticloadbalancing``): the Resource Groups
    #: Tagging API pass asks only for the services of the scanned ``api`` types (its ResourceTypeFilters).
    tag_service: str | None = None
    #: A child type fans out from its parent (a CloudFormation type): one listing per parent item, with
    #: ``parent_param`` set to the parent's ``parent_field`` (``id``, ``name`` or ``arn`` of its Resource).
    parent: str | None = None
    parent_param: str | None = None
    parent_field: str = "id"
    #: An input the listing needs that is the scanned account's id (s3control ListAccessPoints AccountId).
    account_param: str | None = None
    #: Whether the emulator (moto) implements the listing call (None: not known, hand-written).
    emulator: bool | None = None
    #: The IAM actions the listing needs (the member role is derived from them); empty: service:Function.
    permissions: tuple[str, ...] = ()
    #: True for entries of the generated data file, False for hand-written overrides.
    generated: bool = False


def tag_map(tags: Any) -> dict[str, str]:
    """Turn AWS tag lists ([{Key, Value}] in any casing) or dicts into a string map."""
    if isinstance(tags, Mapping):
        return {str(k): "" if v is None else str(v) for k, v in tags.items()}
    result: dict[str, str] = {}
    for tag in tags or []:
        if not isinstance(tag, Mapping):
            continue
        key = tag.get("Key", tag.get("key", tag.get("TagKey")))
        if key is not None:
            value = tag.get("Value", tag.get("value", tag.get("TagValue")))
            result[str(key)] = "" if value is None else str(value)
    return result


def _text(value: Any) -> str:
    return value.isoformat() if isinstance(value, datetime) else str(value)


def scalar_metadata(item: Mapping[str, Any], keys: tuple[str, ...]) -> dict[str, str]:
    """Pick scalar fields of a raw item as strings (dotted paths reach into maps; lists and maps are left out)."""
    out: dict[str, str] = {}
    for key in keys:
        value = dig(item, key)
        if value is None or isinstance(value, (dict, list)):
            continue
        out[key] = _text(value)
    return out


def all_scalars(item: Mapping[str, Any], *, limit: int = 40) -> dict[str, str]:
    """Every top-level scalar of a raw item as strings: the metadata of user-defined sheets."""
    out: dict[str, str] = {}
    for key, value in item.items():
        if len(out) >= limit:
            break
        if value is not None and not isinstance(value, (dict, list)):
            out[str(key)] = _text(value)
    return out


def dig(item: Mapping[str, Any], path: str) -> Any:
    """Read a dotted path (``State.Name``) from nested maps; None when any step is missing."""
    value: Any = item
    for part in path.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


def _require(item: Mapping[str, Any], key: str, slug: str) -> str:
    value = dig(item, key)
    if not value or not isinstance(value, str):
        raise InvalidResourceError(f"{slug} item has no {key}")
    return value


def _resource(ctx: ScopeContext, item: Mapping[str, Any], **fields: Any) -> Resource:
    tags = fields.pop("tags", {})
    name = fields.pop("name", None) or tags.get("Name") or fields["resource_id"]
    return Resource(
        account_id=ctx.account_id,
        discovered_at=ctx.discovered_at,
        raw=dict(item),
        tags=tags,
        name=name,
        **fields,
    )


_FIELD = re.compile(r"\{(\w+)\}")


def field_normalizer(
    slug: str,
    *,
    id_key: str,
    arn_key: str | None = None,
    arn_format: str | None = None,
    name_key: str | None = None,
    state_key: str | None = None,
    default_state: str = "",
    tags_key: str = "Tags",
    metadata: tuple[str, ...] = (),
) -> Normalizer:
    """Build a normalizer from field names; ``arn_format`` may use {region}, {account}, {id} and any item field."""

    def normalize(item: Mapping[str, Any], ctx: ScopeContext) -> Resource:
        resource_id = _require(item, id_key, slug)
        arn = dig(item, arn_key) if arn_key else None
        if not arn:
            if not arn_format:
                raise InvalidResourceError(f"{slug} item has no {arn_key}")
            values = {"region": ctx.region, "account": ctx.account_id, "id": resource_id.lstrip("/")}
            arn = _FIELD.sub(lambda m: str(values.get(m.group(1), dig(item, m.group(1)) or "")), arn_format)
        name = dig(item, name_key) if name_key else None
        state = dig(item, state_key) if state_key else None
        return _resource(
            ctx,
            item,
            resource_id=resource_id,
            resource_arn=str(arn),
            resource_type=slug,
            region=ctx.region,
            name=str(name) if name else None,
            state=str(state) if state is not None else default_state,
            tags=tag_map(item.get(tags_key)),
            metadata=scalar_metadata(item, metadata),
        )

    return normalize


_ID_KEYS = ("Arn", "ARN", "Id", "ID", "Name", "id", "name", "arn")


def generic_normalizer(slug: str, service: str) -> Normalizer:
    """Normalizer of a user-defined sheet: the best identifier and ARN the item offers, every scalar as metadata."""

    def normalize(item: Mapping[str, Any], ctx: ScopeContext) -> Resource:
        arn = next(
            (
                str(v)
                for k, v in item.items()
                if k.lower().endswith("arn") and isinstance(v, str) and v.startswith("arn:")
            ),
            None,
        )
        resource_id = _generic_id(item, arn)
        if resource_id is None:
            raise InvalidResourceError(f"{slug} item has no identifier (none of *Id, *Name, *Arn)")
        if arn is None:
            # No ARN in the answer: a stable, unique stand-in in ARN shape, so stores can key on it.
            arn = f"arn:aws:{service}:{ctx.region}:{ctx.account_id}:{slug}/{resource_id}"
        state = next(
            (str(v) for k, v in item.items() if k.lower() in {"state", "status"} and not isinstance(v, (dict, list))),
            "",
        )
        tags = tag_map(item.get("Tags", item.get("tags", item.get("TagList"))))
        name = next((str(v) for k, v in item.items() if k.endswith("Name") and isinstance(v, str) and v), None)
        return _resource(
            ctx,
            item,
            resource_id=resource_id,
            resource_arn=arn,
            resource_type=slug,
            region=ctx.region,
            name=name,
            state=state,
            tags=tags,
            metadata=all_scalars(item),
        )

    return normalize


def _generic_id(item: Mapping[str, Any], arn: str | None) -> str | None:
    for suffix in ("Id", "ID", "Name", "Identifier"):
        for key, value in item.items():
            if key.endswith(suffix) and isinstance(value, (str, int)) and str(value):
                return str(value)
    for key in _ID_KEYS:
        value = item.get(key)
        if isinstance(value, (str, int)) and str(value):
            return str(value)
    return arn
