"""Shared fixtures: network rules per tier, one moto server per session, a fresh stack per test."""

from __future__ import annotations

import os
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from inventory_cli.moto_server import LOCAL_CREDENTIALS, MotoServer
from inventory_cli.provision import provision
from inventory_core.aws import AwsClientFactory
from inventory_core.topology import Topology, build_topology
from pytest_socket import disable_socket, enable_socket
from xdist.remote import Producer
from xdist.scheduler import LoadScopeScheduling

HOME_ACCOUNT = "123456789012"
HOME_REGION = "us-east-1"
TESTS = Path(__file__).parent
OFFLINE_TIERS = (TESTS / "unit", TESTS / "contract")


#: Folders whose tests share one expensive session or package fixture (a CDK synth, a strict IAM emulator, a
#: browser with its API process, a seeded chaos fleet): under pytest-xdist each runs whole on one worker.
SHARED_SETUP = {
    TESTS.parent / "infra" / "tests": "infra",
    TESTS / "integration" / "iam": "iam",
    TESTS / "browser": "browser",
    TESTS / "chaos": "chaos",
}


def xdist_group(path: Path) -> str:
    """The worker group of a test file: its shared-setup folder, else the file (module fixtures stay single)."""
    for folder, group in SHARED_SETUP.items():
        if path.is_relative_to(folder):
            return group
    return path.relative_to(TESTS.parent).as_posix()


#: The longest groups, longest first: under xdist (with --no-loadscope-reorder) they start first, so neither
#: worker is left alone with one of them at the end.
LONG_GROUPS = (
    "chaos",
    "browser",
    "iam",
    "infra",
    "tests/e2e/test_demo_smoke.py",
    "tests/e2e/test_soak_short.py",
    "tests/unit/scanner/test_generated_catalog.py",
    "tests/unit/scanner/test_member_role.py",
    "tests/e2e/test_pipeline.py",
)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """On an xdist worker, the longest groups first: the controller hands out groups in collection order."""
    if hasattr(config, "workerinput"):
        rank = {group: n for n, group in enumerate(LONG_GROUPS)}
        items.sort(key=lambda item: rank.get(xdist_group(Path(str(item.path))), len(LONG_GROUPS)))


class SharedSetupScheduling(LoadScopeScheduling):  # type: ignore[misc]  # xdist is untyped
    """xdist's scope scheduling with our groups as the scopes: each group runs whole on one worker, in order.

    Not ``xdist_group`` marks: pytest-xdist 3.8 (the newest) tells the controller a test's group by appending
    ``@group`` to ``item._nodeid`` on the worker, and since pytest 9.2 a node's id is ``item._id``, so the suffix
    never arrived and ``--dist loadgroup`` made every test a group of its own. Two of the IAM proof's
    order-dependent tests then ran on the other worker, and each worker built the shared fixtures again.
    """

    def _split_scope(self, nodeid: str) -> str:
        return xdist_group(TESTS.parent / nodeid.split("::", 1)[0])


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Producer) -> SharedSetupScheduling | None:
    """``-n 2 --dist loadgroup`` (make test) schedules by :func:`xdist_group`; other modes are xdist's own."""
    return SharedSetupScheduling(config, log) if config.getvalue("dist") == "loadgroup" else None


#: Variables pytest itself changes while a test runs.
PYTEST_OWN = frozenset({"PYTEST_CURRENT_TEST"})


class EnvironmentLeakError(AssertionError):
    """A test changed os.environ without monkeypatch (or in a way monkeypatch put back wrong)."""


@pytest.fixture(autouse=True)
def _environment_restored() -> Iterator[None]:
    """Every test ends with the environment it started with; a test that leaves a change behind fails.

    Fixtures of a wider scope (the session's AWS_* variables, a module's stack) set theirs up before this
    snapshot. The change is put back first, so one leaking test fails alone (at teardown) and the tests after it
    run in the environment they expect: an INVENTORY_CONFIG left by one test once made a later scan read that
    test's YAML, and the failure showed far from its cause.
    """
    before = dict(os.environ)
    yield
    leaked = sorted(
        k for k in before.keys() | os.environ.keys() if before.get(k) != os.environ.get(k) and k not in PYTEST_OWN
    )
    if not leaked:
        return
    for key in leaked:
        if key in before:
            os.environ[key] = before[key]
        else:
            os.environ.pop(key, None)
    raise EnvironmentLeakError(
        f"environment variables left changed by the test (restored): {', '.join(leaked)}; "
        "set them with monkeypatch or put them back"
    )


@pytest.fixture(autouse=True)
def _network_rules(request: pytest.FixtureRequest) -> Iterator[None]:
    """Unit and contract tests run with sockets disabled (pytest-socket); the other tiers may talk to moto."""
    path = Path(str(request.node.path))
    if any(path.is_relative_to(tier) for tier in OFFLINE_TIERS):
        disable_socket(allow_unix_socket=True)
        yield
        enable_socket()
    else:
        yield


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """A moto server process on 127.0.0.1 for the whole session; the environment points boto3 at it.

    With ``E2E_AWS_ENDPOINT_URL`` set (``make e2e-localstack``), the same tests run against that running local
    AWS instead (LocalStack), with the credentials of the environment; no moto is started.
    """
    external = os.environ.get("E2E_AWS_ENDPOINT_URL")
    # 180 s, not the CLI's 30: at load 25-35 on 2 cores importing moto.server alone took 45 s (1.3 s of CPU),
    # and a whole run errored at setup.
    server = None if external else MotoServer.start(timeout_s=180)
    endpoint = external or (server.endpoint if server else "")
    # a service's own endpoint (AWS_ENDPOINT_URL_DYNAMODB, ...) would win over this one: none during the session
    own_endpoints = [k for k in os.environ if k.startswith("AWS_ENDPOINT_URL_")]
    saved = {
        k: os.environ.get(k)
        for k in (*LOCAL_CREDENTIALS, "AWS_ENDPOINT_URL", "AWS_DEFAULT_REGION", "AWS_REGION", *own_endpoints)
    }
    for key in own_endpoints:
        del os.environ[key]
    if not external:
        os.environ.update(LOCAL_CREDENTIALS)
    os.environ.update({"AWS_ENDPOINT_URL": endpoint, "AWS_DEFAULT_REGION": HOME_REGION, "AWS_REGION": HOME_REGION})
    try:
        yield endpoint
    finally:
        if server:
            server.stop()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@dataclass
class Stack:
    """A provisioned stack with unique names, and the environment its services read."""

    topology: Topology
    env: dict[str, str]
    clients: AwsClientFactory

    @property
    def table(self):  # type: ignore[no-untyped-def]
        return self.clients.dynamodb_table(self.env["APP_TABLE_NAME"])


def unique_accounts(n: int) -> list[str]:
    """Account ids no other test uses, so fleets on the shared server stay apart."""
    rng = random.Random(uuid.uuid4().int)
    return [str(rng.randrange(10**11, 10**12 - 1)).rjust(12, "4") for _ in range(n)]


@pytest.fixture
def stack(moto_endpoint: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Stack:
    """Provision the whole topology with a per-test prefix; set its environment for the services."""
    prefix = f"t{uuid.uuid4().hex[:8]}-"
    clients = AwsClientFactory(HOME_REGION)
    env = provision(clients, build_topology(HOME_ACCOUNT, HOME_REGION, prefix=prefix), state_dir=tmp_path / "state")
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return Stack(topology=build_topology(HOME_ACCOUNT, HOME_REGION, prefix=prefix), env=env, clients=clients)
