"""Alarms of TRD section 9 and of the pipeline, one alarm topic and one dashboard.

The TRD's alarms are rows of :data:`TRD_ALARMS`, so adding one is adding a row. The custom
metrics come from the services' EMF output in the one namespace :data:`METRICS_NAMESPACE` with the
Powertools ``service`` dimension.
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from constructs import Construct
from inventory_core.topology import METRICS_NAMESPACE


@dataclass(frozen=True)
class MetricAlarm:
    """One custom-metric alarm (TRD section 9)."""

    id: str
    description: str
    service: str
    metric: str
    statistic: str
    period: Duration
    threshold: float


TRD_ALARMS: tuple[MetricAlarm, ...] = (
    MetricAlarm(
        "ScanDuration",
        "A scan took longer than 14 minutes (TRD 9)",
        "scanner",
        "ScanDuration",
        "Maximum",
        Duration.hours(1),
        14 * 60 * 1000,
    ),
    MetricAlarm(
        "ScanErrors",
        "More than 2 account scan errors in a day (TRD 9)",
        "scanner",
        "AccountErrors",
        "Sum",
        Duration.days(1),
        2,
    ),
    MetricAlarm(
        "S3UploadFailures",
        "More than 5 raw archive upload failures in a daily run (TRD 9)",
        "archiver",
        "S3UploadFailures",
        "Sum",
        Duration.days(1),
        5,
    ),
    MetricAlarm(
        "ResourceCountDelta",
        "An account's resource count moved by more than 20% (TRD 9)",
        "ddb-projector",
        "ResourceCountDelta",
        "Maximum",
        Duration.hours(1),
        20,
    ),
)
"""The TRD's alarms on the services' own metrics (ScanDuration in ms; ResourceCountDelta in percent)."""

OLDEST_MESSAGE_AGE_S = 3600
"""A consumer queue whose oldest message waits longer than this is stuck."""


class Monitoring(Construct):
    """Alarm topic (optional e-mail), the alarms, and one dashboard."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        prefix: str,
        alarm_email: str | None,
        functions: dict[str, lambda_.IFunction],
        queues: dict[str, sqs.IQueue],
        dlqs: dict[str, sqs.IQueue],
        cluster: ecs.ICluster,
        task_family: str,
        log_group_name: str,
    ) -> None:
        super().__init__(scope, construct_id)
        self.topic = sns.Topic(self, "Alarms", topic_name=f"{prefix}inventory-alarms", enforce_ssl=True)
        if alarm_email:
            self.topic.add_subscription(subscriptions.EmailSubscription(alarm_email))
        self.alarms: list[cw.Alarm] = []
        action = actions.SnsAction(self.topic)

        def add(alarm: cw.Alarm) -> cw.Alarm:
            alarm.add_alarm_action(action)
            self.alarms.append(alarm)
            return alarm

        custom: list[cw.IMetric] = []
        for row in TRD_ALARMS:
            metric = cw.Metric(
                namespace=METRICS_NAMESPACE,
                metric_name=row.metric,
                dimensions_map={"service": row.service},
                statistic=row.statistic,
                period=row.period,
            )
            custom.append(metric)
            add(
                metric.create_alarm(
                    self,
                    row.id,
                    alarm_name=f"{prefix}inventory-{row.id}",
                    alarm_description=row.description,
                    threshold=row.threshold,
                    evaluation_periods=1,
                    comparison_operator=cw.ComparisonOperator.GREATER_THAN_THRESHOLD,
                    treat_missing_data=cw.TreatMissingData.NOT_BREACHING,
                )
            )
        for purpose, dlq in dlqs.items():
            add(
                dlq.metric_approximate_number_of_messages_visible(
                    period=Duration.minutes(5), statistic="Maximum"
                ).create_alarm(
                    self,
                    f"Dlq{_camel(purpose)}",
                    alarm_name=f"{prefix}inventory-{purpose}-dlq-not-empty",
                    alarm_description=f"Messages in {purpose}-dlq: they failed 5 times (inspect, then redrive)",
                    threshold=0,
                    evaluation_periods=1,
                    comparison_operator=cw.ComparisonOperator.GREATER_THAN_THRESHOLD,
                    treat_missing_data=cw.TreatMissingData.NOT_BREACHING,
                )
            )
        for purpose, queue in queues.items():
            add(
                queue.metric_approximate_age_of_oldest_message(
                    period=Duration.minutes(5), statistic="Maximum"
                ).create_alarm(
                    self,
                    f"Age{_camel(purpose)}",
                    alarm_name=f"{prefix}inventory-{purpose}-oldest-message",
                    alarm_description=f"The oldest message of {purpose} waits more than an hour",
                    threshold=OLDEST_MESSAGE_AGE_S,
                    evaluation_periods=3,
                    comparison_operator=cw.ComparisonOperator.GREATER_THAN_THRESHOLD,
                    treat_missing_data=cw.TreatMissingData.NOT_BREACHING,
                )
            )
        for name, function in functions.items():
            add(
                function.metric_errors(period=Duration.minutes(5), statistic="Sum").create_alarm(
                    self,
                    f"Errors{_camel(name)}",
                    alarm_name=f"{prefix}inventory-{name}-errors",
                    alarm_description=f"The {name} function failed (an invocation error, not a reported record)",
                    threshold=0,
                    evaluation_periods=1,
                    comparison_operator=cw.ComparisonOperator.GREATER_THAN_THRESHOLD,
                    treat_missing_data=cw.TreatMissingData.NOT_BREACHING,
                )
            )

        # A scanner task that stops with a non-zero exit code (or never starts) is counted from ECS's own
        # task state events, so a crash before the scanner's metrics flush still alarms.
        self.failed_task_rule = events.Rule(
            self,
            "FailedTasks",
            description="Scanner task stopped with a non-zero exit code",
            event_pattern=events.EventPattern(
                source=["aws.ecs"],
                detail_type=["ECS Task State Change"],
                detail={
                    "clusterArn": [cluster.cluster_arn],
                    "lastStatus": ["STOPPED"],
                    "group": [f"family:{task_family}"],
                    "containers": {"exitCode": [{"anything-but": 0}]},
                },
            ),
        )
        self.failed_task_rule.add_target(targets.SnsTopic(self.topic))
        task_failures = cw.Metric(
            namespace="AWS/Events",
            metric_name="TriggeredRules",
            dimensions_map={"RuleName": self.failed_task_rule.rule_name},
            statistic="Sum",
            period=Duration.days(1),
        )
        add(
            task_failures.create_alarm(
                self,
                "FailedScannerTasks",
                alarm_name=f"{prefix}inventory-scanner-task-failed",
                alarm_description="A scanner Fargate task stopped with a non-zero exit code",
                threshold=0,
                evaluation_periods=1,
                comparison_operator=cw.ComparisonOperator.GREATER_THAN_THRESHOLD,
                treat_missing_data=cw.TreatMissingData.NOT_BREACHING,
            )
        )

        self.dashboard = cw.Dashboard(self, "Dashboard", dashboard_name=f"{prefix}inventory")
        self.dashboard.add_widgets(
            cw.TextWidget(
                markdown=f"# AWS Auto-Discovery {prefix.rstrip('-')}\nScanner log group `{log_group_name}`",
                width=24,
                height=2,
            ),
            cw.AlarmStatusWidget(title="Alarms", alarms=self.alarms, width=24),
        )
        self.dashboard.add_widgets(
            *(
                cw.GraphWidget(title=row.id, left=[metric], width=6)
                for row, metric in zip(TRD_ALARMS, custom, strict=True)
            )
        )
        self.dashboard.add_widgets(
            cw.GraphWidget(
                title="Queue depth",
                left=[q.metric_approximate_number_of_messages_visible() for q in queues.values()],
                width=8,
            ),
            cw.GraphWidget(
                title="Oldest message (s)",
                left=[q.metric_approximate_age_of_oldest_message() for q in queues.values()],
                width=8,
            ),
            cw.GraphWidget(
                title="DLQ depth",
                left=[q.metric_approximate_number_of_messages_visible() for q in dlqs.values()],
                width=8,
            ),
        )
        self.dashboard.add_widgets(
            cw.GraphWidget(title="Function errors", left=[f.metric_errors() for f in functions.values()], width=8),
            cw.GraphWidget(title="Function duration", left=[f.metric_duration() for f in functions.values()], width=8),
            cw.GraphWidget(title="Throttles", left=[f.metric_throttles() for f in functions.values()], width=8),
        )


def _camel(name: str) -> str:
    return "".join(part.capitalize() for part in name.replace("_", "-").split("-"))
