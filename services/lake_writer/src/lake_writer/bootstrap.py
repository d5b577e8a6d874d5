"""Composition root of the lake writer."""

from __future__ import annotations

from functools import cache

from inventory_lake import load_catalog

from lake_writer.adapters.iceberg_store import IcebergLakeStore
from lake_writer.service import LakeWriterService
from lake_writer.settings import LakeWriterSettings


def build_service(settings: LakeWriterSettings) -> LakeWriterService:
    store = IcebergLakeStore(load_catalog(settings), settings.iceberg_namespace)
    return LakeWriterService(store, commit_attempts=settings.commit_attempts)


@cache
def default_service() -> LakeWriterService:
    return build_service(LakeWriterSettings())  # values come from the environment
