"""Fault injection by configuration, for the chaos harness (``tests/chaos``); off unless ``INVENTORY_FAULTS`` is set.

:func:`install` is called by :class:`inventory_core.aws.AwsClientFactory` on every client it builds. With
``INVENTORY_FAULTS`` unset it does nothing. Otherwise it registers botocore hooks that answer some requests
with a real HTTP error (or a refused connection) before they are sent, so botocore's own retries and then the
services' own retries run exactly as they would against AWS; everything that passes reaches the emulator.

``INVENTORY_FAULTS`` is a JSON object; every key is optional::

    {
      "seed": 7,
      "throttle": {"share": 0.1, "services": ["ec2"], "operations": ["DescribeInstances"]},
      "deny_assume_role": ["222222222222"],
      "unavailable": {"services": ["s3"], "operations": ["PutObject"], "buckets": ["b"], "seconds": 5},
      "outage": {"after_calls": 200, "seconds": 10},
      "sqs": {"redeliver": true, "hold_share": 0.3}
    }

- ``throttle``: that share of matching calls gets ``ThrottlingException`` / ``RequestLimitExceeded`` (HTTP 400).
- ``deny_assume_role``: ``sts:AssumeRole`` into a role of these accounts gets ``AccessDenied`` (HTTP 403).
- ``unavailable``: matching calls get ``503 ServiceUnavailable`` for ``seconds`` from the first matching call.
- ``outage``: after ``after_calls`` calls of any service, every call fails to connect (``EndpointConnectionError``,
  what botocore raises when the endpoint refuses connections) for ``seconds``.
- ``sqs.redeliver``: every message a ReceiveMessage hands out is handed out once more by a later ReceiveMessage
  (standard SQS's at-least-once delivery); ``sqs.hold_share``: that share of each batch is held back and handed
  out later, in random order (standard SQS's best-effort order).
"""

from __future__ import annotations

import json
import os
import random
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from botocore.awsrequest import AWSResponse, HTTPHeaders
from botocore.exceptions import EndpointConnectionError

ENV_VAR = "INVENTORY_FAULTS"
_KNOWN = {"seed", "throttle", "deny_assume_role", "unavailable", "outage", "sqs"}
_QUERY_PROTOCOLS = ("query", "ec2", "rest-xml")


class FaultConfigError(ValueError):
    """``INVENTORY_FAULTS`` is not a valid fault plan."""


class _Body:
    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Any:
        yield self._body


@dataclass
class FaultPlan:
    """A parsed ``INVENTORY_FAULTS``, with the shared state of its time windows and counters."""

    raw: Mapping[str, Any]
    rng: random.Random
    lock: threading.Lock = field(default_factory=threading.Lock)
    calls: int = 0
    unavailable_since: float | None = None
    outage_since: float | None = None
    held: dict[str, list[tuple[int, dict[str, Any]]]] = field(default_factory=dict)
    generations: dict[str, int] = field(default_factory=dict)
    injected: dict[str, int] = field(default_factory=dict)

    def count(self, kind: str) -> None:
        """Count one injected fault of ``kind``."""
        self.injected[kind] = self.injected.get(kind, 0) + 1


_PLANS: dict[str, FaultPlan] = {}
_PLANS_LOCK = threading.Lock()


def parse(text: str) -> FaultPlan:
    """Parse a fault plan; unknown keys and wrong shapes are refused naming the key."""
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise FaultConfigError(f"{ENV_VAR} is not JSON: {exc}") from exc
    if not isinstance(raw, dict):
        raise FaultConfigError(f"{ENV_VAR} must be a JSON object")
    unknown = set(raw) - _KNOWN
    if unknown:
        raise FaultConfigError(f"{ENV_VAR}: unknown fault(s) {sorted(unknown)}; known: {sorted(_KNOWN)}")
    for key in ("throttle", "unavailable", "outage", "sqs"):
        if key in raw and not isinstance(raw[key], dict):
            raise FaultConfigError(f"{ENV_VAR}: {key!r} must be an object")
    share = raw.get("throttle", {}).get("share", 0.0)
    if not isinstance(share, int | float) or not 0 <= share <= 1:
        raise FaultConfigError(f"{ENV_VAR}: throttle.share must be a number in [0, 1]")
    if not isinstance(raw.get("deny_assume_role", []), list):
        raise FaultConfigError(f"{ENV_VAR}: 'deny_assume_role' must be a list of account ids")
    return FaultPlan(raw=raw, rng=random.Random(raw.get("seed")))


def active_plan() -> FaultPlan | None:
    """The plan of the current ``INVENTORY_FAULTS`` (one shared state per distinct value), or None."""
    text = os.environ.get(ENV_VAR)
    if not text:
        return None
    with _PLANS_LOCK:
        plan = _PLANS.get(text)
        if plan is None:
            plan = _PLANS[text] = parse(text)
        return plan


def reset() -> None:
    """Forget the state of every plan (time windows, held messages, counters)."""
    with _PLANS_LOCK:
        _PLANS.clear()


def install(client: Any) -> None:
    """Register the active plan's hooks on a botocore client; a no-op when ``INVENTORY_FAULTS`` is unset."""
    plan = active_plan()
    if plan is None:
        return
    service_id = client.meta.service_model.service_id.hyphenize()
    protocol = client.meta.service_model.protocol
    client.meta.events.register(f"before-send.{service_id}", _before_send(plan, service_id, protocol))
    if service_id == "sqs" and plan.raw.get("sqs"):
        client.meta.events.register("before-parameter-build.sqs.ReceiveMessage", _remember_queue)
        client.meta.events.register("after-call.sqs.ReceiveMessage", _after_receive(plan))


def _matches(rule: Mapping[str, Any], service_id: str, operation: str) -> bool:
    services = rule.get("services")
    operations = rule.get("operations")
    return (not services or service_id in services) and (not operations or operation in operations)


def _error(protocol: str, url: str, status: int, code: str, message: str) -> AWSResponse:
    if protocol in _QUERY_PROTOCOLS:
        body = (
            f"<ErrorResponse><Error><Code>{code}</Code><Message>{message}</Message></Error>"
            f"<Errors><Error><Code>{code}</Code><Message>{message}</Message></Error></Errors>"
            "<RequestId>chaos</RequestId></ErrorResponse>"
        ).encode()
        headers = {"Content-Type": "text/xml"}
    else:
        body = json.dumps({"__type": code, "message": message}).encode()
        headers = {"Content-Type": "application/x-amz-json-1.0"}
    http_headers = HTTPHeaders()
    for name, value in headers.items():
        http_headers[name] = value
    return AWSResponse(url, status, http_headers, _Body(body))


def _operation(request: Any) -> str:
    context = getattr(request, "context", {}) or {}
    name = context.get("operation_name")
    if name:
        return str(name)
    target = request.headers.get("X-Amz-Target", b"")
    if isinstance(target, bytes):
        target = target.decode()
    return str(target).rsplit(".", 1)[-1]


def _outage(plan: FaultPlan, request: Any, now: float) -> None:
    outage = plan.raw.get("outage")
    if not outage or plan.calls <= int(outage.get("after_calls", 0)):
        return
    if plan.outage_since is None:
        plan.outage_since = now
    if now - plan.outage_since < float(outage.get("seconds", 10)):
        plan.count("outage")
        raise EndpointConnectionError(endpoint_url=request.url)


def _unavailable(plan: FaultPlan, service_id: str, operation: str, request: Any, now: float) -> bool:
    rule = plan.raw.get("unavailable")
    if not rule or not _matches(rule, service_id, operation):
        return False
    buckets = rule.get("buckets")
    url = unquote(request.url)
    if buckets and not any(f"/{b}" in url or f"//{b}." in url for b in buckets):
        return False
    if plan.unavailable_since is None:
        plan.unavailable_since = now
    return now - plan.unavailable_since < float(rule.get("seconds", 5))


def _denied(plan: FaultPlan, service_id: str, operation: str, request: Any) -> bool:
    denied = plan.raw.get("deny_assume_role") or []
    if service_id != "sts" or operation != "AssumeRole" or not denied:
        return False
    body = unquote(request.body.decode() if isinstance(request.body, bytes) else str(request.body or ""))
    return any(f":{account}:role" in body for account in denied)


def _before_send(plan: FaultPlan, service_id: str, protocol: str) -> Any:
    def handler(request: Any, event_name: str = "", **_: Any) -> AWSResponse | None:
        if active_plan() is not plan:
            return None  # the plan was switched off (or changed) after this client was built
        operation = event_name.rsplit(".", 1)[-1] if event_name.count(".") >= 2 else _operation(request)
        now = time.monotonic()
        with plan.lock:
            plan.calls += 1
            _outage(plan, request, now)
            if _unavailable(plan, service_id, operation, request, now):
                plan.count("unavailable")
                return _error(protocol, request.url, 503, "ServiceUnavailable", "chaos: unavailable")
            if _denied(plan, service_id, operation, request):
                plan.count("deny_assume_role")
                return _error(protocol, request.url, 403, "AccessDenied", "chaos: not authorized to assume")
            throttle = plan.raw.get("throttle")
            if (
                throttle
                and _matches(throttle, service_id, operation)
                and plan.rng.random() < float(throttle.get("share", 0.0))
            ):
                plan.count("throttle")
                code = "RequestLimitExceeded" if protocol == "ec2" else "ThrottlingException"
                return _error(protocol, request.url, 400, code, "chaos: rate exceeded")
        return None

    return handler


def _remember_queue(params: Mapping[str, Any], context: dict[str, Any], **_: Any) -> None:
    context["chaos_queue_url"] = params.get("QueueUrl", "")


def _after_receive(plan: FaultPlan) -> Any:
    options = plan.raw["sqs"]

    def handler(parsed: dict[str, Any], context: Mapping[str, Any] | None = None, **_: Any) -> None:
        queue = str((context or {}).get("chaos_queue_url", ""))
        if active_plan() is not plan:
            return
        with plan.lock:
            got = list(parsed.get("Messages", []))
            # A poller gathers a batch over several receives until one returns fewer than 10; a message held
            # back is handed out only in a later gather, so a copy never shares a batch with its original.
            generation = plan.generations.get(queue, 0)
            held = plan.held.pop(queue, [])
            earlier = [m for g, m in held if g < generation]
            still = [(g, m) for g, m in held if g >= generation]
            keep: list[dict[str, Any]] = []
            share = float(options.get("hold_share", 0.0))
            for message in got:
                if options.get("redeliver"):
                    # One gather after a held original, so the two never share a batch either.
                    still.append((generation + 1, dict(message)))
                    plan.count("redeliver")
                if share and plan.rng.random() < share:
                    still.append((generation, message))
                    plan.count("hold")
                else:
                    keep.append(message)
            plan.rng.shuffle(earlier)
            if still:
                plan.held[queue] = still
            if len(got) < 10:
                plan.generations[queue] = generation + 1
            parsed["Messages"] = keep + earlier

    return handler


def held_messages() -> int:
    """Messages the active plan still holds back (0 without a plan)."""
    plan = active_plan()
    if plan is None:
        return 0
    with plan.lock:
        return sum(len(v) for v in plan.held.values())
