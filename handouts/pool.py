"""The fork server that worker processes are started from.

It imports the printing stack once (WeasyPrint, pikepdf, Jinja, Markdown); every worker forked from it starts
with all of it loaded. It is started when there is something to print (at once when there is no manifest yet, so
everything will be), and its imports run while the building process plans and renders the HTML.
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
