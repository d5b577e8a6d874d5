from __future__ import annotations

from aws_lambda_powertools.metrics import MetricUnit, single_metric

S3_UPLOAD_FAILURES = "S3UploadFailures"


class EmfArchiverMetrics:
    """Powertools Metrics: CloudWatch embedded metric format on stdout, which Lambda ships to CloudWatch."""

    def __init__(self, namespace: str, service: str = "archiver") -> None:
        self._namespace = namespace
        self._service = service

    def upload_failed(self, key: str) -> None:
        with single_metric(
            name=S3_UPLOAD_FAILURES,
            unit=MetricUnit.Count,
            value=1,
            namespace=self._namespace,
            default_dimensions={"service": self._service},
        ) as metric:
            metric.add_metadata(key="objectKey", value=key)
