"""moto server with IAM enforcement made closer to AWS, for the least-privilege tests only.

Run as ``python strict_moto.py -H 127.0.0.1 -p PORT`` (same arguments as ``python -m moto.server``).
moto 5.2.5 enforces identity policies (``POST /moto-api/reset-auth``) but, out of the box:

1. checks the action against resource ``*`` for every service except S3, SQS, IAM and STS, so a
   resource-scoped Allow never matches: here DynamoDB (table / index ARN of the request), SNS (topic),
   S3 Tables (table bucket / table) and ECS RunTask (task definition) name their real resource;
2. names the action after the signing name and the operation (``monitoring:DescribeAlarms``,
   ``apigateway:GetRestApis``, ``sns:PublishBatch``): here CloudWatch, the tagging API, API Gateway
   (HTTP verbs) and the SNS/SQS batch calls use the IAM action AWS checks;
3. looks a role up in the caller's account and compares a trust policy's principal with the caller's
   ``assumed-role`` session ARN, so cross-account trust is never checked and a role principal never
   matches: here the role is found in the account of its ARN and a session is its role;
4. passes a StringEquals condition whose key the request lacks (AssumeRole without ExternalId): here
   a missing key fails it, as in AWS;
5. serves an S3 Tables table's storage as a plain bucket authorized by s3:* actions: here a request to
   a table's storage bucket is authorized as s3tables:GetTableData / s3tables:PutTableData on the table.

6. recomputes some signatures wrongly (S3 Tables, Lambda, Arrow's S3 client) and refuses them: here
   signatures are not checked (keys and session tokens still are; authorization is unchanged).

Conditions other than StringEquals are still not evaluated (moto ignores them), and iam:PassRole is not
checked on ECS RunTask; the tests say so where it matters.
"""

from __future__ import annotations

import json
import re
import sys
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse

from inventory_cli import moto_fast
from moto.core.authorization import ActionAuthenticatorMixin
from moto.iam import access_control, policy_conditions

SIGNING_PREFIX = {"monitoring": "cloudwatch", "tagging": "tag", "email": "ses", "IoTSecuredTunneling": "iot"}
BATCH_ACTIONS = {
    "sns:PublishBatch": "sns:Publish",
    "sqs:SendMessageBatch": "sqs:SendMessage",
    "sqs:DeleteMessageBatch": "sqs:DeleteMessage",
    "sqs:ChangeMessageVisibilityBatch": "sqs:ChangeMessageVisibility",
}
"""Batch APIs that IAM authorizes with the single action (there is no sns:PublishBatch action)."""
TABLE_BUCKET_ARN = re.compile(r"arn:aws[a-z-]*:s3tables:[^:]+:\d{12}:bucket/[a-z0-9-]+")


def _patch_action_names() -> None:
    original = access_control.IAMRequestBase.__init__

    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        service, _, action = self._action.partition(":")
        if isinstance(self, access_control.S3IAMRequest):
            return
        if service == "apigateway":
            self._action = f"apigateway:{self._method}"
        elif service in SIGNING_PREFIX:
            self._action = f"{SIGNING_PREFIX[service]}:{action}"
        self._action = BATCH_ACTIONS.get(self._action, self._action)

    access_control.IAMRequestBase.__init__ = init  # type: ignore[method-assign]


def _role_arn(principal: str) -> str:
    """``arn:aws:sts::A:assumed-role/R/session`` -> ``arn:aws:iam::A:role/R`` (what a trust policy names)."""
    match = re.match(r"arn:(aws[a-z-]*):sts::(\d{12}):assumed-role/([^/]+)/", principal)
    return f"arn:{match[1]}:iam::{match[2]}:role/{match[3]}" if match else principal


def _patch_signature() -> None:
    """moto recomputes some signatures over a differently encoded path (S3 Tables: the table bucket ARN in
    it; Lambda; Arrow's S3 client) and refuses those calls. Signatures are not what these tests prove: the
    check is skipped, while the access key and session token must still exist (else InvalidClientTokenId)."""

    def check(self: Any) -> None:
        return None

    access_control.IAMRequestBase.check_signature = check  # type: ignore[method-assign]


def _log_refusals() -> None:
    """Print each refused action and resource (the server's log explains a test failure)."""
    original = access_control.IAMRequestBase.check_action_permitted

    def check(self: Any, resource: str) -> None:
        try:
            original(self, resource)
        except Exception:
            print(f"REFUSED {self._action} on {resource} for {self._access_key.arn}", file=sys.stderr, flush=True)
            raise

    access_control.IAMRequestBase.check_action_permitted = check  # type: ignore[method-assign]


def _patch_trust() -> None:
    from moto.iam.models import iam_backends
    from moto.iam.utils import format_incoming_conditional_values

    def role_of(self: Any, arn: str) -> Any:
        account = arn.split(":")[4]
        return iam_backends[account][arn.split(":")[1]].get_role_by_arn(arn)

    def is_assuming(self: Any, resource_arn: str) -> bool:
        if (
            ":role" not in resource_arn.lower()
            or self._action not in access_control.REQUIRE_RESOURCE_ACCESS_POLICIES_CHECK  # type: ignore[attr-defined]
        ):
            return False
        try:
            role_of(self, resource_arn)
        except Exception:
            return False
        return True

    def trusted(self: Any, role_arn: str) -> bool:
        role = role_of(self, role_arn)
        policy = access_control.IAMPolicy(role.assume_role_policy_document)
        result = policy.is_action_permitted(
            self._action, role_arn, _role_arn(self._access_key.arn), format_incoming_conditional_values(self._data)
        )
        return bool(result == access_control.PermissionResult.PERMITTED)

    access_control.IAMRequest._is_assuming_role_operation = is_assuming  # type: ignore[method-assign]
    access_control.IAMRequest._check_role_trust_relationship = trusted  # type: ignore[method-assign]

    original_verify = policy_conditions.TrustCondition.verify_condition

    def verify(self: Any, actual_values: list[str]) -> bool:
        if self._condition == "StringEquals" and len(actual_values) < len(self._expected_value_source):
            return False
        return bool(original_verify(self, actual_values))

    policy_conditions.TrustCondition.verify_condition = verify  # type: ignore[method-assign]


def _patch_resources() -> None:
    from moto.dynamodb.responses import DynamoHandler
    from moto.ecs.responses import EC2ContainerServiceResponse
    from moto.s3tables.responses import S3TablesResponse
    from moto.sns.responses import SNSResponse

    def dynamodb_resource(self: Any) -> str:
        body = self.body if isinstance(self.body, dict) else json.loads(self.body or "{}")
        table = body.get("TableName")
        if table is None and body.get("RequestItems"):
            table = next(iter(body["RequestItems"]))
        if table is None and body.get("TransactItems"):
            first = next(iter(body["TransactItems"][0].values()))
            table = first.get("TableName")
        if table is None:
            return "*"
        arn = f"arn:aws:dynamodb:{self.region}:{self.current_account}:table/{table}"
        return f"{arn}/index/{body['IndexName']}" if body.get("IndexName") else arn

    def sns_resource(self: Any) -> str:
        return str(self.querystring.get("TopicArn", ["*"])[0])

    def s3tables_resource(self: Any) -> str:
        parsed = urlparse(self.uri)
        text = unquote(parsed.path) + "?" + unquote(parsed.query)
        bucket = TABLE_BUCKET_ARN.search(text)
        if not bucket:
            return "*"
        rest = text[bucket.end() :].split("?")[0].strip("/").split("/")
        query = parse_qs(parsed.query)
        name = query.get("name", [None])[0]
        if parsed.path.startswith("/tables/") and len(rest) >= 2 and rest[0]:
            name = rest[1]
        return f"{bucket[0]}/table/{name}" if name else bucket[0]

    def ecs_resource(self: Any) -> str:
        if self._get_action() != "RunTask":
            return "*"
        definition = str(json.loads(self.body or "{}").get("taskDefinition", "*"))
        if definition.startswith("arn:"):
            return definition
        family = definition if ":" in definition else f"{definition}:*"
        return f"arn:aws:ecs:{self.region}:{self.current_account}:task-definition/{family}"

    DynamoHandler._determine_resource = dynamodb_resource  # type: ignore[attr-defined]
    SNSResponse._determine_resource = sns_resource  # type: ignore[attr-defined]
    S3TablesResponse._determine_resource = s3tables_resource  # type: ignore[attr-defined]
    EC2ContainerServiceResponse._determine_resource = ecs_resource  # type: ignore[attr-defined]


class _TableDataRequest(access_control.S3IAMRequest):
    """An S3 request to a table's storage, authorized as S3 Tables data access."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._action = "s3tables:GetTableData" if self._method in ("GET", "HEAD") else "s3tables:PutTableData"


def _patch_table_storage() -> None:
    from moto.s3tables.models import s3tables_backends

    original = ActionAuthenticatorMixin._authenticate_and_authorize_s3_action

    def table_of(bucket_name: str) -> str | None:
        for account in list(s3tables_backends):
            for region in list(s3tables_backends[account]):
                backend = s3tables_backends[account][region]
                for table_bucket in backend.table_buckets.values():
                    for namespace in table_bucket.namespaces.values():
                        for table in namespace.tables.values():
                            if table._bucket.name == bucket_name:
                                return str(table.arn)
        return None

    def authorize(self: Any, bucket_name: str | None = None, key_name: str | None = None) -> None:
        if bucket_name and bucket_name.endswith("--table-s3"):
            table = table_of(bucket_name)
            if table:
                self._authenticate_and_authorize_action(_TableDataRequest, table)
                return
        original(self, bucket_name=bucket_name, key_name=key_name)

    ActionAuthenticatorMixin._authenticate_and_authorize_s3_action = authorize  # type: ignore[method-assign]


def main() -> None:
    _patch_action_names()
    _patch_signature()
    _log_refusals()
    _patch_trust()
    _patch_resources()
    _patch_table_storage()
    moto_fast.apply()
    from moto.server import main as serve

    serve(sys.argv[1:])


if __name__ == "__main__":
    main()
