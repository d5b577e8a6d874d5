"""The one AWS client factory: every boto3 client of every service is built here."""

from __future__ import annotations

import functools
import os
import threading
from typing import Any

import boto3
import botocore.session
from botocore.config import Config
from botocore.exceptions import UnknownServiceError

from inventory_core import faults

DEFAULT_MAX_ATTEMPTS = 8
DEFAULT_CONNECT_TIMEOUT = 5.0
DEFAULT_READ_TIMEOUT = 60.0


def endpoint_url(service: str | None = None) -> str | None:
    """The endpoint of the client ``service``, None for AWS itself.

    boto3's own ``AWS_ENDPOINT_URL_<SERVICE ID>`` if set (a client built with an explicit endpoint would ignore
    it), else ``AWS_ENDPOINT_URL`` if set: the emulator (moto, LocalStack) or a stage endpoint. The soak serves
    DynamoDB from an emulator process of its own through ``AWS_ENDPOINT_URL_DYNAMODB``.

    Passed explicitly, not left to boto3's own resolution of the same variables: botocore turns endpoint
    discovery off only for an explicit endpoint, so with a configured one Timestream's clients discover and
    call AWS itself (`test_generated_catalog` failed on that when the factory left it to boto3).
    """
    if service and any(key.startswith("AWS_ENDPOINT_URL_") for key in os.environ):
        specific = os.environ.get(service_endpoint_variable(service))
        if specific:
            return specific
    return os.environ.get("AWS_ENDPOINT_URL") or None


@functools.cache
def service_endpoint_variable(service: str) -> str:
    """boto3's variable for one service's endpoint, named by the service's id as botocore names it.

    ``sfn``: ``AWS_ENDPOINT_URL_SFN``, ``elbv2``: ``AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2``. Read only when
    some such variable is set, since it loads the service's model.
    """
    try:
        service_id = str(_models().get_service_model(service).service_id)
    except UnknownServiceError:
        service_id = service
    return "AWS_ENDPOINT_URL_" + service_id.replace(" ", "_").replace("-", "_").upper()


@functools.cache
def _models() -> botocore.session.Session:
    return botocore.session.get_session()


class AwsClientFactory:
    """Builds boto3 clients with adaptive retries and timeouts, cached per service and region.

    The endpoint is boto3's own ``AWS_ENDPOINT_URL`` setting; nothing is hard-coded. Clients are
    thread-safe once built; building them is serialized because boto3 sessions are not.
    """

    def __init__(
        self,
        region: str,
        session: boto3.Session | None = None,
        *,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
        read_timeout: float = DEFAULT_READ_TIMEOUT,
        max_pool_connections: int = 32,
    ) -> None:
        """Create a factory.

        Args:
            region: Default region of the clients.
            session: The boto3 session (credentials); a new default session if omitted.
            max_attempts: Total attempts per call, botocore adaptive retry mode.
            connect_timeout: Seconds to open a connection.
            read_timeout: Seconds to wait for a response.
            max_pool_connections: HTTP connection pool size per client.
        """
        self.region = region
        self._session = session or boto3.Session()
        self._options = {
            "max_attempts": max_attempts,
            "connect_timeout": connect_timeout,
            "read_timeout": read_timeout,
            "max_pool_connections": max_pool_connections,
        }
        self._config = Config(
            retries={"mode": "adaptive", "max_attempts": max_attempts},
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            max_pool_connections=max_pool_connections,
        )
        self._clients: dict[tuple[str, ...], Any] = {}
        self._lock = threading.Lock()

    @property
    def session(self) -> boto3.Session:
        """The boto3 session behind the clients."""
        return self._session

    def client(self, service: str, region: str | None = None, *, signature_version: str | None = None) -> Any:
        """Return a (cached) client for ``service`` in ``region`` (default: the factory's region).

        ``signature_version`` pins the signer, e.g. ``s3v4`` for S3 presigned URLs (SigV4 carries
        ``X-Amz-Expires``; botocore may otherwise presign with the legacy S3 signature).
        """
        key: tuple[str, ...] = (service, region or self.region)
        if signature_version is not None:
            key = (*key, signature_version)
        with self._lock:
            found = self._clients.get(key)
            if found is None:
                config = self._config
                if signature_version is not None:
                    config = config.merge(Config(signature_version=signature_version))
                found = self._session.client(  # type: ignore[call-overload]
                    service, region_name=key[1], config=config, endpoint_url=endpoint_url(service)
                )
                faults.install(found)  # no-op unless INVENTORY_FAULTS is set (chaos harness)
                self._clients[key] = found
            return found

    def dynamodb_table(self, name: str, region: str | None = None) -> Any:
        """Return a boto3 resource-layer Table (plain Python values in and out) with the same config."""
        with self._lock:
            resource = self._session.resource(
                "dynamodb",
                region_name=region or self.region,
                config=self._config,
                endpoint_url=endpoint_url("dynamodb"),
            )
        faults.install(resource.meta.client)  # no-op unless INVENTORY_FAULTS is set (chaos harness)
        return resource.Table(name)

    def for_credentials(
        self, access_key_id: str, secret_access_key: str, session_token: str | None = None
    ) -> AwsClientFactory:
        """Return a factory with the same settings that signs with other credentials (an assumed role)."""
        session = boto3.Session(
            aws_access_key_id=access_key_id,
            aws_secret_access_key=secret_access_key,
            aws_session_token=session_token,
            region_name=self.region,
        )
        return self.for_session(session)

    def for_session(self, session: boto3.Session) -> AwsClientFactory:
        """Return a factory with the same settings over another boto3 session."""
        return AwsClientFactory(self.region, session, **self._options)  # type: ignore[arg-type]

    def account_id(self) -> str:
        """Return the account the factory's credentials belong to (STS GetCallerIdentity)."""
        return str(self.client("sts").get_caller_identity()["Account"])
