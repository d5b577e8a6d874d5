"""The production lake: the S3 Tables table bucket, the inventory namespace and its Iceberg tables, and an
Athena workgroup with its own encrypted results bucket.

The tables are declared from the same pyiceberg schemas and partition specs the lake writer uses
(``inventory_lake``), so CloudFormation and the writer cannot disagree: the writer finds them existing
and loads them. Querying them from Athena needs the S3 Tables integration with the AWS analytics services
(a Glue federated catalog plus Lake Formation grants), which CloudFormation cannot switch on: docs/deploy.md
has the steps and ``make preflight`` checks them.
"""

from __future__ import annotations

import json
from typing import Any

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_athena as athena
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3tables as s3tables
from constructs import Construct
from inventory_core.topology import Topology
from inventory_lake import (
    HISTORY_SCHEMA,
    HISTORY_SPEC,
    HISTORY_TABLE,
    RESOURCES_SCHEMA,
    RESOURCES_TABLE,
    SCOPE_PAGES_SCHEMA,
    SCOPE_PAGES_TABLE,
)
from pyiceberg.partitioning import PartitionSpec
from pyiceberg.schema import Schema

ATHENA_RESULTS_DAYS = 30
"""Athena query results are kept this long, then expire."""

LAKE_TABLES: tuple[tuple[str, Schema, PartitionSpec], ...] = (
    (RESOURCES_TABLE, RESOURCES_SCHEMA, PartitionSpec()),
    (HISTORY_TABLE, HISTORY_SCHEMA, HISTORY_SPEC),
    (SCOPE_PAGES_TABLE, SCOPE_PAGES_SCHEMA, PartitionSpec()),
)
"""Every Iceberg table of the namespace, as the lake writer creates them (``inventory_lake.ensure_tables``)."""


def iceberg_metadata(schema: Schema, spec: PartitionSpec) -> s3tables.CfnTable.IcebergMetadataProperty:
    """CloudFormation's IcebergMetadata for a pyiceberg schema and partition spec (field ids kept)."""
    fields: list[dict[str, Any]] = json.loads(schema.model_dump_json())["fields"]
    return s3tables.CfnTable.IcebergMetadataProperty(
        iceberg_schema_v2=s3tables.CfnTable.IcebergSchemaV2Property(
            schema_v2_field_type="struct",
            schema_id=schema.schema_id,
            identifier_field_ids=list(schema.identifier_field_ids) or None,
            schema_v2_field_list=[
                s3tables.CfnTable.SchemaV2FieldProperty(
                    id=f["id"], name=f["name"], required=f["required"], type=f["type"]
                )
                for f in fields
            ],
        ),
        iceberg_partition_spec=(
            s3tables.CfnTable.IcebergPartitionSpecProperty(
                spec_id=spec.spec_id,
                fields=[
                    s3tables.CfnTable.IcebergPartitionFieldProperty(
                        name=p.name, source_id=p.source_id, field_id=p.field_id, transform=str(p.transform)
                    )
                    for p in spec.fields
                ],
            )
            if spec.fields
            else None
        ),
    )


class Lake(Construct):
    """Table bucket, namespace, tables, Athena workgroup and results bucket."""

    def __init__(
        self, scope: Construct, construct_id: str, *, topology: Topology, prefix: str, access_logs: s3.IBucket
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        self.table_bucket = s3tables.CfnTableBucket(self, "TableBucket", table_bucket_name=topology.table_bucket)
        self.table_bucket.apply_removal_policy(RemovalPolicy.RETAIN)
        self.table_bucket_arn = self.table_bucket.attr_table_bucket_arn
        self.namespace = s3tables.CfnNamespace(
            self, "Namespace", namespace=topology.iceberg_namespace, table_bucket_arn=self.table_bucket_arn
        )
        self.namespace.apply_removal_policy(RemovalPolicy.RETAIN)
        self.tables: dict[str, s3tables.CfnTable] = {}
        for name, schema, spec in LAKE_TABLES:
            table = s3tables.CfnTable(
                self,
                "".join(part.capitalize() for part in name.split("_")),
                table_bucket_arn=self.table_bucket_arn,
                namespace=topology.iceberg_namespace,
                table_name=name,
                open_table_format="ICEBERG",
                iceberg_metadata=iceberg_metadata(schema, spec),
            )
            table.node.add_dependency(self.namespace)
            table.apply_removal_policy(RemovalPolicy.RETAIN)
            self.tables[name] = table

        self.results_bucket = s3.Bucket(
            self,
            "AthenaResults",
            bucket_name=f"{prefix}nucleus-app-athena-results-{stack.account}-{stack.region}"[:63],
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            enforce_ssl=True,
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="expire-results",
                    expiration=Duration.days(ATHENA_RESULTS_DAYS),
                    abort_incomplete_multipart_upload_after=Duration.days(1),
                )
            ],
            server_access_logs_bucket=access_logs,
            server_access_logs_prefix="athena-results/",
            removal_policy=RemovalPolicy.RETAIN,
        )
        self.workgroup = athena.CfnWorkGroup(
            self,
            "Workgroup",
            name=f"{prefix}inventory",
            description="Analytics over the inventory's Iceberg tables (docs/analytics.md)",
            state="ENABLED",
            recursive_delete_option=True,
            work_group_configuration=athena.CfnWorkGroup.WorkGroupConfigurationProperty(
                enforce_work_group_configuration=True,
                publish_cloud_watch_metrics_enabled=True,
                bytes_scanned_cutoff_per_query=10 * 1024**3,
                engine_version=athena.CfnWorkGroup.EngineVersionProperty(
                    selected_engine_version="Athena engine version 3"
                ),
                result_configuration=athena.CfnWorkGroup.ResultConfigurationProperty(
                    output_location=f"s3://{self.results_bucket.bucket_name}/results/",
                    encryption_configuration=athena.CfnWorkGroup.EncryptionConfigurationProperty(
                        encryption_option="SSE_S3"
                    ),
                ),
            ),
        )
