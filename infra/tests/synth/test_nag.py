"""cdk-nag's AwsSolutions pack over the whole stack: no unacknowledged finding, every acknowledgment reasoned."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_s3 as s3
from cdk_nag import AwsSolutionsChecks
from infra.stacks.nag import acknowledge


def test_aws_solutions_pack_finds_nothing_unacknowledged(synth: Any) -> None:
    report = synth.outdir / "validation-report.json"
    details = report.read_text() if report.exists() else ""
    assert synth.nag_failure is None, f"{synth.nag_failure}\n{details[:4000]}"


def test_acknowledgments_are_recorded_with_their_reasons(synth: Any) -> None:
    acknowledged = [
        entry
        for construct in synth.stack.node.find_all()
        for entry in construct.node.metadata
        if entry.type == cdk.Validations.ACKNOWLEDGED_RULES_METADATA_KEY
    ]
    text = json.dumps([entry.data for entry in acknowledged], default=str)
    assert "AwsSolutions::AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:iam::*:role/NucleusAccess-*]" in text
    assert "AwsSolutions::AwsSolutions-L1" in text


def test_an_acknowledgment_without_a_reason_is_refused() -> None:
    stack: Any = cdk.Stack(cdk.App(), "S")
    with pytest.raises(ValueError, match="needs a real reason"):
        acknowledge(stack, "AwsSolutions-S1", "because")


def test_the_pack_fails_a_stack_with_an_unacknowledged_finding(tmp_path: Path) -> None:
    # The same wiring as the session synth, on a stack with one known violation (a bucket without TLS-only
    # policy or access logs): proves the plugin runs and fails the synth rather than only warning.
    app = cdk.App(outdir=str(tmp_path))
    stack = cdk.Stack(app, "Bad", env=cdk.Environment(account="123456789012", region="us-east-1"))
    s3.Bucket(stack, "Bucket")
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    with pytest.raises(Exception, match="AwsSolutions-S10"):
        app.synth()
