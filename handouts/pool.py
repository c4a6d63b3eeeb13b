"""The fork server that worker processes are started from, and the pools of workers.

It imports the printing stack once (WeasyPrint, pikepdf, Jinja, Markdown); every worker forked from it starts
with all of it loaded. It is started when there is something to print (at once when there is no manifest yet, so
everything will be), and its imports run while the building process plans and renders the HTML.

A command that is interrupted (a signal, or an error) ends every process it started: `stop()`.
"""

from __future__ import annotations

import multiprocessing
import os
import select
import shutil
import signal
import tempfile
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from multiprocessing import forkserver
from typing import Callable, Iterator

PRELOAD = ["handouts.worker", "handouts.pdf"]
GRACE_S = 3.0            # how long a worker or the fork server is given to end before it is killed

_executors: dict[ProcessPoolExecutor, str] = {}      # the pools running now, and their workers' temporary folder


def context() -> multiprocessing.context.BaseContext:
    forkserver.set_forkserver_preload(PRELOAD)
    return multiprocessing.get_context("forkserver")


def start() -> None:
    """Start the fork server in the background (it returns at once; the server imports on its own).

    It is started with SIGINT ignored: Python then leaves SIGINT ignored in it, and every worker it forks gets
    the server's starting handlers back, so a Ctrl-C on the terminal (sent to the whole process group) reaches
    the workers as nothing and the building process alone decides what to do."""
    context()
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        forkserver.ensure_running()
    finally:
        signal.signal(signal.SIGINT, previous)


@contextmanager
def executor(workers: int, initializer: Callable, initargs: tuple) -> Iterator[ProcessPoolExecutor]:
    """A pool of `workers` processes from the fork server. Left normally, it waits for its work; left by an
    exception (an interrupt, or the consumer of a generator going away), its workers are ended at once. Either
    way the temporary files of its workers go with it (WeasyPrint's font folders, which a worker leaves behind
    since it ends by os._exit or a signal, never by its own cleanup)."""
    start()
    scratch = tempfile.mkdtemp(prefix="handouts-workers-")
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=context(), initializer=_start_worker,
                               initargs=(os.getpid(), scratch, initializer, initargs))
    _executors[pool] = scratch
    try:
        yield pool
    except BaseException:
        _end(pool)
        raise
    pool.shutdown(wait=True)
    _executors.pop(pool, None)
    shutil.rmtree(scratch, ignore_errors=True)


def _start_worker(building: int, scratch: str, initializer: Callable, initargs: tuple) -> None:
    tempfile.tempdir = scratch
    _end_with(building, scratch)
    initializer(*initargs)


def _end_with(building: int, scratch: str) -> None:
    """End this worker as soon as the building process has ended, however it ended: killed outright (SIGKILL,
    the OOM killer), it can tell nobody, and its workers would wait for work for ever, holding the fork server
    alive with them. A thread waits on the building process's pidfd (no polling, no pid reuse)."""
    try:
        gone = os.pidfd_open(building)
    except ProcessLookupError:
        os._exit(1)

    def wait() -> None:
        select.select([gone], [], [])
        shutil.rmtree(scratch, ignore_errors=True)
        os._exit(1)

    threading.Thread(target=wait, name="end-with-the-build", daemon=True).start()


@contextmanager
def ended_on_error() -> Iterator[None]:
    """Around a command: if it ends by an exception (a signal's, or a bug), `stop()` every process first."""
    try:
        yield
    except BaseException:
        stop()
        raise


def stop() -> None:
    """End every worker and the fork server, each within a bounded time. Safe to call more than once."""
    for pool in list(_executors):
        _end(pool)
    _end_fork_server()


def _end(pool: ProcessPoolExecutor) -> None:
    """Cancel what has not started; terminate the workers, wait for them a little, kill what is left."""
    processes = list((pool._processes or {}).values())   # private: shutdown() forgets them, so take them first
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        process.terminate()
    deadline = time.monotonic() + GRACE_S
    for process in processes:
        process.join(max(0.0, deadline - time.monotonic()))
    for process in processes:
        if process.is_alive():
            process.kill()
            process.join(1.0)
    scratch = _executors.pop(pool, None)
    if scratch is not None:
        shutil.rmtree(scratch, ignore_errors=True)


def _end_fork_server() -> None:
    """The fork server leaves its loop when its "alive" pipe reaches end of file, that is once this process has
    closed its end and no worker holds one (checked: it leaves at once; its exit, tearing down the printing stack
    it imported, takes about a second). multiprocessing has no public way to stop it; its state is private
    (`forkserver._forkserver`, the one server of this process), so it is touched here only, and reset so that a
    later pool starts a new server. Its socket file is in multiprocessing's temporary folder, removed at exit."""
    server = forkserver._forkserver
    pid, alive = server._forkserver_pid, server._forkserver_alive_fd
    if pid is None:
        return
    server._forkserver_pid = server._forkserver_alive_fd = server._forkserver_address = None
    os.close(alive)
    deadline = time.monotonic() + GRACE_S
    while not _reaped(pid):
        # A worker that the pool did not know of yet (a signal came while it was being started) keeps the pipe
        # open: end it. A server still importing the printing stack sees the end of file once it is done.
        for child in _children(pid):
            _kill(child)
        if time.monotonic() > deadline:
            _kill(pid)
            os.waitpid(pid, 0)
            return
        time.sleep(0.02)


def _reaped(pid: int) -> bool:
    try:
        return os.waitpid(pid, os.WNOHANG) != (0, 0)
    except ChildProcessError:
        return True


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children", encoding="ascii") as listing:
            return [int(child) for child in listing.read().split()]
    except OSError:
        return []          # not Linux, or the process is gone


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
