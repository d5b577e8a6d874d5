"""A consumer Lambda function (ARM64) on its SQS queue with partial batch failure reporting."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs
from constructs import Construct
from inventory_core.topology import QueueSpec


class ConsumerFunction(Construct):
    """The function, its log group and its event source mapping, sized by the queue's :class:`QueueSpec`.

    The mapping reports batch item failures (the handlers return Powertools' ``batchItemFailures``), takes
    ``spec.batch_size`` records and waits up to ``spec.batching_window_s``. The function times out before
    the queue's visibility timeout, so a slow batch is retried, never processed twice at once.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        function_name: str,
        code: lambda_.Code | lambda_.DockerImageCode,
        handler: str | None,
        role: iam.IRole,
        queue: sqs.IQueue,
        spec: QueueSpec,
        environment: dict[str, str],
        log_retention: logs.RetentionDays,
        memory_mib: int,
        timeout_s: int,
        reserved_concurrency: int | None = None,
        max_concurrency: int | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        if timeout_s >= spec.visibility_timeout_s:
            raise ValueError(
                f"{function_name}: timeout {timeout_s}s must be below the queue's visibility timeout "
                f"{spec.visibility_timeout_s}s"
            )
        self.log_group = logs.LogGroup(
            self, "Logs", log_group_name=f"/aws/lambda/{function_name}", retention=log_retention
        )
        # Logs go to this group only (no AWSLambdaBasicExecutionRole: that one writes to any log group).
        self.log_group.grant_write(role)
        common = {
            "function_name": function_name,
            "role": role,
            "architecture": lambda_.Architecture.ARM_64,
            "memory_size": memory_mib,
            "timeout": Duration.seconds(timeout_s),
            "environment": {"POWERTOOLS_SERVICE_NAME": function_name, **environment},
            "log_group": self.log_group,
            "reserved_concurrent_executions": reserved_concurrency,
        }
        self.function: lambda_.Function
        if isinstance(code, lambda_.DockerImageCode):
            self.function = lambda_.DockerImageFunction(self, "Function", code=code, **common)  # type: ignore[arg-type]
        else:
            assert handler is not None, "a zip function needs its handler"
            self.function = lambda_.Function(
                self,
                "Function",
                code=code,
                handler=handler,
                runtime=lambda_.Runtime.PYTHON_3_11,
                **common,  # type: ignore[arg-type]
            )
        self.function.add_event_source(
            sources.SqsEventSource(
                queue,
                batch_size=spec.batch_size,
                max_batching_window=Duration.seconds(spec.batching_window_s) if spec.batching_window_s else None,
                report_batch_item_failures=True,
                max_concurrency=max_concurrency,
            )
        )
