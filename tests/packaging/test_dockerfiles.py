"""The three service images, checked without a Docker engine: pinned bases, non-root, exactly one package, real entry.

Each Dockerfile's own ``uv export`` lines are run against the repository, so the test sees the closure the
image would install, not a copy of it.
"""

from __future__ import annotations

import importlib
import json
import os
import re
import shlex
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from infra.bundles import find_uv, repo_root

ROOT = repo_root()


@dataclass(frozen=True)
class Image:
    dockerfile: str
    package: str
    workspace: frozenset[str]  # our packages the image installs (its closure)
    command: tuple[str, ...]  # the process Lambda/ECS starts
    extra: str | None = None
    handler: str | None = None  # module.function for the Lambda images
    env: dict[str, str] = field(default_factory=dict)


IMAGES = {
    "scanner": Image(
        "services/scanner/Dockerfile",
        "inventory-scanner",
        frozenset({"services/scanner", "shared/core", "shared/events"}),
        ("python", "-m", "scanner"),
    ),
    "ddb_projector": Image(
        "services/ddb_projector/Dockerfile",
        "inventory-ddb-projector",
        frozenset({"services/ddb_projector", "shared/core", "shared/events"}),
        ("python", "-m", "awslambdaric", "ddb_projector.handler.lambda_handler"),
        extra="lambda",
        handler="ddb_projector.handler.lambda_handler",
    ),
    "lake_writer": Image(
        "services/lake_writer/Dockerfile",
        "inventory-lake-writer",
        frozenset({"services/lake_writer", "shared/core", "shared/events", "shared/lake"}),
        ("python", "-m", "awslambdaric", "lake_writer.handler.lambda_handler"),
        extra="lambda",
        handler="lake_writer.handler.lambda_handler",
    ),
    "api": Image(
        "services/api/Dockerfile",
        "inventory-api",
        frozenset({"services/api", "shared/core", "shared/events", "shared/lake"}),
        ("python", "-m", "awslambdaric", "inventory_api.handler.lambda_handler"),
        extra="lambda",
        handler="inventory_api.handler.lambda_handler",
        env={"WEB_DIST_DIR": "/opt/web/dist"},
    ),
}
PINNED = {
    "python": re.compile(r"^python:3\.11\.\d+-slim-[a-z]+(@sha256:[0-9a-f]{64})?$"),
    "node": re.compile(r"^node:\d+\.\d+\.\d+-[a-z]+-slim(@sha256:[0-9a-f]{64})?$"),
    "ghcr.io/astral-sh/uv": re.compile(r"^ghcr\.io/astral-sh/uv:\d+\.\d+\.\d+(@sha256:[0-9a-f]{64})?$"),
}


@dataclass
class Stage:
    base: str
    name: str | None
    instructions: list[tuple[str, str]] = field(default_factory=list)


def parse(path: Path) -> tuple[dict[str, str], list[Stage]]:
    """Global ARG defaults and the stages, with line continuations joined and comments dropped."""
    text = re.sub(r"\\\n", " ", path.read_text())
    args: dict[str, str] = {}
    stages: list[Stage] = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        keyword, _, rest = line.partition(" ")
        keyword = keyword.upper()
        if keyword == "FROM":
            words = [w for w in rest.split() if not w.startswith("--platform=")]
            base = re.sub(r"\$\{(\w+)\}", lambda m: args[m.group(1)], words[0])
            stages.append(Stage(base, words[2] if len(words) > 2 and words[1].upper() == "AS" else None))
        elif keyword == "ARG" and not stages:
            name, _, default = rest.partition("=")
            args[name] = default
        elif stages:
            stages[-1].instructions.append((keyword, rest.strip()))
    return args, stages


def exports(stages: list[Stage]) -> list[list[str]]:
    return [
        shlex.split(part.strip())
        for stage in stages
        for keyword, rest in stage.instructions
        if keyword == "RUN"
        for part in rest.split("&&")
        if part.strip().startswith("uv export")
    ]


@pytest.mark.parametrize("name", sorted(IMAGES))
def test_every_base_image_is_pinned_to_a_patch_version(name: str) -> None:
    _, stages = parse(ROOT / IMAGES[name].dockerfile)
    local = {s.name for s in stages if s.name}
    bases = [s.base for s in stages if s.base not in local]
    assert bases
    for base in bases:
        kind = next((k for k in PINNED if base.startswith(k + ":")), None)
        assert kind, f"unexpected base image {base}"
        assert PINNED[kind].match(base), f"{base} is not pinned to a patch version"
    # The final image runs the same Python 3.11 patch as the build stage that made its venv.
    assert stages[-1].base == next(s.base for s in stages if s.name == "build")


@pytest.mark.parametrize("name", sorted(IMAGES))
def test_the_final_stage_runs_as_a_non_root_user_with_only_the_venv(name: str) -> None:
    image = IMAGES[name]
    _, stages = parse(ROOT / image.dockerfile)
    final = stages[-1]
    users = [rest for keyword, rest in final.instructions if keyword == "USER"]
    assert users, "no USER in the final stage"
    user = users[-1].split(":")[0]
    assert user not in ("root", "0") and user.isdigit() and int(user) >= 1000
    assert final.instructions[-1][0] in ("CMD", "ENTRYPOINT") and ("USER", users[-1]) in final.instructions
    copies = [rest for keyword, rest in final.instructions if keyword == "COPY"]
    assert all(c.startswith("--from=") for c in copies), "the final stage copies built artefacts only, no sources"
    envs = " ".join(rest for keyword, rest in final.instructions if keyword == "ENV")
    for key, value in image.env.items():
        assert f"{key}={value}" in envs


@pytest.mark.parametrize("name", sorted(IMAGES))
def test_the_image_installs_exactly_its_package_from_the_lock(name: str) -> None:
    image = IMAGES[name]
    _, stages = parse(ROOT / image.dockerfile)
    commands = exports(stages)
    assert len(commands) == 2  # third-party (hashed) and our own packages
    closure_workspace: set[str] = set()
    for cmd in commands:
        assert cmd[:4] == ["uv", "export", "--frozen", "--no-dev"]
        packages = [cmd[i + 1] for i, word in enumerate(cmd) if word == "--package"]
        assert packages == [image.package]
        extras = [cmd[i + 1] for i, word in enumerate(cmd) if word == "--extra"]
        assert extras == ([image.extra] if image.extra else [])
        assert "--all-packages" not in cmd and "--all-extras" not in cmd
        run = [find_uv(ROOT), *cmd[1:]]
        if "-o" in run:  # print instead of writing the file
            del run[run.index("-o") : run.index("-o") + 2]
        out = subprocess.run(run, cwd=ROOT, capture_output=True, text=True, check=True, timeout=60).stdout
        lines = [ln.strip() for ln in out.splitlines() if ln.strip() and not ln.strip().startswith(("#", "--hash"))]
        if "--no-emit-workspace" in cmd:
            assert "--no-hashes" not in cmd, "third-party wheels are installed with --require-hashes"
            names = {ln.split("==")[0] for ln in lines if "==" in ln}
            assert not {n for n in names if n.startswith(("moto", "pytest", "boto3-stubs", "mypy-boto3"))}
            assert ("awslambdaric" in names) == (image.extra == "lambda")
        else:
            closure_workspace = {ln.removeprefix("./") for ln in lines if ln.startswith("./")}
    assert closure_workspace == set(image.workspace)
    runs = " ".join(rest for s in stages for keyword, rest in s.instructions if keyword == "RUN")
    assert "--require-hashes" in runs and "--only-binary :all:" in runs and "--no-deps" in runs


@pytest.mark.parametrize("name", sorted(IMAGES))
def test_the_entry_point_exists(name: str) -> None:
    image = IMAGES[name]
    _, stages = parse(ROOT / image.dockerfile)
    final = stages[-1]
    entry: list[str] = next((json.loads(rest) for keyword, rest in final.instructions if keyword == "ENTRYPOINT"), [])
    cmd = next(json.loads(rest) for keyword, rest in reversed(final.instructions) if keyword == "CMD")
    assert tuple(entry + cmd) == image.command
    if image.handler:
        module, _, function = image.handler.rpartition(".")
        assert callable(getattr(importlib.import_module(module), function))
    else:
        assert importlib.util.find_spec("scanner.__main__") is not None
        # ECS shard tasks override the command with `python -m scanner --request ...`: no ENTRYPOINT may prefix it.
        shards = (ROOT / "services/scanner/src/scanner/adapters/shards.py").read_text()
        assert '"command": ["python", "-m", "scanner", "--request"' in shards
        assert entry == []


def _glob_regex(pattern: str) -> re.Pattern[str]:
    out = ""
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out, i = out + "(?:.*/)?", i + 3
        elif pattern.startswith("**", i):
            out, i = out + ".*", i + 2
        else:
            out += {"*": "[^/]*", "?": "[^/]"}.get(pattern[i], re.escape(pattern[i]))
            i += 1
    return re.compile(out)


def dockerignored(path: str) -> bool:
    """Docker's rule: the last .dockerignore pattern matching the path or one of its parents decides."""
    lines = (ROOT / ".dockerignore").read_text().splitlines()
    patterns = [ln.strip() for ln in lines if ln.strip()[:1] not in ("", "#")]
    parts = path.strip("/").split("/")
    candidates = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    excluded = False
    for pattern in patterns:
        regex = _glob_regex(pattern.lstrip("!").strip("/"))
        if any(regex.fullmatch(c) for c in candidates):
            excluded = not pattern.startswith("!")
    return excluded


@pytest.mark.parametrize("name", sorted(IMAGES))
def test_everything_the_dockerfile_copies_is_in_the_build_context(name: str) -> None:
    _, stages = parse(ROOT / IMAGES[name].dockerfile)
    for stage in stages:
        for keyword, rest in stage.instructions:
            if keyword != "COPY" or rest.startswith("--from="):
                continue
            for source in rest.split()[:-1]:
                path = ROOT / source
                assert path.exists(), f"{IMAGES[name].dockerfile}: COPY {source} does not exist"
                assert not dockerignored(source), f"COPY {source} is excluded by .dockerignore"


IGNORED = (
    ".git/config",
    ".venv/bin/python",
    ".tools/venv",
    ".build/bundles",
    ".inventory/local",
    ".env",
    "shared/core/.env",
    "services/api/web/node_modules/x.js",
    "services/api/web/dist/index.html",
    "infra/cdk.out/x.json",
    "infra/src/infra/bundles.py",
    "cli/src/inventory_cli/main.py",
    "tests/conftest.py",
    "shared/core/src/inventory_core/__pycache__/aws.cpython-311.pyc",
)
KEPT = (
    "uv.lock",
    "pyproject.toml",
    "cli/pyproject.toml",
    "infra/pyproject.toml",
    "shared/core/src/inventory_core/aws.py",
    "services/scanner/src/scanner/__main__.py",
    "services/api/web/src/App.tsx",
    "services/api/web/package-lock.json",
)


def test_dockerignore_keeps_secrets_caches_local_state_and_unused_sources_out() -> None:
    assert [p for p in IGNORED if not dockerignored(p)] == []
    assert [p for p in KEPT if dockerignored(p)] == []


# The lake writer's, projector's and API's closures are 190-470 MB: their build stages run in `make check-images`.
FAST_BUILDS = {"scanner"}


@pytest.mark.parametrize("name", sorted(IMAGES))
def test_the_build_stage_runs_here_from_only_what_it_copies(name: str, tmp_path: Path) -> None:
    """The image's build RUN, executed on this host in a context made of exactly its COPY instructions.

    /opt/venv becomes a temp venv and the image's python3.11 this interpreter's base; everything else is the
    Dockerfile's own text, so a missing COPY, a wrong export flag or a failing entry import fails here.
    """
    if name not in FAST_BUILDS and not os.environ.get("PACKAGING_FULL"):
        pytest.skip(f"{name}: a large closure; `make check-images` (PACKAGING_FULL=1) runs this build stage")
    import shutil
    import sys

    image = IMAGES[name]
    _, stages = parse(ROOT / image.dockerfile)
    build = next(s for s in stages if s.name == "build")
    context = tmp_path / "src"
    context.mkdir()
    ignore = shutil.ignore_patterns("__pycache__", "node_modules", "dist", "*.pyc")
    for keyword, rest in build.instructions:
        if keyword != "COPY" or rest.startswith("--from="):
            continue
        *sources, dest = rest.split()
        for source in sources:
            if (ROOT / source).is_dir():
                shutil.copytree(ROOT / source, context / dest.rstrip("/"), ignore=ignore, dirs_exist_ok=True)
            else:
                target = context / dest / Path(source).name if dest.endswith(("/", "./")) else context / dest
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(ROOT / source, target)
    run = next(rest for keyword, rest in build.instructions if keyword == "RUN" and "uv venv" in rest)
    venv = tmp_path / "venv"
    run = run.replace("/opt/venv", str(venv)).replace("/usr/local/bin/python3.11", sys._base_executable)  # type: ignore[attr-defined]
    uv_dir = str(Path(find_uv(ROOT)).parent)
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "UV_PROJECT_ENVIRONMENT")}
    env |= {"PATH": f"{uv_dir}:{os.environ.get('PATH', '/usr/bin:/bin')}", "UV_PYTHON_DOWNLOADS": "never"}

    done = subprocess.run(["bash", "-ec", run], cwd=context, env=env, capture_output=True, text=True, timeout=900)

    assert done.returncode == 0, done.stderr[-2000:]
    site = next(venv.glob("lib/python3.*/site-packages"))
    ours = sorted(p.name.split("-")[0] for p in site.glob("inventory_*.dist-info"))
    assert ours == sorted(
        image.package.replace("-", "_") if d.startswith("services/") else "inventory_" + d.split("/")[1]
        for d in image.workspace
    )
    assert not list(site.glob("moto*")) and not list(site.glob("pytest*"))
    assert bool(list(site.glob("awslambdaric*"))) == (image.extra == "lambda")
