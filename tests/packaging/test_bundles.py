"""The projector and archiver Lambda zips: built for real from uv.lock and imported with nothing but the bundle.

Builds go to a temporary cache (never the repo's .build/) and reuse uv's download cache, so a warm run
takes seconds; the first run on a clean CI machine downloads the wheels once (~35 MB per platform).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
from infra.bundles import (
    FORBIDDEN_DISTRIBUTIONS,
    STALE_AFTER_S,
    BundleError,
    bundle_size_bytes,
    host_platform_name,
    lambda_bundle_dir,
    repo_root,
)

# Every function deployable as a zip and its handler module. The projector is not one any more: its pyarrow
# (read-model snapshot) has no aarch64 wheel for the Lambda Python 3.11 runtime's glibc (see the last test).
ZIP_FUNCTIONS = {
    "inventory-archiver": "archiver.handler",
    "inventory-scanner": "scanner.launch_failed",
}
LAMBDA_UNZIPPED_LIMIT = 250 * 1024 * 1024
ELF_MACHINES = {"linux-arm64": 183, "linux-x86_64": 62}  # e_machine: EM_AARCH64, EM_X86_64

# Imports the handler with only the bundle and the standard library on sys.path (-I: no PYTHON* variables,
# no user site; -S: no site-packages), then reports every loaded module that came from anywhere else.
PROBE = """
import importlib, json, sys, sysconfig
bundle = sys.argv[1]
sys.path.insert(0, bundle)
handler = importlib.import_module(sys.argv[2])
stdlib = (sysconfig.get_paths()["stdlib"], sysconfig.get_paths()["platstdlib"])
foreign = sorted(
    name for name, module in list(sys.modules.items())
    if getattr(module, "__file__", None)
    and not module.__file__.startswith(bundle)
    and not module.__file__.startswith(stdlib)
)
print(json.dumps({"callable": callable(getattr(handler, "lambda_handler", None)), "foreign": foreign,
                  "site": "site" in sys.modules}))
"""


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("bundles")


def distributions(bundle: Path) -> set[str]:
    return {p.name.split("-")[0].lower().replace("_", "-") for p in bundle.glob("*.dist-info")}


@pytest.mark.parametrize("package", sorted(ZIP_FUNCTIONS))
def test_host_bundle_imports_its_handler_with_only_the_bundle_on_the_path(package: str, cache: Path) -> None:
    bundle = lambda_bundle_dir(package, platform=host_platform_name(), cache_dir=cache)

    env = {"PATH": os.environ.get("PATH", ""), "APP_TABLE_NAME": "t", "AWS_DEFAULT_REGION": "us-east-1"}
    done = subprocess.run(
        [sys.executable, "-I", "-S", "-c", PROBE, str(bundle), ZIP_FUNCTIONS[package]],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )

    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report == {"callable": True, "foreign": [], "site": False}


@pytest.mark.parametrize("package", sorted(ZIP_FUNCTIONS))
def test_arm64_bundle_is_the_locked_closure_for_graviton_and_fits_a_zip(package: str, cache: Path) -> None:
    bundle = lambda_bundle_dir(package, platform="linux-arm64", cache_dir=cache)

    dists = distributions(bundle)
    assert {package, "inventory-core", "inventory-events", "aws-lambda-powertools", "pydantic-core"} <= dists
    assert not {d for d in dists if d.startswith(FORBIDDEN_DISTRIBUTIONS)}, dists
    # Only what the function needs: no other service, no lake, no CLI, no CDK.
    assert not {d for d in dists if d.startswith("inventory-")} - {package, "inventory-core", "inventory-events"}
    assert not dists & {"pyarrow", "pyiceberg", "duckdb", "moto", "aws-cdk-lib", "typer", "fastapi"}
    shared_objects = list(bundle.rglob("*.so"))
    assert shared_objects, "pydantic-core ships a compiled extension"
    for so in shared_objects:
        header = so.read_bytes()[:20]
        assert header[:4] == b"\x7fELF" and int.from_bytes(header[18:20], "little") == ELF_MACHINES["linux-arm64"], so
    assert bundle_size_bytes(bundle) < LAMBDA_UNZIPPED_LIMIT
    assert not list(bundle.rglob("__pycache__")) and not (bundle / "bin").exists()


def test_bundle_is_cached_by_content_and_rebuilt_when_a_source_changes(tmp_path: Path) -> None:
    # A copy of the workspace: editing a source file must not touch the real tree.
    root = repo_root()
    work = tmp_path / "ws"
    work.mkdir()
    for name in ("pyproject.toml", "uv.lock"):
        shutil.copy2(root / name, work / name)
    ignore = shutil.ignore_patterns("__pycache__", "node_modules", "dist", "web", "tests", "tools")
    for folder in ("shared", "services"):
        shutil.copytree(root / folder, work / folder, ignore=ignore)
    for member in ("cli", "infra"):
        (work / member).mkdir()
        shutil.copy2(root / member / "pyproject.toml", work / member / "pyproject.toml")
    cache = tmp_path / "cache"
    platform = host_platform_name()

    first = lambda_bundle_dir("archiver", platform=platform, root=work, cache_dir=cache)
    again = lambda_bundle_dir("inventory-archiver", platform=platform, root=work, cache_dir=cache)
    marker = work / "shared" / "events" / "src" / "inventory_events" / "_bundle_probe.py"
    marker.write_text("PROBE = 1\n")
    rebuilt = lambda_bundle_dir("archiver", platform=platform, root=work, cache_dir=cache)

    assert again == first
    assert rebuilt != first
    assert (rebuilt / "inventory_events" / "_bundle_probe.py").read_text() == "PROBE = 1\n"
    assert first.exists(), "a bundle built moments ago stays: a concurrent synth may still be zipping it"

    # An hour later the old bundle is pruned by the next build of the same package and platform.
    old = time.time() - STALE_AFTER_S - 60
    os.utime(first, (old, old))
    marker.write_text("PROBE = 2\n")
    latest = lambda_bundle_dir("archiver", platform=platform, root=work, cache_dir=cache)
    assert not first.exists()
    assert sorted(p.name for p in cache.iterdir() if p.name.startswith("inventory-archiver")) == sorted(
        [rebuilt.name, latest.name]
    )


def test_unknown_package_or_platform_is_a_clear_error(cache: Path) -> None:
    with pytest.raises(BundleError, match=r"unknown workspace package 'nope'.*inventory-archiver"):
        lambda_bundle_dir("nope", cache_dir=cache)
    with pytest.raises(BundleError, match="unknown platform 'windows'"):
        lambda_bundle_dir("inventory-archiver", platform="windows", cache_dir=cache)


def test_zipped_bundles_report_sizes(cache: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lines = []
    for package in sorted(ZIP_FUNCTIONS):
        bundle = lambda_bundle_dir(package, platform="linux-arm64", cache_dir=cache)
        archive = tmp_path / f"{package}.zip"
        with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
            for f in sorted(bundle.rglob("*")):
                if f.is_file():
                    zf.write(f, f.relative_to(bundle))
        zipped = archive.stat().st_size
        assert zipped < 50 * 1024 * 1024  # Lambda's direct-upload limit; CDK uploads via S3 anyway
        lines.append(f"{package}: {bundle_size_bytes(bundle) / 1e6:.1f} MB unzipped, {zipped / 1e6:.1f} MB zipped")
    with capsys.disabled():
        print("\n  " + "\n  ".join(lines))


def test_a_closure_without_a_wheel_for_the_lambda_runtime_is_refused_with_the_reason(cache: Path) -> None:
    # The projector's pyarrow ships aarch64 wheels for glibc >= 2.28 only; Lambda's Python 3.11 runtime is
    # Amazon Linux 2 (glibc 2.26), so a zip would die at import: the build says so and names the way out.
    with pytest.raises(BundleError, match=r"(?s)pyarrow.*glibc 2\.26.*container image"):
        lambda_bundle_dir("inventory-ddb-projector", platform="linux-arm64", cache_dir=cache)
