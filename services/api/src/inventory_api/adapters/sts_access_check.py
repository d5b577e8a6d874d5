from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from inventory_core.aws import AwsClientFactory

from inventory_api.accounts import classify_error
from inventory_api.schemas import RegionCheck

CHECK_ACTION = "ec2:DescribeVpcs"


def _code_message(exc: ClientError) -> tuple[str, str]:
    error = exc.response.get("Error", {})
    return str(error.get("Code") or "Unknown"), str(error.get("Message") or "")


class StsAccessChecker:
    """Assumes the account's role (with its ExternalId) and calls ec2:DescribeVpcs once per region.

    DescribeVpcs is in the member role (every scan lists VPCs), costs nothing and answers per region.
    Opt-in regions the account has not enabled are reported from ec2:DescribeRegions when the role may
    call it, else from the error the regional call returns. Few retries: a throttled call is a result.
    """

    def __init__(self, clients: AwsClientFactory, *, session_name: str = "inventory-access-check") -> None:
        self._clients = clients
        self._session_name = session_name

    def _assume(self, role_arn: str, external_id: str | None) -> AwsClientFactory:
        kwargs: dict[str, Any] = {"RoleArn": role_arn, "RoleSessionName": self._session_name, "DurationSeconds": 900}
        if external_id:
            kwargs["ExternalId"] = external_id
        creds = self._clients.client("sts").assume_role(**kwargs)["Credentials"]
        assumed = self._clients.for_credentials(creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"])
        return AwsClientFactory(assumed.region, assumed.session, max_attempts=2, connect_timeout=5, read_timeout=15)

    @staticmethod
    def _not_opted_in(clients: AwsClientFactory) -> set[str]:
        try:
            regions = clients.client("ec2").describe_regions(AllRegions=True)["Regions"]
        except (ClientError, BotoCoreError):
            return set()  # not allowed or not answered: each region's own call tells
        return {r["RegionName"] for r in regions if r.get("OptInStatus") == "not-opted-in"}

    @staticmethod
    def _one(clients: AwsClientFactory, region: str) -> RegionCheck:
        try:
            clients.client("ec2", region).describe_vpcs(MaxResults=5)
        except ClientError as exc:
            code, message = _code_message(exc)
            return classify_error(region, code, message, CHECK_ACTION)
        except BotoCoreError as exc:
            return RegionCheck(region=region, status="error", message=str(exc)[:500])
        return RegionCheck(region=region, status="ok")

    def check(
        self,
        account_id: str,  # noqa: ARG002 (the role ARN names it; kept for the port)
        role_arn: str,
        external_id: str | None,
        regions: Sequence[str],
    ) -> list[RegionCheck]:
        try:
            clients = self._assume(role_arn, external_id)
        except ClientError as exc:
            code, message = _code_message(exc)
            return [classify_error(region, code, message, "sts:AssumeRole") for region in regions]
        except BotoCoreError as exc:
            return [RegionCheck(region=region, status="error", message=str(exc)[:500]) for region in regions]
        disabled = self._not_opted_in(clients)
        todo = [r for r in regions if r not in disabled]
        with ThreadPoolExecutor(max_workers=min(8, max(1, len(todo)))) as pool:
            found = dict(zip(todo, pool.map(lambda r: self._one(clients, r), todo), strict=True))
        return [
            found.get(r)
            or RegionCheck(region=r, status="region_not_enabled", message="the region is not enabled in the account")
            for r in regions
        ]


def known_regions(session: Any) -> frozenset[str]:
    """Every region botocore knows in every partition (offline, from its endpoint data)."""
    return frozenset(
        region
        for partition in session.get_available_partitions()
        for region in session.get_available_regions("ec2", partition_name=partition)
    )
