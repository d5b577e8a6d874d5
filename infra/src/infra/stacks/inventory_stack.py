"""The inventory stack: every AWS resource of AWS Auto-Discovery in its home account and region."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Duration, RemovalPolicy, Stack, Token
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3tables as s3tables
from aws_cdk import aws_sns as sns
from constructs import Construct
from inventory_core.topology import Topology, build_topology

from infra import policies
from infra.constructs.consumer_queue import ConsumerQueue
from infra.constructs.inventory_table import InventoryTable
from infra.policies import StackRefs


class InventoryStack(Stack):
    """DynamoDB tables, the event topic, the work queues with DLQs, the buckets, and the consumers' roles.

    Everything is read from :func:`inventory_core.topology.build_topology`, the declaration that local
    provisioning uses too. The consumer Lambda functions and the scanner's Fargate task definition are
    not here yet: they are added when deploy packaging (images/bundles) lands. Their least-privilege
    roles are, so the permissions are reviewed and tested now.

    The stack needs a concrete account and region (bucket names carry them): pass ``env``.
    """

    def __init__(self, scope: Construct, construct_id: str, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        if Token.is_unresolved(self.account) or Token.is_unresolved(self.region):
            raise ValueError("InventoryStack needs a concrete env (account and region): bucket names carry them")
        self.topology: Topology = build_topology(self.account, self.region)
        topo = self.topology

        self.table = InventoryTable(self, "AppTable", spec=topo.table).table
        self.audit_table = InventoryTable(self, "AuditTable", spec=topo.audit_table).table

        self.topic = sns.Topic(self, "InventoryEvents", topic_name=topo.topic_name, enforce_ssl=True)

        self.scan_requests = ConsumerQueue(self, "ScanRequests", spec=topo.scan_requests)
        self.consumer_queues: dict[str, ConsumerQueue] = {
            purpose: ConsumerQueue(self, _construct_id(purpose), spec=topo.consumer(purpose), topic=self.topic)
            for purpose in ("ddb-projector", "lake-writer", "archiver")
        }

        self.bucket = s3.Bucket(
            self,
            "InventoryBucket",
            bucket_name=topo.bucket.name,
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            enforce_ssl=True,
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="expire-raw",
                    prefix=topo.bucket.raw_prefix,
                    expiration=Duration.days(topo.bucket.raw_expiration_days),
                ),
            ],
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
            removal_policy=RemovalPolicy.RETAIN,
        )
        self.table_bucket = s3tables.CfnTableBucket(self, "TableBucket", table_bucket_name=topo.table_bucket)
        self.table_bucket.apply_removal_policy(RemovalPolicy.RETAIN)

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
            table_bucket_arn=self.table_bucket.attr_table_bucket_arn,
        )
        self.projector_role = self._lambda_role("ProjectorRole", "ddb-projector consumer Lambda")
        policies.grant_projector(refs, self.projector_role)
        self.lake_writer_role = self._lambda_role("LakeWriterRole", "lake-writer consumer Lambda")
        policies.grant_lake_writer(refs, self.lake_writer_role)
        self.archiver_role = self._lambda_role("ArchiverRole", "archiver consumer Lambda")
        policies.grant_archiver(refs, self.archiver_role)

        self.scanner_task_role = iam.Role(
            self,
            "ScannerTaskRole",
            description="Scanner Fargate task: assumes NucleusAccess-* in target accounts and publishes events",
            assumed_by=iam.ServicePrincipal(
                "ecs-tasks.amazonaws.com",
                conditions={
                    "StringEquals": {"aws:SourceAccount": self.account},
                    "ArnLike": {"aws:SourceArn": f"arn:aws:ecs:{self.region}:{self.account}:*"},
                },
            ),
        )
        policies.grant_scanner(refs, self.scanner_task_role)

        self._outputs()

    def _lambda_role(self, construct_id: str, what: str) -> iam.Role:
        return iam.Role(
            self,
            construct_id,
            description=f"Execution role of the {what}",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            managed_policies=[
                iam.ManagedPolicy.from_aws_managed_policy_name("service-role/AWSLambdaBasicExecutionRole")
            ],
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
        CfnOutput(self, "TableBucketArn", value=self.table_bucket.attr_table_bucket_arn)


def _construct_id(purpose: str) -> str:
    """``ddb-projector`` -> ``DdbProjector``."""
    return "".join(part.capitalize() for part in purpose.split("-"))
