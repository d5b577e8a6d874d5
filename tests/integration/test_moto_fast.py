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


def test_queue_counts_equal_moto_message_by_message() -> None:
    from moto.sqs.models import SQSBackend

    moto_fast.patch_sqs_queue_counts()
    moto_fast.patch_sqs_queue_counts()  # idempotent
    backend = SQSBackend("us-east-1", "123456789012")
    queue = backend.create_queue("counts")
    for n in range(6):
        backend.send_message("counts", f"m{n}", delay_seconds=60 if n < 2 else 0)
    assert len(backend.receive_message("counts", 3, wait_seconds_timeout=0, visibility_timeout=60)) == 3

    attributes = queue.attributes
    counted = tuple(
        attributes[f"ApproximateNumberOf{name}"] for name in ("Messages", "MessagesDelayed", "MessagesNotVisible")
    )
    # moto's own definitions, message by message
    by_message = (
        len([m for m in queue._messages if m.visible and not m.delayed]),
        len([m for m in queue._messages if m.delayed]),
        len([m for m in queue._messages if not m.visible]),
    )
    assert counted == by_message == (1, 2, 3)
    # outside an attributes() call the properties still count message by message
    assert queue.approximate_number_of_messages == 1
    assert queue.approximate_number_of_messages_not_visible == 3
    fifo = backend.create_queue("counts.fifo", FifoQueue="true", ContentBasedDeduplication="true")
    assert fifo.attributes["ContentBasedDeduplication"] == "true"
    assert queue.attributes.get("ContentBasedDeduplication") is None


def test_backend_lookup_is_remembered_with_the_same_answers() -> None:
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    moto_fast.patch_backend_lookup()
    moto_fast.patch_backend_lookup()  # idempotent
    patched = DomainDispatcherApplication.get_backend_for_host
    app = DomainDispatcherApplication(create_backend_app)
    hosts = [
        None,
        "moto_api",
        "sqs.us-east-1.amazonaws.com",
        "sns.eu-west-1.amazonaws.com",
        "s3.amazonaws.com",
        "some-bucket.s3.us-west-2.amazonaws.com",
        "ec2.ap-south-1.amazonaws.com",
        "dynamodb.us-east-1.amazonaws.com",
        "tagging.us-east-1.amazonaws.com",
        "example.org",
    ]
    for _ in range(2):  # the second round answers from the remembered hosts
        assert [patched(app, h) for h in hosts] == [patched.__wrapped__(app, h) for h in hosts]  # type: ignore[attr-defined]
    assert patched(app, "sqs.us-east-1.amazonaws.com") == "sqs"
