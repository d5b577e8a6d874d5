"""moto is the CLI's ``local`` extra: production closures leave it out; a local command without it names the extra."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from infra.bundles import find_uv, repo_root
from inventory_cli import moto_server
from inventory_cli.main import app
from typer.testing import CliRunner

EMULATOR_OR_TEST = ("moto", "pytest", "boto3-stubs", "mypy-boto3", "schemathesis")
DEPLOYABLES = ("inventory-scanner", "inventory-ddb-projector", "inventory-lake-writer", "inventory-archiver")


def locked_closure(package: str, *extra: str) -> set[str]:
    root = repo_root()
    args = [find_uv(root), "export", "--frozen", "--no-dev", "--package", package, "--no-hashes", "--no-header"]
    args += ["--no-annotate", "--no-emit-workspace", *(a for e in extra for a in ("--extra", e))]
    out = subprocess.run(args, cwd=root, capture_output=True, text=True, check=True, timeout=60).stdout
    return {line.split("==")[0].split("[")[0].strip() for line in out.splitlines() if "==" in line}


@pytest.mark.parametrize("package", [*DEPLOYABLES, "inventory-api", "inventory-cli"])
def test_runtime_closures_carry_no_emulator_or_test_package(package: str) -> None:
    closure = locked_closure(package)
    assert closure, package
    assert not {d for d in closure if d.startswith(EMULATOR_OR_TEST)}


def test_the_local_extra_brings_moto_and_the_dev_group_installs_it() -> None:
    assert "moto" in locked_closure("inventory-cli", "local")
    root_pyproject = (repo_root() / "pyproject.toml").read_text()
    assert '"inventory-cli[local]"' in root_pyproject  # so `make install` / `make demo` keep the emulator


@pytest.mark.parametrize("command", [["demo", "--no-serve"], ["local", "up", "--port", "45999"]])
def test_local_commands_without_moto_name_the_extra(
    command: list[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(moto_server, "moto_installed", lambda: False)
    monkeypatch.chdir(tmp_path)

    result = CliRunner().invoke(app, command)

    assert result.exit_code == 1, result.output
    assert "inventory-cli[local]" in result.output
    assert "Traceback" not in result.output
