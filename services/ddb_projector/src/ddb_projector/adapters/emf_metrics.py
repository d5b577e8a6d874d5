from __future__ import annotations

from aws_lambda_powertools.metrics import MetricUnit, single_metric

RESOURCE_COUNT_DELTA = "ResourceCountDelta"


class EmfProjectorMetrics:
    """Powertools Metrics: CloudWatch embedded metric format on stdout, which Lambda ships to CloudWatch."""

    def __init__(self, namespace: str, service: str = "ddb-projector") -> None:
        self._namespace = namespace
        self._service = service

    def resource_count_delta(self, account_id: str, previous: int, current: int, change_pct: float) -> None:
        # The value is the size of the move so one alarm (> 20) covers growth and shrinkage. The account
        # is metadata, not a dimension: one metric stream for the fleet, the log line names the account.
        with single_metric(
            name=RESOURCE_COUNT_DELTA,
            unit=MetricUnit.Percent,
            value=abs(change_pct),
            namespace=self._namespace,
            default_dimensions={"service": self._service},
        ) as metric:
            metric.add_metadata(key="accountId", value=account_id)
            metric.add_metadata(key="previousCount", value=previous)
            metric.add_metadata(key="resourceCount", value=current)
            metric.add_metadata(key="changePct", value=round(change_pct, 2))
