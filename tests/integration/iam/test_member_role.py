"""The member role from `inventory member-role template`, proven on the IAM-enforcing emulator.

The role is created in each member account exactly as the template declares it (trust, external id,
managed read policies). A whole-catalogue scan of a seeded account runs through it: a catalogue call
missing from the template is refused, fails its scope, and fails this test.
"""

from __future__ import annotations

import os
import uuid

import pytest
from botocore.exceptions import ClientError
from inventory_core.aws import AwsClientFactory
from inventory_events import ScanRequested
from scanner.catalog import select_specs

from tests.fakes import InMemoryEventPublisher
from tests.integration.iam.conftest import World
from tests.integration.iam.harness import DENIED, REGION

pytestmark = pytest.mark.emulator

MOTO_SELECTION = os.environ.get("IAM_MEMBER_SCAN_TYPES", "extended")
"""What the member scan lists: the 59 hand-written types in `make test` (about 20 s); set
IAM_MEMBER_SCAN_TYPES=emulator for every catalogue type moto serves (320 types, 137 s on the loaded
2-core machine). Types moto does not serve get a 500, which says nothing about IAM; every type's actions
are checked statically (tests/unit/scanner/test_member_role.py)."""


def _denied(call: object) -> str:
    assert callable(call)
    with pytest.raises(ClientError) as caught:
        call()
    code = str(caught.value.response["Error"]["Code"])
    assert code in DENIED, caught.value.response["Error"]
    return code


def test_only_the_scanner_role_with_the_external_id_may_assume_the_member_role(iam_world: World) -> None:
    account = iam_world.members[0].account
    assert account.external_id
    arn = f"arn:aws:iam::{account.account_id}:role/NucleusAccess-Inventory"
    scanner = iam_world.client_as("sts", iam_world.credentials("scanner"))
    creds = scanner.assume_role(RoleArn=arn, RoleSessionName="proof", ExternalId=account.external_id)["Credentials"]
    _denied(lambda: scanner.assume_role(RoleArn=arn, RoleSessionName="proof"))
    _denied(lambda: scanner.assume_role(RoleArn=arn, RoleSessionName="proof", ExternalId="ext-wrong-one"))
    # the API role may assume NucleusAccess-* by its own policy, but the member role does not trust it
    api = iam_world.client_as("sts", iam_world.credentials("api"))
    _denied(lambda: api.assume_role(RoleArn=arn, RoleSessionName="proof", ExternalId=account.external_id))
    # read-only: the member role lists, it does not create
    member = {
        "AWS_ACCESS_KEY_ID": creds["AccessKeyId"],
        "AWS_SECRET_ACCESS_KEY": creds["SecretAccessKey"],
        "AWS_SESSION_TOKEN": creds["SessionToken"],
    }
    ec2 = iam_world.client_as("ec2", member)
    assert ec2.describe_vpcs()["Vpcs"]
    _denied(lambda: ec2.create_vpc(CidrBlock="10.1.0.0/16"))
    _denied(lambda: iam_world.client_as("s3", member).create_bucket(Bucket=f"nope-{uuid.uuid4().hex[:8]}"))


def test_a_member_account_is_scanned_through_the_template_role(iam_world: World) -> None:
    member = iam_world.members[1]
    publisher = InMemoryEventPublisher()
    settings = {"INVENTORY_REGIONS": REGION, "SCAN_TYPES": MOTO_SELECTION, "API_MAX_ATTEMPTS": "1"}
    with iam_world.as_service("scanner", **settings):
        from scanner.bootstrap import build_service
        from scanner.settings import ScannerSettings

        service = build_service(ScannerSettings(), AwsClientFactory(REGION), publisher=publisher)
        service.scan(
            ScanRequested(
                execution_id=f"member-{uuid.uuid4().hex[:8]}",
                account_ids=[member.account.account_id],
                trigger="api",
                requested_by="iam-proof",
            )
        )
    scopes = publisher.of_type("ScopeCompleted")
    assert len({s.scope.resource_type for s in scopes}) == len(select_specs(MOTO_SELECTION))
    refused = {
        s.scope.resource_type: s.error
        for s in scopes
        if s.error and ("AccessDenied" in s.error or "not authorized" in s.error or "(403)" in s.error)
    }
    assert not refused, refused
    failed = {s.scope.resource_type: (s.error or "")[:160] for s in scopes if s.status == "failed"}
    if failed:
        print(f"\n{len(failed)} of {len(scopes)} scopes failed for emulator reasons (not IAM):")
        for slug, error in sorted(failed.items()):
            print(f"  {slug}: {error}")
    arns = {r.resource_arn for page in publisher.of_type("ResourcesDiscovered") for r in page.resources}
    assert any(member.instance_id in arn for arn in arns)
    seeded = ("s3", "dynamodb", "sqs", "sns", "lambda", "elasticloadbalancing", "logs", "kms", "ecs")
    for service_prefix in seeded:
        assert any(f":{service_prefix}:" in arn for arn in arns), service_prefix
