"""The catalogue of resource types the scanner knows.

- ``spec``: the spec types and the field-driven normalizers;
- ``generated.json`` + ``generated``: the types generated from the AWS models (CloudFormation schemas,
  botocore paginators, IAM ARN formats) by ``services/scanner/tools/gen_catalog.py``;
- ``overrides``: small overrides of a generated entry where the data is wrong or a type needs enrichment
  (the eight TRD types keep their normalizers), and full specs only for the few types the data lacks;
- ``normalizers``: the hand-written normalizers those overrides use.

Adding a type means regenerating the data file; nothing else.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from difflib import get_close_matches
from typing import Any

from inventory_events import GLOBAL_REGION

from scanner.catalog import overrides
from scanner.catalog.generated import (
    PARENT_KEY,
    STRING_KEY,
    Unsupported,
    generated_specs,
    load_data,
    spec_from_entry,
    unsupported_types,
)
from scanner.catalog.normalizers import (
    normalize_dynamodb_table,
    normalize_ec2_instance,
    normalize_ecs_service,
    normalize_lambda_function,
    normalize_load_balancer,
    normalize_rds_instance,
    normalize_s3_bucket,
    normalize_sqs_queue,
    normalize_vpc,
)
from scanner.catalog.spec import (
    InvalidResourceError,
    Normalizer,
    ResourceSpec,
    ScopeContext,
    all_scalars,
    dig,
    field_normalizer,
    generic_normalizer,
    scalar_metadata,
    tag_map,
)


def tagging_filters(specs: Iterable[ResourceSpec]) -> tuple[str, ...] | None:
    """ResourceTypeFilters for the Tagging API pass of a scan of ``specs``: the services of its ``api`` types.

    None asks for every resource: a type whose ARN service is unknown, or more services than one request
    may name (100).
    """
    services: set[str] = set()
    for spec in specs:
        if spec.tagging != "api":
            continue
        if not spec.tag_service:
            return None
        services.add(spec.tag_service)
    return tuple(sorted(services)) if len(services) <= _MAX_TYPE_FILTERS else None


def apply_override(override: overrides.Override, entry: Mapping[str, Any]) -> ResourceSpec:
    """The generated ``entry`` with the override's changes: a hand-written type that is still data."""
    patched = {**entry, **override.entry, "slug": override.slug}
    patched["paths"] = {**entry["paths"], **override.entry.get("paths", {})}
    spec = replace(spec_from_entry(patched), **override.spec)
    # every hand-written type is seeded and found on the emulator (tests/integration/scanner)
    return replace(spec, normalize=override.normalize or spec.normalize, emulator=True, generated=False)


def _compose() -> tuple[tuple[ResourceSpec, ...], tuple[ResourceSpec, ...]]:
    entries = {str(e["cfn_type"]): e for e in load_data()["types"]}
    hand: list[ResourceSpec] = []
    for item in overrides.TRD_CATALOG + overrides.EXTENDED_CATALOG:
        if isinstance(item, overrides.Override):
            hand.append(apply_override(item, entries[item.cfn_type]))
            continue
        if item.cfn_type in entries:  # a type the data lists is changed by an Override, never written out again
            raise RuntimeError(f"{item.cfn_type} is generated: write an Override of its entry, not a full spec")
        # types the generator cannot produce: their ARN service is their own (OpenSearch's is es)
        hand.append(replace(item, tag_service=item.tag_service or item.service, emulator=True))
    overridden = {spec.cfn_type for spec in hand}
    rest = tuple(spec for spec in generated_specs() if spec.cfn_type not in overridden)
    slugs = [spec.slug for spec in hand] + [spec.slug for spec in rest]
    duplicates = sorted({s for s in slugs if slugs.count(s) > 1})
    if duplicates:
        raise RuntimeError(f"catalogue slugs collide: {duplicates}")
    return tuple(hand), rest


HAND_WRITTEN, GENERATED = _compose()
#: The whole catalogue: the hand-written overrides first, then every generated type they do not replace.
CATALOG: tuple[ResourceSpec, ...] = HAND_WRITTEN + GENERATED
TRD_CATALOG = HAND_WRITTEN[: len(overrides.TRD_CATALOG)]
EXTENDED_CATALOG = HAND_WRITTEN[len(overrides.TRD_CATALOG) :]
TRD_TYPES: tuple[str, ...] = tuple(spec.slug for spec in TRD_CATALOG)
_BY_SLUG = {spec.slug: spec for spec in CATALOG}
_BY_CFN = {spec.cfn_type: spec for spec in CATALOG}
#: CloudFormation types the catalogue cannot list (neither generated nor hand-written), with the reason.
UNSUPPORTED: tuple[Unsupported, ...] = tuple(u for u in unsupported_types() if u.cfn_type not in _BY_CFN)

_MAX_TYPE_FILTERS = 100

#: Named selections besides slugs and CloudFormation type names.
SELECTIONS = {
    "trd": "the eight TRD sheets",
    "extended": "the hand-written types (the TRD sheets and 48 more)",
    "emulator": "every type whose listing the emulator implements",
    "all": "the whole catalogue",
}


def spec_by_slug(slug: str) -> ResourceSpec:
    """Look a spec up by its slug (or its CloudFormation type name)."""
    spec = _BY_SLUG.get(slug) or _BY_CFN.get(slug)
    if spec is None:
        raise KeyError(slug)
    return spec


def spec_by_cfn_type(cfn_type: str) -> ResourceSpec:
    """Look a spec up by its CloudFormation type (a child's parent)."""
    return _BY_CFN[cfn_type]


def _selection(key: str) -> tuple[ResourceSpec, ...] | None:
    match key:
        case "trd":
            return TRD_CATALOG
        case "extended":
            return HAND_WRITTEN
        case "emulator":
            return tuple(spec for spec in CATALOG if spec.emulator is not False)
        case "all":
            return CATALOG
    return None


def select_specs(selection: str | list[str] | tuple[str, ...]) -> tuple[ResourceSpec, ...]:
    """Specs by a selection: ``trd``, ``extended``, ``emulator``, ``all``, slugs or CloudFormation type names.

    Raises:
        KeyError: A name is not in the catalogue (the message lists the unknown ones).
    """
    names = [selection] if isinstance(selection, str) else list(selection)
    chosen: dict[str, ResourceSpec] = {}
    unknown: list[str] = []
    for name in names:
        key = name.strip()
        group = _selection(key.lower())
        if group is not None:
            chosen.update((s.slug, s) for s in group)
        elif key:
            try:
                spec = spec_by_slug(key.lower() if "::" not in key else key)
            except KeyError:
                unknown.append(name)
            else:
                chosen[spec.slug] = spec
    if unknown:
        close = sorted({m for name in unknown for m in get_close_matches(name.lower(), _BY_SLUG, n=4, cutoff=0.6)})
        hint = f"did you mean {', '.join(close)}? " if close else ""
        raise KeyError(
            f"unknown resource types {unknown}; {hint}known: {', '.join(SELECTIONS)}, a slug (`inventory types` "
            "lists them) or a CloudFormation type name"
        )
    return tuple(chosen.values())


def scope_regions(spec: ResourceSpec, regions: list[str]) -> list[str]:
    """Global types are scanned once per account, under the ``global`` region."""
    return [GLOBAL_REGION] if spec.is_global else list(regions)


__all__ = [
    "CATALOG",
    "EXTENDED_CATALOG",
    "GENERATED",
    "HAND_WRITTEN",
    "PARENT_KEY",
    "SELECTIONS",
    "STRING_KEY",
    "TRD_CATALOG",
    "TRD_TYPES",
    "UNSUPPORTED",
    "InvalidResourceError",
    "Normalizer",
    "ResourceSpec",
    "ScopeContext",
    "Unsupported",
    "all_scalars",
    "apply_override",
    "dig",
    "field_normalizer",
    "generic_normalizer",
    "normalize_dynamodb_table",
    "normalize_ec2_instance",
    "normalize_ecs_service",
    "normalize_lambda_function",
    "normalize_load_balancer",
    "normalize_rds_instance",
    "normalize_s3_bucket",
    "normalize_sqs_queue",
    "normalize_vpc",
    "scalar_metadata",
    "scope_regions",
    "select_specs",
    "spec_by_cfn_type",
    "spec_by_slug",
    "tag_map",
    "tagging_filters",
]
