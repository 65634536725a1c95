"""Progress bars on stderr for long commands (``analyze``, ``report``), spelled once.

A bar is drawn only when stderr is a terminal and ``--quiet`` is not given, so piped and
redirected output (and ``--json`` consumers) never see it; it is transient (erased when done).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:  # rich is imported only when a bar is drawn
    from rich.progress import Progress, TaskID

__all__ = ["QuietOpt", "Step", "progress"]

QuietOpt = Annotated[
    bool,
    typer.Option("--quiet", "-q", help="No progress bar (it shows only on a terminal anyway)."),
]


class Step:
    """Advance a bar: ``step(done)`` sets the completed count, ``step.describe(text)`` its label."""

    def __init__(self, bar: Progress | None = None, task: TaskID | None = None) -> None:
        self._bar = bar
        self._task = task

    def __call__(self, done: int) -> None:
        if self._bar is not None and self._task is not None:
            self._bar.update(self._task, completed=done)

    def describe(self, text: str) -> None:
        if self._bar is not None and self._task is not None:
            self._bar.update(self._task, description=text)


@contextmanager
def progress(description: str, total: int, *, quiet: bool) -> Iterator[Step]:
    """A bar of ``total`` steps on stderr, or nothing (quiet or not a terminal)."""
    from rich.console import Console

    console = Console(stderr=True)
    if quiet or not console.is_terminal:
        yield Step()
        return
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
    ) as bar:
        task = bar.add_task(description, total=total)
        yield Step(bar, task)
