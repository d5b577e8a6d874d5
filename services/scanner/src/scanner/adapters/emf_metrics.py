from __future__ import annotations

from aws_lambda_powertools import Metrics
from aws_lambda_powertools.metrics import MetricUnit
from inventory_core.topology import METRICS_NAMESPACE

from scanner.ports import ScanMetricsRecord

NAMESPACE = METRICS_NAMESPACE


class EmfScanMetrics:
    """CloudWatch embedded metric format on stdout: the awslogs driver of the Fargate task ships it."""

    def __init__(self, service: str = "scanner", namespace: str = NAMESPACE) -> None:
        self._service = service
        self._namespace = namespace

    def record(self, record: ScanMetricsRecord) -> None:
        metrics = Metrics(namespace=self._namespace, service=self._service)
        metrics.add_metadata(key="executionId", value=record.execution_id)
        metrics.add_metric(name="ScanDuration", unit=MetricUnit.Milliseconds, value=record.duration_ms)
        metrics.add_metric(name="AccountsScanned", unit=MetricUnit.Count, value=record.accounts)
        metrics.add_metric(name="AccountErrors", unit=MetricUnit.Count, value=record.failed_accounts)
        metrics.add_metric(name="ScopeErrors", unit=MetricUnit.Count, value=record.failed_scopes)
        metrics.add_metric(name="InvalidResources", unit=MetricUnit.Count, value=record.invalid_resources)
        metrics.add_metric(name="ApiCalls", unit=MetricUnit.Count, value=record.api_calls)
        metrics.add_metric(name="Throttles", unit=MetricUnit.Count, value=record.throttles)
        metrics.flush_metrics()
        # One EMF document per type keeps ResourceType a dimension without crossing the 100-metric limit.
        for resource_type, count in sorted(record.resources_by_type.items()):
            per_type = Metrics(namespace=self._namespace, service=self._service)
            per_type.add_dimension(name="ResourceType", value=resource_type)
            per_type.add_metric(name="ResourcesDiscovered", unit=MetricUnit.Count, value=count)
            per_type.flush_metrics()
