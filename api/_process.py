"""What the running process is to a command: set by the ``hrvpace`` entry point alone.

:func:`api.cli.main` (the console script, ``python -m api``) calls :func:`ends_with_its_command`:
the process then exits once its command returns, so what a command leaves set for its exit
(:func:`api.commands._stop.held_signals` and :func:`api.commands._stop.stoppable`, their
``final`` blocks: Ctrl-C and SIGTERM ignored to the end) may stay set. A command run within a
longer-lived process (a test's ``CliRunner``) finds it unset and puts back what it changed. A
module of its own, so that ``hrvpace --version`` imports no command's code.
"""

from __future__ import annotations

import dataclasses

__all__ = ["PROCESS", "ends_with_its_command"]


@dataclasses.dataclass
class Process:
    """Whether this process ends with its command (:func:`ends_with_its_command`)."""

    ends_with_its_command: bool = False


#: This process.
PROCESS = Process()


def ends_with_its_command() -> None:
    """Say that this process exits once its command returns (:func:`api.cli.main` only)."""
    PROCESS.ends_with_its_command = True
