from __future__ import annotations

import json
import logging
import subprocess
import sys
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from inventory_core.items import scan_status_key
from inventory_core.timefmt import iso, parse_iso
from inventory_events import AccountSummary, ScanRequested, Shard, SkippedAccount

from scanner.ports import ShardTotals

logger = logging.getLogger(__name__)


class ShardFailedError(RuntimeError):
    """A shard task exited with an error."""


class DynamoDbShardCoordinator:
    """Shard results on the execution's STATUS item; a string set of finished shard indexes makes retries idempotent."""

    def __init__(self, table: Any) -> None:
        self._table = table

    def planned(self, execution_id: str, shard_count: int, at: datetime) -> None:
        self._table.update_item(
            Key=scan_status_key(execution_id),
            UpdateExpression="SET shardCount = :n, shardsPlannedAt = if_not_exists(shardsPlannedAt, :at)",
            ExpressionAttributeValues={":n": shard_count, ":at": iso(at)},
        )

    def shard_finished(
        self,
        execution_id: str,
        shard: Shard,
        accounts: Sequence[AccountSummary],
        skipped: Sequence[SkippedAccount],
    ) -> ShardTotals | None:
        document = json.dumps(
            {"accounts": [a.model_dump() for a in accounts], "skipped": [s.model_dump() for s in skipped]}
        )
        item = self._table.update_item(
            Key=scan_status_key(execution_id),
            UpdateExpression="SET #doc = :doc, shardCount = if_not_exists(shardCount, :count) ADD shardsFinished :me",
            ExpressionAttributeNames={"#doc": f"shard{shard.index}"},
            ExpressionAttributeValues={":doc": document, ":count": shard.count, ":me": {str(shard.index)}},
            ReturnValues="ALL_NEW",
        )["Attributes"]
        if len(item.get("shardsFinished", set())) < int(item["shardCount"]):
            return None
        all_accounts: list[AccountSummary] = []
        all_skipped: list[SkippedAccount] = []
        for index in range(int(item["shardCount"])):
            part = json.loads(item[f"shard{index}"])
            all_accounts += [AccountSummary.model_validate(a) for a in part["accounts"]]
            all_skipped += [SkippedAccount.model_validate(s) for s in part["skipped"]]
        planned = item.get("shardsPlannedAt")
        return ShardTotals(all_accounts, all_skipped, parse_iso(planned) if planned else None)


class ProcessShardLauncher:
    """Runs each shard as ``python -m scanner --request JSON`` (the local stand-in for one Fargate task per shard).

    Waits for every shard, at most ``parallel`` at a time, so the worker keeps its message invisible until
    the whole execution has run.
    """

    def __init__(self, *, parallel: int = 2, python: str = sys.executable, timeout_s: float = 6 * 3600) -> None:
        self._parallel = parallel
        self._python = python
        self._timeout_s = timeout_s

    def launch(self, requests: Sequence[ScanRequested]) -> None:
        with ThreadPoolExecutor(self._parallel, thread_name_prefix="shard") as pool:
            codes = list(pool.map(self._run, requests))
        failed = [r.shard.index for r, code in zip(requests, codes, strict=True) if code != 0 and r.shard]
        if failed:
            raise ShardFailedError(f"shards {failed} of execution {requests[0].execution_id} failed")

    def _run(self, request: ScanRequested) -> int:
        command = [self._python, "-m", "scanner", "--request", request.model_dump_json()]
        done = subprocess.run(command, timeout=self._timeout_s, check=False)
        logger.info(
            "shard finished",
            extra={
                "execution_id": request.execution_id,
                "shard": request.shard.index if request.shard else None,
                "exit_code": done.returncode,
            },
        )
        return done.returncode


class EcsShardLauncher:
    """Starts one Fargate task per shard with ECS RunTask (the scanner's own task definition).

    Each task gets its shard request as ``python -m scanner --request JSON`` in a container override; it
    publishes to the topic and records itself with the coordinator, and the last shard to finish sends
    the one ScanCompleted. So ``launch`` returns once every task is started; it does not wait for them.
    """

    def __init__(
        self,
        ecs: Any,
        *,
        cluster: str,
        task_definition: str,
        container: str,
        subnets: Sequence[str],
        security_groups: Sequence[str],
        assign_public_ip: bool = False,
    ) -> None:
        self._ecs = ecs
        self._cluster = cluster
        self._task_definition = task_definition
        self._container = container
        self._network = {
            "awsvpcConfiguration": {
                "subnets": list(subnets),
                "securityGroups": list(security_groups),
                # ENABLED in public subnets without a NAT gateway (the stack's default network).
                "assignPublicIp": "ENABLED" if assign_public_ip else "DISABLED",
            }
        }

    def launch(self, requests: Sequence[ScanRequested]) -> None:
        failed: list[str] = []
        for request in requests:
            try:
                response = self._run_task(request)
            except (ClientError, BotoCoreError) as exc:
                failed.append(f"shard {request.shard.index if request.shard else None}: {exc}")
                continue
            shard = request.shard.index if request.shard else None
            if response.get("failures") or not response.get("tasks"):
                failed.append(f"shard {shard}: {response.get('failures')}")
                continue
            logger.info(
                "shard task started",
                extra={"execution_id": request.execution_id, "shard": shard, "task": response["tasks"][0]["taskArn"]},
            )
        if failed:
            raise ShardFailedError(f"could not start {len(failed)} shard task(s): {'; '.join(failed)}")

    def _run_task(self, request: ScanRequested) -> dict[str, Any]:
        return dict(
            self._ecs.run_task(
                cluster=self._cluster,
                taskDefinition=self._task_definition,
                launchType="FARGATE",
                count=1,
                startedBy=f"scan-{request.execution_id}"[:36],
                networkConfiguration=self._network,
                overrides={
                    "containerOverrides": [
                        {
                            "name": self._container,
                            "command": ["python", "-m", "scanner", "--request", request.model_dump_json()],
                        }
                    ]
                },
            )
        )
