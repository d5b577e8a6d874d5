"""The aws-auto-inventory YAML (TRD section 2.2): generated from the active accounts, executed by the scanner.

A user may add a sheet for any read-only boto3 list/describe/get call: it is scanned, paginated, archived raw
and normalized generically. Sheets whose (service, function) the catalogue knows use its normalizer.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import date
from typing import Any

import yaml  # no stubs in the workspace (a mypy override in pyproject); the calls used are simple
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from scanner.catalog import CATALOG, TRD_CATALOG, ResourceSpec, generic_normalizer

#: Services whose resources are global: scanned once per account.
GLOBAL_SERVICES = frozenset({"iam", "cloudfront", "route53", "organizations", "s3", "globalaccelerator"})
_READ_ONLY = re.compile(r"^(list|describe|get)_[a-z0-9_]+$")


class ConfigError(ValueError):
    """The inventory YAML is invalid; the message names the sheet and the field."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SheetConfig(_Strict):
    """One sheet: a boto3 call whose result is one resource type."""

    name: str = Field(min_length=1, max_length=64)
    service: str = Field(min_length=1)
    function: str = Field(min_length=1)
    result_key: str = Field(min_length=1)
    flatten: str | None = None
    parameters: dict[str, Any] = Field(default_factory=dict)

    @field_validator("function")
    @classmethod
    def _read_only(cls, value: str) -> str:
        # The scanner holds a read-only role; anything but list/describe/get is refused before it is tried.
        if not _READ_ONLY.fullmatch(value):
            raise ValueError(f"{value!r} is not a read-only list_/describe_/get_ call")
        return value


class AwsSection(_Strict):
    """Where to scan: regions (or ``all``), credentials from the task role."""

    profile: str | None = None
    region: list[str] = Field(min_length=1)
    organization: bool = False


class InventoryConfig(_Strict):
    """One inventory of the YAML."""

    name: str = Field(min_length=1)
    aws: AwsSection
    sheets: list[SheetConfig] = Field(min_length=1)


class ConfigFile(_Strict):
    """The whole YAML document."""

    inventories: list[InventoryConfig] = Field(min_length=1)


def _where(document: Any, loc: tuple[int | str, ...]) -> str:
    """Name the sheet (by its name when it has one) and the field of a validation error location."""
    if len(loc) >= 4 and loc[0] == "inventories" and loc[2] == "sheets" and isinstance(loc[3], int):
        try:
            name = document["inventories"][loc[0 + 1]]["sheets"][loc[3]].get("name")
        except (KeyError, IndexError, TypeError, AttributeError):
            name = None
        label = f"sheet {name!r}" if name else f"sheet #{loc[3] + 1}"
        field = ".".join(str(p) for p in loc[4:]) or "(the sheet itself)"
        return f"{label}: field {field!r}"
    return f"field {'.'.join(str(p) for p in loc)!r}"


def parse_config(text: str, *, operation_exists: Callable[[str, str], str | None] | None = None) -> ConfigFile:
    """Parse and validate the YAML.

    Args:
        text: The YAML document.
        operation_exists: Checks (service, function); returns an error text when the call does not exist.

    Raises:
        ConfigError: Naming the sheet and the field of the first problems found.
    """
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"not valid YAML: {exc}") from exc
    try:
        config = ConfigFile.model_validate(document)
    except ValidationError as exc:
        problems = [f"{_where(document, tuple(e['loc']))}: {e['msg']}" for e in exc.errors()[:10]]
        raise ConfigError("invalid inventory config: " + "; ".join(problems)) from exc
    for inventory in config.inventories:
        seen: set[str] = set()
        for sheet in inventory.sheets:
            if sheet.name in seen:
                raise ConfigError(f"sheet {sheet.name!r}: field 'name': used by two sheets")
            seen.add(sheet.name)
            if operation_exists:
                problem = operation_exists(sheet.service, sheet.function)
                if problem:
                    field = "service" if "service" in problem else "function"
                    raise ConfigError(f"sheet {sheet.name!r}: field {field!r}: {problem}")
    return config


def slugify(name: str) -> str:
    """A resource type slug from a sheet name (``MyQueues`` -> ``myqueues``)."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "custom"


def spec_for_sheet(sheet: SheetConfig) -> ResourceSpec:
    """The catalogue spec of a known (service, function), else a generic spec for the sheet."""
    # Several types may share one call (generated types): the sheet named like a type's slug is that type.
    known = [s for s in CATALOG if s.service == sheet.service and s.function == sheet.function]
    for spec in sorted(known, key=lambda s: s.slug != sheet.name and s.sheet != sheet.name):
        parameters = {**spec.parameters, **sheet.parameters}
        return replace(spec, sheet=sheet.name, parameters=parameters)
    slug = slugify(sheet.name)
    return ResourceSpec(
        slug=slug,
        cfn_type="",
        service=sheet.service,
        function=sheet.function,
        result_key=sheet.result_key,
        flatten=sheet.flatten,
        parameters=dict(sheet.parameters),
        normalize=generic_normalizer(slug, sheet.service),
        is_global=sheet.service in GLOBAL_SERVICES,
        sheet=sheet.name,
    )


def scan_plan(config: ConfigFile) -> tuple[list[str], tuple[ResourceSpec, ...]]:
    """Regions and specs of a config (all inventories merged; the first sheet of a type wins)."""
    regions: list[str] = []
    specs: dict[str, ResourceSpec] = {}
    for inventory in config.inventories:
        regions += [r for r in inventory.aws.region if r not in regions]
        for sheet in inventory.sheets:
            spec = spec_for_sheet(sheet)
            specs.setdefault(spec.slug, spec)
    return regions, tuple(specs.values())


def generate_config(regions: Sequence[str], *, on: date, specs: Sequence[ResourceSpec] = TRD_CATALOG) -> dict[str, Any]:
    """The TRD section 2.2 document for ``regions`` and ``specs`` (the eight TRD sheets by default)."""
    sheets: list[dict[str, Any]] = []
    for spec in specs:
        sheet: dict[str, Any] = {
            "name": spec.sheet or spec.slug,
            "service": spec.service,
            "function": spec.function,
            "result_key": spec.result_key,
        }
        if spec.flatten:
            sheet["flatten"] = spec.flatten
        if spec.parameters:
            sheet["parameters"] = dict(spec.parameters)
        sheets.append(sheet)
    return {
        "inventories": [
            {
                "name": f"nucleus-discovery-{on.isoformat()}",
                "aws": {"profile": None, "region": list(regions), "organization": False},
                "sheets": sheets,
            }
        ]
    }


def config_yaml(document: dict[str, Any], *, account_ids: Sequence[str] = ()) -> str:
    """The YAML text; the accounts go in a comment because aws-auto-inventory has no field for them."""
    header = "# Generated by `inventory config generate`. Credentials: the task role assumes NucleusAccess-*.\n"
    if account_ids:
        header += f"# accounts (syncEnabled): {', '.join(account_ids)}\n"
    return header + str(yaml.safe_dump(document, sort_keys=False, default_flow_style=False))
