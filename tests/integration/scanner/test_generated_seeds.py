"""Generated types against the emulator: seed one resource of each, scan them, find each with its exact ARN.

Together with test_catalog_types.py (the 59 hand-written types) this covers 80+ types over 25+ services.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from inventory_cli.fleet import client_in_account
from inventory_core.aws import AwsClientFactory
from inventory_core.items import Account
from inventory_events import Resource, ScanRequested
from scanner.adapters.aws_session import StsSessionProvider
from scanner.catalog import HAND_WRITTEN, spec_by_slug
from scanner.service import ScanOptions, ScanService

from tests.conftest import unique_accounts
from tests.fakes import InMemoryAccountDirectory, InMemoryEventPublisher
from tests.unit.scanner.test_generated_catalog import matches_an_iam_format

pytestmark = pytest.mark.emulator
R = "eu-west-1"
GLOBAL = "us-east-1"
TRUST = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": "glue.amazonaws.com"}, "Action": "sts:AssumeRole"}],
    }
)


@dataclass
class S:
    account: str
    n: str
    memo: dict[str, Any] = field(default_factory=dict)

    def c(self, service: str, region: str = R) -> Any:
        return client_in_account(service, self.account, region)

    def arn(self, service: str, rest: str, region: str = R) -> str:
        return f"arn:aws:{service}:{region}:{self.account}:{rest}"

    @property
    def subnets(self) -> list[str]:
        if "subnets" not in self.memo:
            ec2 = self.c("ec2")
            vpc = ec2.create_vpc(CidrBlock="10.7.0.0/16")["Vpc"]["VpcId"]
            self.memo["vpc"] = vpc
            self.memo["subnets"] = [
                ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.7.{i * 16}.0/20", AvailabilityZone=f"{R}{az}")["Subnet"][
                    "SubnetId"
                ]
                for i, az in enumerate("ab")
            ]
        return list(self.memo["subnets"])

    @property
    def vpc(self) -> str:
        _ = self.subnets
        return str(self.memo["vpc"])


def _vault(s: S) -> str:
    return str(s.c("backup").create_backup_vault(BackupVaultName=f"{s.n}-vault")["BackupVaultArn"])


def _plan(s: S) -> str:
    s.c("backup").create_backup_vault(BackupVaultName=f"{s.n}-plan-vault")
    plan = {"BackupPlanName": s.n, "Rules": [{"RuleName": "r", "TargetBackupVaultName": f"{s.n}-plan-vault"}]}
    return str(s.c("backup").create_backup_plan(BackupPlan=plan)["BackupPlanArn"])


def _trail(s: S) -> str:
    s.c("s3").create_bucket(Bucket=f"{s.n}-trail", CreateBucketConfiguration={"LocationConstraint": R})
    return str(s.c("cloudtrail").create_trail(Name=s.n, S3BucketName=f"{s.n}-trail")["TrailARN"])


def _ec2(kind: str, make: Callable[[S, Any], str]) -> Callable[[S], str]:
    return lambda s: s.arn("ec2", f"{kind}/{make(s, s.c('ec2'))}")


def _crawler(s: S) -> str:
    role = s.c("iam", GLOBAL).create_role(RoleName=f"{s.n}-glue", AssumeRolePolicyDocument=TRUST)["Role"]["Arn"]
    s.c("glue").create_crawler(Name=s.n, Role=role, Targets={"S3Targets": [{"Path": "s3://x/"}]})
    return s.arn("glue", f"crawler/{s.n}")


def _kms_alias(s: S) -> str:
    key = s.c("kms").create_key()["KeyMetadata"]["KeyId"]
    s.c("kms").create_alias(AliasName=f"alias/{s.n}", TargetKeyId=key)
    return s.arn("kms", f"alias/{s.n}")


def _health_check(s: S) -> str:
    config = {"Type": "HTTP", "FullyQualifiedDomainName": "example.com", "Port": 80}
    check = s.c("route53", GLOBAL).create_health_check(CallerReference=s.n, HealthCheckConfig=config)
    return f"arn:aws:route53:::healthcheck/{check['HealthCheck']['Id']}"


def _document(s: S) -> str:
    content = {"schemaVersion": "2.2", "description": "d", "mainSteps": []}
    s.c("ssm").create_document(Content=json.dumps(content), Name=s.n, DocumentType="Command")
    return s.arn("ssm", f"document/{s.n}")


def _window(s: S) -> str:
    window = s.c("ssm").create_maintenance_window(
        Name=s.n, Schedule="cron(0 2 ? * * *)", Duration=2, Cutoff=1, AllowUnassociatedTargets=True
    )
    return s.arn("ssm", f"maintenancewindow/{window['WindowId']}")


def _resource_group(s: S) -> str:
    query = {"ResourceTypeFilters": ["AWS::AllSupported"], "TagFilters": [{"Key": "team", "Values": ["a"]}]}
    group = s.c("resource-groups").create_group(
        Name=s.n, ResourceQuery={"Type": "TAG_FILTERS_1_0", "Query": json.dumps(query)}
    )
    return str(group["Group"]["GroupArn"])


def _detector(s: S) -> str:
    return s.arn("guardduty", f"detector/{s.c('guardduty').create_detector(Enable=True)['DetectorId']}")


SEEDS: dict[str, Callable[[S], str]] = {
    "athena-work-group": lambda s: (
        s.c("athena").create_work_group(Name=s.n),
        s.arn("athena", f"workgroup/{s.n}"),
    )[1],
    "athena-data-catalog": lambda s: (
        s.c("athena").create_data_catalog(Name=s.n, Type="GLUE", Parameters={"catalog-id": s.account}),
        s.arn("athena", f"datacatalog/{s.n}"),
    )[1],
    "backup-backup-vault": _vault,
    "backup-backup-plan": _plan,
    "cloudtrail-trail": _trail,
    "codedeploy-application": lambda s: (
        s.c("codedeploy").create_application(applicationName=s.n),
        s.arn("codedeploy", f"application:{s.n}"),
    )[1],
    "ec2-customer-gateway": _ec2(
        "customer-gateway",
        lambda s, ec2: ec2.create_customer_gateway(Type="ipsec.1", PublicIp="1.2.3.4", BgpAsn=65000)["CustomerGateway"][
            "CustomerGatewayId"
        ],
    ),
    "ec2-vpn-gateway": _ec2(
        "vpn-gateway", lambda s, ec2: ec2.create_vpn_gateway(Type="ipsec.1")["VpnGateway"]["VpnGatewayId"]
    ),
    "ec2-egress-only-internet-gateway": _ec2(
        "egress-only-internet-gateway",
        lambda s, ec2: ec2.create_egress_only_internet_gateway(VpcId=s.vpc)["EgressOnlyInternetGateway"][
            "EgressOnlyInternetGatewayId"
        ],
    ),
    "elasticache-subnet-group": lambda s: str(
        s.c("elasticache").create_cache_subnet_group(
            CacheSubnetGroupName=s.n, CacheSubnetGroupDescription="d", SubnetIds=s.subnets
        )["CacheSubnetGroup"]["ARN"]
    ),
    "events-connection": lambda s: str(
        s.c("events").create_connection(
            Name=s.n,
            AuthorizationType="API_KEY",
            AuthParameters={"ApiKeyAuthParameters": {"ApiKeyName": "k", "ApiKeyValue": "v"}},
        )["ConnectionArn"]
    ),
    "glue-crawler": _crawler,
    "glue-workflow": lambda s: (s.c("glue").create_workflow(Name=s.n), s.arn("glue", f"workflow/{s.n}"))[1],
    "iam-instance-profile": lambda s: str(
        s.c("iam", GLOBAL).create_instance_profile(InstanceProfileName=s.n)["InstanceProfile"]["Arn"]
    ),
    "kms-alias": _kms_alias,
    "rds-db-subnet-group": lambda s: str(
        s.c("rds").create_db_subnet_group(DBSubnetGroupName=s.n, DBSubnetGroupDescription="d", SubnetIds=s.subnets)[
            "DBSubnetGroup"
        ]["DBSubnetGroupArn"]
    ),
    "rds-db-parameter-group": lambda s: str(
        s.c("rds").create_db_parameter_group(
            DBParameterGroupName=s.n, DBParameterGroupFamily="mysql8.0", Description="d"
        )["DBParameterGroup"]["DBParameterGroupArn"]
    ),
    "redshift-cluster-subnet-group": lambda s: (
        s.c("redshift").create_cluster_subnet_group(ClusterSubnetGroupName=s.n, Description="d", SubnetIds=s.subnets),
        s.arn("redshift", f"subnetgroup:{s.n}"),
    )[1],
    "route53-health-check": _health_check,
    "scheduler-schedule-group": lambda s: str(s.c("scheduler").create_schedule_group(Name=s.n)["ScheduleGroupArn"]),
    "ssm-document": _document,
    "ssm-maintenance-window": _window,
    "stepfunctions-activity": lambda s: str(s.c("stepfunctions").create_activity(name=s.n)["activityArn"]),
    "ses-configuration-set": lambda s: (
        s.c("ses").create_configuration_set(ConfigurationSet={"Name": s.n}),
        s.arn("ses", f"configuration-set/{s.n}"),
    )[1],
    "iot-thing": lambda s: str(s.c("iot").create_thing(thingName=s.n)["thingArn"]),
    "iot-policy": lambda s: str(
        s.c("iot").create_policy(policyName=s.n, policyDocument=json.dumps({"Version": "2012-10-17", "Statement": []}))[
            "policyArn"
        ]
    ),
    "ivs-channel": lambda s: str(s.c("ivs").create_channel(name=s.n)["channel"]["arn"]),
    "sagemaker-experiment": lambda s: str(s.c("sagemaker").create_experiment(ExperimentName=s.n)["ExperimentArn"]),
    "timestream-database": lambda s: str(s.c("timestream-write").create_database(DatabaseName=s.n)["Database"]["Arn"]),
    "resourcegroups-group": _resource_group,
    "kinesisvideo-stream": lambda s: str(s.c("kinesisvideo").create_stream(StreamName=s.n)["StreamARN"]),
    "guardduty-detector": _detector,
    "servicecatalog-portfolio": lambda s: str(
        s.c("servicecatalog").create_portfolio(DisplayName=s.n, ProviderName="p", IdempotencyToken=s.n)[
            "PortfolioDetail"
        ]["ARN"]
    ),
    "sdb-domain": lambda s: (s.c("sdb").create_domain(DomainName=s.n), s.arn("sdb", f"domain/{s.n}"))[1],
}


@dataclass
class Seeded:
    expected: dict[str, str]
    errors: dict[str, str]
    found: dict[str, dict[str, Resource]]


@pytest.fixture(scope="module")
def seeded(moto_endpoint: str) -> Iterator[Seeded]:
    account = unique_accounts(1)[0]
    seeder = S(account, f"gen{uuid.uuid4().hex[:8]}")
    expected: dict[str, str] = {}
    errors: dict[str, str] = {}
    for slug, seed in SEEDS.items():
        try:
            expected[slug] = seed(seeder)
        except Exception as exc:  # a type moto cannot create is reported as skipped, with moto's answer
            errors[slug] = f"{type(exc).__name__}: {exc}"[:300]
    publisher = InMemoryEventPublisher()
    ScanService(
        InMemoryAccountDirectory([Account(account, "generated", True)]),
        StsSessionProvider(AwsClientFactory("us-east-1"), "NucleusAccess-Inventory"),
        publisher,
        ScanOptions(regions=[R], specs=[spec_by_slug(slug) for slug in SEEDS], max_workers=8),
    ).scan(ScanRequested(execution_id="generated-seeds"))
    found: dict[str, dict[str, Resource]] = {}
    for page in publisher.of_type("ResourcesDiscovered"):
        for r in page.resources:
            found.setdefault(r.resource_type, {})[r.resource_arn] = r
    yield Seeded(expected, errors, found)


@pytest.mark.parametrize("slug", sorted(SEEDS))
def test_the_scan_finds_the_seeded_resource_with_its_exact_arn(seeded: Seeded, slug: str) -> None:
    if slug in seeded.errors:
        pytest.skip(f"moto cannot create {slug}: {seeded.errors[slug]}")
    assert spec_by_slug(slug).generated
    arn = seeded.expected[slug]
    assert arn in seeded.found.get(slug, {}), sorted(seeded.found.get(slug, {}))
    assert matches_an_iam_format(arn)
    assert seeded.found[slug][arn].resource_id


def test_80_types_over_25_services_are_found_with_their_arns(seeded: Seeded) -> None:
    generated = [slug for slug, arn in seeded.expected.items() if arn in seeded.found.get(slug, {})]
    services = {spec_by_slug(slug).service for slug in generated} | {spec.service for spec in HAND_WRITTEN}
    total = len(generated) + len(HAND_WRITTEN)  # each hand-written type is seeded and found in test_catalog_types
    print(f"{len(generated)} generated + {len(HAND_WRITTEN)} hand-written types found, {len(services)} services")
    assert total >= 80 and len(services) >= 25
