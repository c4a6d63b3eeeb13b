"""Printing on a Dask cluster (`--scheduler tcp://HOST:PORT`, or `--scheduler local:N` for N worker processes
started on this machine).

The building process renders each document's HTML and sends it in a task of a few documents; a worker prints
and preflights them and sends back the PDFs' bytes, which the building process publishes as they come. (Each
task costs Dask's messages between the building process, the scheduler and the worker: a few documents share
them; the last documents of a build go one to a task, so that no worker is left with several at the end.)

A worker needs the package (the same versions: checked before the first task and again in every task) but never
the project folder: the files a document refers to (stylesheets, logos, images, colour profiles) travel with the
build, each distinct file once, as a task of its own keyed by its SHA-256 (a worker that is lost takes nothing
with it: the scheduler still has the bytes and makes the file again where it is needed). Each worker process
keeps one warm printer, made by a worker plugin when the worker starts.

Faults: a worker that dies has its documents printed elsewhere by Dask; a document that keeps killing its
workers fails alone (a task of several that keeps killing them is sent again one document to a task), as does
one that fails to print. A lost scheduler, or a worker with other versions, stops the build with one line
(ClusterError): what was published stays, and the next run builds the rest.
"""

from __future__ import annotations

import logging
import shutil
import signal
import tempfile
import threading
import time
import uuid
import warnings
from concurrent.futures import CancelledError
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator, Sized

import dask.config
from distributed import Client, Future, KilledWorker, LocalCluster, Nanny, NannyPlugin, WorkerPlugin, as_completed
from distributed import Worker as DaskWorker
from distributed import get_worker
from distributed.versions import VersionMismatchWarning
from dask.utils import parse_timedelta

from ..content import Library
from ..filesource import ProjectFiles, Sent, SentFiles, Shipment
from ..models import Patient
from ..plan import Job
from ..problems import BuildError, Problem, shorten
from ..worker import Printed, Result, Task, Worker, _families, as_result, render_tasks, settle
from . import LOCAL, ClusterError, scheduler_error
from .versions import differences, software

LOGGER = logging.getLogger(__name__)

PLUGIN = "handouts-printer"
# Tasks sent ahead per worker: one printing and one waiting keep it busy. No more: the building process holds
# their HTML, and when a worker dies Dask counts a death against every task it held.
IN_FLIGHT_PER_WORKER = 2
# Documents a task prints, at most: Dask's own work for a task (its messages, on the worker, the scheduler and
# the building process) is shared by them (on a 600-document fleet, 8 rather than 4 cut the time other processes
# took from the printing workers from 25 s to 19 s). Fewer near the end of a build (_Run._size).
BATCH = 8
CLOSE_S = 10                   # to close the connection and, for local:N, the cluster
WORKER_COUNT_EVERY_S = 2.0     # how often the number of workers is asked again (workers may join or leave)
POLL_S = 0.05                  # how often finished results are looked for while waiting (each worker has a task
                               # queued meanwhile: a result taken later keeps no worker waiting)
PROFILER = ("profile", "profile-cycle")     # a Dask worker's periodic callbacks that run its profiler
# A Dask worker's or nanny's other periodic callbacks that wake its event loop often (by default the loop's health
# check every 20 ms, the memory monitor every 100 ms, the system monitor every 500 ms), and the interval, in seconds,
# each is given while the cluster prints: each wake takes Python's lock from the printing thread, or the CPU from
# the printing processes. A longer interval configured stays.
SLOWED_S = {"tick": 1.0, "memory_monitor": 1.0, "monitor": 5.0}
NANNY_PLUGIN = "handouts-nanny"
# Dask's settings for the scheduler of a printing cluster (the README's command gives them as environment
# variables, DASK_DISTRIBUTED__ADMIN__TICK__INTERVAL=1s and so on; local:N sets them itself): its event loop's
# health check every second instead of every 20 ms, its system monitor every 5 s instead of every 500 ms. Both
# only watch; idle with a client connected, the scheduler then used 0.6 % of a core instead of 2.3 % here.
SCHEDULER_SETTINGS = {"distributed.admin.tick.interval": "1s", "distributed.admin.system-monitor.interval": "5s"}


# --- on each worker ---------------------------------------------------------------------------------------------

class VersionMismatch(Exception):
    """Raised in a task on a worker whose software differs from the building process's."""


class PrinterPlugin(WorkerPlugin):
    """A worker's warm printer: WeasyPrint imported (the bundled fonts alone given to fontconfig first), one font
    configuration and the stylesheets parsed once for all the tasks of every build the worker serves.
    Registered once per cluster (idempotent): a later build finds the printer warm."""

    idempotent = True

    def __init__(self, quiet: bool = False) -> None:
        self.quiet = quiet
        self.printer: Worker | None = None
        self.lock: threading.Lock | None = None     # made on the worker: one document at a time, however many
                                                    # threads the worker runs

    def setup(self, worker: DaskWorker) -> None:
        # WeasyPrint copies the fonts it is given into a temporary folder: the worker's own scratch folder, which
        # Dask removes with the worker.
        tempfile.tempdir = worker.local_directory
        # Dask's statistical profiler samples the running task's stack every 10 ms; WeasyPrint's stacks are deep
        # (layout recurses), and the sampling made printing 10 to 35 % slower, measured here with it on and off.
        # Taken out, not only stopped: a worker that joins (or is restarted) after the plugin was registered runs
        # this before it starts its periodic callbacks, and would start a stopped one again.
        for name in PROFILER:
            callback = worker.periodic_callbacks.pop(name, None)
            if callback is not None:
                callback.stop()
        _slow_down(worker)
        if self.quiet:
            _quiet_worker()
        self.lock = threading.Lock()
        self.printer = Worker()
        settle()

    def teardown(self, worker: DaskWorker) -> None:
        self.printer = None


class QuietNanny(NannyPlugin):
    """A nanny (the process that starts a worker and restarts it when it dies) that wakes less often: with its
    worker it shares the machine's cores."""

    idempotent = True

    def setup(self, nanny: Nanny) -> None:
        _slow_down(nanny)


def _slow_down(server: DaskWorker | Nanny) -> None:
    """Dask's frequent wakes on a worker or a nanny, made rarer (SLOWED_S). What they cost, as measured, is in the
    README (Printing on a Dask cluster: Overhead)."""
    for name, seconds in SLOWED_S.items():
        callback = server.periodic_callbacks.get(name)
        if callback is not None and callback.callback_time < seconds * 1000:
            callback.callback_time = seconds * 1000


def _quiet_worker() -> None:
    """A worker of local:N shares the build's console and process group. Its log lines are the building
    process's to give (a document that fails is reported with the rest), except the warnings about its memory;
    and a Ctrl-C on the terminal reaches it as nothing: the building process alone decides what to do, and ends
    the cluster (as the local pool's workers do)."""
    logging.getLogger("distributed").setLevel(logging.CRITICAL)
    logging.getLogger("distributed.worker.memory").setLevel(logging.WARNING)
    with suppress(ValueError):          # only the main thread may set a handler: the worker's event loop runs there
        signal.signal(signal.SIGINT, signal.SIG_IGN)


def _plugin() -> PrinterPlugin:
    plugin = get_worker().plugins.get(PLUGIN)
    if not isinstance(plugin, PrinterPlugin) or plugin.printer is None or plugin.lock is None:
        raise RuntimeError(f"the worker has no {PLUGIN} plugin")
    return plugin


@dataclass(frozen=True)
class Failed:
    """A document whose printing raised on the worker: the error, as text (the exception may not travel)."""

    kind: str
    message: str


def print_tasks(tasks: list[Task], tables: list[dict[str, Sent]], blobs: dict[str, bytes], root: Path,
                expected: dict[str, str]) -> list[Printed | Failed]:
    """On a worker: print and preflight documents, each with the files sent with it, after checking that this
    worker has the building process's software (one that joined after the check at the start has not been
    checked). A document that fails to print fails alone."""
    ours = software()
    if ours != expected:
        raise VersionMismatch(_mismatch(get_worker().address, differences(ours, expected)))
    plugin = _plugin()
    assert plugin.lock is not None and plugin.printer is not None
    done: list[Printed | Failed] = []
    with plugin.lock:
        for task, table in zip(tasks, tables):
            try:
                done.append(plugin.printer.run(task, SentFiles(root, table, blobs, task.job.families)))
            except Exception as exc:
                done.append(Failed(type(exc).__name__, str(exc)))
    return done


def _hold(data: bytes) -> bytes:
    """A file's bytes, as a task keyed by their digest: kept by the worker that ran it, fetched by the others."""
    return data


def _mismatch(address: str, differing: list[str]) -> str:
    more = f" and {len(differing) - 1} more" if len(differing) > 1 else ""
    return (f"the Dask worker at {address} has other software than this machine: {differing[0]}{more}; "
            "install the same versions of the package and its dependencies on every worker")


# --- in the building process ------------------------------------------------------------------------------------

class DaskExecutor:
    """Prints on the Dask cluster `scheduler` names; connects (or starts local:N) for the first build and keeps the
    connection for later ones (watch) until `close()`."""

    def __init__(self, scheduler: str):
        problem = scheduler_error(scheduler)
        if problem:
            raise ValueError(f"--scheduler {scheduler}: {problem}")
        self.scheduler = scheduler
        self._client: Client | None = None
        self._cluster: LocalCluster | None = None
        self._scratch: str | None = None     # local:N: the workers' folder, removed with the cluster

    @property
    def patience(self) -> float:
        """How long to try to reach the scheduler, to wait for its first worker, and to wait while it has none:
        Dask's own setting (distributed.comm.timeouts.connect, 30 s unless configured, e.g. by the environment
        variable DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT)."""
        return parse_timedelta(dask.config.get("distributed.comm.timeouts.connect"), default="seconds")

    # connection ------------------------------------------------------------------------------------------------

    def _connect(self) -> Client:
        if self._client is not None and self._client.status == "running":
            return self._client
        self.close()
        _quiet_dask()
        local = LOCAL.fullmatch(self.scheduler)
        wait = self.patience
        try:
            if local:
                self._scratch = tempfile.mkdtemp(prefix="handouts-dask-")
                with dask.config.set({"temporary-directory": self._scratch, **SCHEDULER_SETTINGS}):
                    # No dashboard, and the scheduler's HTTP server (always started) on a free port.
                    self._cluster = LocalCluster(n_workers=int(local[1]), threads_per_worker=1, processes=True,
                                                 host="127.0.0.1", dashboard_address=None,
                                                 scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
                                                 local_directory=self._scratch, silence_logs=logging.WARNING)
                self._client = Client(self._cluster, timeout=wait)
            else:
                self._client = Client(self.scheduler, timeout=wait)
            self._client.wait_for_workers(1, timeout=wait)
        except (OSError, TimeoutError) as exc:
            self.close()
            raise ClusterError(f"cannot use the Dask scheduler at {self.scheduler}: {_one_line(exc)}") from None
        LOGGER.info("printing on the Dask cluster at %s", self.scheduler)
        return self._client

    def close(self) -> None:
        """Close the connection and a cluster this executor started (its worker processes end with it). Safe to
        call more than once, and after the scheduler was lost."""
        client, cluster, self._client, self._cluster = self._client, self._cluster, None, None
        with _silenced():
            if client is not None:
                try:
                    client.close(timeout=CLOSE_S)
                except Exception:            # a lost scheduler: there is nothing left to close
                    pass
            if cluster is not None:
                try:
                    cluster.close(timeout=CLOSE_S)
                except Exception:
                    pass
        if self._scratch is not None:
            shutil.rmtree(self._scratch, ignore_errors=True)
            self._scratch = None

    # printing --------------------------------------------------------------------------------------------------

    def run_all(self, library: Library, tasks: list[tuple[Job, str]], patient: Patient) -> Iterator[Result]:
        if tasks:
            yield from self.print_rendered(library, render_tasks(library, tasks, patient), count=len(tasks))

    def print_rendered(self, library: Library, rendered: Iterable[tuple[Job, Task | BuildError]],
                       shipment: Shipment | None = None, count: int | None = None) -> Iterator[Result]:
        """Print documents rendered in this process (worker.render_tasks), yielding results as they finish. The
        files they refer to are read by `shipment` (by default a new one, reading the library's project). `count`:
        how many documents `rendered` gives (by default its length, when it has one)."""
        client = self._connect()
        expected = software()
        try:
            self._check_workers(client, expected)
            client.register_plugin(PrinterPlugin(quiet=self._cluster is not None), name=PLUGIN)
            client.register_plugin(QuietNanny(), name=NANNY_PLUGIN)
        except (OSError, TimeoutError) as exc:
            raise self._lost(exc) from None
        shipment = shipment or Shipment(ProjectFiles(library.root, _families(library)))
        if count is None and isinstance(rendered, Sized):
            count = len(rendered)
        yield from _Run(client, shipment, expected, self, count).results(iter(rendered))

    def _check_workers(self, client: Client, expected: dict[str, str]) -> None:
        """Ask every worker for its software, refusing the first that differs (or cannot answer), and refuse a
        worker with more than one thread (WeasyPrint is Python: one process per core prints fastest; a worker's
        printer prints one document at a time)."""
        for address, threads in sorted(client.nthreads().items()):
            if threads != 1:
                raise ClusterError(f"the Dask worker at {address} runs {threads} threads: start workers with "
                                   "--nthreads 1 (and one process per core, --nworkers)")
        answers = client.run(software, on_error="return")
        for address, theirs in sorted(answers.items()):
            if isinstance(theirs, BaseException):
                raise ClusterError(f"the Dask worker at {address} cannot run the package's code: "
                                   f"{_one_line(theirs)}; install the package on every worker")
            found = differences(theirs, expected)
            if found:
                raise ClusterError(_mismatch(address, found))

    def _lost(self, exc: BaseException | None = None) -> ClusterError:
        self.close()
        why = f" ({_one_line(exc)})" if exc is not None else ""
        return ClusterError(f"lost the connection to the Dask scheduler at {self.scheduler}{why}")


class _Run:
    """One build's printing on the cluster: documents sent as they are rendered, a few to a task and a few tasks
    per worker ahead, results yielded as they finish."""

    def __init__(self, client: Client, shipment: Shipment, expected: dict[str, str], executor: DaskExecutor,
                 count: int | None = None):
        self.client = client
        self.executor = executor
        self.root = shipment.root
        self.expected = expected
        self.shipment = shipment
        self.files: dict[str, Future] = {}         # SHA-256 -> the future holding the file's bytes on the cluster
        self.jobs: dict[Future, list[tuple[Job, Task]]] = {}     # future -> its documents, while printing
        self.unsent = count                        # documents not yet sent, when known
        self.finished = as_completed(with_results=True, raise_errors=False)
        self._workers = (0.0, 1)                   # when the workers were counted, and how many there were
        self._alone_since: float | None = None     # since when the scheduler has had no worker

    def results(self, rendered: Iterator[tuple[Job, Task | BuildError]]) -> Iterator[Result]:
        batch: list[tuple[Job, Task]] = []
        try:
            for job, task in rendered:
                if isinstance(task, BuildError):
                    self._sent(1)
                    yield Result(job, None, 0, tuple(task.problems), 0.0)
                    continue
                batch.append((job, task))
                if len(batch) < self._size():
                    continue
                self._submit(batch)
                self._sent(len(batch))
                batch = []
                yield from self._collect(block=False)
                while len(self.jobs) >= IN_FLIGHT_PER_WORKER * max(1, self._worker_count()):
                    yield from self._collect(block=True)
            if batch:
                self._submit(batch)
            while self.jobs:
                yield from self._collect(block=True)
        finally:
            self._release()

    def _size(self) -> int:
        """Documents for the next task: BATCH, fewer as the build nears its end (about four tasks per worker
        left to send, the last ones a document each), so that the workers finish together."""
        if self.unsent is None:
            return BATCH
        per_task = -(-self.unsent // (4 * max(1, self._worker_count())))      # rounded up
        return max(1, min(BATCH, per_task))

    def _sent(self, documents: int) -> None:
        if self.unsent is not None:
            self.unsent -= documents

    def _submit(self, batch: list[tuple[Job, Task]], priority: int = 0) -> None:
        tables = [self.shipment.table(task.job) for _, task in batch]
        needed = sorted({sent.sha256 for table in tables for sent in table.values() if sent.sha256})
        for sha in needed:
            if sha not in self.files:
                self.files[sha] = self.client.submit(_hold, self.shipment.blob(sha), key=f"handouts-file-{sha}")
        blobs = {sha: self.files[sha] for sha in needed}
        future = self.client.submit(print_tasks, [task for _, task in batch], tables, blobs, self.root,
                                    self.expected, key=f"handouts-print-{uuid.uuid4().hex}", priority=priority)
        self.jobs[future] = batch
        self.finished.add(future)

    def _collect(self, block: bool) -> Iterator[Result]:
        """The results that have come (with `block`, waiting for one), checking on the cluster meanwhile."""
        batch = self.finished.next_batch(block=False)
        while block and not batch:
            self._watch()
            time.sleep(POLL_S)
            batch = self.finished.next_batch(block=False)
        for future, value in batch:
            yield from self._results(self.jobs.pop(future), future, value)

    def _watch(self) -> None:
        """While waiting: the connection is up (a lost one cancels every future too), and a worker is there to
        print (tasks would wait for ever on a scheduler whose workers have all gone)."""
        if self.client.status != "running":
            raise self.executor._lost()
        if self._worker_count() > 0:
            self._alone_since = None
        elif self._alone_since is None:
            self._alone_since = time.monotonic()
        elif time.monotonic() - self._alone_since > self.executor.patience:
            raise ClusterError(f"the Dask scheduler at {self.executor.scheduler} has had no worker for "
                               f"{self.executor.patience:g} s")

    def _results(self, batch: list[tuple[Job, Task]], future: Future, value: object) -> Iterator[Result]:
        """A finished future as its documents' results; `value` is what as_completed gathered: the list of
        Printed (or Failed), the CancelledError of a cancelled future, or the (type, exception, traceback) of a
        failed one. A task of several documents whose workers all died is sent again, a document to a task: the
        one that kills them then fails alone.

        A list is the task's answer whatever the future's status says now: the worker that holds the result may
        have died since it was gathered, and Dask then marks the future lost (and prints the task again, for
        nothing: the future is let go here)."""
        if isinstance(value, list) and len(value) == len(batch):
            for (job, _), printed in zip(batch, value):
                yield (as_result(job, printed) if isinstance(printed, Printed) else
                       _failed(job, f"printing failed on a Dask worker: {printed.kind}: {shorten(printed.message)}"))
            return
        if future.status == "cancelled" or isinstance(value, CancelledError) or self.client.status != "running":
            raise self.executor._lost()
        error = value[1] if isinstance(value, tuple) and len(value) == 3 else value
        if isinstance(error, VersionMismatch):
            raise ClusterError(str(error))
        if isinstance(error, KilledWorker) and len(batch) > 1:
            # In their order (Dask would otherwise order tasks sent together by their keys): those before the
            # fatal one are printed before it can end another worker.
            for number, item in enumerate(batch):
                self._submit([item], priority=len(batch) - number)
            return
        if isinstance(error, KilledWorker):
            message = (f"each of the {error.allowed_failures + 1} Dask workers that printed it died while printing "
                       f"it (the last at {error.last_worker.address}): not printed")
        else:
            message = f"printing failed on a Dask worker: {type(error).__name__}: {shorten(str(error))}"
        for job, _ in batch:
            yield _failed(job, message)

    def _worker_count(self) -> int:
        """The number of workers now, asked again every few seconds."""
        when, count = self._workers
        if time.monotonic() - when > WORKER_COUNT_EVERY_S:
            try:
                count = len(self.client.scheduler_info()["workers"])
            except (OSError, TimeoutError) as exc:
                raise self.executor._lost(exc) from None
            self._workers = (time.monotonic(), count)
        return count

    def _release(self) -> None:
        """Forget this build's futures (the cluster frees their results and the files); what is still printing
        is cancelled (an interrupted build, or a lost scheduler)."""
        pending = list(self.jobs)
        self.jobs.clear()
        self.finished.clear()
        self.files.clear()
        if pending and self.client.status == "running":
            try:
                self.client.cancel(pending)
            except Exception:
                pass


def _failed(job: Job, message: str) -> Result:
    return Result(job, None, 0, (Problem(job.output, 1, message, "cluster"),), 0.0)


# --- Dask's own log lines ----------------------------------------------------------------------------------------

def _quiet_dask() -> None:
    """Dask's informational lines (workers starting, connections) would drown the build's one line per document:
    only its warnings and errors are kept. Its event loop's errors (a connection to a worker closed while it was
    read) are Dask's to handle, never the user's: a build has no event loop of its own."""
    for name in ("distributed", "distributed.client", "distributed.scheduler", "distributed.nanny",
                 "distributed.worker", "distributed.core"):
        logging.getLogger(name).setLevel(logging.WARNING)
    for name in ("asyncio", "tornado"):
        logging.getLogger(name).setLevel(logging.CRITICAL)
    # Dask's table of the packages whose versions differ between client, scheduler and workers: the build's own
    # check (the versions a PDF depends on, Dask's included) names what differs in one line and stops.
    warnings.filterwarnings("ignore", category=VersionMismatchWarning)


@contextmanager
def _silenced() -> Iterator[None]:
    """While a connection is closed (after a lost scheduler, its reconnection attempt is cancelled and logged
    with a traceback): nothing of Dask's reaches the console."""
    loggers = [logging.getLogger(name) for name in list(logging.root.manager.loggerDict)
               if name == "distributed" or name.startswith("distributed.")]
    states = [(lg, lg.disabled) for lg in loggers]
    for lg in loggers:
        lg.disabled = True
    try:
        yield
    finally:
        for lg, disabled in states:
            lg.disabled = disabled


def _one_line(exc: BaseException) -> str:
    return shorten(" ".join(str(exc).split()) or type(exc).__name__, 160)
