"""Typed settings read from the environment.

Each service declares its own ``<Service>Settings`` on top of these mixins. Resource names have no
defaults: a missing variable fails at start with its name.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AliasChoices, Field, field_validator, model_validator
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
    """Where the Iceberg tables live; the catalog kind is configuration only.

    - ``sql``: a pyiceberg SQL catalog (SQLite file or any SQLAlchemy URI) with a file or S3 warehouse; the
      local default.
    - ``s3tables``: AWS S3 Tables through its own API (``ICEBERG_TABLE_BUCKET_ARN``); the production path.
    - ``rest``: any Iceberg REST catalog, e.g. the S3 Tables endpoint with SigV4 (``ICEBERG_CATALOG_URI`` =
      ``https://s3tables.<region>.amazonaws.com/iceberg``, ``ICEBERG_WAREHOUSE`` = the table bucket ARN).
    """

    iceberg_catalog_type: Literal["sql", "s3tables", "rest"] = Field(
        default="sql", description="Catalog kind (ICEBERG_CATALOG_TYPE)."
    )
    iceberg_catalog_uri: str | None = Field(default=None, description="SQLAlchemy URI (sql) or REST endpoint (rest).")
    iceberg_warehouse: str | None = Field(default=None, description="Warehouse: s3://bucket/prefix, path, or ARN.")
    iceberg_table_bucket_arn: str | None = Field(default=None, description="S3 table bucket ARN (s3tables).")
    iceberg_namespace: str = Field(default="inventory", description="Iceberg namespace of the tables.")

    @model_validator(mode="after")
    def _complete_for_its_kind(self) -> IcebergSettings:
        needed = {
            "sql": ("iceberg_catalog_uri", "iceberg_warehouse"),
            "s3tables": ("iceberg_table_bucket_arn",),
            "rest": ("iceberg_catalog_uri", "iceberg_warehouse"),
        }[self.iceberg_catalog_type]
        missing = [name.upper() for name in needed if not getattr(self, name)]
        if missing:
            raise ValueError(f"ICEBERG_CATALOG_TYPE={self.iceberg_catalog_type} needs {', '.join(missing)}")
        return self
