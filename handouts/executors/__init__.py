"""Executors: what prints a build's documents. The building process plans, renders each document's HTML,
publishes each PDF and writes the manifest; an executor only prints and preflights, and yields each document's
result as it finishes. Two implement the one interface: the local pool of warm worker processes (the default)
and a Dask cluster (`--scheduler`)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Iterator, Protocol

if TYPE_CHECKING:       # the printing stack is imported where something is printed
    from ..content import Library
    from ..models import Patient
    from ..plan import Job
    from ..worker import Result


LOCAL = re.compile(r"local:([1-9][0-9]{0,3})")
_TCP = re.compile(r"tcp://(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):([0-9]{1,5})")


class Executor(Protocol):
    def run_all(self, library: Library, tasks: list[tuple[Job, str]], patient: Patient) -> Iterator[Result]:
        """Print every (job, inputs digest), yielding each document's result as it finishes."""


class ClusterError(Exception):
    """The cluster cannot go on printing this build (unreachable or lost scheduler, workers with other versions):
    the build stops, keeping what it published; the message is one line for the user."""


def scheduler_error(value: str) -> str | None:
    """What is wrong with a --scheduler value, or None when it is one of the two forms."""
    if LOCAL.fullmatch(value):
        return None
    found = _TCP.fullmatch(value)
    if found and 1 <= int(found[2]) <= 65535:
        return None
    return "give tcp://HOST:PORT (a Dask scheduler) or local:N (N worker processes on this machine, 1 to 9999)"


def executor_for(scheduler: str | None, jobs: int | None) -> Executor:
    """The local pool of `jobs` processes when no scheduler is named; else a Dask cluster: "local:N" starts one
    of N worker processes on this machine, "tcp://HOST:PORT" uses the cluster whose scheduler listens there."""
    if scheduler is None:
        from .local import LocalPool
        return LocalPool(jobs)
    from .dask import DaskExecutor
    return DaskExecutor(scheduler)
