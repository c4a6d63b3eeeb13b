"""For tests/test_dask.py only, as `dask worker --preload tests/dask_fatal_document.py`: the worker process ends
at once, as if it had crashed, when it is given the document named by the environment variable
HANDOUTS_TEST_FATAL (its path in the output folder), as one that crashed WeasyPrint would end it. Every other
document prints as usual."""

from __future__ import annotations

import os

from handouts import worker

# Dask may run a preload module more than once in a process: the real method is kept from the first time.
_run = getattr(worker.Worker, "_real_run", worker.Worker.run)
worker.Worker._real_run = _run            # type: ignore[attr-defined]


def _run_or_crash(self: worker.Worker, task: worker.Task, files=None) -> worker.Printed:
    if task.job.source == os.environ["HANDOUTS_TEST_FATAL"]:
        os._exit(70)
    return _run(self, task, files)


worker.Worker.run = _run_or_crash         # type: ignore[method-assign]
