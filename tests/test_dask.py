"""Printing on a Dask cluster (`--scheduler`): the same bytes as the local pool; a worker killed part-way loses no
document; a document that keeps killing its workers fails alone; a lost scheduler, or one left without workers,
ends the build with one line and keeps every last good PDF; a worker with other software is refused, before the
build and in each task; a worker never reads the project folder; a document that fails on a worker fails alone,
as locally; Ctrl-C ends a local:2 cluster with every process.

Real processes: `dask scheduler` and `dask worker` started here on 127.0.0.1 with the package alone on their path
(a copy of it, not the project), and `--scheduler local:2`. One cluster serves most tests (its start costs
seconds); the tests that kill its scheduler or need an odd worker start their own."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pytest

from conftest import ROOT, TODAY, copy_project
from handouts import builder
from handouts.content import Library
from handouts.executors import ClusterError
from handouts.executors import dask as dask_executor
from handouts.executors.dask import DaskExecutor
from handouts.executors.local import LocalPool
from handouts.executors.versions import software
from handouts.filesource import ProjectFiles, Shipment
from handouts.models import Patient
from handouts.plan import Job, Selection
from handouts.problems import BuildError
from handouts.publish import Manifest
from handouts.worker import Task, Worker, _families, as_result, render_tasks

# Six documents: English and Spanish, on screen, in large print and as a print master (CMYK profile, crop marks).
SELECTION = ["--clinic", "cedar-hollow-us", "--condition", "acne-scars", "--kind", "leaflet"]
DOCUMENTS = 6
DASK = Path(sys.executable).with_name("dask")
BLOCK = "content/en/acne-scars/condition-risks.md"        # in the English leaflets, not the Spanish ones


def build(project: Path, output: Path, *args: str, **popen) -> subprocess.Popen:
    """`build.py` on `project` into `output`, started (standard error to output.err)."""
    err = open(output.with_suffix(".err"), "w")
    return subprocess.Popen([sys.executable, str(ROOT / "build.py"), "--root", str(project), "--today",
                             TODAY.isoformat(), "--output", str(output), *SELECTION, *args],
                            stdout=subprocess.DEVNULL, stderr=err, cwd=project, **popen)


def finished(process: subprocess.Popen, output: Path, timeout: float = 300) -> tuple[int, str]:
    process.wait(timeout=timeout)
    return process.returncode, output.with_suffix(".err").read_text()


def entries(output: Path) -> dict[str, dict]:
    """The documents of manifest.json, which a build exports from the manifest's store when it ends."""
    try:
        return {e["path"]: e for e in json.loads((output / "manifest.json").read_text())["documents"]}
    except (OSError, ValueError):
        return {}


def published(output: Path) -> dict[str, str]:
    """Path -> SHA-256 of each document in the manifest's store: the truth while a build runs."""
    if not Manifest.exists(output):
        return {}
    manifest = Manifest.load(output)
    try:
        return {path: entry.sha256 for path, entry in manifest.entries.items()}
    finally:
        manifest.close()


def digests(output: Path) -> dict[str, str]:
    return {str(p.relative_to(output)): hashlib.sha256(p.read_bytes()).hexdigest() for p in output.rglob("*.pdf")}


def assert_agrees(output: Path) -> None:
    """The manifest (its store, and manifest.json exported from it) lists exactly the PDFs in the folder, each
    with its bytes' digest."""
    assert {path: entry["sha256"] for path, entry in entries(output).items()} == digests(output)
    assert published(output) == digests(output)


def wait_for_first_publish(process: subprocess.Popen, output: Path) -> None:
    deadline = time.monotonic() + 180
    while not published(output):
        assert process.poll() is None, output.with_suffix(".err").read_text()
        assert time.monotonic() < deadline, "nothing was published within three minutes"
        time.sleep(0.02)


def rendered_leaflets(project: Path = ROOT, language: str | None = None, variant: str | None = None
                      ) -> tuple[Library, list[tuple[Job, Task | BuildError]]]:
    """The sample US clinic's acne-scars leaflets (every language and variant unless named), planned and rendered
    in this process as a build does."""
    library, the_plan, _ = builder.prepare(project, Selection("cedar-hollow-us", language, "acne-scars", "leaflet",
                                                              variant), TODAY, strict=False)
    return library, list(render_tasks(library, [(job, job.key) for job in the_plan.jobs], Patient()))


def printed_here(library: Library, rendered: list[tuple[Job, Task]]) -> dict[str, bytes]:
    """Path -> the PDF each rendered document gives when printed in this process."""
    here = Worker(library.root, _families(library))
    return {job.output: here.run(task).pdf for job, task in rendered}


# --- clusters made of real processes ----------------------------------------------------------------------------

@dataclass
class Cluster:
    folder: Path
    address: str
    scheduler: subprocess.Popen
    workers: list[subprocess.Popen]

    def worker_process(self, index: int) -> int:
        """The process that runs worker `index` (its nanny's child; the nanny starts another if it dies)."""
        nanny = Path(f"/proc/{self.workers[index].pid}")
        # Children by the thread that started them: the nanny starts its worker from a thread of its own.
        children = [c for thread in nanny.glob("task/*") for c in (thread / "children").read_text().split()]
        found = [int(c) for c in children if b"spawn_main" in Path(f"/proc/{c}/cmdline").read_bytes()]
        assert len(found) == 1, children
        return found[0]


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder holding a copy of the package alone: what a worker machine has (no content, no templates)."""
    folder = tmp_path_factory.mktemp("package")
    shutil.copytree(ROOT / "handouts", folder / "handouts", ignore=shutil.ignore_patterns("__pycache__"))
    return folder


@contextlib.contextmanager
def cluster(folder: Path, package: Path, workers: int, preload: list[str] = (), nanny: bool = True,
            threads: int = 1, **env: str) -> Iterator[Cluster]:
    """A `dask scheduler` and `workers` × `dask worker` (`threads` threads each, under a nanny that restarts it unless
    `nanny` is False) on 127.0.0.1, each in a session of its own and its own folder, with only the copy of the
    package on its path; ended afterwards."""
    folder.mkdir(parents=True, exist_ok=True)
    # Their scratch folders (Dask's, WeasyPrint's) inside `folder` too: a process killed here cannot remove its own.
    environment = {**os.environ, "PYTHONPATH": str(package), "TMPDIR": str(folder), **env}
    address_file = folder / "scheduler.json"
    started: list[subprocess.Popen] = []

    def start(name: str, *args: str) -> subprocess.Popen:
        log = open(folder / f"{name}.log", "w")
        process = subprocess.Popen([str(DASK), *args], stdout=log, stderr=log, cwd=folder, env=environment,
                                   start_new_session=True)
        started.append(process)
        return process

    try:
        scheduler = start("scheduler", "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                          "--scheduler-file", str(address_file))
        deadline = time.monotonic() + 60
        while not address_file.exists() or not address_file.read_text().strip():
            assert scheduler.poll() is None and time.monotonic() < deadline, (folder / "scheduler.log").read_text()
            time.sleep(0.05)
        address = json.loads(address_file.read_text())["address"]
        options = [option for module in preload for option in ("--preload", module)]
        nannies = [start(f"worker{i}", "worker", address, "--nthreads", str(threads), "--no-dashboard", "--name",
                         f"w{i}", *options, *([] if nanny else ["--no-nanny"])) for i in range(workers)]
        from distributed import Client
        with Client(address, timeout=60) as client:
            client.wait_for_workers(workers, timeout=120)
        yield Cluster(folder, address, scheduler, nannies)
    finally:
        for process in started:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory, package: Path) -> Iterator[Cluster]:
    with cluster(tmp_path_factory.mktemp("cluster"), package, workers=2) as running:
        yield running


@pytest.fixture(scope="module")
def pool_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The selection built by the local pool: what every Dask build must equal, byte for byte."""
    output = tmp_path_factory.mktemp("pool") / "output"
    code, err = finished(build(ROOT, output, "--jobs", "2"), output)
    assert code == 0, err
    assert len(digests(output)) == DOCUMENTS
    return output


# --- the same bytes -----------------------------------------------------------------------------------------------

def test_a_local_cluster_gives_the_local_pools_bytes(pool_build: Path, tmp_path: Path) -> None:
    output = tmp_path / "output"
    code, err = finished(build(ROOT, output, "--scheduler", "local:2"), output)
    assert code == 0, err
    assert f"{DOCUMENTS} added, 0 changed, 0 removed, 0 unchanged, 0 failed" in err
    assert digests(output) == digests(pool_build)
    assert entries(output) == entries(pool_build)
    assert "Traceback" not in err and "distributed." not in err      # Dask's own log lines stay off the console


def test_documents_go_a_few_to_a_task_the_last_ones_alone(shared: Cluster, monkeypatch: pytest.MonkeyPatch) -> None:
    """With tasks of at most four documents, six documents whose number is not known ahead go as a task of four and
    one of two; known ahead, and this near the end of a build on two workers, one to a task. The same bytes either
    way as printed here."""
    library, rendered = rendered_leaflets()
    assert len(rendered) == DOCUMENTS
    sizes: list[int] = []
    submit = dask_executor._Run._submit

    def counted(run, batch):
        sizes.append(len(batch))
        return submit(run, batch)

    monkeypatch.setattr(dask_executor._Run, "_submit", counted)
    monkeypatch.setattr(dask_executor, "BATCH", 4)
    executor = DaskExecutor(shared.address)
    try:
        unknown = list(executor.print_rendered(library, iter(rendered)))
        assert sizes == [4, 2]
        sizes.clear()
        known = list(executor.print_rendered(library, rendered))
        assert sizes == [1] * DOCUMENTS
    finally:
        executor.close()
    expected = printed_here(library, rendered)
    for results in (unknown, known):
        assert {r.job.output: r.pdf for r in results} == expected


# --- faults -------------------------------------------------------------------------------------------------------

def test_a_worker_killed_part_way_loses_no_document(shared: Cluster, pool_build: Path, tmp_path: Path) -> None:
    output = tmp_path / "output"
    running = build(ROOT, output, "--scheduler", shared.address)
    try:
        wait_for_first_publish(running, output)
        assert running.poll() is None and len(published(output)) < DOCUMENTS
        os.kill(shared.worker_process(0), signal.SIGKILL)
        code, err = finished(running, output)
    finally:
        if running.poll() is None:
            running.kill()
    assert code == 0, err
    assert f"{DOCUMENTS} added, 0 changed, 0 removed, 0 unchanged, 0 failed" in err
    assert digests(output) == digests(pool_build)
    assert "was killed by signal 9" in (shared.folder / "worker0.log").read_text()


def test_a_worker_killed_after_its_result_came_loses_no_document(shared: Cluster, monkeypatch: pytest.MonkeyPatch
                                                                 ) -> None:
    """The race CI once met: a task's result reaches the building process, then the worker that holds it dies
    before the result is looked at. Dask marks the future lost (and prints the task again), yet the result in hand
    is good: each document is published, none reported failed. Made certain here: the worker holding the first
    result is killed, and the result is looked at only once Dask has marked its future lost."""
    library, rendered = rendered_leaflets()
    original = dask_executor._Run._results
    seen: list[str] = []

    def after_a_death(run, batch, future, value):
        if not seen:
            holder = next(iter(run.client.who_has([future])[future.key]))
            pid = run.client.run(os.getpid, workers=[holder])[holder]
            os.kill(pid, signal.SIGKILL)
            deadline = time.monotonic() + 60
            while future.status == "finished" and time.monotonic() < deadline:
                time.sleep(0.005)
            seen.append(future.status)
        return original(run, batch, future, value)

    monkeypatch.setattr(dask_executor._Run, "_results", after_a_death)
    executor = DaskExecutor(shared.address)
    try:
        results = list(executor.print_rendered(library, rendered))
    finally:
        executor.close()
    assert seen and seen[0] in ("lost", "pending"), seen
    assert [r.problems for r in results if r.problems] == []
    assert {r.job.output: r.pdf for r in results} == printed_here(library, rendered)


def test_a_lost_scheduler_keeps_every_last_good_pdf(package: Path, pool_build: Path, tmp_path: Path) -> None:
    """The scheduler killed after the first PDF is published: one line, exit 1, no traceback; every PDF is the
    last good one or a new one, the manifest agrees with them, and the next run (local) builds the rest."""
    project = copy_project(tmp_path / "project")
    with open(project / "templates/print.css", "a") as css:        # every document is printed again
        css.write("\n/* a reviewer's note */\n")
    output = tmp_path / "output"
    shutil.copytree(pool_build, output)
    before = digests(output)
    with cluster(tmp_path / "cluster", package, workers=1) as own:
        running = build(project, output, "--scheduler", own.address)
        deadline = time.monotonic() + 180
        while digests(output) == before:
            assert running.poll() is None and time.monotonic() < deadline, output.with_suffix(".err").read_text()
            time.sleep(0.02)
        own.scheduler.kill()
        code, err = finished(running, output, timeout=60)
    lines = err.splitlines()
    count = sum(" INFO changed: " in line for line in lines)
    assert code == 1, err
    assert "Traceback" not in err
    assert lines[-1] == (f"build.py: lost the connection to the Dask scheduler at {own.address}; "
                         f"{count} document{' was' if count == 1 else 's were'} published, the rest will "
                         "be built by the next run"), err
    assert all(" INFO changed: " in line or " INFO printing on " in line for line in lines[:-1]), err
    assert_agrees(output)
    now = digests(output)
    assert set(now) == set(before)
    assert 1 <= sum(now[path] != before[path] for path in now) == count < DOCUMENTS
    rerun = subprocess.run([sys.executable, str(ROOT / "build.py"), "--root", str(project), "--today",
                            TODAY.isoformat(), "--output", str(output), "--jobs", "2", *SELECTION],
                           capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    assert (f"0 added, {DOCUMENTS - count} changed, 0 removed, {count} unchanged, 0 failed"
            in rerun.stderr), rerun.stderr
    assert_agrees(output)
    assert all(digests(output)[path] != before[path] for path in before)


def test_a_document_that_keeps_killing_its_workers_fails_alone(package: Path, pool_build: Path,
                                                                tmp_path: Path) -> None:
    """One document ends every worker process that prints it (the nannies start new ones): after Dask's allowed
    failures (here 1: two workers die) it fails with one line; the other document is published. (Two documents
    on two workers: Dask counts a worker's death against every document it holds, printing or waiting.)"""
    fatal, other = (f"cedar-hollow-us/{language}/acne-scars-leaflet-screen.pdf" for language in ("en", "es"))
    preload = str(Path(__file__).with_name("dask_fatal_document.py"))
    output = tmp_path / "output"
    with cluster(tmp_path / "cluster", package, workers=2, preload=[preload], HANDOUTS_TEST_FATAL=fatal,
                 DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES="1") as own:
        code, err = finished(build(ROOT, output, "--scheduler", own.address, "--variant", "screen"), output)
    assert code == 1, err
    assert "Traceback" not in err
    found = [line for line in err.splitlines() if line.startswith(f"{fatal}:")]
    assert len(found) == 1 and re.fullmatch(
        rf"{re.escape(fatal)}:1: cluster: each of the 2 Dask workers that printed it died while printing it "
        r"\(the last at tcp://127\.0\.0\.1:\d+\): not printed", found[0]), err
    assert "1 added, 0 changed, 0 removed, 0 unchanged, 1 failed" in err
    assert digests(output) == {other: digests(pool_build)[other]}
    assert_agrees(output)


def test_a_task_of_documents_whose_workers_die_is_sent_again_a_document_to_a_task(package: Path,
                                                                                  tmp_path: Path) -> None:
    """Four documents in one task, the last of them ending every worker process that prints it: after Dask's
    allowed failures (here 1) the four are sent again one to a task; the three others are printed (the same bytes
    as printed here) and the fatal one fails alone, in one line."""
    library, rendered = rendered_leaflets()
    rendered = rendered[:4]
    fatal = rendered[-1][0].output
    preload = str(Path(__file__).with_name("dask_fatal_document.py"))
    with cluster(tmp_path / "cluster", package, workers=1, preload=[preload], HANDOUTS_TEST_FATAL=fatal,
                 DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES="1") as own:
        executor = DaskExecutor(own.address)
        try:
            results = {r.job.output: r for r in executor.print_rendered(library, iter(rendered))}
        finally:
            executor.close()
    assert len(results) == 4
    (problem,) = results.pop(fatal).problems
    assert re.fullmatch(r"each of the 2 Dask workers that printed it died while printing it \(the last at "
                        r"tcp://127\.0\.0\.1:\d+\): not printed", problem.message), problem
    assert (problem.path, problem.line, problem.rule) == (fatal, 1, "cluster")
    assert {path: r.pdf for path, r in results.items()} == printed_here(library, rendered[:-1])
    # Two deaths with the four in one task, two with the fatal one alone.
    assert (tmp_path / "cluster" / "worker0.log").read_text().count("exited with status 70") == 4


def test_a_cluster_left_without_workers_ends_the_build(package: Path, tmp_path: Path) -> None:
    """Its one worker (no nanny to restart it) killed part-way: the build waits for another no longer than Dask's
    connection timeout, then ends with one line, keeping what it published."""
    output = tmp_path / "output"
    with cluster(tmp_path / "cluster", package, workers=1, nanny=False) as own:
        running = build(ROOT, output, "--scheduler", own.address,
                        env={**os.environ, "DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT": "2s"})
        wait_for_first_publish(running, output)
        own.workers[0].kill()
        code, err = finished(running, output, timeout=60)
    assert code == 1, err
    assert "Traceback" not in err
    count = len(entries(output))
    assert err.splitlines()[-1] == (f"build.py: the Dask scheduler at {own.address} has had no worker for 2 s; "
                                    f"{count} document{' was' if count == 1 else 's were'} published, the "
                                    "rest will be built by the next run"), err
    assert_agrees(output)


def test_a_worker_with_other_software_is_refused(package: Path, tmp_path: Path) -> None:
    """Before anything is printed every worker is asked for its versions: one that differs is named, with what
    differs, in one line; nothing is published."""
    preload = str(Path(__file__).with_name("dask_other_software.py"))
    with cluster(tmp_path / "cluster", package, workers=1, preload=[preload],
                 HANDOUTS_TEST_WEASYPRINT="69.0") as odd:
        from distributed import Client
        with Client(odd.address) as client:
            (worker,) = client.scheduler_info()["workers"]
        output = tmp_path / "output"
        code, err = finished(build(ROOT, output, "--scheduler", odd.address), output, timeout=120)
    assert code == 1, err
    assert [line for line in err.splitlines() if " INFO " not in line] == [
        f"build.py: the Dask worker at {worker} has other software than this machine: weasyprint 69.0 (here "
        f"{software()['weasyprint']}); install the same versions of the package and its dependencies on every worker"
    ], err
    assert digests(output) == {}


def test_a_worker_with_more_than_one_thread_is_refused(package: Path, tmp_path: Path) -> None:
    with cluster(tmp_path / "cluster", package, workers=1, threads=2) as odd:
        output = tmp_path / "output"
        code, err = finished(build(ROOT, output, "--scheduler", odd.address), output, timeout=120)
    assert code == 1, err
    assert re.fullmatch(r"build\.py: the Dask worker at tcp://127\.0\.0\.1:\d+ runs 2 threads: start workers with "
                        r"--nthreads 1 \(and one process per core, --nworkers\)", err.splitlines()[-1]), err
    assert "Traceback" not in err and digests(output) == {}


def test_each_task_checks_its_workers_software(shared: Cluster, monkeypatch: pytest.MonkeyPatch) -> None:
    """A worker that joins after the check at the start is checked by every task it is given: here the check at
    the start is skipped (as for a worker that was not there yet) and this process expects another pikepdf."""
    library, rendered = rendered_leaflets(language="en", variant="screen")
    here = software()
    monkeypatch.setattr(dask_executor, "software", lambda: {**here, "pikepdf": "1.0"})
    monkeypatch.setattr(DaskExecutor, "_check_workers", lambda self, client, expected: None)
    executor = DaskExecutor(shared.address)
    try:
        with pytest.raises(ClusterError, match=r"^the Dask worker at tcp://127\.0\.0\.1:\d+ has other software than "
                                               rf"this machine: pikepdf {here['pikepdf']} \(here 1\.0\); install "):
            list(executor.print_rendered(library, rendered))
    finally:
        executor.close()


def test_the_cluster_printing_wakes_rarely(shared: Cluster) -> None:
    """Once a build has printed on the cluster, its workers' profilers are stopped and their and their nannies'
    frequent wakes slowed (Dask's defaults: 20 ms, 100 ms and 500 ms), on every worker and nanny: the one restarted
    after a kill earlier in this module too, when the tests run in order."""
    from distributed import Client
    library, the_plan, _ = builder.prepare(ROOT, Selection("cedar-hollow-us", "en", "acne-scars", "leaflet",
                                                           "screen"), TODAY, strict=False)
    executor = DaskExecutor(shared.address)
    try:
        results = list(executor.run_all(library, [(job, job.key) for job in the_plan.jobs], Patient()))
    finally:
        executor.close()
    assert [r.pdf is not None for r in results] == [True]

    def wakes(dask_worker=None, dask_nanny=None) -> dict[str, float | None]:
        """On a worker or a nanny (sent by value: the cluster has only the package): the interval (ms) of each
        periodic callback the printer slows or stops, None when stopped."""
        server = dask_worker or dask_nanny
        found = {name: server.periodic_callbacks.get(name)
                 for name in ("tick", "memory_monitor", "monitor", "profile", "profile-cycle")}
        return {name: c.callback_time if c is not None and c.is_running() else None for name, c in found.items()}

    with Client(shared.address, timeout=30) as client:
        workers, nannies = client.run(wakes), client.run(wakes, nanny=True)
    expected = {**{name: seconds * 1000 for name, seconds in dask_executor.SLOWED_S.items()},
                "profile": None, "profile-cycle": None}        # a nanny has no profiler
    assert len(workers) == len(nannies) == 2
    assert all(found == expected for found in workers.values()), workers
    assert all(found == expected for found in nannies.values()), nannies


def test_a_worker_never_reads_the_project_folder(shared: Cluster, tmp_path: Path) -> None:
    """Documents rendered from a scratch project whose English block shows a content image, the files they refer to
    read once here; the project is then moved away and the documents printed on the cluster: the same bytes and the
    same problems as printed here before (the English print master fails: the image's resolution is too low for
    print; the Spanish one, with its colour profile and crop marks, is printed)."""
    project = copy_project(tmp_path / "project")
    image = (project / BLOCK).with_name("diagram.jpg")
    from PIL import Image
    Image.new("CMYK", (240, 60), (90, 30, 0, 20)).save(image, quality=90)
    _insert(project / BLOCK, "![The treated area](diagram.jpg)")
    library, rendered = rendered_leaflets(project)
    assert len(rendered) == DOCUMENTS and all(isinstance(task, Task) for _, task in rendered)
    shipment = Shipment(ProjectFiles(project, _families(library)))
    tables = [shipment.table(task.job) for _, task in rendered]      # every file the printer will ask for, read now
    assert sum(str(image) in table for table in tables) == 3        # the English documents'
    here = Worker(project, _families(library))
    printed_here = {job.output: as_result(job, here.run(task)) for job, task in rendered}
    project.rename(tmp_path / "moved")
    executor = DaskExecutor(shared.address)
    try:
        results = {result.job.output: result for result in executor.print_rendered(library, rendered, shipment)}
    finally:
        executor.close()
    assert {path: (r.pdf, r.pages, r.problems) for path, r in results.items()} == {
        path: (r.pdf, r.pages, r.problems) for path, r in printed_here.items()}
    failed = {path for path, r in results.items() if r.pdf is None}
    assert failed == {"cedar-hollow-us/en/acne-scars-leaflet-print.pdf"}
    assert all(p.rule == "preflight/image-resolution" for p in results[failed.pop()].problems)


def _insert(block: Path, line: str) -> int:
    """Put `line` first in a block's body; return its line number."""
    head, rest = block.read_text().split("\n---\n", 1)
    block.write_text(f"{head}\n---\n{line}\n\n{rest}")
    return head.count("\n") + 3


def test_a_document_failing_on_a_worker_fails_alone(shared: Cluster, project: Path, tmp_path: Path) -> None:
    """A missing image fails the English documents, with the problems the local pool gives them; the Spanish
    ones are published."""
    line = _insert(project / BLOCK, "![A missing picture](missing-diagram.svg)")
    selection = Selection("cedar-hollow-us", None, "acne-scars", "leaflet", "screen")
    executor = DaskExecutor(shared.address)
    try:
        on_dask = builder.build(project, tmp_path / "dask", selection, TODAY, executor=executor)
    finally:
        executor.close()
    local = builder.build(project, tmp_path / "local", selection, TODAY, executor=LocalPool(1))
    english, spanish = (f"cedar-hollow-us/{language}/acne-scars-leaflet-screen.pdf" for language in ("en", "es"))
    assert (on_dask.failed, on_dask.added) == (local.failed, local.added) == ([english], [spanish])
    assert on_dask.problems == local.problems
    assert any(p.path == BLOCK and p.line == line and "missing-diagram.svg" in p.message for p in on_dask.problems)
    assert digests(tmp_path / "dask") == digests(tmp_path / "local")


def test_an_unreachable_scheduler_is_one_line(tmp_path: Path) -> None:
    output = tmp_path / "output"
    code, err = finished(build(ROOT, output, "--scheduler", "tcp://127.0.0.1:9", env={
        **os.environ, "DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT": "2s"}), output, timeout=60)
    assert code == 1
    assert err.splitlines() == ["build.py: cannot use the Dask scheduler at tcp://127.0.0.1:9: Timed out trying "
                                "to connect to tcp://127.0.0.1:9 after 2 s"], err


@pytest.mark.parametrize("value", ["local:0", "tcp://127.0.0.1", "http://h:8786", "tcp://h:70000"])
def test_a_bad_scheduler_value_is_a_usage_error(value: str, tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, str(ROOT / "build.py"), "--output", str(tmp_path / "out"),
                             "--scheduler", value], capture_output=True, text=True)
    assert result.returncode == 2
    assert result.stderr.splitlines()[-1] == (
        f"build.py: error: argument --scheduler: {value!r}: give tcp://HOST:PORT (a Dask scheduler) or local:N "
        "(N worker processes on this machine, 1 to 9999)")


def test_ctrl_c_ends_a_local_cluster_and_every_process(tmp_path: Path) -> None:
    """SIGINT to the whole process group (a Ctrl-C) during a local:2 build: exit 130, one line, no process of
    the build left, nothing left in the temporary folder, the manifest agreeing with the files."""
    from test_signals import session
    output, scratch = tmp_path / "output", tmp_path / "tmp"
    scratch.mkdir()
    running = build(ROOT, output, "--scheduler", "local:2", start_new_session=True,
                    env={**os.environ, "TMPDIR": str(scratch)})
    try:
        wait_for_first_publish(running, output)
        os.killpg(running.pid, signal.SIGINT)
        code, err = finished(running, output, timeout=60)
        deadline = time.monotonic() + 10
        while session(running.pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert session(running.pid) == []
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(running.pid, signal.SIGKILL)
    assert code == 130, err
    assert "Traceback" not in err
    assert re.fullmatch(r"build\.py: interrupted by SIGINT; \d+ documents? (was|were) published, the rest will be "
                        r"built by the next run", err.splitlines()[-1]), err
    assert list(scratch.iterdir()) == []
    assert_agrees(output)
