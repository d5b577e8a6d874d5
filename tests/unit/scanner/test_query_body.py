"""SNS query bodies encoded once (scanner.adapters.query_body): the same bytes as botocore's own encoding."""

from __future__ import annotations

import json
import random
from typing import Any
from unittest import mock
from urllib.parse import quote_plus as urllib_quote_plus

import boto3
import botocore.awsrequest
from botocore.awsrequest import AWSRequest, AWSResponse
from scanner.adapters.query_body import encode, encode_bodies_once, quote_plus


def botocore_body(params: dict[str, Any]) -> str:
    body = AWSRequest(method="POST", url="https://sns.us-east-1.amazonaws.com/", data=params).prepare().body
    assert isinstance(body, str)
    return body


def test_quote_plus_equals_urllib_for_every_byte_and_unicode() -> None:
    every_byte = bytes(range(256))
    assert quote_plus(every_byte) == urllib_quote_plus(every_byte, safe="")
    rng = random.Random(14)
    alphabet = 'abcXYZ019 _.-~"{}[]:,/\\+&=%?#\n\té€😀日本'
    for _ in range(200):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 80)))
        assert quote_plus(text) == urllib_quote_plus(text, safe="")


def test_encode_equals_botocores_body() -> None:
    message = json.dumps({"resources": [{"arn": "arn:aws:s3:::b", "tags": {"Name": "é x&y=z"}}] * 50})
    params = {
        "Action": "PublishBatch",
        "Version": "2010-03-31",
        "TopicArn": "arn:aws:sns:us-east-1:123456789012:events",
        "PublishBatchRequestEntries.member.1.Id": "0",
        "PublishBatchRequestEntries.member.1.Message": message,
        "PublishBatchRequestEntries.member.1.MessageAttributes.entry.1.Name": "event_type",
    }
    assert encode(params) == botocore_body(params)
    assert encode({"Count": 3, "Action": "X"}) == botocore_body({"Count": 3, "Action": "X"})  # not a str: urlencode


def sent_body(hooked: bool) -> tuple[bytes, int]:
    """The body an SNS PublishBatch sends, and how many times botocore urlencoded it (no network)."""
    sns = boto3.client(
        "sns", region_name="us-east-1", aws_access_key_id="a", aws_secret_access_key="b", endpoint_url="http://x"
    )
    if hooked:
        encode_bodies_once(encode_bodies_once(sns))  # idempotent
    sent: list[bytes] = []

    def answer(request: Any, **_: Any) -> AWSResponse:
        sent.append(request.body)
        xml = b"<PublishBatchResponse><PublishBatchResult><Successful/><Failed/></PublishBatchResult>"
        xml += b"</PublishBatchResponse>"
        return AWSResponse("http://x", 200, {}, mock.Mock(stream=lambda **_: iter([xml]), content=xml))  # type: ignore[arg-type]

    sns.meta.events.register("before-send.sns.PublishBatch", answer)  # type: ignore[arg-type]  # a response short-circuits
    entries: Any = [{"Id": "0", "Message": json.dumps({"k": "v é", "n": list(range(300))})}]
    with mock.patch.object(botocore.awsrequest, "urlencode", wraps=botocore.awsrequest.urlencode) as urlencode:
        sns.publish_batch(TopicArn="arn:aws:sns:us-east-1:123456789012:events", PublishBatchRequestEntries=entries)
    return sent[0], urlencode.call_count


def test_hooked_client_sends_the_same_body_encoded_once() -> None:
    plain, plain_encodings = sent_body(hooked=False)
    hooked, hooked_encodings = sent_body(hooked=True)
    assert hooked == plain
    assert plain_encodings >= 2  # botocore: once to sign, once to send
    assert hooked_encodings == 0  # the hook's string goes through as it is
