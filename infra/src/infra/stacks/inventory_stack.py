"""The inventory stack: every AWS resource of AWS Auto-Discovery in its home account and region."""

from __future__ import annotations

import dataclasses
from typing import Any

from aws_cdk import CfnOutput, CfnResource, Duration, Fn, RemovalPolicy, Stack, Token
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from constructs import Construct
from inventory_core.topology import BUCKET_EXPIRY_DAYS as BUCKET_EXPIRY_DAYS  # the lifecycle's data, shared
from inventory_core.topology import METRICS_NAMESPACE, Topology, build_topology
from inventory_core.topology import NONCURRENT_DAYS_BY_PREFIX as NONCURRENT_DAYS_BY_PREFIX

from infra import policies
from infra.constructs.consumer_function import ConsumerFunction
from infra.constructs.consumer_queue import ConsumerQueue
from infra.constructs.inventory_table import InventoryTable
from infra.constructs.lake import Lake
from infra.constructs.monitoring import Monitoring
from infra.constructs.query_api import QueryApi
from infra.constructs.scanner_task import ScannerTask
from infra.policies import StackRefs
from infra.stacks.artifacts import DOCKERFILES, Artifacts
from infra.stacks.config import StackConfig
from infra.stacks.nag import acknowledge

CONSUMERS = ("ddb-projector", "lake-writer", "archiver")

LAKE_WRITER_CONCURRENCY = 2
"""The lake writer's reserved concurrency, equal to its event source's maximum concurrency (2 is the
least SQS event sources allow): at most two Iceberg commits race, which the writer's optimistic retry
resolves, and the poller never invokes more than the reservation, so no batch is throttled back into the
queue (a throttle counts a receive, and five send a good batch to the DLQ)."""


class InventoryStack(Stack):
    """The whole running system, read from :func:`inventory_core.topology.build_topology`.

    Data layer (tables, topic, queues + DLQs, buckets, S3 Tables), the scanner (VPC, ECS cluster, Fargate
    task definition, daily schedule, the scan-request launcher), the three consumer functions, the query
    API (Cognito, HTTP API, function), Athena, alarms and a dashboard. Deployment choices come from
    context (:class:`StackConfig`); code comes from :class:`Artifacts` (zip bundles and image assets).

    The stack needs a concrete account and region (bucket names carry them): pass ``env``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StackConfig | None = None,
        artifacts: Artifacts | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        # Access logs are delivered by bucket policy, not the legacy LogDeliveryWrite ACL (before any child).
        self.node.set_context("@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy", True)
        if Token.is_unresolved(self.account) or Token.is_unresolved(self.region):
            raise ValueError("InventoryStack needs a concrete env (account and region): bucket names carry them")
        self.config = config or StackConfig.from_context(self.node)
        self.artifacts = artifacts or Artifacts()
        cfg = self.config
        prefix = cfg.prefix
        self.topology: Topology = build_topology(self.account, self.region, prefix=prefix)
        topo = self.topology
        retention = cfg.log_retention()

        # --- data layer -------------------------------------------------------------------------------
        self.table: dynamodb.ITable
        if cfg.existing_app_table_name:
            # TRD 3.1: the app table may already exist; `make preflight` checks its keys, GSIs and TTL.
            self.table = dynamodb.Table.from_table_name(self, "AppTable", cfg.existing_app_table_name)
        else:
            self.table = InventoryTable(self, "AppTable", spec=topo.table).table
        self.audit_table = InventoryTable(self, "AuditTable", spec=topo.audit_table).table

        self.topic = sns.Topic(
            self,
            "InventoryEvents",
            topic_name=topo.topic_name,
            enforce_ssl=True,
            master_key=kms.Alias.from_alias_name(self, "SnsKey", "alias/aws/sns"),
        )
        self.scan_requests = ConsumerQueue(self, "ScanRequests", spec=topo.scan_requests)
        self.consumer_queues: dict[str, ConsumerQueue] = {
            purpose: ConsumerQueue(self, _construct_id(purpose), spec=topo.consumer(purpose), topic=self.topic)
            for purpose in CONSUMERS
        }

        self.access_logs = s3.Bucket(
            self,
            "AccessLogs",
            bucket_name=f"{prefix}nucleus-app-access-logs-{self.account}-{self.region}"[:63],
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,  # log delivery by bucket policy, no ACL
            enforce_ssl=True,
            lifecycle_rules=[s3.LifecycleRule(id="expire-logs", expiration=Duration.days(90))],
            removal_policy=RemovalPolicy.RETAIN,
        )
        acknowledge(
            self.access_logs, "AwsSolutions-S1", "This is the access-log bucket; logging into itself would loop."
        )
        self.bucket = s3.Bucket(
            self,
            "InventoryBucket",
            bucket_name=topo.bucket.name,
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            enforce_ssl=True,
            versioned=topo.bucket.versioned,
            lifecycle_rules=self._inventory_lifecycle(topo),
            server_access_logs_bucket=self.access_logs,
            server_access_logs_prefix="inventory/",
            removal_policy=RemovalPolicy.RETAIN,
        )
        self.lake_bucket = s3.Bucket(
            self,
            "LakeBucket",
            bucket_name=topo.lake_bucket,
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            enforce_ssl=True,
            server_access_logs_bucket=self.access_logs,
            server_access_logs_prefix="lake/",
            removal_policy=RemovalPolicy.RETAIN,
        )
        self.lake = Lake(self, "Lake", topology=topo, prefix=prefix, access_logs=self.access_logs)
        self.table_bucket = self.lake.table_bucket

        refs = StackRefs(
            topology=topo,
            partition=self.partition,
            table=self.table,
            audit_table=self.audit_table,
            topic=self.topic,
            scan_requests=self.scan_requests.queue,
            consumer_queues={purpose: consumer.queue for purpose, consumer in self.consumer_queues.items()},
            bucket=self.bucket,
            lake_bucket=self.lake_bucket,
            table_bucket_arn=self.lake.table_bucket_arn,
        )

        # --- roles (trust here; statements in infra.policies) ----------------------------------------
        self.projector_role = self._lambda_role("ProjectorRole", "ddb-projector consumer Lambda")
        policies.grant_projector(refs, self.projector_role)
        self.lake_writer_role = self._lambda_role("LakeWriterRole", "lake-writer consumer Lambda")
        policies.grant_lake_writer(refs, self.lake_writer_role)
        self.archiver_role = self._lambda_role("ArchiverRole", "archiver consumer Lambda")
        policies.grant_archiver(refs, self.archiver_role)
        self.api_role = self._lambda_role("ApiRole", "query API Lambda")
        policies.grant_api(refs, self.api_role)
        self.launch_failed_role = self._lambda_role("LaunchFailedRole", "scan-requests DLQ (launch failure) Lambda")
        policies.grant_launch_failed(refs, self.launch_failed_role, self.scan_requests.dlq)
        self.scanner_task_role = iam.Role(
            self,
            "ScannerTaskRole",
            description="Scanner Fargate task: assumes NucleusAccess-* in target accounts and publishes events",
            assumed_by=iam.ServicePrincipal(
                "ecs-tasks.amazonaws.com",
                conditions={
                    "StringEquals": {"aws:SourceAccount": self.account},
                    "ArnLike": {"aws:SourceArn": f"arn:{self.partition}:ecs:{self.region}:{self.account}:*"},
                },
            ),
        )
        policies.grant_scanner(refs, self.scanner_task_role)

        # --- scanner ----------------------------------------------------------------------------------
        scanner_env = {
            "APP_TABLE_NAME": self.table.table_name,
            "AUDIT_TABLE_NAME": self.audit_table.table_name,  # scheduled and CLI triggers are audited
            "EVENTS_TOPIC_ARN": self.topic.topic_arn,
            "INVENTORY_BUCKET": self.bucket.bucket_name,
            "ROLE_NAME": topo.default_role_name,
            "EMIT_METRICS": "true",
            "METRICS_NAMESPACE": METRICS_NAMESPACE,
            "POWERTOOLS_SERVICE_NAME": "scanner",
        }
        self.scanner = ScannerTask(
            self,
            "Scanner",
            config=cfg,
            artifacts=self.artifacts,
            task_role=self.scanner_task_role,
            environment=scanner_env,
            scan_requests=self.scan_requests.queue,
            log_retention=retention,
        )
        task_def = self.scanner.task_definition
        pass_roles = [self.scanner_task_role, *([task_def.execution_role] if task_def.execution_role else [])]
        policies.grant_scanner_shards(
            self.scanner_task_role,
            task_definition_arn=task_def.task_definition_arn,
            cluster_arn=self.scanner.cluster.cluster_arn,
            pass_roles=pass_roles,
        )

        # --- consumers --------------------------------------------------------------------------------
        self.functions: dict[str, lambda_.Function] = {}
        consumer_env: dict[str, dict[str, str]] = {
            "ddb-projector": {
                "APP_TABLE_NAME": self.table.table_name,
                "INVENTORY_BUCKET": self.bucket.bucket_name,  # the grid snapshot the API loads cold (readmodel/)
                "METRICS_NAMESPACE": METRICS_NAMESPACE,
            },
            "lake-writer": {
                "ICEBERG_CATALOG_TYPE": "s3tables",
                "ICEBERG_TABLE_BUCKET_ARN": self.lake.table_bucket_arn,
                "ICEBERG_NAMESPACE": topo.iceberg_namespace,
            },
            "archiver": {"INVENTORY_BUCKET": self.bucket.bucket_name, "METRICS_NAMESPACE": METRICS_NAMESPACE},
        }
        roles = {
            "ddb-projector": self.projector_role,
            "lake-writer": self.lake_writer_role,
            "archiver": self.archiver_role,
        }
        for purpose in CONSUMERS:
            self.functions[purpose] = self._consumer(purpose, roles[purpose], consumer_env[purpose], retention)
        self.launch_failed = ConsumerFunction(
            self,
            "LaunchFailed",
            function_name=f"{prefix}inventory-scan-launch-failed",
            code=lambda_.Code.from_asset(str(self.artifacts.zip_dir("launch-failed"))),
            handler="scanner.launch_failed.lambda_handler",
            role=self.launch_failed_role,
            queue=self.scan_requests.dlq,
            # The DLQ keeps SQS's default 30 s visibility timeout; records come one batch of 10 at a time.
            spec=dataclasses.replace(topo.scan_requests, visibility_timeout_s=30, batch_size=10, batching_window_s=0),
            environment={"APP_TABLE_NAME": self.table.table_name, "EVENTS_TOPIC_ARN": self.topic.topic_arn},
            log_retention=retention,
            memory_mib=256,
            timeout_s=20,
        ).function
        self.functions["scan-launch-failed"] = self.launch_failed

        # --- API ----------------------------------------------------------------------------------------
        self.api = QueryApi(
            self,
            "Api",
            prefix=prefix,
            artifacts=self.artifacts,
            role=self.api_role,
            environment={
                "APP_TABLE_NAME": self.table.table_name,
                "AUDIT_TABLE_NAME": self.audit_table.table_name,
                "INVENTORY_BUCKET": self.bucket.bucket_name,
                "SCAN_REQUESTS_QUEUE_URL": self.scan_requests.queue.queue_url,
                "ICEBERG_CATALOG_TYPE": "s3tables",
                "ICEBERG_TABLE_BUCKET_ARN": self.lake.table_bucket_arn,
                "ICEBERG_NAMESPACE": topo.iceberg_namespace,
            },
            log_retention=retention,
            domain_prefix=cfg.cognito_domain_prefix or f"{prefix}inventory-{self.account}",
        )
        self.functions["api"] = self.api.function

        # --- monitoring ---------------------------------------------------------------------------------
        self.monitoring = Monitoring(
            self,
            "Monitoring",
            prefix=prefix,
            alarm_email=cfg.alarm_email,
            functions=dict(self.functions),
            queues={
                q.spec.name.removeprefix(prefix): q.queue for q in (self.scan_requests, *self.consumer_queues.values())
            },
            dlqs={
                q.spec.name.removeprefix(prefix): q.dlq for q in (self.scan_requests, *self.consumer_queues.values())
            },
            cluster=self.scanner.cluster,
            task_family=task_def.family,
            log_group_name=self.scanner.log_group.log_group_name,
        )
        self._outputs()
        self._suppressions()

    @property
    def availability_zones(self) -> list[str]:
        """The region's first two AZs resolved by CloudFormation (Fn::GetAZs): synth needs no AZ lookup and
        so no credentials, and the template names no AZ of one particular account."""
        return [Fn.select(i, Fn.get_azs()) for i in range(2)]

    # ------------------------------------------------------------------------------------------------
    def _inventory_lifecycle(self, topo: Topology) -> list[s3.LifecycleRule]:
        rules = [
            s3.LifecycleRule(
                id="expire-raw",
                prefix=topo.bucket.raw_prefix,
                expiration=Duration.days(topo.bucket.raw_expiration_days),
            ),
            *(
                s3.LifecycleRule(id=f"expire-{p.rstrip('/')}", prefix=p, expiration=Duration.days(days))
                for p, days in BUCKET_EXPIRY_DAYS.items()
            ),
            s3.LifecycleRule(id="abort-multipart", abort_incomplete_multipart_upload_after=Duration.days(1)),
        ]
        if topo.bucket.versioned:
            rules.extend(
                s3.LifecycleRule(
                    id=f"expire-noncurrent-{p.rstrip('/')}",
                    prefix=p,
                    noncurrent_version_expiration=Duration.days(days),
                )
                for p, days in NONCURRENT_DAYS_BY_PREFIX.items()
            )
            rules.append(
                s3.LifecycleRule(
                    id="expire-noncurrent",
                    noncurrent_version_expiration=Duration.days(topo.bucket.noncurrent_version_expiration_days),
                    expired_object_delete_marker=True,
                )
            )
        return rules

    def _consumer(
        self, purpose: str, role: iam.IRole, env: dict[str, str], retention: logs.RetentionDays
    ) -> lambda_.Function:
        spec = self.topology.consumer(purpose)
        module = purpose.replace("-", "_")
        code: lambda_.Code | lambda_.DockerImageCode
        if purpose in DOCKERFILES:
            # Lake writer: pyarrow + pyiceberg are far above the 250 MB zip limit. Projector: pyarrow's
            # wheels need glibc 2.28 and the python3.11 runtime has 2.26. Both are container images.
            props = self.artifacts.image_props(purpose)
            code = lambda_.DockerImageCode.from_image_asset(
                str(props.pop("directory")),
                cmd=[f"{module}.handler.lambda_handler"],
                **props,  # type: ignore[arg-type]
            )
        else:
            code = lambda_.Code.from_asset(str(self.artifacts.zip_dir(purpose)))
        concurrency = LAKE_WRITER_CONCURRENCY if purpose == "lake-writer" else None
        return ConsumerFunction(
            self,
            f"{_construct_id(purpose)}Function",
            function_name=f"{self.config.prefix}inventory-{purpose}",
            code=code,
            handler=f"{module}.handler.lambda_handler",
            role=role,
            queue=self.consumer_queues[purpose].queue,
            spec=spec,
            environment=env,
            log_retention=retention,
            memory_mib=1024 if purpose in DOCKERFILES else 512,
            timeout_s=spec.visibility_timeout_s - 20,
            reserved_concurrency=concurrency,
            max_concurrency=concurrency,
        ).function

    def _lambda_role(self, construct_id: str, what: str) -> iam.Role:
        # No AWSLambdaBasicExecutionRole: each function's construct grants writes to its own log group only.
        return iam.Role(
            self,
            construct_id,
            description=f"Execution role of the {what}",
            assumed_by=iam.ServicePrincipal(
                "lambda.amazonaws.com", conditions={"StringEquals": {"aws:SourceAccount": self.account}}
            ),
        )

    def _outputs(self) -> None:
        """Names the services' settings need (table, topic, queues, buckets)."""
        CfnOutput(self, "AppTableName", value=self.table.table_name)
        CfnOutput(self, "AuditTableName", value=self.audit_table.table_name)
        CfnOutput(self, "TopicArn", value=self.topic.topic_arn)
        CfnOutput(self, "ScanRequestsQueueUrl", value=self.scan_requests.queue.queue_url)
        for purpose, consumer in self.consumer_queues.items():
            CfnOutput(self, f"{_construct_id(purpose)}QueueUrl", value=consumer.queue.queue_url)
        CfnOutput(self, "InventoryBucketName", value=self.bucket.bucket_name)
        CfnOutput(self, "LakeBucketName", value=self.lake_bucket.bucket_name)
        CfnOutput(self, "TableBucketArn", value=self.lake.table_bucket_arn)
        CfnOutput(self, "AthenaWorkgroup", value=str(self.lake.workgroup.name))
        CfnOutput(self, "ScannerCluster", value=self.scanner.cluster.cluster_name)
        CfnOutput(self, "ScannerTaskDefinition", value=self.scanner.task_definition.task_definition_arn)
        CfnOutput(
            self,
            "ScannerRoleArn",
            value=self.scanner_task_role.role_arn,
            description="The member role's trusted principal (StackSet parameter ScannerRoleArn)",
        )
        CfnOutput(self, "AlarmTopicArn", value=self.monitoring.topic.topic_arn)

    def _arn_token(self, resource: Construct, attribute: str = "Arn") -> str:
        """How cdk-nag prints a resource's ARN in a finding: ``<LogicalId.Arn>``."""
        child = resource.node.default_child if not isinstance(resource, CfnResource) else resource
        assert isinstance(child, CfnResource)
        return f"<{self.resolve(self.get_logical_id(child))}.{attribute}>"

    def _suppressions(self) -> None:
        """Each wildcard cdk-nag finds, acknowledged with why it is the narrowest the call allows."""
        bucket = self._arn_token(self.bucket)
        iam5 = {
            f"arn:<AWS::Partition>:iam::*:role/{self.topology.role_name_pattern}": "TRD 5.2's one account wildcard: "
            "member accounts are registered at run time; the role name is fixed to NucleusAccess-*.",
            f"{self._arn_token(self.audit_table)}/index/*": "Queries of the audit table's indexes (none today).",
            f"{bucket}/claims/*": "Claim-check objects are named by execution id and content hash at run time.",
            f"{bucket}/exports/*": "Export objects are named by user and timestamp at run time.",
            f"{bucket}/raw/*": "Raw documents are named by day and account at run time (TRD 3.3).",
            f"{bucket}/staging/*": "The archiver's staged pages are named by execution and scope at run time.",
            f"{bucket}/readmodel/*": "The grid snapshot (issue 16): written by the projector, read by the API.",
            f"{self._arn_token(self.lake.table_bucket, 'TableBucketARN')}/table/*": "The namespace's Iceberg "
            "tables (and the writer's own bookkeeping table) inside this stack's table bucket only.",
        }
        if isinstance(self.table, dynamodb.Table):
            iam5[f"{self._arn_token(self.table)}/index/*"] = "Queries of the app table's GSIs (gsi1-gsi3)."
        else:
            iam5[
                f"arn:<AWS::Partition>:dynamodb:{self.region}:{self.account}:table/{self.table.table_name}/index/*"
            ] = "Queries of the imported app table's GSIs (gsi1-gsi3)."
        for resource, reason in iam5.items():
            acknowledge(self, f"AwsSolutions-IAM5[Resource::{resource}]", reason)
        acknowledge(
            self.scanner.task_definition,
            "AwsSolutions-IAM5[Resource::*]",
            "The task execution role's ecr:GetAuthorizationToken has no resource-level permission.",
        )
        for purpose in ("archiver", "scan-launch-failed"):
            acknowledge(
                self.functions[purpose],
                "AwsSolutions-L1",
                "Python 3.11 is the runtime every service is built, locked and tested for (TRD 2.1).",
            )


def _construct_id(purpose: str) -> str:
    """``ddb-projector`` -> ``DdbProjector``."""
    return "".join(part.capitalize() for part in purpose.split("-"))
