"""A DynamoDB table built from a :class:`TableSpec`."""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from constructs import Construct
from inventory_core.topology import TableSpec


def _string_key(name: str) -> dynamodb.Attribute:
    return dynamodb.Attribute(name=name, type=dynamodb.AttributeType.STRING)


class InventoryTable(Construct):
    """An on-demand table with string pk/sk, the spec's GSIs (ALL projection) and TTL attribute.

    Point-in-time recovery is on, encryption at rest uses the AWS-managed key (``aws/dynamodb``), and
    the table is retained when the stack is deleted: it holds the inventory and the audit trail.
    """

    def __init__(self, scope: Construct, construct_id: str, *, spec: TableSpec) -> None:
        super().__init__(scope, construct_id)
        self.spec = spec
        self.table = dynamodb.Table(
            self,
            "Table",
            table_name=spec.name,
            partition_key=_string_key(spec.pk),
            sort_key=_string_key(spec.sk),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            time_to_live_attribute=spec.ttl_attribute,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            encryption=dynamodb.TableEncryption.AWS_MANAGED,
            removal_policy=RemovalPolicy.RETAIN,
        )
        for gsi in spec.gsis:
            self.table.add_global_secondary_index(
                index_name=gsi.name,
                partition_key=_string_key(gsi.pk),
                sort_key=_string_key(gsi.sk),
                projection_type=dynamodb.ProjectionType.ALL,
            )
