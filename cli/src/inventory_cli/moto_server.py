"""The embedded local AWS: a moto server process bound to 127.0.0.1."""

from __future__ import annotations

import importlib.util
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from inventory_core.topology import LONG_PROCESS_MALLOC_ENV

LOCAL_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    # the emulator's dummy key, not a secret
    "AWS_SECRET_ACCESS_KEY": "testing",  # nosec B105
}


MOTO_EXTRA_HINT = (
    "the embedded local AWS needs moto, which is an optional extra (production installs leave emulators out): "
    "install it with `pip install 'inventory-cli[local]'` (in this repo `make install` does), "
    "or point AWS_ENDPOINT_URL at another local AWS such as LocalStack"
)


class MotoNotInstalledError(RuntimeError):
    """moto (the ``inventory-cli[local]`` extra) is not installed."""


def moto_installed() -> bool:
    return importlib.util.find_spec("moto") is not None


def require_moto() -> None:
    """Raise :class:`MotoNotInstalledError` naming the extra when moto is missing."""
    if not moto_installed():
        raise MotoNotInstalledError(MOTO_EXTRA_HINT)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def is_up(endpoint: str, timeout_s: float = 3.0) -> bool:
    """True if a moto server answers on ``endpoint`` (its small dashboard page, not the state dump)."""
    try:
        # our own http endpoint (a URL the operator configured), never a file: or custom scheme
        with urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=timeout_s) as response:  # nosec B310
            return bool(response.status == 200)
    except OSError:
        return False


def port_in_use(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


@dataclass
class MotoServer:
    """A moto server child process; ``stop()`` ends it."""

    port: int
    process: subprocess.Popen[bytes] | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @classmethod
    def start(
        cls,
        port: int | None = None,
        *,
        log_path: Path | None = None,
        detach: bool = False,
        timeout_s: float = 30.0,
        env: Mapping[str, str] | None = None,
    ) -> MotoServer:
        """Start a server on 127.0.0.1 and wait until it answers; ``env`` adds to (or overrides) ours."""
        require_moto()
        port = port or free_port()
        server = cls(port)
        if port_in_use(port):
            raise RuntimeError(f"port {port} on 127.0.0.1 is already in use; choose another with --port")
        # MOTO_ACCOUNT_ID would override AssumeRole accounts. glibc as for our long-running processes (the server
        # answers each connection on a thread of its own): with the heap trim of moto_fast.main, the server's RSS
        # after the first 10,000-resource soak scan went 574-592 -> 441 MB. Explicit settings still win.
        settings = {**LONG_PROCESS_MALLOC_ENV, **{k: v for k, v in os.environ.items() if k != "MOTO_ACCOUNT_ID"}}
        settings.update(env or {})
        log = log_path.open("ab") if log_path else subprocess.DEVNULL
        server.process = subprocess.Popen(
            [sys.executable, "-m", "inventory_cli.moto_fast", "-H", "127.0.0.1", "-p", str(port)],
            stdout=log,
            stderr=log,
            env=settings,
            start_new_session=detach,
        )
        deadline = time.monotonic() + timeout_s
        while not is_up(server.endpoint, 0.5):
            if server.process.poll() is not None or time.monotonic() > deadline:
                server.stop()
                raise RuntimeError(f"moto server did not start on 127.0.0.1:{port}")
            time.sleep(0.1)
        return server

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


def stop_pid(pid: int) -> bool:
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return False
    for _ in range(50):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.1)
    os.kill(pid, signal.SIGKILL)
    return True
