"""One synth of the whole stack per test session (jsii synth takes tens of seconds on 2 cores).

The app runs the cdk-nag AwsSolutions pack as a validation plugin; a finding does not abort the session:
the templates are read from the cloud assembly and ``nag_failure`` says what failed (test_nag asserts it
is None). Code comes from stand-ins: a bundle directory with a stub module and a build context holding
stub Dockerfiles, so the synth neither installs wheels nor hashes the repository (test_artifacts checks
the real paths).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Template
from cdk_nag import AwsSolutionsChecks
from infra.stacks.artifacts import DOCKERFILES, Artifacts
from infra.stacks.config import StackConfig
from infra.stacks.inventory_stack import InventoryStack

ACCOUNT = "123456789012"
REGION = "us-east-1"
STACK_NAME = "TestInventory"


@dataclass
class Synth:
    stack: InventoryStack
    template: dict[str, Any]
    outdir: Path
    nag_failure: str | None
    bundles: list[str]

    @property
    def template_path(self) -> Path:
        return self.outdir / f"{STACK_NAME}.template.json"


def stub_artifacts(root: Path, bundles: list[str]) -> Artifacts:
    context = root / "context"
    for dockerfile in DOCKERFILES.values():
        (context / dockerfile).parent.mkdir(parents=True, exist_ok=True)
        (context / dockerfile).write_text("FROM scratch\n")
    bundle = root / "bundle"
    bundle.mkdir(parents=True, exist_ok=True)
    (bundle / "stub.py").write_text("def lambda_handler(event, context):\n    return None\n")

    def bundle_dir(package: str) -> Path:
        bundles.append(package)
        return bundle

    return Artifacts(repo_root=context, bundle_dir=bundle_dir)


def synthesize(root: Path, config: StackConfig | None = None, *, nag: bool = True) -> Synth:
    outdir = root / "cdk.out"
    bundles: list[str] = []
    context = {
        "aws:cdk:disable-asset-staging": True,
    }
    app = cdk.App(outdir=str(outdir), context=context)
    stack = InventoryStack(
        app,
        STACK_NAME,
        env=cdk.Environment(account=ACCOUNT, region=REGION),
        config=config or StackConfig(),
        artifacts=stub_artifacts(root, bundles),
    )
    if nag:
        cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    failure: str | None = None
    try:
        app.synth()
    except Exception as exc:  # jsii surfaces cdk-nag's ValidationFailed as a plain error
        failure = str(exc)
    template = json.loads((outdir / f"{STACK_NAME}.template.json").read_text())
    return Synth(stack=stack, template=template, outdir=outdir, nag_failure=failure, bundles=bundles)


@pytest.fixture(scope="session")
def synth(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Synth]:
    yield synthesize(tmp_path_factory.mktemp("synth"))


@pytest.fixture(scope="session")
def template(synth: Synth) -> Template:
    return Template.from_json(synth.template)


@pytest.fixture(scope="session")
def synthesize_fn() -> Any:
    """:func:`synthesize` for tests that need a synth with another :class:`StackConfig`."""
    return synthesize
