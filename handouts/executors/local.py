"""The local pool: worker processes forked from a server that has the printing stack imported (handouts.pool)."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Iterator

if TYPE_CHECKING:
    from ..content import Library
    from ..models import Patient
    from ..plan import Job
    from ..worker import Result


class LocalPool:
    """`jobs` warm worker processes on this machine (by default one per core); one job prints in this process."""

    def __init__(self, jobs: int | None = None):
        self.jobs = jobs or os.cpu_count() or 1

    def run_all(self, library: Library, tasks: list[tuple[Job, str]], patient: Patient) -> Iterator[Result]:
        from ..worker import run_all
        return run_all(library, tasks, patient, self.jobs)

    def close(self) -> None:
        """Nothing to do: the pool's processes end with each build (handouts.pool stops them on an error)."""
