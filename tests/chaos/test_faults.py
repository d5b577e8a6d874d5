"""Each fault, injected by configuration into the real pipeline on the emulator; every store must reach the truth."""

from __future__ import annotations

import json
import os
import threading
import time
from typing import Any

import pytest
from inventory_core import faults

from tests.builders import page, resource
from tests.chaos.conftest import full_only
from tests.chaos.harness import CONSUMERS, OUR_SERVICES, Expectation, Outcome, Pipeline, check, faults_on

pytestmark = pytest.mark.emulator


def arn_account(arn: str) -> str:
    parts = arn.split(":")
    return parts[4] or parts[5].split("-")[-2]  # buckets are named <prefix>bkt-<account>-<n>


def finish(
    pipeline: Pipeline,
    fault: str,
    behaviour: str,
    expected: Expectation,
    started: float,
    injected: dict[str, int] | None = None,
) -> Outcome:
    """Observe every store, compare with the truth, record the outcome for the report, fail on any difference."""
    observed = pipeline.observe()
    lost, false_missing, problems = check(observed, expected)
    outcome = Outcome(
        fault=fault,
        behaviour=behaviour,
        truth=len(expected.active),
        lost=lost,
        false_missing=false_missing,
        converge_s=round(time.monotonic() - started, 1),
        injected=injected or {},
        ok=not problems,
        notes="; ".join(problems),
    )
    outcome.record()
    assert not problems, problems
    # what the bucket's lifecycle rules do between scans in AWS: the raw documents stay, whole
    pipeline.maintain()
    assert pipeline.observe_raw() == (sorted(observed.raw_documents), observed.raw_arns)
    return outcome


def full_truth(pipeline: Pipeline) -> set[str]:
    return pipeline.fleet.arns_of(*pipeline.types)


def everyone(pipeline: Pipeline) -> set[str]:
    return set(pipeline.accounts)


def test_short_several_faults_at_once(pipeline: Pipeline) -> None:
    """The short version ``make test`` runs: throttling, duplicates, reordering and poison, in one scan and drain."""
    # GIVEN 2% of the scanner's and the consumers' AWS calls throttled, every message delivered twice, a fifth of
    # each batch held back, and a poison message on each consumer queue. (The injected share stays the same however
    # slowly a client sends, so botocore's adaptive rate limiter, which slows a client after each throttle, only
    # slowed the drain at 5%: the call took 103 s at 1,012 resources, 45 s at 2%, with throttles still injected.)
    truth = full_truth(pipeline)
    started = time.monotonic()
    sqs = pipeline.stack.clients.client("sqs")
    poison = {c: json.dumps({"event_type": "ResourcesDiscovered", "chaos": c}) for c in CONSUMERS}
    for consumer, body in poison.items():
        sqs.send_message(QueueUrl=pipeline.queue_url(consumer), MessageBody=body)
    throttle = {"share": 0.02, "services": OUR_SERVICES}
    plan = {"seed": 3, "throttle": throttle, "sqs": {"redeliver": True, "hold_share": 0.2}}
    with faults_on(plan):
        # WHEN one scan runs with the consumers polling beside it, and they drain what is left (a late copy of the
        # poison message, handed out after SQS moved it to its DLQ, fails again and is refused its visibility
        # change: logged, nothing else). A failed record comes back after 1, 2, 2, 2, 2 s, so SQS moves a poison
        # message to its DLQ 9 s after its first receive (early scope completions are parked by the projector and
        # the lake writer, so nothing relies on longer steps), mostly while the scan still runs.
        consumers = pipeline.consumers(max_retry_delay_s=2, wait_s=1)
        phase = time.monotonic()
        result = pipeline.scan_while_consuming("chaos-short", consumers)
        phases = {"scan": time.monotonic() - phase}
        phase = time.monotonic()
        pipeline.drain(consumers)
        phases["drain"] = time.monotonic() - phase
        injected = dict(faults.active_plan().injected)  # type: ignore[union-attr]
    # THEN every store equals the fleet and each DLQ holds exactly its poison message
    # (11 throttles of about 550 calls at 1,012 resources; >= 3 fails about once in 1,000 runs by chance, not 1 in 20)
    assert injected.get("throttle", 0) >= 3 and injected.get("redeliver", 0) > 10
    assert {a.status for a in result.accounts} == {"success"}
    expected = Expectation(active=truth, history={"chaos-short": len(truth)}, raw_accounts=everyone(pipeline),
                           dlq={c: [poison[c]] for c in CONSUMERS})  # fmt: skip
    phase = time.monotonic()
    finish(pipeline, "short (make test): 2% of our calls throttled + every message twice + 20% reordered + poison",
           "retries, idempotent consumers, poison to the DLQs", expected, started, injected=injected)  # fmt: skip
    phases["check"] = time.monotonic() - phase
    print(f"short scenario at {len(truth)} resources: " + ", ".join(f"{k} {v:.1f}s" for k, v in phases.items()))


@full_only()
def test_throttled_share_of_every_call(pipeline: Pipeline) -> None:
    # GIVEN 10% of every AWS call (scanner, SNS, SQS, DynamoDB, S3) answered with a throttling error
    truth = full_truth(pipeline)
    started = time.monotonic()
    with faults_on({"seed": 1, "throttle": {"share": 0.10}}):
        # WHEN one scan runs and the consumers drain
        result = pipeline.scan("chaos-throttle")
        pipeline.drain()
        injected = dict(faults.active_plan().injected)  # type: ignore[union-attr]
    # THEN botocore's retries absorb them: every store equals the fleet
    assert injected.get("throttle", 0) > 20
    assert {a.status for a in result.accounts} == {"success"}
    expected = Expectation(active=truth, history={"chaos-throttle": len(truth)}, raw_accounts=everyone(pipeline))
    finish(pipeline, "10% of all AWS calls throttled", "botocore adaptive retries; no scope failed", expected,
           started, injected=injected)  # fmt: skip


@full_only()
def test_assume_role_denied_for_one_account(pipeline: Pipeline) -> None:
    # GIVEN a complete first scan
    truth = full_truth(pipeline)
    pipeline.scan("chaos-deny-1")
    pipeline.drain()
    denied = pipeline.accounts[0]
    started = time.monotonic()
    # WHEN the second scan cannot assume the role in one account
    with faults_on({"deny_assume_role": [denied]}):
        result = pipeline.scan("chaos-deny-2")
        pipeline.drain()
        injected = dict(faults.active_plan().injected)  # type: ignore[union-attr]
    # THEN that account fails, and nothing of it is called missing; the others are rescanned
    statuses = {a.account_id: a.status for a in result.accounts}
    assert statuses[denied] == "failed" and all(s == "success" for a, s in statuses.items() if a != denied)
    others = {a for a in truth if arn_account(a) != denied}
    expected = Expectation(
        active=truth,
        history={"chaos-deny-1": len(truth), "chaos-deny-2": len(others)},
        raw_accounts=everyone(pipeline),
    )
    finish(pipeline, "AssumeRole denied for one account", "account failed, its resources kept active",
           expected, started, injected=injected)  # fmt: skip


@full_only()
def test_every_message_delivered_twice_and_out_of_order(pipeline: Pipeline) -> None:
    # GIVEN SQS handing out every message twice and holding back a third of each batch to deliver later
    truth = full_truth(pipeline)
    started = time.monotonic()
    pipeline.scan("chaos-dup")
    with faults_on({"seed": 2, "sqs": {"redeliver": True, "hold_share": 0.3}}):
        # WHEN the consumers drain
        pipeline.drain()
        injected = dict(faults.active_plan().injected)  # type: ignore[union-attr]
        assert faults.held_messages() == 0
    # THEN duplicates and reordering change nothing
    assert injected["redeliver"] > 10 and injected["hold"] > 3
    expected = Expectation(active=truth, history={"chaos-dup": len(truth)}, raw_accounts=everyone(pipeline))
    finish(pipeline, "every message delivered twice; 30% held back and shuffled",
           "idempotent, order-independent consumers", expected, started, injected=injected)  # fmt: skip


@full_only()
def test_poison_message_in_each_queue_and_a_malformed_resource(pipeline: Pipeline) -> None:
    # GIVEN a scan, a poison message sent to each consumer queue, and a page with one malformed resource published
    truth = full_truth(pipeline)
    started = time.monotonic()
    pipeline.scan("chaos-poison")
    sqs = pipeline.stack.clients.client("sqs")
    poison = {c: json.dumps({"event_type": "ResourcesDiscovered", "chaos": c}) for c in CONSUMERS}
    for consumer, body in poison.items():
        sqs.send_message(QueueUrl=pipeline.queue_url(consumer), MessageBody=body)
    good = page([resource(1)], execution_id="chaos-malformed")
    malformed = json.loads(good.model_dump_json())
    malformed["resources"][0]["account_id"] = "not-an-account"
    sns = pipeline.stack.clients.client("sns")
    sns.publish(
        TopicArn=pipeline.stack.env["EVENTS_TOPIC_ARN"],
        Message=json.dumps(malformed),
        MessageAttributes={"event_type": {"DataType": "String", "StringValue": "ResourcesDiscovered"}},
    )
    # WHEN the consumers drain
    pipeline.drain()
    # THEN each DLQ holds exactly its poison message and the malformed page; everything else landed
    dead = {c: sorted([poison[c], json.dumps(malformed)]) for c in CONSUMERS}
    expected = Expectation(active=truth, history={"chaos-poison": len(truth)}, raw_accounts=everyone(pipeline),
                           dlq=dead)  # fmt: skip
    finish(pipeline, "a poison message in each queue + a page with a malformed resource",
           "failed records to the DLQ after 5 receives, the rest of each batch landed", expected, started)  # fmt: skip


@full_only()
def test_consumer_killed_in_the_middle_of_a_batch(pipeline: Pipeline) -> None:
    # GIVEN consumers that die half-way through their first 3 batches each (half the records applied, none deleted)
    truth = full_truth(pipeline)
    started = time.monotonic()
    pipeline.scan("chaos-kill-consumer")
    consumers = pipeline.consumers()
    kills = {"n": 0}
    for poller in consumers.pollers:
        real = poller._handler
        left = {"n": 3}

        def dying(event: dict[str, Any], context: Any, real: Any = real, left: dict[str, int] = left) -> Any:
            if left["n"] > 0 and len(event["Records"]) > 1:
                left["n"] -= 1
                kills["n"] += 1
                real({"Records": event["Records"][: len(event["Records"]) // 2]}, context)
                raise RuntimeError("chaos: consumer killed mid-batch")
            return real(event, context)

        poller._handler = dying
    # WHEN they restart (the batch comes back after its visibility timeout) and drain
    pipeline.drain(consumers)
    # THEN the half-applied batches are applied again without harm
    assert kills["n"] >= 3
    expected = Expectation(active=truth, history={"chaos-kill-consumer": len(truth)}, raw_accounts=everyone(pipeline))
    finish(pipeline, "consumer killed mid-batch (3 batches each)", "batch redelivered, half-applied writes replayed",
           expected, started, injected={"kills": kills["n"]})  # fmt: skip


@full_only()
def test_scanner_stopped_mid_scan_and_run_again(pipeline: Pipeline) -> None:
    # GIVEN a scan stopped when half of its scopes are done
    truth = full_truth(pipeline)
    started = time.monotonic()
    cancel = threading.Event()
    service_progress: dict[str, int] = {}

    def stop_half_way(progress: Any) -> None:
        service_progress["done"] = progress.scopes_done
        if progress.scopes_total and progress.scopes_done * 2 >= progress.scopes_total:
            cancel.set()

    from inventory_cli.runtime import scan_service
    from inventory_events import ScanRequested

    first = scan_service().scan(
        ScanRequested(execution_id="chaos-stop-1", trigger="cli", requested_by="chaos"),
        progress=stop_half_way,
        cancel=cancel,
    )
    pipeline.drain()
    # WHEN it runs again
    second = pipeline.scan("chaos-stop-2")
    pipeline.drain()
    # THEN the stopped scan called nothing missing and the second completed the stores
    assert any(a.status == "partial" for a in first.accounts) or first.accounts == []
    assert {a.status for a in second.accounts} == {"success"}
    expected = Expectation(active=truth, history={"chaos-stop-2": len(truth)}, raw_accounts=everyone(pipeline))
    finish(pipeline, "scanner stopped mid-scan, run again", "stopped accounts partial; rerun completed",
           expected, started, injected={"scopes_done_at_stop": service_progress.get("done", 0)})  # fmt: skip


@full_only()
def test_s3_unavailable_to_the_consumers_for_a_while(pipeline: Pipeline) -> None:
    # GIVEN the inventory bucket answering 503 for 8 s from the consumers' first call
    truth = full_truth(pipeline)
    started = time.monotonic()
    pipeline.scan("chaos-s3")
    plan = {"unavailable": {"services": ["s3"], "buckets": [pipeline.stack.env["INVENTORY_BUCKET"]], "seconds": 8}}
    with faults_on(plan):
        pipeline.drain()
        injected = dict(faults.active_plan().injected)  # type: ignore[union-attr]
    assert injected.get("unavailable", 0) > 0
    expected = Expectation(active=truth, history={"chaos-s3": len(truth)}, raw_accounts=everyone(pipeline))
    finish(pipeline, "S3 (inventory bucket) unavailable for 8 s", "archiver records retried until S3 returned",
           expected, started, injected=injected)  # fmt: skip


@full_only()
def test_two_of_each_consumer_at_once(pipeline: Pipeline) -> None:
    # GIVEN two lake writers (and two projectors, two archivers) polling the same queues at the same time
    truth = full_truth(pipeline)
    started = time.monotonic()
    pipeline.scan("chaos-two-writers")
    stop = threading.Event()
    threads = [t for c in (pipeline.consumers(), pipeline.consumers()) for t in c.start(stop)]
    probe = pipeline.consumers()
    deadline = time.monotonic() + 600
    quiet = 0
    while quiet < 3 and time.monotonic() < deadline:
        time.sleep(1)
        quiet = quiet + 1 if all(p.backlog() == 0 for p in probe.pollers) else 0
    stop.set()
    for t in threads:
        t.join(timeout=30)
    expected = Expectation(active=truth, history={"chaos-two-writers": len(truth)}, raw_accounts=everyone(pipeline))
    finish(pipeline, "two of each consumer (two lake writers committing at once)",
           "Iceberg commit conflicts retried; conditional writes elsewhere", expected, started)  # fmt: skip


@full_only()
def test_endpoint_refuses_connections_for_10_s_mid_scan(pipeline: Pipeline) -> None:
    # GIVEN the endpoint refusing every connection for 10 s, starting 40 calls into the scan (a scan of the 1,012
    # resources makes fewer than 150 calls: at 150 the outage fell after the scan, into the drain, where the local
    # SQS poller, standing in for Lambda's event source mapping that retries, gave up after botocore's 9 attempts:
    # make chaos, 2026-11-30). The consumers drain after the outage.
    truth = full_truth(pipeline)
    started = time.monotonic()
    with faults_on({"outage": {"after_calls": 40, "seconds": 10}}):
        try:
            result = pipeline.scan("chaos-outage")
        except Exception as exc:
            # recorded for the report as it is: the scan itself died (not the convergence after it)
            Outcome(
                fault="endpoint refuses connections for 10 s mid-scan",
                behaviour=f"the scan died: {type(exc).__name__}: {str(exc)[:120]}",
                truth=len(truth),
                lost=-1,
                false_missing=-1,
                converge_s=round(time.monotonic() - started, 1),
                injected=dict(faults.active_plan().injected),  # type: ignore[union-attr]
                ok=False,
                notes="the scan raised instead of completing with failed scopes",
            ).record()
            raise
        injected = dict(faults.active_plan().injected)  # type: ignore[union-attr]
    pipeline.drain()
    statuses = {a.account_id: a.status for a in result.accounts}
    assert injected.get("outage", 0) > 0
    if set(statuses.values()) != {"success"}:
        # A scope that gave up is retried by the next scan, as the schedule would.
        pipeline.scan("chaos-outage-2")
        pipeline.drain()
        history = {"chaos-outage-2": len(truth)}
    else:
        history = {"chaos-outage": len(truth)}
    expected = Expectation(active=truth, history=history, raw_accounts=everyone(pipeline))
    finish(pipeline, "endpoint refuses connections for 10 s mid-scan",
           f"scan accounts {sorted(set(statuses.values()))}; retries, then the next scan if a scope gave up",
           expected, started, injected=injected)  # fmt: skip


@full_only()
def test_scanner_killed_with_sigkill_and_run_again(pipeline: Pipeline) -> None:
    # GIVEN a scanner process (python -m scanner --once) killed with SIGKILL once it has published pages
    import signal
    import subprocess
    import sys

    truth = full_truth(pipeline)
    started = time.monotonic()
    # LOCK_TTL_S=60: a live scan renews its account locks every 20 s; a killed one frees them a minute later
    env = {**os.environ, "EXECUTION_ID": "chaos-sigkill-1", "LOCK_TTL_S": "60"}
    process = subprocess.Popen([sys.executable, "-m", "scanner", "--once"], env=env)
    sqs = pipeline.stack.clients.client("sqs")
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and process.poll() is None:
        attrs = sqs.get_queue_attributes(
            QueueUrl=pipeline.queue_url("archiver"), AttributeNames=["ApproximateNumberOfMessages"]
        )["Attributes"]
        if int(attrs["ApproximateNumberOfMessages"]) >= 2:
            break
        time.sleep(0.2)
    killed = process.poll() is None
    process.send_signal(signal.SIGKILL)
    process.wait(30)
    killed_at = time.monotonic()
    assert killed, "the scanner finished before it could be killed"
    pipeline.drain()
    # WHEN the scan runs again once the dead scanner's locks have expired (no heartbeat renews them any more)
    time.sleep(max(0.0, 62 - (time.monotonic() - killed_at)))
    second = pipeline.scan("chaos-sigkill-2")
    pipeline.drain()
    # THEN every account is scanned (none skipped behind the dead scanner's lock) and the stores equal the fleet
    if second.skipped:
        Outcome(
            fault="scanner killed (SIGKILL) mid-scan, run again after its lock expired",
            behaviour=f"rerun skipped {len(second.skipped)} of {len(pipeline.accounts)} accounts: "
            f"{second.skipped[0].reason}",
            truth=len(truth),
            lost=0,
            false_missing=0,
            converge_s=round(time.monotonic() - started, 1),
            ok=False,
            notes="the dead scanner's account locks outlived LOCK_TTL_S",
        ).record()
    assert second.skipped == [], f"accounts skipped behind the killed scanner's lock: {second.skipped}"
    assert {a.account_id: a.status for a in second.accounts} == dict.fromkeys(pipeline.accounts, "success")
    expected = Expectation(active=truth, history={"chaos-sigkill-2": len(truth)}, raw_accounts=everyone(pipeline))
    finish(pipeline, "scanner killed (SIGKILL) mid-scan, run again", "rerun", expected, started)
