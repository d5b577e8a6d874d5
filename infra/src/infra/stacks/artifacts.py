"""Where the deployables come from: Lambda zip bundles and Docker image assets built from the repo root.

The stack never runs Docker or uv itself at construction time except through these two seams, so tests
can hand in a bundle function that does not install anything, and synth needs no Docker engine (an image
asset is only built by ``cdk deploy``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from aws_cdk import aws_ecr_assets as ecr_assets

REPO_ROOT = Path(__file__).resolve().parents[4]
"""infra/src/infra/stacks/artifacts.py -> the repository root (the Docker build context)."""

IMAGE_CONTEXT_EXCLUDES: tuple[str, ...] = (
    ".git",
    ".venv",
    ".tools",
    ".build",
    ".inventory",
    "infra/cdk.out",
    "**/node_modules",
    "**/__pycache__",
    "**/.pytest_cache",
    "**/.mypy_cache",
    "**/.ruff_cache",
    "benchmarks/results",
)
"""Never part of an image's build context (added to the repo's .dockerignore): local state, caches, builds."""

DOCKERFILES: dict[str, str] = {
    "scanner": "services/scanner/Dockerfile",
    # pyarrow's wheels need glibc 2.28; the Lambda Python 3.11 runtime has 2.26: no zip can run it.
    "ddb-projector": "services/ddb_projector/Dockerfile",
    "lake-writer": "services/lake_writer/Dockerfile",
    "api": "services/api/Dockerfile",
}
"""Each image deployable and its Dockerfile, relative to the repo root."""

ZIP_PACKAGES: dict[str, str] = {
    "archiver": "inventory-archiver",
    "launch-failed": "inventory-scanner",
}
"""Each zip deployable and the workspace package whose locked closure it bundles."""


def _default_bundle(package: str) -> Path:
    from infra.bundles import lambda_bundle_dir  # builds with uv; imported late so tests can pass their own

    return lambda_bundle_dir(package, platform="linux-arm64")


@dataclass(frozen=True)
class Artifacts:
    """How the stack finds its code.

    Attributes:
        repo_root: the Docker build context of every image.
        bundle_dir: package name -> a directory holding the package and its runtime closure (zipped by CDK).
    """

    repo_root: Path = REPO_ROOT
    bundle_dir: Callable[[str], Path] = field(default=_default_bundle)

    def dockerfile(self, deployable: str) -> str:
        """The Dockerfile of an image deployable, checked to exist (a clear error instead of CDK's)."""
        path = DOCKERFILES[deployable]
        if not (self.repo_root / path).is_file():
            raise FileNotFoundError(f"{path} is missing: the {deployable} image cannot be declared")
        return path

    def image_props(self, deployable: str) -> dict[str, object]:
        """Keyword arguments of an ARM64 image asset of ``deployable`` with the repo root as context."""
        return {
            "directory": str(self.repo_root),
            "file": self.dockerfile(deployable),
            "platform": ecr_assets.Platform.LINUX_ARM64,
            "exclude": list(IMAGE_CONTEXT_EXCLUDES),
        }

    def zip_dir(self, deployable: str) -> Path:
        """The bundle directory of a zip deployable."""
        return self.bundle_dir(ZIP_PACKAGES[deployable])
