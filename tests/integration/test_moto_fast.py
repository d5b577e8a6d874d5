"""The patched moto server (inventory_cli.moto_fast) answers EC2 tags exactly as moto's own lookup does."""

from __future__ import annotations

from pathlib import Path

import boto3
import moto
from inventory_cli import moto_fast
from moto import backends

from tests.conftest import unique_accounts


def test_instance_tags_equal_describe_tags_by_resource_id(moto_endpoint: str) -> None:
    (account,) = unique_accounts(1)
    sts = boto3.client("sts", region_name="us-east-1")
    creds = sts.assume_role(RoleArn=f"arn:aws:iam::{account}:role/any", RoleSessionName="fast")["Credentials"]
    ec2 = boto3.client(
        "ec2",
        region_name="eu-west-1",
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
    )
    image = ec2.describe_images()["Images"][0]["ImageId"]
    reservation = ec2.run_instances(
        ImageId=image,
        MinCount=30,
        MaxCount=30,
        TagSpecifications=[{"ResourceType": "instance", "Tags": [{"Key": "team", "Value": "blue"}]}],
    )
    ids = [i["InstanceId"] for i in reservation["Instances"]]
    # different tags per instance, one untagged, and a value changed after creation
    for n, instance_id in enumerate(ids[:20]):
        ec2.create_tags(Resources=[instance_id], Tags=[{"Key": f"k{n % 3}", "Value": f"v{n}"}])
    ec2.create_tags(Resources=[ids[0]], Tags=[{"Key": "team", "Value": "red"}])
    ec2.delete_tags(Resources=[ids[-1]], Tags=[{"Key": "team"}])

    described = {
        i["InstanceId"]: {t["Key"]: t["Value"] for t in i.get("Tags", [])}
        for r in ec2.describe_instances(InstanceIds=ids)["Reservations"]
        for i in r["Instances"]
    }
    # moto's own (unpatched) describe_tags, filtered by resource id
    by_tags_api: dict[str, dict[str, str]] = {instance_id: {} for instance_id in ids}
    for tag in ec2.describe_tags(Filters=[{"Name": "resource-id", "Values": ids}])["Tags"]:
        by_tags_api[tag["ResourceId"]][tag["Key"]] = tag["Value"]

    assert described == by_tags_api
    assert described[ids[0]]["team"] == "red"
    assert described[ids[-1]] == {}
    assert described[ids[4]] == {"team": "blue", "k1": "v4"}
    # a tag filter goes through the patched lookup as well
    tagged = ec2.describe_instances(Filters=[{"Name": "tag:k1", "Values": ["v4"]}])["Reservations"]
    assert [i["InstanceId"] for r in tagged for i in r["Instances"]] == [ids[4]]


def test_module_listing_is_listed_once_with_the_same_modules() -> None:
    root = Path(moto.__file__).parent
    expected = sorted(d.name for d in root.iterdir() if d.is_dir() and not d.name.startswith("__"))
    moto_fast.patch_module_listing()
    moto_fast.patch_module_listing()  # idempotent
    assert list(backends.list_of_moto_modules()) == expected
    assert "ec2" in expected and "dynamodb" in expected
