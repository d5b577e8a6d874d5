"""cfn-lint over the synthesized template: no error and no warning except the ones CDK itself causes."""

from __future__ import annotations

from typing import Any

from cfnlint.api import ManualArgs, lint_file

IGNORED = {
    # CDK adds DependsOn from each function to its role's policy (so a function never runs without its
    # permissions); the role itself is also named by GetAtt, which cfn-lint reports as redundant.
    "W3005",
}


def test_template_is_cfn_lint_clean(synth: Any) -> None:
    template = synth.template_path
    matches = lint_file(template, config=ManualArgs(regions=["us-east-1", "eu-west-1"], ignore_checks=sorted(IGNORED)))
    problems = [f"{m.rule.id} {m.message} ({m.path_string})" for m in matches]
    assert problems == []
