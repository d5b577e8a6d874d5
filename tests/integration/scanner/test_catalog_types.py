"""Every catalogue type against the emulator: seed one of each in one account, scan the whole catalogue once."""

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
from inventory_events import Resource, ScanRequested, ScopeCompleted
from scanner.adapters.aws_session import StsSessionProvider
from scanner.catalog import EXTENDED_CATALOG, HAND_WRITTEN
from scanner.service import ScanOptions, ScanService

from tests.conftest import unique_accounts
from tests.fakes import InMemoryAccountDirectory, InMemoryEventPublisher

pytestmark = pytest.mark.emulator
REGION = "eu-west-1"
AMI = "ami-12c6146b"
TRUST = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
)


@dataclass
class Seeder:
    account: str
    tag: str
    memo: dict[str, Any] = field(default_factory=dict)

    def c(self, service: str, region: str = REGION) -> Any:
        return client_in_account(service, self.account, region)

    def arn(self, service: str, rest: str, region: str = REGION) -> str:
        return f"arn:aws:{service}:{region}:{self.account}:{rest}"

    # shared network of the EC2-family seeds
    @property
    def vpc(self) -> str:
        if "vpc" not in self.memo:
            ec2 = self.c("ec2")
            self.memo["vpc"] = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
            self.memo["subnet"] = ec2.create_subnet(
                VpcId=self.memo["vpc"], CidrBlock="10.9.0.0/20", AvailabilityZone=f"{REGION}a"
            )["Subnet"]["SubnetId"]
            self.memo["subnet2"] = ec2.create_subnet(
                VpcId=self.memo["vpc"], CidrBlock="10.9.16.0/20", AvailabilityZone=f"{REGION}b"
            )["Subnet"]["SubnetId"]
        return str(self.memo["vpc"])

    @property
    def subnet(self) -> str:
        _ = self.vpc
        return str(self.memo["subnet"])

    @property
    def role(self) -> str:
        if "role" not in self.memo:
            iam = self.c("iam", "us-east-1")
            self.memo["role"] = iam.create_role(RoleName=f"{self.tag}-svc", AssumeRolePolicyDocument=TRUST)["Role"][
                "Arn"
            ]
        return str(self.memo["role"])


def _ec2(s: Seeder, kind: str, make: Callable[[Any], str]) -> str:
    return s.arn("ec2", f"{kind}/{make(s.c('ec2'))}")


SEEDS: dict[str, Callable[[Seeder], str]] = {
    "subnet": lambda s: s.arn("ec2", f"subnet/{s.subnet}"),
    "security-group": lambda s: _ec2(
        s,
        "security-group",
        lambda ec2: ec2.create_security_group(GroupName=s.tag, Description="d", VpcId=s.vpc)["GroupId"],
    ),
    "ebs-volume": lambda s: _ec2(
        s, "volume", lambda ec2: ec2.create_volume(Size=1, AvailabilityZone=f"{REGION}a")["VolumeId"]
    ),
    "elastic-ip": lambda s: _ec2(s, "elastic-ip", lambda ec2: ec2.allocate_address(Domain="vpc")["AllocationId"]),
    "nat-gateway": lambda s: _ec2(
        s,
        "natgateway",
        lambda ec2: ec2.create_nat_gateway(
            SubnetId=s.subnet, AllocationId=ec2.allocate_address(Domain="vpc")["AllocationId"]
        )["NatGateway"]["NatGatewayId"],
    ),
    "internet-gateway": lambda s: _ec2(
        s, "internet-gateway", lambda ec2: ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    ),
    "route-table": lambda s: _ec2(
        s, "route-table", lambda ec2: ec2.create_route_table(VpcId=s.vpc)["RouteTable"]["RouteTableId"]
    ),
    "network-interface": lambda s: _ec2(
        s,
        "network-interface",
        lambda ec2: ec2.create_network_interface(SubnetId=s.subnet)["NetworkInterface"]["NetworkInterfaceId"],
    ),
    "network-acl": lambda s: _ec2(
        s, "network-acl", lambda ec2: ec2.create_network_acl(VpcId=s.vpc)["NetworkAcl"]["NetworkAclId"]
    ),
    "launch-template": lambda s: _ec2(
        s,
        "launch-template",
        lambda ec2: ec2.create_launch_template(LaunchTemplateName=s.tag, LaunchTemplateData={"ImageId": AMI})[
            "LaunchTemplate"
        ]["LaunchTemplateId"],
    ),
    "key-pair": lambda s: _ec2(s, "key-pair", lambda ec2: ec2.create_key_pair(KeyName=s.tag)["KeyPairId"]),
    "vpc-endpoint": lambda s: _ec2(
        s,
        "vpc-endpoint",
        lambda ec2: ec2.create_vpc_endpoint(
            VpcId=s.vpc, ServiceName=f"com.amazonaws.{REGION}.s3", VpcEndpointType="Gateway"
        )["VpcEndpoint"]["VpcEndpointId"],
    ),
    "dhcp-options": lambda s: _ec2(
        s,
        "dhcp-options",
        lambda ec2: ec2.create_dhcp_options(
            DhcpConfigurations=[{"Key": "domain-name", "Values": ["example.internal"]}]
        )["DhcpOptions"]["DhcpOptionsId"],
    ),
    "transit-gateway": lambda s: _ec2(
        s,
        "transit-gateway",
        lambda ec2: ec2.create_transit_gateway(Description="t")["TransitGateway"]["TransitGatewayId"],
    ),
    "autoscaling-group": lambda s: _asg(s),
    "ecs-cluster": lambda s: s.c("ecs").create_cluster(clusterName=s.tag)["cluster"]["clusterArn"],
    "ecs-task-definition": lambda s: s.c("ecs").register_task_definition(
        family=s.tag, containerDefinitions=[{"name": "app", "image": "nginx", "memory": 128}]
    )["taskDefinition"]["taskDefinitionArn"],
    "eks-cluster": lambda s: s.c("eks").create_cluster(
        name=s.tag, roleArn=s.role, resourcesVpcConfig={"subnetIds": [s.subnet]}
    )["cluster"]["arn"],
    "ecr-repository": lambda s: s.c("ecr").create_repository(repositoryName=s.tag)["repository"]["repositoryArn"],
    "sqs-queue": lambda s: (s.c("sqs").create_queue(QueueName=s.tag), s.arn("sqs", s.tag))[1],
    "sns-topic": lambda s: s.c("sns").create_topic(Name=s.tag)["TopicArn"],
    "kms-key": lambda s: s.c("kms").create_key(Description=s.tag)["KeyMetadata"]["Arn"],
    "secret": lambda s: s.c("secretsmanager").create_secret(Name=s.tag, SecretString="x")["ARN"],
    "ssm-parameter": lambda s: (
        s.c("ssm").put_parameter(Name=f"/{s.tag}/p", Value="v", Type="String"),
        s.arn("ssm", f"parameter/{s.tag}/p"),
    )[1],
    "iam-role": lambda s: s.role,
    "iam-user": lambda s: s.c("iam", "us-east-1").create_user(UserName=s.tag)["User"]["Arn"],
    "iam-policy": lambda s: s.c("iam", "us-east-1").create_policy(
        PolicyName=s.tag,
        PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "*"}]}
        ),
    )["Policy"]["Arn"],
    "iam-group": lambda s: s.c("iam", "us-east-1").create_group(GroupName=s.tag)["Group"]["Arn"],
    "cloudfront-distribution": lambda s: _distribution(s),
    "route53-zone": lambda s: (
        "arn:aws:route53:::"
        + s.c("route53", "us-east-1")
        .create_hosted_zone(Name=f"{s.tag}.example.com", CallerReference=s.tag)["HostedZone"]["Id"]
        .lstrip("/")
    ),
    "apigateway-rest-api": lambda s: (
        f"arn:aws:apigateway:{REGION}::/restapis/" + s.c("apigateway").create_rest_api(name=s.tag)["id"]
    ),
    "apigatewayv2-api": lambda s: (
        f"arn:aws:apigateway:{REGION}::/apis/"
        + s.c("apigatewayv2").create_api(Name=s.tag, ProtocolType="HTTP")["ApiId"]
    ),
    "stepfunctions-state-machine": lambda s: s.c("stepfunctions").create_state_machine(
        name=s.tag,
        definition=json.dumps({"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}}),
        roleArn=s.role,
    )["stateMachineArn"],
    "eventbridge-rule": lambda s: s.c("events").put_rule(Name=s.tag, ScheduleExpression="rate(1 day)")["RuleArn"],
    "eventbridge-bus": lambda s: s.c("events").create_event_bus(Name=s.tag)["EventBusArn"],
    "cloudwatch-alarm": lambda s: (
        s.c("cloudwatch").put_metric_alarm(
            AlarmName=s.tag,
            MetricName="CPUUtilization",
            Namespace="AWS/EC2",
            Statistic="Average",
            Period=60,
            EvaluationPeriods=1,
            Threshold=90.0,
            ComparisonOperator="GreaterThanThreshold",
        ),
        s.arn("cloudwatch", f"alarm:{s.tag}"),
    )[1],
    "log-group": lambda s: (
        s.c("logs").create_log_group(logGroupName=f"/{s.tag}"),
        s.arn("logs", f"log-group:/{s.tag}"),
    )[1],
    "elasticache-cluster": lambda s: s.c("elasticache").create_cache_cluster(
        CacheClusterId=s.tag[:20], Engine="redis", CacheNodeType="cache.t3.micro", NumCacheNodes=1
    )["CacheCluster"]["ARN"],
    "opensearch-domain": lambda s: s.c("opensearch").create_domain(DomainName=s.tag[:28])["DomainStatus"]["ARN"],
    "redshift-cluster": lambda s: (
        s.c("redshift").create_cluster(
            ClusterIdentifier=s.tag,
            NodeType="dc2.large",
            MasterUsername="admin1",
            MasterUserPassword="Password1",
            ClusterType="single-node",
        ),
        s.arn("redshift", f"cluster:{s.tag}"),
    )[1],
    "efs-filesystem": lambda s: s.c("efs").create_file_system(CreationToken=s.tag)["FileSystemArn"],
    "kinesis-stream": lambda s: (
        s.c("kinesis").create_stream(StreamName=s.tag, ShardCount=1),
        s.arn("kinesis", f"stream/{s.tag}"),
    )[1],
    "firehose-stream": lambda s: s.c("firehose").create_delivery_stream(
        DeliveryStreamName=s.tag,
        S3DestinationConfiguration={"RoleARN": s.role, "BucketARN": f"arn:aws:s3:::{s.tag}"},
    )["DeliveryStreamARN"],
    "glue-database": lambda s: (
        s.c("glue").create_database(DatabaseInput={"Name": s.tag}),
        s.arn("glue", f"database/{s.tag}"),
    )[1],
    "glue-job": lambda s: (
        s.c("glue").create_job(Name=s.tag, Role=s.role, Command={"Name": "glueetl", "ScriptLocation": "s3://x/y.py"}),
        s.arn("glue", f"job/{s.tag}"),
    )[1],
    "acm-certificate": lambda s: s.c("acm").request_certificate(DomainName=f"{s.tag}.example.com")["CertificateArn"],
    "rds-cluster": lambda s: s.c("rds").create_db_cluster(
        DBClusterIdentifier=s.tag, Engine="aurora-postgresql", MasterUsername="admin1", MasterUserPassword="Password1!"
    )["DBCluster"]["DBClusterArn"],
    "elb-classic": lambda s: (
        s.c("elb").create_load_balancer(
            LoadBalancerName=s.tag[:32],
            Listeners=[{"Protocol": "HTTP", "LoadBalancerPort": 80, "InstancePort": 80}],
            AvailabilityZones=[f"{REGION}a"],
        ),
        s.arn("elasticloadbalancing", f"loadbalancer/{s.tag[:32]}"),
    )[1],
    "elbv2-target-group": lambda s: s.c("elbv2").create_target_group(
        Name=s.tag[:32], Protocol="HTTP", Port=80, VpcId=s.vpc
    )["TargetGroups"][0]["TargetGroupArn"],
    "cloudformation-stack": lambda s: s.c("cloudformation").create_stack(
        StackName=s.tag,
        TemplateBody=json.dumps({"Resources": {"Q": {"Type": "AWS::SQS::Queue", "Properties": {}}}}),
    )["StackId"],
    "cognito-user-pool": lambda s: s.c("cognito-idp").create_user_pool(PoolName=s.tag)["UserPool"]["Arn"],
}


def _asg(s: Seeder) -> str:
    template = s.c("ec2").create_launch_template(LaunchTemplateName=f"{s.tag}-asg", LaunchTemplateData={"ImageId": AMI})
    autoscaling = s.c("autoscaling")
    autoscaling.create_auto_scaling_group(
        AutoScalingGroupName=s.tag,
        LaunchTemplate={"LaunchTemplateId": template["LaunchTemplate"]["LaunchTemplateId"]},
        MinSize=0,
        MaxSize=1,
        VPCZoneIdentifier=s.subnet,
    )
    group = autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=[s.tag])["AutoScalingGroups"][0]
    return str(group["AutoScalingGroupARN"])


def _distribution(s: Seeder) -> str:
    config = {
        "CallerReference": s.tag,
        "Comment": "",
        "Enabled": True,
        "Origins": {
            "Quantity": 1,
            "Items": [
                {
                    "Id": "o",
                    "DomainName": "example.com",
                    "CustomOriginConfig": {"HTTPPort": 80, "HTTPSPort": 443, "OriginProtocolPolicy": "https-only"},
                }
            ],
        },
        "DefaultCacheBehavior": {
            "TargetOriginId": "o",
            "ViewerProtocolPolicy": "allow-all",
            "MinTTL": 0,
            "ForwardedValues": {"QueryString": False, "Cookies": {"Forward": "none"}},
            "TrustedSigners": {"Enabled": False, "Quantity": 0},
        },
    }
    created = s.c("cloudfront", "us-east-1").create_distribution(DistributionConfig=config)
    return str(created["Distribution"]["ARN"])


@dataclass
class CatalogueScan:
    expected: dict[str, str]
    seed_errors: dict[str, str]
    found: dict[str, dict[str, Resource]]
    scopes: dict[str, list[ScopeCompleted]]


@pytest.fixture(scope="module")
def catalogue_scan(moto_endpoint: str) -> Iterator[CatalogueScan]:
    account = unique_accounts(1)[0]
    seeder = Seeder(account, f"cat{uuid.uuid4().hex[:8]}")
    expected: dict[str, str] = {}
    errors: dict[str, str] = {}
    for slug, seed in SEEDS.items():
        try:
            expected[slug] = seed(seeder)
        except Exception as exc:  # a type moto cannot create is reported as skipped, with moto's answer
            errors[slug] = f"{type(exc).__name__}: {exc}"[:300]
    clients = AwsClientFactory("us-east-1")
    publisher = InMemoryEventPublisher()
    service = ScanService(
        InMemoryAccountDirectory([Account(account, "catalogue", True)]),
        StsSessionProvider(clients, "NucleusAccess-Inventory"),
        publisher,
        ScanOptions(regions=[REGION], specs=HAND_WRITTEN, max_workers=8),
    )
    service.scan(ScanRequested(execution_id="catalogue"))
    found: dict[str, dict[str, Resource]] = {}
    for page in publisher.of_type("ResourcesDiscovered"):
        for r in page.resources:
            found.setdefault(r.resource_type, {})[r.resource_arn] = r
    scopes: dict[str, list[ScopeCompleted]] = {}
    for scope in publisher.of_type("ScopeCompleted"):
        scopes.setdefault(scope.scope.resource_type, []).append(scope)
    yield CatalogueScan(expected, errors, found, scopes)


def test_every_extended_type_has_a_seed() -> None:
    assert set(SEEDS) == {spec.slug for spec in EXTENDED_CATALOG}


@pytest.mark.parametrize("slug", [spec.slug for spec in EXTENDED_CATALOG])
def test_the_scan_finds_the_seeded_resource_of_each_catalogue_type(catalogue_scan: CatalogueScan, slug: str) -> None:
    if slug in catalogue_scan.seed_errors:
        pytest.skip(f"moto cannot create {slug}: {catalogue_scan.seed_errors[slug]}")
    scopes = catalogue_scan.scopes[slug]
    assert [s.status for s in scopes] == ["complete"], [s.error for s in scopes]
    found = catalogue_scan.found.get(slug, {})
    arn = catalogue_scan.expected[slug]
    assert arn in found, sorted(found)
    resource = found[arn]
    assert resource.resource_id and resource.name and resource.raw
    assert all(r.resource_type == slug for r in found.values())
