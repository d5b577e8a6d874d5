"""An SQS work queue with its dead-letter queue, optionally subscribed to the event topic."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from constructs import Construct
from inventory_core.topology import QueueSpec


class ConsumerQueue(Construct):
    """A queue and its DLQ built from a :class:`QueueSpec`.

    Both queues use SQS-managed SSE and refuse non-TLS requests. The queue redrives to the DLQ after
    ``spec.max_receive_count`` receives. When ``topic`` is given and the spec declares event types, the
    queue is subscribed with raw message delivery and the spec's filter policy on the ``event_type``
    message attribute, so the consumer only ever sees the events it handles.
    """

    def __init__(
        self, scope: Construct, construct_id: str, *, spec: QueueSpec, topic: sns.ITopic | None = None
    ) -> None:
        super().__init__(scope, construct_id)
        self.spec = spec
        self.dlq = sqs.Queue(
            self,
            "Dlq",
            queue_name=spec.dlq_name,
            retention_period=Duration.seconds(spec.dlq_retention_s),
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
        )
        self.queue = sqs.Queue(
            self,
            "Queue",
            queue_name=spec.name,
            visibility_timeout=Duration.seconds(spec.visibility_timeout_s),
            receive_message_wait_time=Duration.seconds(spec.receive_wait_s),
            retention_period=Duration.seconds(spec.retention_s),
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            dead_letter_queue=sqs.DeadLetterQueue(max_receive_count=spec.max_receive_count, queue=self.dlq),
        )
        self.subscription: sns.Subscription | None = None
        policy = spec.filter_policy()
        if topic is not None and policy is not None:
            # SqsSubscription also adds the queue policy that lets (only) this topic send to the queue.
            self.subscription = topic.add_subscription(
                subscriptions.SqsSubscription(
                    self.queue,
                    raw_message_delivery=True,
                    filter_policy={
                        attribute: sns.SubscriptionFilter.string_filter(allowlist=values)
                        for attribute, values in policy.items()
                    },
                )
            )
