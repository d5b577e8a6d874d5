"""The stack's code comes from the real deployables: the three Dockerfiles, the zip bundles' packages."""

from __future__ import annotations

import json
import re

from infra.bundles import workspace_packages
from infra.constructs.query_api import WEB_DIST_DIR
from infra.constructs.scanner_task import CONTAINER_NAME
from infra.stacks.artifacts import DOCKERFILES, IMAGE_CONTEXT_EXCLUDES, REPO_ROOT, ZIP_PACKAGES, Artifacts


def test_every_image_deployable_has_its_dockerfile() -> None:
    artifacts = Artifacts()
    for deployable in DOCKERFILES:
        assert (REPO_ROOT / artifacts.dockerfile(deployable)).is_file()


def test_the_api_image_serves_the_ui_from_where_the_stack_says() -> None:
    dockerfile = (REPO_ROOT / DOCKERFILES["api"]).read_text()
    assert re.search(rf"WEB_DIST_DIR={re.escape(WEB_DIST_DIR)}\b", dockerfile), "services/api/Dockerfile moved the UI"


def test_scanner_image_keeps_python_m_scanner_overridable() -> None:
    # The shard launcher overrides the container's command: the image must not pin an ENTRYPOINT.
    dockerfile = (REPO_ROOT / DOCKERFILES["scanner"]).read_text()
    assert not re.search(r"^ENTRYPOINT", dockerfile, re.MULTILINE)
    assert 'CMD ["python", "-m", "scanner"]' in dockerfile
    assert CONTAINER_NAME == "scanner"


def test_zip_deployables_are_workspace_packages() -> None:
    known = set(workspace_packages(REPO_ROOT).values())
    assert set(ZIP_PACKAGES.values()) <= known


def test_image_context_leaves_out_local_state() -> None:
    for path in (".venv", ".git", ".build", "infra/cdk.out", "**/node_modules"):
        assert path in IMAGE_CONTEXT_EXCLUDES


def test_the_cdk_cli_is_pinned_to_an_exact_version() -> None:
    package = json.loads((REPO_ROOT / "infra" / "package.json").read_text())
    version = package["devDependencies"]["aws-cdk"]
    assert re.fullmatch(r"\d+\.\d+\.\d+", version), f"aws-cdk {version!r} is a range, not a pin"
    lock = json.loads((REPO_ROOT / "infra" / "package-lock.json").read_text())
    assert lock["packages"]["node_modules/aws-cdk"]["version"] == version
