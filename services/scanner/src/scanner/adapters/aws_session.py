from __future__ import annotations

import fnmatch
from collections.abc import Iterator
from typing import Any

import boto3
from botocore.credentials import RefreshableCredentials
from botocore.exceptions import BotoCoreError, ClientError
from botocore.session import get_session
from inventory_core.aws import AwsClientFactory
from inventory_core.items import Account

from scanner.catalog import ResourceSpec
from scanner.ports import AssumeRoleError

ROLE_PATTERN = "NucleusAccess-*"


def role_arn_for(account: Account, default_role_name: str) -> str:
    """The role to assume; names outside NucleusAccess-* are refused (least privilege, TRD section 7)."""
    arn = account.role_arn or f"arn:aws:iam::{account.account_id}:role/{account.role_name or default_role_name}"
    role_name = arn.rsplit("/", 1)[-1]
    if not fnmatch.fnmatchcase(role_name, ROLE_PATTERN):
        raise AssumeRoleError(f"role {role_name!r} of account {account.account_id} is outside {ROLE_PATTERN}")
    if arn.split(":")[4] != account.account_id:
        raise AssumeRoleError(f"role {arn} is not in account {account.account_id}")
    return arn


class StsSessionProvider:
    """Assumes the NucleusAccess role of each account with credentials that refresh before they expire."""

    def __init__(self, clients: AwsClientFactory, default_role_name: str, *, duration_s: int = 3600) -> None:
        self._clients = clients
        self._default_role_name = default_role_name
        self._duration_s = duration_s

    def open(self, account: Account, execution_id: str) -> AwsAccountSession:
        role_arn = role_arn_for(account, self._default_role_name)
        sts = self._clients.client("sts")
        kwargs: dict[str, Any] = {
            "RoleArn": role_arn,
            "RoleSessionName": f"inventory-{execution_id}"[:64],
            "DurationSeconds": self._duration_s,
        }
        if account.external_id:
            kwargs["ExternalId"] = account.external_id

        def fetch() -> dict[str, str]:
            try:
                creds = sts.assume_role(**kwargs)["Credentials"]
            except (ClientError, BotoCoreError) as exc:
                raise AssumeRoleError(f"AssumeRole {role_arn} failed: {exc}") from exc
            return {
                "access_key": creds["AccessKeyId"],
                "secret_key": creds["SecretAccessKey"],
                "token": creds["SessionToken"],
                "expiry_time": creds["Expiration"].isoformat(),
            }

        credentials = RefreshableCredentials.create_from_metadata(
            metadata=fetch(), refresh_using=fetch, method="sts-assume-role"
        )
        botocore_session = get_session()
        # botocore has no public setter for refreshable credentials; this is the widely used way in.
        botocore_session._credentials = credentials  # type: ignore[attr-defined]
        session = boto3.Session(botocore_session=botocore_session, region_name=self._clients.region)
        return AwsAccountSession(account.account_id, self._clients.for_session(session))


class AwsAccountSession:
    """Lists one catalogue type in one region of a target account, with the assumed role's clients."""

    def __init__(self, account_id: str, clients: AwsClientFactory) -> None:
        self.account_id = account_id
        self._clients = clients

    def pages(self, spec: ResourceSpec, region: str) -> Iterator[list[dict[str, Any]]]:
        client = self._clients.client(spec.service, None if spec.is_global else region)
        params = dict(spec.parameters)
        if client.can_paginate(spec.function):
            config = {"PageSize": spec.page_size} if spec.page_size else {}
            raw_pages = client.get_paginator(spec.function).paginate(**params, PaginationConfig=config)
        else:
            raw_pages = iter([getattr(client, spec.function)(**params)])
        for raw in raw_pages:
            items = raw.get(spec.result_key, [])
            if spec.flatten:
                items = [child for parent in items for child in parent.get(spec.flatten, [])]
            yield [self._enrich(spec, item) for item in items]

    def _enrich(self, spec: ResourceSpec, item: Any) -> dict[str, Any]:
        if not isinstance(item, dict):
            item = {"Id": item}
        if spec.slug == "s3":
            return self._enrich_bucket(item)
        return dict(item)

    def _enrich_bucket(self, item: dict[str, Any]) -> dict[str, Any]:
        s3 = self._clients.client("s3")
        name = item.get("Name")
        enriched = dict(item)
        if name and not enriched.get("BucketRegion"):
            location = s3.get_bucket_location(Bucket=name).get("LocationConstraint")
            enriched["BucketRegion"] = location or "us-east-1"
        if name:
            try:
                enriched["Tags"] = s3.get_bucket_tagging(Bucket=name).get("TagSet", [])
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") != "NoSuchTagSet":
                    raise
                enriched["Tags"] = []
        return enriched
