"""Typed settings read from the environment.

Each service declares its own ``<Service>Settings`` on top of these mixins. Resource names have no
defaults: a missing variable fails at start with its name.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEFAULT_REGIONS: tuple[str, ...] = ("us-east-1", "us-west-2", "eu-west-1", "ap-south-1")


def _split_csv(value: object) -> object:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


class BaseInventorySettings(BaseSettings):
    """Settings every deployable shares: the home region of the inventory stack."""

    model_config = SettingsConfigDict(extra="ignore", frozen=True, case_sensitive=False)

    aws_region: str = Field(
        default="us-east-1",
        validation_alias=AliasChoices("AWS_REGION", "AWS_DEFAULT_REGION"),
        description="Region of the inventory stack itself (table, topic, queues, bucket).",
    )


class TableSettings(BaseInventorySettings):
    """The DynamoDB single table."""

    app_table_name: str = Field(min_length=1, description="DynamoDB single table (APP_TABLE_NAME).")


class TopicSettings(BaseInventorySettings):
    """The SNS topic every event goes through."""

    events_topic_arn: str = Field(min_length=1, description="SNS topic inventory-events (EVENTS_TOPIC_ARN).")


class BucketSettings(BaseInventorySettings):
    """The inventory bucket (raw archive and exports)."""

    inventory_bucket: str = Field(min_length=1, description="S3 bucket for raw/ and exports/ (INVENTORY_BUCKET).")


class RegionSettings(BaseInventorySettings):
    """Which regions of each target account are scanned."""

    inventory_regions: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: list(DEFAULT_REGIONS),
        description="Comma-separated regions to scan (INVENTORY_REGIONS).",
    )

    @field_validator("inventory_regions", mode="before")
    @classmethod
    def _csv(cls, value: object) -> object:
        return _split_csv(value)


class IcebergSettings(BaseInventorySettings):
    """Where the Iceberg tables live.

    ``sql`` is a pyiceberg SQL catalog (SQLite file or any SQLAlchemy URI) with a file or S3 warehouse.
    """

    iceberg_catalog_type: Literal["sql"] = Field(default="sql", description="Catalog kind (ICEBERG_CATALOG_TYPE).")
    iceberg_catalog_uri: str = Field(min_length=1, description="SQLAlchemy URI of the SQL catalog.")
    iceberg_warehouse: str = Field(min_length=1, description="Warehouse location, s3://bucket/prefix or file path.")
    iceberg_namespace: str = Field(default="inventory", description="Iceberg namespace of the tables.")
