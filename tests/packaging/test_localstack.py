"""docker-compose.localstack.yml and `make e2e-localstack`, checked without Docker (none here).

The compose file's x-client-environment is what `make e2e-localstack` exports; every name in it must be one
our settings or boto3 actually read, or the suite would silently run against the wrong endpoint/account.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
import yaml
from infra.bundles import repo_root
from inventory_core import settings as core_settings
from pydantic import AliasChoices
from pydantic_settings import BaseSettings

ROOT = repo_root()
COMPOSE = ROOT / "docker-compose.localstack.yml"
# Names boto3/botocore read by themselves (AWS SDK shared configuration).
BOTO3_NAMES = {"AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION", "AWS_REGION"}


@pytest.fixture(scope="module")
def compose() -> dict[str, object]:
    loaded: dict[str, object] = yaml.safe_load(COMPOSE.read_text())
    return loaded


def settings_variable_names() -> set[str]:
    """Every environment variable name a settings class of the workspace reads (field names and aliases)."""
    import importlib

    modules = [core_settings]
    for path in sorted(ROOT.glob("services/*/src/*/settings.py")):
        modules.append(importlib.import_module(f"{path.parent.name}.settings"))
    names: set[str] = set()
    for module in modules:
        for value in vars(module).values():
            if isinstance(value, type) and issubclass(value, BaseSettings) and value is not BaseSettings:
                prefix = str(value.model_config.get("env_prefix", ""))
                for field_name, info in value.model_fields.items():
                    alias = info.validation_alias
                    if isinstance(alias, AliasChoices):
                        names |= {str(choice).upper() for choice in alias.choices}
                    elif isinstance(alias, str):
                        names.add(alias.upper())
                    else:
                        names.add((prefix + field_name).upper())
    return names


def test_the_image_is_pinned_and_the_auth_token_is_required_not_committed(compose: dict[str, object]) -> None:
    service = compose["services"]["localstack"]  # type: ignore[index]
    assert re.fullmatch(r"localstack/localstack:\d{4}\.\d+\.\d+", service["image"]), service["image"]
    token = service["environment"]["LOCALSTACK_AUTH_TOKEN"]
    assert token.startswith("${LOCALSTACK_AUTH_TOKEN:?"), "the token comes from the caller's environment, required"
    assert service["ports"] == ["127.0.0.1:4566:4566"]


def test_the_docker_socket_is_mounted_only_with_its_reason(compose: dict[str, object]) -> None:
    service = compose["services"]["localstack"]  # type: ignore[index]
    sockets = [v for v in service.get("volumes", []) if "docker.sock" in v]
    if sockets:
        # The one feature that needs it: the fleet seeder's ECS services, whose tasks LocalStack runs as containers.
        assert "create_service(" in (ROOT / "cli/src/inventory_cli/fleet.py").read_text()
        text = COMPOSE.read_text()
        assert "ECS services" in text[: text.index("docker.sock")]


def test_client_environment_uses_only_names_that_settings_or_boto3_read(compose: dict[str, object]) -> None:
    env = compose["x-client-environment"]
    assert isinstance(env, dict)
    known = settings_variable_names() | BOTO3_NAMES
    conftest = (ROOT / "tests/conftest.py").read_text()
    test_only = {name for name in env if f'os.environ.get("{name}")' in conftest}
    assert test_only == {"E2E_AWS_ENDPOINT_URL"}
    assert set(env) - test_only <= known, set(env) - test_only - known
    # The region reaches our settings under a name they read, and it is one of the regions scanned by default.
    region_names = {"AWS_REGION", "AWS_DEFAULT_REGION"} & settings_variable_names()
    assert region_names and all(env[n] in core_settings.DEFAULT_REGIONS for n in region_names if n in env)
    # Same endpoint for boto3 and the test fixture; the inventory (root) account is the tests' home account.
    assert env["AWS_ENDPOINT_URL"] == env["E2E_AWS_ENDPOINT_URL"] == "http://127.0.0.1:4566"
    assert env["AWS_ACCESS_KEY_ID"] == "123456789012"


def test_make_e2e_localstack_runs_the_moto_e2e_suite_with_that_environment() -> None:
    dry = subprocess.run(
        ["make", "-n", "--no-print-directory", "e2e-localstack"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", "LOCALSTACK_AUTH_TOKEN": "x"},
    ).stdout
    assert "docker compose -f docker-compose.localstack.yml up -d --wait" in dry
    assert '["x-client-environment"]' in dry
    assert re.search(r"-m pytest -p no:cacheprovider tests/e2e\b", dry)
    assert "down -v" in dry


def test_fleet_seeding_uses_assume_role_not_emulator_headers() -> None:
    fleet = (ROOT / "cli/src/inventory_cli/fleet.py").read_text()
    assert "x-moto-account-id" not in fleet
    assert "assume_role(" in fleet


def test_every_compose_setting_is_documented_in_the_readme() -> None:
    readme = Path(ROOT / "README.md").read_text()
    for needle in ("LOCALSTACK_AUTH_TOKEN", "make e2e-localstack", "localstack-client"):
        assert needle in readme, needle
