"""The fork server that worker processes are started from.

It imports the printing stack once (WeasyPrint, pikepdf, Jinja, Markdown); every worker forked from it starts
with all of it loaded. Starting it early lets those imports run while the build is still planning.
"""

from __future__ import annotations

import multiprocessing
from multiprocessing import forkserver

PRELOAD = ["handouts.worker", "handouts.pdf"]


def context() -> multiprocessing.context.BaseContext:
    forkserver.set_forkserver_preload(PRELOAD)
    return multiprocessing.get_context("forkserver")


def start() -> None:
    """Start the fork server in the background (it returns at once; the server imports on its own)."""
    context()
    forkserver.ensure_running()
