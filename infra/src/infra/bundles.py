"""Lambda zip bundles built from uv.lock: one directory per (package, platform), cached by content.

``lambda_bundle_dir("inventory-archiver")`` returns a directory holding the package, the
workspace packages it depends on and its locked third-party runtime dependencies, installed for
CPython 3.11 on Linux ARM64 (the Lambda runtime of TRD section 2.1). The stack hands it to
``lambda_.Code.from_asset(str(path))``.

How it is built (no Docker needed, any host OS/arch):

1. ``uv export --frozen --no-dev --package <pkg>`` lists the closure exactly as locked; its
   ``-e ./path`` lines are the workspace members the package needs, the rest are pinned wheels.
2. ``uv pip install --target <dir> --python-platform aarch64-manylinux2014 --python-version 3.11
   --only-binary :all: --no-deps -r requirements.txt`` installs the third-party wheels for the
   target platform (``--no-deps``: the export is already the full closure, nothing is re-resolved).
3. ``uv pip install --target <dir> --no-deps <workspace dirs>`` builds and installs our own packages
   (``--refresh-package`` so uv never reuses a wheel built from older sources).

The result lives under ``.build/bundles/<package>-<platform>-<key>`` where ``key`` hashes uv.lock's
export for the package, every file of the workspace packages in the closure and this module's
recipe version; an unchanged input reuses the directory, a changed one rebuilds it (into a temporary
sibling renamed into place, so a concurrent or interrupted build never leaves a half bundle behind).
"""

from __future__ import annotations

import hashlib
import os
import platform as host_platform
import re
import shutil
import subprocess
import tempfile
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path

# Bumped whenever the recipe below changes, so cached bundles built the old way are not reused.
RECIPE_VERSION = "1"
PYTHON_VERSION = "3.11"
# uv's --python-platform per Lambda architecture. manylinux2014 (glibc 2.17) runs on the Lambda
# Python 3.11 runtime (Amazon Linux 2, glibc 2.26).
PLATFORMS = {
    "linux-arm64": "aarch64-manylinux2014",
    "linux-x86_64": "x86_64-manylinux2014",
}
# Never shipped in a bundle: emulator, test and typing-only packages (checked after the install).
FORBIDDEN_DISTRIBUTIONS = ("moto", "pytest", "boto3-stubs", "botocore-stubs", "mypy-boto3")
# Older bundles of a package are deleted once they are this old (see _remove_stale).
STALE_AFTER_S = 3600
_SKIP_DIRS = {"__pycache__", ".mypy_cache", ".ruff_cache", ".pytest_cache", "node_modules", "dist", "web"}


class BundleError(RuntimeError):
    """A bundle could not be built; the message names the step and carries uv's output."""


@dataclass(frozen=True)
class _Closure:
    package: str
    requirements: list[str]  # pinned third-party requirement lines
    workspace_dirs: list[Path]  # our own packages (the service itself included)


def host_platform_name() -> str:
    """The ``platform`` argument matching this machine (for tests that import the bundle here)."""
    machine = host_platform.machine().lower()
    if machine in ("aarch64", "arm64"):
        return "linux-arm64"
    if machine in ("x86_64", "amd64"):
        return "linux-x86_64"
    raise BundleError(f"no Lambda platform for host machine {machine!r}")


def repo_root() -> Path:
    """The workspace root: the nearest directory above this file holding uv.lock."""
    for parent in Path(__file__).resolve().parents:
        if (parent / "uv.lock").is_file() and (parent / "pyproject.toml").is_file():
            return parent
    raise BundleError(f"no uv.lock above {__file__}: bundles are built from a workspace checkout")


def find_uv(root: Path) -> str:
    """The uv binary: ``$UV``, then ``uv`` on PATH, then the repo's ``.tools/venv/bin/uv`` (the Makefile's)."""
    explicit = os.environ.get("UV")
    if explicit:
        return explicit
    on_path = shutil.which("uv")
    if on_path:
        return on_path
    for base in (root, repo_root()):
        local = base / ".tools" / "venv" / "bin" / "uv"
        if local.is_file():
            return str(local)
    raise BundleError("uv not found: run `make install` (it installs uv into .tools/venv) or set UV")


def workspace_packages(root: Path) -> dict[str, str]:
    """Map every accepted spelling (project name, directory name, module name) to the project name."""
    names: dict[str, str] = {}
    for pyproject in sorted(root.glob("*/*/pyproject.toml")) + sorted(root.glob("*/pyproject.toml")):
        data = tomllib.loads(pyproject.read_text())
        project = data.get("project", {}).get("name")
        if not project:
            continue
        module = data.get("tool", {}).get("uv", {}).get("build-backend", {}).get("module-name")
        for alias in (project, pyproject.parent.name, module):
            if alias:
                names.setdefault(alias, project)
    return names


def lambda_bundle_dir(
    package: str,
    *,
    platform: str = "linux-arm64",
    root: Path | None = None,
    cache_dir: Path | None = None,
) -> Path:
    """Return a directory holding ``package`` and its locked runtime closure for Python 3.11 on ``platform``.

    Args:
        package: the workspace project (``inventory-archiver``), its directory or its module name (``archiver``).
        platform: ``linux-arm64`` (the deployed functions) or ``linux-x86_64``.
        root: the workspace root (default: found from this file).
        cache_dir: where bundles are kept (default: ``<root>/.build/bundles``).

    Raises:
        BundleError: unknown package or platform, uv missing, or a uv step failed (uv's output included; a
            locked package without a manylinux2014 wheel, such as pyarrow >= 18, is named with the reason).
    """
    if platform not in PLATFORMS:
        raise BundleError(f"unknown platform {platform!r}; expected one of {sorted(PLATFORMS)}")
    root = (root or repo_root()).resolve()
    known = workspace_packages(root)
    if package not in known:
        raise BundleError(f"unknown workspace package {package!r}; expected one of {sorted(set(known.values()))}")
    project = known[package]
    uv = find_uv(root)
    closure = _closure(uv, root, project)
    key = _cache_key(closure, platform)
    cache = (cache_dir or root / ".build" / "bundles").resolve()
    final = cache / f"{project}-{platform}-{key}"
    if final.is_dir():  # only ever created by the rename below, so it is complete
        os.utime(final)  # last use, which _remove_stale goes by
        return final
    cache.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{project}-{platform}-", dir=cache))
    try:
        _install(uv, root, closure, platform, staging)
        _prune(staging)
        _check_forbidden(staging)
        try:
            staging.rename(final)
        except OSError:
            if not final.is_dir():  # not a concurrent build that won the race
                raise
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    _remove_stale(cache, project, platform, keep=final)
    return final


_NO_WHEEL = re.compile(r"Because (\S+)==\S+ has no usable wheels")


def _run(cmd: list[str], root: Path, step: str) -> str:
    env = {**os.environ, "UV_PYTHON_DOWNLOADS": "never", "VIRTUAL_ENV": ""}
    done = subprocess.run(cmd, cwd=root, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        output = done.stderr.strip() or done.stdout.strip()
        missing = _NO_WHEEL.search(output)
        hint = (
            f"\n{missing.group(1)} has no wheel for manylinux2014 (glibc 2.17) on this architecture, and the Lambda"
            " Python 3.11 runtime is Amazon Linux 2 (glibc 2.26): a zip cannot run it. Deploy this function as a"
            " container image (services/<service>/Dockerfile) instead."
            if missing
            else ""
        )
        raise BundleError(f"{step} failed ({' '.join(cmd)}):\n{output}{hint}")
    return done.stdout


def _closure(uv: str, root: Path, project: str) -> _Closure:
    exported = _run(
        [uv, "export", "--frozen", "--no-dev", "--package", project, "--no-hashes", "--no-header", "--no-annotate"],
        root,
        f"uv export of {project}",
    )
    requirements: list[str] = []
    workspace_dirs: list[Path] = []
    for raw in exported.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("-e "):
            workspace_dirs.append((root / line[3:].strip()).resolve())
        else:
            requirements.append(line)
    if not workspace_dirs:
        raise BundleError(f"uv export of {project} listed no workspace package")
    return _Closure(package=project, requirements=requirements, workspace_dirs=workspace_dirs)


def _project_name(directory: Path) -> str:
    name: str = tomllib.loads((directory / "pyproject.toml").read_text())["project"]["name"]
    return name


def _source_files(directory: Path) -> list[Path]:
    files = [directory / "pyproject.toml"]
    src = directory / "src"
    for dirpath, dirnames, filenames in os.walk(src):
        dirnames[:] = sorted(d for d in dirnames if d not in _SKIP_DIRS)
        files.extend(Path(dirpath) / name for name in sorted(filenames) if not name.endswith((".pyc", ".pyo")))
    return files


def _cache_key(closure: _Closure, platform: str) -> str:
    digest = hashlib.sha256()
    for part in (RECIPE_VERSION, PYTHON_VERSION, platform, closure.package, *closure.requirements):
        digest.update(part.encode() + b"\0")
    for directory in closure.workspace_dirs:
        for path in _source_files(directory):
            digest.update(str(path.relative_to(directory.parent)).encode() + b"\0")
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()[:16]


def _install(uv: str, root: Path, closure: _Closure, platform: str, target: Path) -> None:
    common = ["--target", str(target), "--python-platform", PLATFORMS[platform], "--python-version", PYTHON_VERSION]
    common += ["--no-deps", "--quiet"]
    if closure.requirements:
        requirements = target.parent / f"{target.name}.requirements.txt"
        requirements.write_text("\n".join(closure.requirements) + "\n")
        try:
            _run(
                [uv, "pip", "install", *common, "--only-binary", ":all:", "-r", str(requirements)],
                root,
                f"installing the locked dependencies of {closure.package}",
            )
        finally:
            requirements.unlink(missing_ok=True)
    refresh = [arg for d in closure.workspace_dirs for arg in ("--refresh-package", _project_name(d))]
    _run(
        [uv, "pip", "install", *common, *refresh, *(str(d) for d in closure.workspace_dirs)],
        root,
        f"installing the workspace packages of {closure.package}",
    )


def _prune(target: Path) -> None:
    """Drop what a Lambda never runs: console scripts and byte-code caches."""
    shutil.rmtree(target / "bin", ignore_errors=True)
    for cache in list(target.rglob("__pycache__")):
        shutil.rmtree(cache, ignore_errors=True)


def _check_forbidden(target: Path) -> None:
    found = sorted(
        p.name
        for p in target.glob("*.dist-info")
        if p.name.lower().replace("_", "-").startswith(FORBIDDEN_DISTRIBUTIONS)
    )
    if found:
        raise BundleError(f"the bundle would ship emulator/test packages: {found}")


def _remove_stale(cache: Path, project: str, platform: str, *, keep: Path) -> None:
    """Delete older bundles of the same package and platform once nobody can still be using them.

    A bundle built or reused less than STALE_AFTER_S ago stays: a concurrent synth may have been handed it a moment
    before a source edit made this build a new one.
    """
    cutoff = time.time() - STALE_AFTER_S
    for old in cache.glob(f"{project}-{platform}-*"):
        if old != keep and old.is_dir() and old.stat().st_mtime < cutoff:
            shutil.rmtree(old, ignore_errors=True)


def bundle_size_bytes(path: Path) -> int:
    """Unzipped size of a bundle (Lambda's limit is 250 MB for the function and its layers)."""
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def main(argv: list[str] | None = None) -> int:
    """``python -m infra.bundles [--platform P] PACKAGE...``: build (or reuse) bundles and print their sizes."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m infra.bundles", description=main.__doc__)
    parser.add_argument("packages", nargs="+")
    parser.add_argument("--platform", default="linux-arm64", choices=sorted(PLATFORMS))
    args = parser.parse_args(argv)
    for package in args.packages:
        path = lambda_bundle_dir(package, platform=args.platform)
        print(f"{package} ({args.platform}): {bundle_size_bytes(path) / 1e6:.1f} MB unzipped in {path}")  # noqa: T201
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
