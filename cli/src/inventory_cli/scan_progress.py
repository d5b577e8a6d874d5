"""Live progress of `inventory scan`: accounts, scopes, resources, API calls, throttles."""

from __future__ import annotations

import sys
from types import TracebackType

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from scanner.service import ScanProgress


class ScanProgressBar:
    """A rich progress bar on stderr over the scan's scopes; a plain final line when stderr is not a terminal."""

    def __init__(self) -> None:
        self._console = Console(stderr=True)
        self._progress = Progress(
            TextColumn("[bold]scan[/bold]"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("scopes · {task.fields[detail]}"),
            TimeElapsedColumn(),
            console=self._console,
            transient=False,
            disable=not sys.stderr.isatty(),
        )
        self._task = self._progress.add_task("scan", total=None, detail="starting")
        self.last: ScanProgress | None = None

    def __enter__(self) -> ScanProgressBar:
        self._progress.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._progress.stop()

    def update(self, progress: ScanProgress) -> None:
        self.last = progress
        self._progress.update(
            self._task,
            total=progress.scopes_total or None,
            completed=progress.scopes_done,
            detail=describe(progress),
        )


def describe(progress: ScanProgress) -> str:
    failed = f", {progress.failed_scopes} failed" if progress.failed_scopes else ""
    return (
        f"accounts {progress.accounts_done}/{progress.accounts_total} · {progress.resources} resources"
        f"{failed} · {progress.api_calls} API calls · {progress.throttles} throttles"
    )
