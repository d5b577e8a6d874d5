"""Audit the locked dependencies for known vulnerabilities (pip-audit), as part of `make lint`.

The lock is exported to a requirements file (exact pins, no resolution) and checked against PyPI's
advisory data. A known vulnerability fails. Where the advisory service cannot be reached (a machine
whose package index serves only the project pages, not PyPI's per-version JSON), nothing can be
audited: this says so loudly and exits 0, unless STRICT_AUDIT=1 (then it fails).
"""

from __future__ import annotations

import json
import os

# runs uv and pip-audit with argument lists, never a shell
import subprocess  # nosec B404
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / ".venv" / "bin"
UV = os.environ.get("UV", str(ROOT / ".tools" / "venv" / "bin" / "uv"))


def say(text: str) -> None:
    """One line to stdout."""
    sys.stdout.write(text + "\n")


def main() -> int:
    """Exit 1 on a known vulnerability (or, with STRICT_AUDIT=1, on packages that could not be audited)."""
    with tempfile.TemporaryDirectory(prefix="pip-audit-") as tmp:
        requirements = Path(tmp) / "requirements.txt"
        report = Path(tmp) / "report.json"
        export = ["--format", "requirements-txt", "--quiet", "-o", str(requirements)]
        audit_args = ["--progress-spinner", "off", "--timeout", "10", "-f", "json", "-o", str(report)]
        subprocess.run(  # nosec B603
            [UV, "export", "--frozen", "--no-hashes", "--no-emit-workspace", "--all-packages", "--all-extras", *export],
            cwd=ROOT,
            check=True,
        )
        audit = subprocess.run(  # nosec B603
            [str(BIN / "pip-audit"), "-r", str(requirements), "--no-deps", "--disable-pip", "-s", "pypi", *audit_args],
            capture_output=True,
            text=True,
            check=False,
        )
        if not report.exists():
            say(audit.stdout + audit.stderr)
            return audit.returncode or 1
        dependencies = json.loads(report.read_text())["dependencies"]
    vulnerable = [d for d in dependencies if d.get("vulns")]
    skipped = [d for d in dependencies if d.get("skip_reason")]
    for dep in vulnerable:
        ids = ", ".join(
            v["id"] + (f" (fixed in {', '.join(v['fix_versions'])})" if v["fix_versions"] else "") for v in dep["vulns"]
        )
        say(f"pip-audit: {dep['name']} {dep['version']}: {ids}")
    audited = len(dependencies) - len(skipped)
    say(f"pip-audit: {audited} of {len(dependencies)} locked packages audited, {len(vulnerable)} vulnerable")
    if skipped:
        say(
            f"pip-audit: {len(skipped)} packages NOT audited (advisory data unreachable: {skipped[0]['skip_reason']}); "
            "run `make lint` where pypi.org is reachable, or set STRICT_AUDIT=1 to fail here"
        )
    if vulnerable or (skipped and os.environ.get("STRICT_AUDIT") == "1"):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
