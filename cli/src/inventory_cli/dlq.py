"""`inventory dlq list | show | redrive`: what landed in the dead-letter queues, and putting it back.

Redrive uses SQS StartMessageMoveTask where the endpoint supports it; otherwise (moto, or a refused
task) it moves message by message: a copy is sent to the source queue first and the dead letter is
deleted only once SQS accepted that copy, so a crash can duplicate a message (every consumer is
idempotent) but never lose one. Every redrive, dry runs included, is written to the audit table.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import typer
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from inventory_core.audit import audit_item, put_audit_item
from inventory_core.aws import AwsClientFactory, endpoint_url
from inventory_events import (
    AccountScanCompleted,
    ResourcesDiscovered,
    ScanRequested,
    Scope,
    ScopeCompleted,
    parse_event,
)
from pydantic import ValidationError

QUEUES = ("scan-requests", "ddb-projector", "lake-writer", "archiver")
#: Consumer queue -> its Lambda function's purpose (log group /aws/lambda/{stage-}inventory-{purpose}).
CONSUMERS = ("ddb-projector", "lake-writer", "archiver")
# SQS message attributes the copy keeps; the rest (receive count, timestamps) are SQS's own.
_MOVE_UNSUPPORTED = frozenset(
    {"500", "UnsupportedOperation", "InvalidAction", "AWS.SimpleQueueService.UnsupportedOperation"}
)


class DeadLetterError(RuntimeError):
    """A queue or its DLQ cannot be found or read; the message says which."""


@dataclass(frozen=True)
class DeadLetterQueue:
    name: str
    source_url: str
    source_arn: str
    dlq_url: str
    dlq_arn: str
    max_receive_count: int


@dataclass(frozen=True)
class Sample:
    message_id: str
    receive_count: int
    sent_at: str | None
    event_type: str
    execution_id: str | None = None
    account_id: str | None = None
    region: str | None = None
    resource_type: str | None = None
    detail: str | None = None
    last_error: str | None = None


@dataclass
class RedriveResult:
    queue: str
    method: str  # "move-task", "message-by-message" or "dry-run"
    found: int
    moved: int = 0
    failed: int = 0
    task_handle: str | None = None
    errors: list[str] = field(default_factory=list)


def _arn_name(arn: str) -> tuple[str, str]:
    parts = arn.split(":")
    return parts[4], parts[5]


def decode(body: str) -> dict[str, Any]:
    """The fields an operator needs from a message body, whatever state it is in."""
    try:
        event = parse_event(body)
    except (ValidationError, ValueError, TypeError) as exc:
        try:
            raw = json.loads(body)
        except ValueError:
            return {"event_type": "(not JSON)", "detail": body[:200]}
        reason = exc.errors()[0]["msg"] if isinstance(exc, ValidationError) else str(exc)
        fields = raw if isinstance(raw, dict) else {}
        return {
            "event_type": f"{fields.get('event_type', '(unknown)')} (invalid)",
            "execution_id": fields.get("execution_id"),
            "detail": f"does not parse: {reason}"[:300],
        }
    out: dict[str, Any] = {"event_type": event.event_type, "execution_id": event.execution_id}
    match event:
        case ResourcesDiscovered():
            out.update(scope_fields(event.scope), detail=f"page {event.page}, {len(event.resources)} resources")
        case ScopeCompleted():
            out.update(scope_fields(event.scope), detail=f"status {event.status}, {event.page_count} pages")
        case AccountScanCompleted():
            out.update(account_id=event.account_id, detail=f"status {event.status}")
        case ScanRequested():
            out["detail"] = f"accounts {event.account_ids or 'all'}, trigger {event.trigger}"
        case _:
            pass
    return out


def scope_fields(scope: Scope) -> dict[str, str]:
    return {"account_id": scope.account_id, "region": scope.region, "resource_type": scope.resource_type}


class CloudWatchLastErrors:
    """The newest consumer log line that names a message id (Lambda log group of the queue's consumer)."""

    def __init__(self, logs: Any, *, prefix: str = "", days: int = 14) -> None:
        self._logs = logs
        self._prefix = prefix
        self._days = days

    def __call__(self, queue: str, message_id: str) -> str | None:
        if queue not in CONSUMERS:
            return None
        start = int((datetime.now(UTC) - timedelta(days=self._days)).timestamp() * 1000)
        try:
            events = self._logs.filter_log_events(
                logGroupName=f"/aws/lambda/{self._prefix}inventory-{queue}",
                filterPattern=f'"{message_id}"',
                startTime=start,
                limit=50,
            ).get("events", [])
        except (ClientError, BotoCoreError):
            return None  # no such log group (local runs) or no permission: not known
        if not events:
            return None
        line = str(max(events, key=lambda e: e.get("timestamp", 0)).get("message", "")).strip()
        try:
            record = json.loads(line)
        except ValueError:
            return line[:300]
        if not isinstance(record, dict):
            return line[:300]
        cause = str(record.get("exception") or record.get("error") or "").strip().splitlines()
        text = str(record.get("message") or "")
        if cause:
            text = f"{text}: {cause[-1]}" if text else cause[-1]  # the exception's own line, not the traceback
        return (text or line)[:300]


class DeadLetters:
    def __init__(
        self,
        sqs: Any,
        *,
        move_sqs: Any | None = None,
        last_error: Callable[[str, str], str | None] = lambda _q, _m: None,
        audit: Callable[[str, dict[str, Any], str], None] = lambda _a, _p, _o: None,
        environ: dict[str, str] | None = None,
    ) -> None:
        self._sqs = sqs
        self._move_sqs = move_sqs or sqs
        self._last_error = last_error
        self._audit = audit
        self._env = environ if environ is not None else dict(os.environ)

    def queues(self, names: Sequence[str] | None = None) -> list[DeadLetterQueue]:
        wanted = list(names) if names else list(QUEUES)
        unknown = [n for n in wanted if n not in QUEUES]
        if unknown:
            raise DeadLetterError(f"unknown queue {', '.join(unknown)}: choose from {', '.join(QUEUES)}")
        found = []
        for name in wanted:
            url = self._env.get(f"{name.upper().replace('-', '_')}_QUEUE_URL")
            if not url:
                raise DeadLetterError(f"{name}: {name.upper().replace('-', '_')}_QUEUE_URL is not set")
            try:
                attrs = self._sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn", "RedrivePolicy"])[
                    "Attributes"
                ]
                policy = json.loads(attrs["RedrivePolicy"])
                account, dlq_name = _arn_name(policy["deadLetterTargetArn"])
                dlq_url = self._sqs.get_queue_url(QueueName=dlq_name, QueueOwnerAWSAccountId=account)["QueueUrl"]
            except (ClientError, BotoCoreError, KeyError, ValueError) as exc:
                raise DeadLetterError(f"{name}: cannot read the queue or its redrive policy: {exc}") from exc
            found.append(
                DeadLetterQueue(
                    name=name,
                    source_url=url,
                    source_arn=attrs["QueueArn"],
                    dlq_url=dlq_url,
                    dlq_arn=policy["deadLetterTargetArn"],
                    max_receive_count=int(policy.get("maxReceiveCount", 0)),
                )
            )
        return found

    def count(self, queue: DeadLetterQueue) -> tuple[int, int]:
        """(visible, in flight) messages of the DLQ, as SQS approximates them."""
        attrs = self._sqs.get_queue_attributes(
            QueueUrl=queue.dlq_url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return int(attrs["ApproximateNumberOfMessages"]), int(attrs["ApproximateNumberOfMessagesNotVisible"])

    def _receive(self, url: str, visibility_s: int, wait_s: int = 0) -> list[dict[str, Any]]:
        messages: list[dict[str, Any]] = self._sqs.receive_message(
            QueueUrl=url,
            MaxNumberOfMessages=10,
            VisibilityTimeout=visibility_s,
            WaitTimeSeconds=wait_s,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        return messages

    def peek(self, queue: DeadLetterQueue, limit: int = 10) -> list[Sample]:
        """Decode up to ``limit`` dead letters and make them visible again (a look counts as a receive)."""
        seen: dict[str, dict[str, Any]] = {}
        held: list[dict[str, Any]] = []
        try:
            for _ in range(max(1, limit // 10 + 2)):
                got = self._receive(queue.dlq_url, visibility_s=30)
                if not got:
                    break
                held += got
                for m in got:
                    seen.setdefault(m["MessageId"], m)
                if len(seen) >= limit:
                    break
        finally:
            self._release(queue.dlq_url, held)
        return [self._sample(queue, m) for m in list(seen.values())[:limit]]

    def _release(self, url: str, messages: Iterable[dict[str, Any]]) -> None:
        batch = list(messages)
        for start in range(0, len(batch), 10):
            entries = [
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"], "VisibilityTimeout": 0}
                for i, m in enumerate(batch[start : start + 10])
            ]
            self._sqs.change_message_visibility_batch(QueueUrl=url, Entries=entries)

    def _sample(self, queue: DeadLetterQueue, message: dict[str, Any]) -> Sample:
        attrs = message.get("Attributes", {})
        sent = attrs.get("SentTimestamp")
        fields = decode(message.get("Body", ""))
        return Sample(
            message_id=message["MessageId"],
            receive_count=int(attrs.get("ApproximateReceiveCount", 0)),
            sent_at=datetime.fromtimestamp(int(sent) / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if sent else None,
            last_error=self._last_error(queue.name, message["MessageId"]),
            **fields,
        )

    def redrive(self, queue: DeadLetterQueue, *, dry_run: bool = False) -> RedriveResult:
        visible, in_flight = self.count(queue)
        found = visible + in_flight
        if dry_run:
            result = RedriveResult(queue=queue.name, method="dry-run", found=found)
        elif found == 0:
            result = RedriveResult(queue=queue.name, method="none", found=0)
        else:
            result = self._move_task(queue, found) or self._one_by_one(queue, found)
        self._audit(
            "dlq.redrive",
            {
                "queue": queue.name,
                "dlq": queue.dlq_arn,
                "method": result.method,
                "found": result.found,
                "moved": result.moved,
                "failed": result.failed,
                "dryRun": dry_run,
                **({"taskHandle": result.task_handle} if result.task_handle else {}),
            },
            "success" if not result.failed else "partial",
        )
        return result

    def _move_task(self, queue: DeadLetterQueue, found: int) -> RedriveResult | None:
        """SQS moves the messages itself (and keeps their attributes); None where the endpoint cannot."""
        try:
            handle = self._move_sqs.start_message_move_task(SourceArn=queue.dlq_arn, DestinationArn=queue.source_arn)[
                "TaskHandle"
            ]
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code"))
            if code in _MOVE_UNSUPPORTED or code.startswith("5"):
                return None
            raise DeadLetterError(f"{queue.name}: StartMessageMoveTask refused: {exc}") from exc
        except BotoCoreError:
            return None
        return RedriveResult(queue=queue.name, method="move-task", found=found, moved=found, task_handle=handle)

    def _one_by_one(self, queue: DeadLetterQueue, found: int, *, deadline_s: float = 600.0) -> RedriveResult:
        result = RedriveResult(queue=queue.name, method="message-by-message", found=found)
        ends = time.monotonic() + deadline_s
        empty_rounds = 0
        while result.moved < found and empty_rounds < 2 and time.monotonic() < ends:
            messages = self._receive(queue.dlq_url, visibility_s=120, wait_s=1)
            if not messages:
                empty_rounds += 1
                continue
            empty_rounds = 0
            sent = self._send_copies(queue, messages, result)
            if sent:
                deleted = self._sqs.delete_message_batch(
                    QueueUrl=queue.dlq_url,
                    Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(sent)],
                )
                for failure in deleted.get("Failed", []):
                    # the copy is in the source queue already: a duplicate at worst, never a loss
                    result.errors.append(f"delete {failure.get('Code')}: {failure.get('Message')}")
                result.moved += len(sent)
        return result

    def _send_copies(
        self, queue: DeadLetterQueue, messages: list[dict[str, Any]], result: RedriveResult
    ) -> list[dict[str, Any]]:
        entries = []
        for i, m in enumerate(messages):
            entry: dict[str, Any] = {"Id": str(i), "MessageBody": m["Body"]}
            if m.get("MessageAttributes"):
                entry["MessageAttributes"] = m["MessageAttributes"]
            entries.append(entry)
        try:
            response = self._sqs.send_message_batch(QueueUrl=queue.source_url, Entries=entries)
        except (ClientError, BotoCoreError) as exc:
            result.failed += len(messages)
            result.errors.append(f"send: {exc}")
            return []  # nothing sent: the dead letters stay (visible again after the timeout)
        ok = {s["Id"] for s in response.get("Successful", [])}
        for failure in response.get("Failed", []):
            result.failed += 1
            result.errors.append(f"send {failure.get('Code')}: {failure.get('Message')}")
        return [m for i, m in enumerate(messages) if str(i) in ok]


# --- command line ---------------------------------------------------------------------------------------------

dlq_app = typer.Typer(help="Dead-letter queues: counts, decoded samples, redrive.", no_args_is_help=True)

#: Set by main: resolves and prints the target, returns the caller's identity ARN.
prepare: Callable[[], str] = lambda: "cli"  # noqa: E731

QueueOption = Annotated[
    list[str] | None, typer.Option("--queue", help=f"One of {', '.join(QUEUES)} (repeatable); default: all.")
]


def build(identity: str) -> DeadLetters:
    region = os.environ.get("AWS_DEFAULT_REGION") or os.environ.get("AWS_REGION") or "us-east-1"
    clients = AwsClientFactory(region)
    stage = os.environ.get("INVENTORY_STAGE", "").strip()
    # one attempt: an endpoint without StartMessageMoveTask answers 500, which botocore would retry for long
    move_sqs = clients.session.client(
        "sqs",
        region_name=region,
        endpoint_url=endpoint_url("sqs"),
        config=Config(retries={"mode": "standard", "max_attempts": 1}),
    )
    audit_table = clients.dynamodb_table(os.environ["AUDIT_TABLE_NAME"]) if os.environ.get("AUDIT_TABLE_NAME") else None
    request_id = f"cli-{uuid.uuid4().hex}"

    def audit(action: str, parameters: dict[str, Any], outcome: str) -> None:
        if audit_table is None:
            typer.echo("warning: AUDIT_TABLE_NAME is not set; this redrive is not audited", err=True)
            return
        put_audit_item(
            audit_table,
            audit_item(
                at=datetime.now(UTC),
                actor=identity,
                role="admin",
                action=action,
                parameters=parameters,
                outcome=outcome,
                request_id=request_id,
            ),
        )

    return DeadLetters(
        clients.client("sqs"),
        move_sqs=move_sqs,
        last_error=CloudWatchLastErrors(clients.client("logs"), prefix=f"{stage}-" if stage else ""),
        audit=audit,
    )


def _queues(names: list[str] | None) -> tuple[DeadLetters, list[DeadLetterQueue]]:
    identity = prepare()
    letters = build(identity)
    try:
        return letters, letters.queues(names)
    except DeadLetterError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None


@dlq_app.command("list")
def dlq_list(queue: QueueOption = None) -> None:
    """Messages waiting in each dead-letter queue."""
    letters, queues = _queues(queue)
    typer.echo(f"{'QUEUE':15} {'DEAD LETTERS':>12} {'IN FLIGHT':>9}  DLQ")
    for q in queues:
        visible, in_flight = letters.count(q)
        typer.echo(f"{q.name:15} {visible:>12} {in_flight:>9}  {q.dlq_arn.rsplit(':', 1)[-1]}")


@dlq_app.command("show")
def dlq_show(
    queue: QueueOption = None,
    limit: Annotated[int, typer.Option(min=1, max=100, help="Samples per queue.")] = 10,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Decode sample dead letters: event, execution, account, region, type, receive count, last error."""
    letters, queues = _queues(queue)
    out: list[dict[str, Any]] = []
    for q in queues:
        for sample in letters.peek(q, limit):
            out.append({"queue": q.name, **sample.__dict__})
    if as_json:
        typer.echo(json.dumps(out, indent=2))
        return
    if not out:
        typer.echo("no dead letters")
    for s in out:
        typer.echo(
            f"{s['queue']}  {s['message_id']}  {s['event_type']}  execution {s['execution_id'] or '-'}  "
            f"account {s['account_id'] or '-'}  region {s['region'] or '-'}  type {s['resource_type'] or '-'}  "
            f"received {s['receive_count']}x  sent {s['sent_at'] or '-'}"
        )
        if s["detail"]:
            typer.echo(f"    {s['detail']}")
        typer.echo(f"    last error: {s['last_error'] or 'not known (no consumer log line names this message)'}")


@dlq_app.command("redrive")
def dlq_redrive(
    queue: QueueOption = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Count what would move; move nothing.")] = False,
) -> None:
    """Put the dead letters back on their source queue (after fixing what made them fail)."""
    letters, queues = _queues(queue)
    failed = False
    for q in queues:
        try:
            result = letters.redrive(q, dry_run=dry_run)
        except (DeadLetterError, ClientError, BotoCoreError) as exc:
            typer.echo(f"{q.name}: redrive failed: {exc}", err=True)
            failed = True
            continue
        if result.method == "dry-run":
            typer.echo(f"{q.name}: {result.found} dead letters would move back to {q.source_arn.rsplit(':', 1)[-1]}")
        elif result.method == "move-task":
            typer.echo(f"{q.name}: StartMessageMoveTask {result.task_handle} moving {result.found} messages")
        else:
            typer.echo(f"{q.name}: moved {result.moved} of {result.found} ({result.method}), {result.failed} failed")
        for error in result.errors[:5]:
            typer.echo(f"    {error}", err=True)
        failed = failed or bool(result.failed)
    if failed:
        raise typer.Exit(1)
