"""Composition root of the lake writer."""

from __future__ import annotations

from datetime import timedelta
from functools import cache

from inventory_lake import load_catalog
from inventory_lake.s3tables import S3TablesCatalog

from lake_writer.adapters.iceberg_store import IcebergLakeStore
from lake_writer.service import LakeWriterService
from lake_writer.settings import LakeWriterSettings


def build_service(settings: LakeWriterSettings) -> LakeWriterService:
    catalog = load_catalog(settings)
    # S3 Tables expires snapshots itself (table maintenance); a local catalog has nobody else to.
    keep = 0 if isinstance(catalog, S3TablesCatalog) else settings.keep_snapshots
    store = IcebergLakeStore(
        catalog, settings.iceberg_namespace, keep_snapshots=keep, orphan_age=timedelta(seconds=settings.orphan_age_s)
    )
    return LakeWriterService(store, commit_attempts=settings.commit_attempts)


@cache
def default_service() -> LakeWriterService:
    return build_service(LakeWriterSettings())  # values come from the environment
