"""cdk-nag acknowledgments: every one names the rule (and, for IAM5, the finding) and says why."""

from __future__ import annotations

from aws_cdk import Acknowledgment, Validations
from constructs import IConstruct

PACK = "AwsSolutions"
"""cdk-nag v3 names a finding ``<pack>::<rule>[<finding>]``."""


def acknowledge(scope: IConstruct, rule_id: str, reason: str) -> None:
    """Acknowledge ``rule_id`` (``AwsSolutions-S1`` or ``AwsSolutions-IAM5[Resource::...]``) on ``scope``."""
    if len(reason) < 20:
        raise ValueError(f"{rule_id}: a suppression needs a real reason, not {reason!r}")
    Validations.of(scope).acknowledge(Acknowledgment(id=f"{PACK}::{rule_id}", reason=reason))
