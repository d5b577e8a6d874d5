"""Hand-written overrides of the generated catalogue: only what the data gets wrong or a type adds.

An :class:`Override` names a CloudFormation type of ``generated.json`` and changes a few things of its
entry: the slug (configurations and stored data name these), item paths the data has wrong, the state of
types whose API has none, nested metadata, the page size, and the enrichment the adapter adds (the eight TRD
normalizers, ECS clusters described with their tags, IAM tags per role and user). Everything else (the
call, result key, ARN format, tags, parent, permissions) comes from the data.

Full :class:`ResourceSpec` entries remain only for the types the generator cannot produce (no
CloudFormation list handler, or an IAM reference without its list action): S3 buckets, Elastic IPs, IAM
managed policies, API Gateway REST and HTTP APIs, OpenSearch domains and Cognito user pools.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from scanner.catalog.normalizers import (
    _name_from_arn,
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
from scanner.catalog.spec import Normalizer, ResourceSpec, field_normalizer


@dataclass(frozen=True)
class Override:
    """Changes to the generated entry of ``cfn_type``.

    ``entry`` patches the data entry before it becomes a spec (``paths`` are merged key by key;
    ``default_state``, ``metadata``, ``arn_vars``, ``operation``, ``result_key``, ``service`` as in the data);
    ``spec`` sets ResourceSpec fields afterwards (``page_size``, ``parameters``, ``enricher``, ``lister``,
    ``tagging``, ``sheet``); ``normalize`` replaces the data normalizer (the TRD types' enrichment).
    """

    cfn_type: str
    slug: str
    entry: Mapping[str, Any] = field(default_factory=dict)
    spec: Mapping[str, Any] = field(default_factory=dict)
    normalize: Normalizer | None = None


def _o(
    cfn_type: str,
    slug: str,
    *,
    normalize: Normalizer | None = None,
    state: str | None = None,
    paths: Mapping[str, str | None] | None = None,
    metadata: tuple[str, ...] = (),
    page_size: int | None = None,
    **spec: Any,
) -> Override:
    entry: dict[str, Any] = {}
    if state is not None:
        entry["default_state"] = state
    if paths:
        entry["paths"] = dict(paths)
    if metadata:
        entry["metadata"] = list(metadata)
    if page_size is not None:
        spec["page_size"] = page_size
    return Override(cfn_type, slug, entry, spec, normalize)


_AVAILABLE = "available"

#: The eight types of the TRD sheets, in the order of the TRD config (section 2.2).
TRD_CATALOG: tuple[Override | ResourceSpec, ...] = (
    _o("AWS::EC2::Instance", "ec2", normalize=normalize_ec2_instance, page_size=1000, sheet="EC2Instances"),
    _o(
        "AWS::ECS::Service",
        "ecs",
        normalize=normalize_ecs_service,
        page_size=100,
        # list_services finds nothing without a cluster: the adapter walks the clusters and describes the
        # services of each page with their tags
        lister="ecs_services",
        tagging="inline",
        sheet="ECSServices",
    ),
    _o("AWS::Lambda::Function", "lambda", normalize=normalize_lambda_function, page_size=50, sheet="LambdaFunctions"),
    _o("AWS::RDS::DBInstance", "rds", normalize=normalize_rds_instance, page_size=100, sheet="RDSInstances"),
    _o(
        "AWS::DynamoDB::Table",
        "dynamodb",
        normalize=normalize_dynamodb_table,
        page_size=100,
        enricher="dynamodb_tables",
        sheet="DynamoDBTables",
    ),
    ResourceSpec(
        slug="s3",
        cfn_type="AWS::S3::Bucket",
        service="s3",
        function="list_buckets",
        result_key="Buckets",
        normalize=normalize_s3_bucket,
        is_global=True,
        enricher="s3_buckets",
        sheet="S3Buckets",
        tagging="api",
    ),
    _o("AWS::EC2::VPC", "vpc", normalize=normalize_vpc, page_size=1000, sheet="VPCs"),
    _o(
        "AWS::ElasticLoadBalancingV2::LoadBalancer",
        "elbv2",
        normalize=normalize_load_balancer,
        page_size=400,
        sheet="LoadBalancers",
    ),
)

_N = field_normalizer

#: Widely used types beyond the TRD sheets (scanned when SCAN_TYPES=all or named).
EXTENDED_CATALOG: tuple[Override | ResourceSpec, ...] = (
    _o("AWS::EC2::Subnet", "subnet", page_size=1000),
    _o("AWS::EC2::SecurityGroup", "security-group", page_size=1000),
    _o("AWS::EC2::Volume", "ebs-volume", page_size=1000),
    ResourceSpec(
        slug="elastic-ip",
        cfn_type="AWS::EC2::EIP",
        service="ec2",
        function="describe_addresses",
        result_key="Addresses",
        normalize=_N(
            "elastic-ip",
            id_key="AllocationId",
            arn_format="arn:aws:ec2:{region}:{account}:elastic-ip/{id}",
            metadata=("PublicIp", "Domain", "InstanceId", "NetworkInterfaceId", "PrivateIpAddress"),
        ),
    ),
    _o("AWS::EC2::NatGateway", "nat-gateway", page_size=1000),
    _o("AWS::EC2::InternetGateway", "internet-gateway", page_size=1000),
    _o("AWS::EC2::RouteTable", "route-table", page_size=100),
    _o("AWS::EC2::NetworkInterface", "network-interface", page_size=1000),
    _o("AWS::EC2::NetworkAcl", "network-acl", page_size=1000),
    _o("AWS::EC2::LaunchTemplate", "launch-template", page_size=200),
    # the data takes KeyName for the id; the ARN is key-pair/{KeyPairId}
    _o("AWS::EC2::KeyPair", "key-pair", paths={"id": "KeyPairId", "name": "KeyName"}),
    _o("AWS::EC2::VPCEndpoint", "vpc-endpoint", page_size=1000),
    _o("AWS::EC2::DHCPOptions", "dhcp-options", page_size=1000),
    _o("AWS::EC2::TransitGateway", "transit-gateway", page_size=1000),
    _o("AWS::AutoScaling::AutoScalingGroup", "autoscaling-group", state="active", page_size=100),
    # list_clusters answers ARNs; the adapter describes them (with tags), so the items are cluster objects
    _o(
        "AWS::ECS::Cluster",
        "ecs-cluster",
        paths={"id": "clusterName", "arn": "clusterArn", "name": "clusterName", "state": "status", "tags": "tags"},
        page_size=100,
        enricher="ecs_clusters",
    ),
    # the list answers bare ARNs: the id is the family:revision at their end
    _o(
        "AWS::ECS::TaskDefinition",
        "ecs-task-definition",
        normalize=_name_from_arn("ecs-task-definition", "AWS::ECS::TaskDefinition"),
        page_size=100,
    ),
    _o("AWS::EKS::Cluster", "eks-cluster", state="ACTIVE", page_size=100),
    _o("AWS::ECR::Repository", "ecr-repository", state=_AVAILABLE, page_size=1000),
    # the list answers queue URLs, which the data would take for the queue name
    _o("AWS::SQS::Queue", "sqs-queue", normalize=normalize_sqs_queue, page_size=1000),
    _o("AWS::SNS::Topic", "sns-topic", state=_AVAILABLE),
    _o("AWS::KMS::Key", "kms-key", state=_AVAILABLE, page_size=1000),
    _o("AWS::SecretsManager::Secret", "secret", state=_AVAILABLE, page_size=100),
    _o("AWS::SSM::Parameter", "ssm-parameter", state=_AVAILABLE, page_size=50),
    # GetResources does not cover IAM roles and users: their tags cost one call each
    _o("AWS::IAM::Role", "iam-role", state=_AVAILABLE, page_size=1000, enricher="iam_role_tags"),
    _o("AWS::IAM::User", "iam-user", state=_AVAILABLE, page_size=1000, enricher="iam_user_tags"),
    ResourceSpec(
        slug="iam-policy",
        cfn_type="AWS::IAM::ManagedPolicy",
        service="iam",
        function="list_policies",
        result_key="Policies",
        normalize=_N(
            "iam-policy",
            id_key="PolicyName",
            arn_key="Arn",
            default_state=_AVAILABLE,
            metadata=("PolicyId", "Path", "AttachmentCount", "DefaultVersionId", "CreateDate"),
        ),
        page_size=1000,
        is_global=True,
        parameters={"Scope": "Local"},
        tagging="api",
    ),
    _o("AWS::IAM::Group", "iam-group", state=_AVAILABLE, page_size=1000),
    _o("AWS::CloudFront::Distribution", "cloudfront-distribution", paths={"name": "DomainName"}),
    # ListHostedZones answers Id as /hostedzone/Z1: the ARN takes its last segment
    Override(
        "AWS::Route53::HostedZone",
        "route53-zone",
        entry={"default_state": _AVAILABLE, "arn_vars": {"Id": "id-last"}, "metadata": ["Config.PrivateZone"]},
        spec={"page_size": 100},
    ),
    ResourceSpec(
        slug="apigateway-rest-api",
        cfn_type="AWS::ApiGateway::RestApi",
        service="apigateway",
        function="get_rest_apis",
        result_key="items",
        normalize=_N(
            "apigateway-rest-api",
            id_key="id",
            arn_format="arn:aws:apigateway:{region}::/restapis/{id}",
            name_key="name",
            tags_key="tags",
            default_state=_AVAILABLE,
            metadata=("description", "createdDate", "apiKeySource"),
        ),
        page_size=500,
    ),
    ResourceSpec(
        slug="apigatewayv2-api",
        cfn_type="AWS::ApiGatewayV2::Api",
        service="apigatewayv2",
        function="get_apis",
        result_key="Items",
        normalize=_N(
            "apigatewayv2-api",
            id_key="ApiId",
            arn_format="arn:aws:apigateway:{region}::/apis/{id}",
            name_key="Name",
            default_state=_AVAILABLE,
            metadata=("ProtocolType", "ApiEndpoint", "CreatedDate", "Description"),
        ),
    ),
    _o("AWS::StepFunctions::StateMachine", "stepfunctions-state-machine", state=_AVAILABLE, page_size=1000),
    _o("AWS::Events::Rule", "eventbridge-rule", page_size=100),
    # the data names the service eventbridgev2 and an EventBusArn field; ListEventBuses answers Arn
    Override(
        "AWS::Events::EventBus",
        "eventbridge-bus",
        entry={"service": "events", "paths": {"arn": "Arn", "state": None}, "default_state": _AVAILABLE},
    ),
    _o("AWS::CloudWatch::Alarm", "cloudwatch-alarm", paths={"state": "StateValue"}, page_size=100),
    _o("AWS::Logs::LogGroup", "log-group", state=_AVAILABLE, page_size=50),
    _o("AWS::ElastiCache::CacheCluster", "elasticache-cluster", page_size=100),
    ResourceSpec(
        slug="opensearch-domain",
        cfn_type="AWS::OpenSearchService::Domain",
        service="opensearch",
        function="list_domain_names",
        result_key="DomainNames",
        normalize=_N(
            "opensearch-domain",
            id_key="DomainName",
            arn_format="arn:aws:es:{region}:{account}:domain/{id}",
            default_state=_AVAILABLE,
            metadata=("EngineType",),
        ),
        tagging="api",
        tag_service="es",
    ),
    _o("AWS::Redshift::Cluster", "redshift-cluster", page_size=100),
    _o(
        "AWS::EFS::FileSystem",
        "efs-filesystem",
        paths={"state": "LifeCycleState"},
        metadata=("SizeInBytes.Value",),
        page_size=100,
    ),
    _o("AWS::Kinesis::Stream", "kinesis-stream", state="ACTIVE", page_size=100),
    _o("AWS::KinesisFirehose::DeliveryStream", "firehose-stream", state="ACTIVE"),
    # the CloudFormation schema calls it untaggable; Glue tags databases, and GetResources returns them
    _o("AWS::Glue::Database", "glue-database", state=_AVAILABLE, page_size=100, tagging="api"),
    _o("AWS::Glue::Job", "glue-job", state=_AVAILABLE, page_size=100),
    _o("AWS::CertificateManager::Certificate", "acm-certificate", paths={"name": "DomainName"}, page_size=1000),
    _o("AWS::RDS::DBCluster", "rds-cluster", page_size=100),
    _o("AWS::ElasticLoadBalancing::LoadBalancer", "elb-classic", state="active", page_size=400),
    _o("AWS::ElasticLoadBalancingV2::TargetGroup", "elbv2-target-group", state=_AVAILABLE, page_size=400),
    # ListStacks also answers stacks deleted in the last 90 days: DescribeStacks lists the live ones, with tags
    Override(
        "AWS::CloudFormation::Stack",
        "cloudformation-stack",
        entry={
            "operation": "describe_stacks",
            "result_key": "Stacks",
            "paths": {"arn": "StackId", "tags": "Tags"},
            "metadata": ["DriftInformation.StackDriftStatus"],
            "list_permissions": ["cloudformation:DescribeStacks"],
        },
    ),
    ResourceSpec(
        slug="cognito-user-pool",
        cfn_type="AWS::Cognito::UserPool",
        service="cognito-idp",
        function="list_user_pools",
        result_key="UserPools",
        normalize=_N(
            "cognito-user-pool",
            id_key="Id",
            arn_format="arn:aws:cognito-idp:{region}:{account}:userpool/{id}",
            name_key="Name",
            state_key="Status",
            default_state=_AVAILABLE,
            metadata=("CreationDate", "LastModifiedDate"),
        ),
        page_size=60,
        parameters={"MaxResults": 60},
        tagging="api",
    ),
)
