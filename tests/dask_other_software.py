"""For tests/test_dask.py only, as `dask worker --preload tests/dask_other_software.py`: the worker reports the
WeasyPrint release named by the environment variable HANDOUTS_TEST_WEASYPRINT instead of its own, as a worker
with another release installed would. Nothing else about the worker changes."""

from __future__ import annotations

import os

from handouts.executors import versions

# Dask may run a preload module more than once in a process: the real function is kept from the first time.
_real = getattr(versions, "_real_software", versions.software)
versions._real_software = _real           # type: ignore[attr-defined]


def _other() -> dict[str, str]:
    return {**_real(), "weasyprint": os.environ["HANDOUTS_TEST_WEASYPRINT"]}


versions.software = _other      # before handouts.executors.dask imports it, and what client.run() finds by name
