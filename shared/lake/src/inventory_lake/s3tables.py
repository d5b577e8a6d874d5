"""An Iceberg catalog over AWS S3 Tables' own API (pyiceberg 0.12 has none).

Data and metadata files are written by pyiceberg into the table's managed warehouse location; a
commit publishes the new metadata file with ``UpdateTableMetadataLocation`` and the version token read
before the change, so S3 Tables itself arbitrates concurrent writers (a stale token is a
``ConflictException``, which becomes pyiceberg's ``CommitFailedException`` and the writer retries).

Chosen over the S3 Tables Iceberg REST endpoint because it can be exercised end to end against the
emulator (moto implements the s3tables API but not the REST endpoint). The REST endpoint remains a
configuration-only alternative in AWS (``ICEBERG_CATALOG_TYPE=rest``).
"""

# Methods implement pyiceberg's Catalog interface, whose arguments S3 Tables has no use for at times.
# ruff: noqa: ARG002
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError
from pyiceberg.catalog import MetastoreCatalog, PropertiesUpdateSummary
from pyiceberg.exceptions import (
    CommitFailedException,
    NamespaceAlreadyExistsError,
    NoSuchNamespaceError,
    NoSuchTableError,
    TableAlreadyExistsError,
)
from pyiceberg.partitioning import UNPARTITIONED_PARTITION_SPEC, PartitionSpec
from pyiceberg.schema import Schema
from pyiceberg.serializers import FromInputFile, ToOutputFile
from pyiceberg.table import CommitTableResponse, Table
from pyiceberg.table.sorting import UNSORTED_SORT_ORDER, SortOrder
from pyiceberg.typedef import EMPTY_DICT, Identifier, Properties

if TYPE_CHECKING:
    import pyarrow as pa
    from pyiceberg.table.update import TableRequirement, TableUpdate
    from pyiceberg.view import View


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


class S3TablesCatalog(MetastoreCatalog):  # type: ignore[misc]  # pyiceberg is untyped to mypy here
    """Namespaces and tables of one S3 table bucket."""

    def __init__(self, name: str, client: Any, table_bucket_arn: str, **properties: str) -> None:
        """Create the catalog.

        Args:
            name: Catalog name.
            client: A boto3 ``s3tables`` client (from the client factory).
            table_bucket_arn: ARN of the table bucket.
            **properties: FileIO properties (``s3.endpoint``, ``s3.region`` ...).
        """
        super().__init__(name, **properties)
        self._client = client
        self._bucket = table_bucket_arn

    # -- tables ---------------------------------------------------------------------------------------

    def _split(self, identifier: str | Identifier) -> tuple[str, str]:
        parts = self.identifier_to_tuple(identifier)
        if len(parts) != 2:
            raise NoSuchTableError(f"S3 Tables identifiers are namespace.table, got {identifier!r}")
        return parts[0], parts[1]

    def _location(self, namespace: str, name: str) -> dict[str, Any]:
        try:
            return dict(
                self._client.get_table_metadata_location(tableBucketARN=self._bucket, namespace=namespace, name=name)
            )
        except ClientError as exc:
            if _code(exc) in ("NotFoundException", "NoSuchTable"):
                raise NoSuchTableError(f"{namespace}.{name}") from exc
            raise

    def _publish(self, namespace: str, name: str, metadata_location: str, version_token: str) -> None:
        try:
            self._client.update_table_metadata_location(
                tableBucketARN=self._bucket,
                namespace=namespace,
                name=name,
                metadataLocation=metadata_location,
                versionToken=version_token,
            )
        except ClientError as exc:
            if _code(exc) == "ConflictException":
                raise CommitFailedException(f"{namespace}.{name} was updated by another writer") from exc
            raise

    def create_table(
        self,
        identifier: str | Identifier,
        schema: Schema | pa.Schema,
        location: str | None = None,
        partition_spec: PartitionSpec = UNPARTITIONED_PARTITION_SPEC,
        sort_order: SortOrder = UNSORTED_SORT_ORDER,
        properties: Properties = EMPTY_DICT,
    ) -> Table:
        """Create the table in S3 Tables, write its first metadata file and publish it."""
        namespace, name = self._split(identifier)
        try:
            self._client.create_table(tableBucketARN=self._bucket, namespace=namespace, name=name, format="ICEBERG")
        except ClientError as exc:
            if _code(exc) == "ConflictException":
                raise TableAlreadyExistsError(f"{namespace}.{name}") from exc
            if _code(exc) == "NotFoundException":
                raise NoSuchNamespaceError(namespace) from exc
            raise
        where = self._location(namespace, name)
        staged = self._create_staged_table(
            identifier=(namespace, name),
            schema=schema,
            location=where["warehouseLocation"],
            partition_spec=partition_spec,
            sort_order=sort_order,
            properties=properties,
        )
        # The managed warehouse refuses ListObjectsV2, so the usual "exists?" check must be skipped.
        ToOutputFile.table_metadata(staged.metadata, staged.io.new_output(staged.metadata_location), overwrite=True)
        self._publish(namespace, name, staged.metadata_location, where["versionToken"])
        return self.load_table((namespace, name))

    def load_table(self, identifier: str | Identifier) -> Table:
        """Load the table from the metadata location S3 Tables holds."""
        namespace, name = self._split(identifier)
        where = self._location(namespace, name)
        metadata_location = where.get("metadataLocation")
        if not metadata_location:
            raise NoSuchTableError(f"{namespace}.{name} has no metadata yet")
        io = self._load_file_io(properties=self.properties, location=metadata_location)
        metadata = FromInputFile.table_metadata(io.new_input(metadata_location))
        return Table((namespace, name), metadata=metadata, metadata_location=metadata_location, io=io, catalog=self)

    def commit_table(
        self, table: Table, requirements: tuple[TableRequirement, ...], updates: tuple[TableUpdate, ...]
    ) -> CommitTableResponse:
        """Write the new metadata and publish it with the version token read before the change."""
        namespace, name = self._split(table.name())
        where = self._location(namespace, name)
        current = self.load_table((namespace, name)) if where.get("metadataLocation") else None
        staged = self._update_and_stage_table(current, (namespace, name), requirements, updates)
        if current and staged.metadata == current.metadata:
            return CommitTableResponse(metadata=current.metadata, metadata_location=current.metadata_location)
        ToOutputFile.table_metadata(staged.metadata, staged.io.new_output(staged.metadata_location), overwrite=True)
        self._publish(namespace, name, staged.metadata_location, where["versionToken"])
        return CommitTableResponse(metadata=staged.metadata, metadata_location=staged.metadata_location)

    def register_table(self, identifier: str | Identifier, metadata_location: str, overwrite: bool = False) -> Table:
        """Not offered by S3 Tables for managed tables."""
        raise NotImplementedError("S3 Tables manages its tables' storage; register_table is not supported")

    def drop_table(self, identifier: str | Identifier) -> None:
        """Delete the table (S3 Tables removes its storage)."""
        namespace, name = self._split(identifier)
        try:
            self._client.delete_table(tableBucketARN=self._bucket, namespace=namespace, name=name)
        except ClientError as exc:
            if _code(exc) == "NotFoundException":
                raise NoSuchTableError(f"{namespace}.{name}") from exc
            raise

    def rename_table(self, from_identifier: str | Identifier, to_identifier: str | Identifier) -> Table:
        """Rename within the bucket."""
        namespace, name = self._split(from_identifier)
        new_namespace, new_name = self._split(to_identifier)
        self._client.rename_table(
            tableBucketARN=self._bucket,
            namespace=namespace,
            name=name,
            newNamespaceName=new_namespace,
            newName=new_name,
        )
        return self.load_table((new_namespace, new_name))

    def list_tables(self, namespace: str | Identifier) -> list[Identifier]:
        """Tables of one namespace."""
        ns = self.identifier_to_tuple(namespace)[0]
        tables: list[Identifier] = []
        for page in self._client.get_paginator("list_tables").paginate(tableBucketARN=self._bucket, namespace=ns):
            tables += [(ns, t["name"]) for t in page.get("tables", [])]
        return tables

    # -- namespaces -----------------------------------------------------------------------------------

    def create_namespace(self, namespace: str | Identifier, properties: Properties = EMPTY_DICT) -> None:
        """Create a namespace (S3 Tables namespaces carry no properties)."""
        ns = self.identifier_to_tuple(namespace)[0]
        try:
            self._client.create_namespace(tableBucketARN=self._bucket, namespace=[ns])
        except ClientError as exc:
            if _code(exc) == "ConflictException":
                raise NamespaceAlreadyExistsError(ns) from exc
            raise

    def drop_namespace(self, namespace: str | Identifier) -> None:
        """Delete an empty namespace."""
        ns = self.identifier_to_tuple(namespace)[0]
        self._client.delete_namespace(tableBucketARN=self._bucket, namespace=ns)

    def list_namespaces(self, namespace: str | Identifier = ()) -> list[Identifier]:
        """Namespaces of the bucket (they are flat)."""
        if namespace:
            return []
        names: list[Identifier] = []
        for page in self._client.get_paginator("list_namespaces").paginate(tableBucketARN=self._bucket):
            names += [tuple(n["namespace"]) for n in page.get("namespaces", [])]
        return names

    def load_namespace_properties(self, namespace: str | Identifier) -> Properties:
        """S3 Tables namespaces have no properties beyond their name."""
        ns = self.identifier_to_tuple(namespace)[0]
        try:
            self._client.get_namespace(tableBucketARN=self._bucket, namespace=ns)
        except ClientError as exc:
            raise NoSuchNamespaceError(ns) from exc
        return {}

    def update_namespace_properties(
        self, namespace: str | Identifier, removals: set[str] | None = None, updates: Properties = EMPTY_DICT
    ) -> PropertiesUpdateSummary:
        """Not offered by S3 Tables."""
        raise NotImplementedError("S3 Tables namespaces have no properties")

    # -- views: S3 Tables has none ----------------------------------------------------------------------

    def list_views(self, namespace: str | Identifier) -> list[Identifier]:
        """S3 Tables has no views."""
        return []

    def load_view(self, identifier: str | Identifier) -> View:
        """S3 Tables has no views."""
        raise NotImplementedError("S3 Tables has no views")

    def view_exists(self, identifier: str | Identifier) -> bool:
        """S3 Tables has no views."""
        return False

    def drop_view(self, identifier: str | Identifier) -> None:
        """S3 Tables has no views."""
        raise NotImplementedError("S3 Tables has no views")

    def register_view(self, identifier: str | Identifier, metadata_location: str) -> View:
        """S3 Tables has no views."""
        raise NotImplementedError("S3 Tables has no views")
