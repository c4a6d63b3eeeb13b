"""The fleet benchmark: a fictional fleet built on the local pool and on a Dask cluster, and what everything but
the printing costs as the catalogue grows.

    .venv/bin/python bench/fleet.py [--clinics 20] [--sizes 2,20,200] [--workers N] [--json FILE] [--quick]

Works on scratch copies of content/ and templates/ whose clinics are a generated fleet (bench/fleetgen.py: 30
documents a clinic on average), so the project is never touched. Prints each figure, its target and whether it is
met, and exits 1 when a target is missed. Run it on an otherwise idle machine; it takes about a quarter of an hour
on two cores (--quick: a couple of minutes, for trying it out).

- full build of the fleet (`build.py` in a new process, from an empty output folder) on the local pool of N
  workers, and on a Dask cluster of N worker processes (a `dask scheduler`, with the README's two settings, and a
  `dask worker --nworkers N` started as separate processes on 127.0.0.1): Dask's time against the pool's, and the two outputs compared byte for byte;
- the warm print time of a sample of the fleet (its first clinics, which cover both countries and both language
  sets), in one process as bench/run.py's floor has it, and from it the per-task overhead of each path: its time
  per document on one worker less the warm print time;
- full and no-op builds at three sizes (2, 20 and 200 clinics: 60, 600 and 6,000 documents), each in a new process,
  with an executor that renders every document but "prints" one fixed PDF (a real one, the sample's shortest):
  everything but WeasyPrint. Time per document, whole (the build / its documents) and publishing alone (the
  builder's time between the executor's results), each flat within 1.5 times from the smallest size to the
  largest; the no-op rebuild of the largest against its real full build, which is not run but scaled from the
  fleet's local-pool build, and against the fixed-PDF one; the building process's peak memory at each size (its
  memory per document may not grow);
- the figures as JSON (--json), for the README, and a projection for 45,000 PDFs on 4, 16 and 64 worker cores.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import io
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import fleetgen  # noqa: E402
from handouts import builder, content, preflight, worker  # noqa: E402
from handouts.executors import dask as dask_executor  # noqa: E402
from handouts.models import Patient  # noqa: E402
from handouts.plan import Job, Selection, plan  # noqa: E402
from handouts.printjob import print_job  # noqa: E402
from handouts.problems import BuildError  # noqa: E402
from handouts.render import Renderer  # noqa: E402

# Targets, from issue 14.
DASK_OVER_LOCAL = 1.10
PUBLISH_FLAT = 1.5             # time per published document, largest fleet over smallest
NOOP_SHARE = 0.02              # a no-op rebuild of the largest size against its real full build
MEMORY_PER_DOCUMENT = 1.10     # the building process's extra memory per document may not grow (noise allowed)

PROJECTED_DOCUMENTS = 45_000
PROJECTED_CORES = (4, 16, 64)
SAMPLE_CLINICS = 4             # the fleet's first four clinics: US and UK, English and English with Spanish

Row = Callable[..., None]


def timed(action):
    start = time.perf_counter()
    result = action()
    return time.perf_counter() - start, result


def _peak_mb() -> float:
    """This process's peak resident memory. Not getrusage's ru_maxrss: Linux keeps that across exec, so a process
    started by a large one (this benchmark, holding a warm printer) would report its parent's peak."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status: the peak memory is measured on Linux only")


def _environment() -> dict[str, str]:
    """Every process the benchmark starts imports this checkout's package."""
    return {**os.environ, "PYTHONPATH": str(ROOT)}


# --- the printer stand-in ------------------------------------------------------------------------------------


@dataclass
class FixedPdfExecutor:
    """An executor that renders every document in the building process, as every executor does, and hands back
    the same valid PDF for each: the build's costs without WeasyPrint's. It times its rendering and the whole
    stream; what remains of the stream is the builder's publishing."""

    pdf: bytes
    pages: int
    documents: int = 0
    render_s: float = 0.0
    stream_s: float = 0.0

    def run_all(self, library: content.Library, tasks: list[tuple[Job, str]],
                patient: Patient) -> Iterator[worker.Result]:
        start = time.perf_counter()
        rendered = worker.render_tasks(library, tasks, patient)
        while True:
            before = time.perf_counter()
            item = next(rendered, None)
            self.render_s += time.perf_counter() - before
            if item is None:
                break
            job, task = item
            self.documents += 1
            if isinstance(task, BuildError):
                yield worker.Result(job, None, 0, tuple(task.problems), 0.0)
            else:
                yield worker.Result(job, self.pdf, self.pages, (), 0.0)
        self.stream_s = time.perf_counter() - start


def fake_once(mode: str, root: Path, output: Path, today: dt.date, pdf_file: Path, pages: int) -> dict:
    """One build in this fresh process with the fixed-PDF executor, timed from the call: `full` from an empty
    output folder, `noop` on the output of a full one. The figures, as JSON for the parent."""
    executor = FixedPdfExecutor(pdf_file.read_bytes(), pages)
    before_mb = _peak_mb()
    seconds, outcome = timed(lambda: builder.build(root, output, Selection(), today, executor=executor))
    return {"mode": mode, "seconds": seconds, "built": len(outcome.built), "unchanged": len(outcome.unchanged),
            "failed": len(outcome.failed), "ok": outcome.ok and not outcome.failed,
            "render_s": executor.render_s, "publish_s": executor.stream_s - executor.render_s,
            "peak_before_mb": before_mb, "peak_mb": _peak_mb(),
            "problems": [p.format() for p in outcome.problems if p.severity == "error"][:5]}


def _child(mode: str, root: Path, output: Path, today: dt.date, pdf_file: Path, pages: int) -> dict:
    done = subprocess.run([sys.executable, __file__, "--fake-once", mode, str(root), str(output), today.isoformat(),
                           str(pdf_file), str(pages)], capture_output=True, text=True, env=_environment())
    if done.returncode != 0:
        raise RuntimeError(f"the {mode} build of {root} ended with exit {done.returncode}: "
                           f"{(done.stderr.strip().splitlines() or ['no message'])[-1]}")
    return json.loads(done.stdout.splitlines()[-1])


# --- real builds: the local pool and a Dask cluster --------------------------------------------------------------


def build_command(root: Path, output: Path, today: dt.date, extra: list[str]) -> list[str]:
    return [sys.executable, str(ROOT / "build.py"), "-q", "--root", str(root), "--output", str(output),
            "--today", today.isoformat(), *extra]


@dataclass
class BuildRun:
    seconds: float
    returncode: int
    pdfs: dict[str, str]          # relative path -> sha256
    message: str = ""


def real_build(root: Path, output: Path, today: dt.date, extra: list[str]) -> BuildRun:
    """`build.py` from an empty output folder in a new process, as a scheduled job would run it; wall time."""
    shutil.rmtree(output, ignore_errors=True)
    seconds, done = timed(lambda: subprocess.run(build_command(root, output, today, extra), capture_output=True,
                                                 text=True, env=_environment()))
    lines = (done.stderr.strip() or done.stdout.strip()).splitlines()
    return BuildRun(seconds, done.returncode, pdf_digests(output), lines[-1] if lines else "")


def pdf_digests(output: Path) -> dict[str, str]:
    return {str(path.relative_to(output)): hashlib.sha256(path.read_bytes()).hexdigest()
            for path in sorted(output.rglob("*.pdf"))}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _stop(process: subprocess.Popen) -> None:
    """Stop a process this benchmark started, and what it started (its own session): politely, then by force."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


@contextmanager
def dask_cluster(workers: int, logs: Path) -> Iterator[str]:
    """A Dask scheduler and `workers` single-threaded worker processes, each a separate process on 127.0.0.1, as
    the `distributed` package's commands start them; yields the scheduler's address once every worker is in."""
    from distributed import Client
    dask = Path(sys.executable).with_name("dask")
    address = f"tcp://127.0.0.1:{_free_port()}"
    logs.mkdir(parents=True, exist_ok=True)
    started: list[subprocess.Popen] = []
    try:
        # The scheduler with the README's settings for a printing cluster's.
        quiet = {"DASK_" + key.upper().replace(".", "__").replace("-", "_"): value
                 for key, value in dask_executor.SCHEDULER_SETTINGS.items()}
        for name, command, env in (("scheduler", [str(dask), "scheduler", "--host", "127.0.0.1", "--port",
                                                  address.rsplit(":", 1)[1], "--no-dashboard"], quiet),
                                   ("workers", [str(dask), "worker", address, "--nworkers", str(workers),
                                                "--nthreads", "1", "--no-dashboard"], {})):
            with open(logs / f"{name}.log", "ab") as log:       # run where no project is: workers need none
                started.append(subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT,
                                                env={**_environment(), **env}, cwd=logs, start_new_session=True))
        with Client(address, timeout=60) as client:
            client.wait_for_workers(workers, timeout=120)
        yield address
    finally:
        for process in reversed(started):
            _stop(process)


# --- the warm print time of a sample ---------------------------------------------------------------------------


@dataclass
class Warm:
    documents: int
    print_s: float                # WeasyPrint only, as bench/run.py's floor
    preflight_s: float            # what a worker does next to each document
    smallest: tuple[bytes, int] = field(repr=False, default=(b"", 0))   # the shortest PDF and its pages


def warm_times(root: Path, clinics: set[str]) -> Warm:
    """The sample's documents printed and preflighted in one warm process (fonts loaded, stylesheets parsed):
    one document per stylesheet combination first, not counted."""
    library = content.load(root)
    renderer = Renderer(root)
    jobs = [job for job in plan(library, Selection()).jobs if job.clinic.id in clinics]
    tasks = [worker.Task(print_job(library, job, renderer.render(library, job, Patient()), job.key),
                         worker.expectation(library, job)) for job in jobs]
    printer = worker.Worker(root, sorted({family for task in tasks for family in task.job.families})).printer
    worker.settle()     # as a pool worker and a Dask worker do once their printer is made
    seen = set()
    for task in tasks:
        key = (task.job.families, task.job.variant.stylesheet, task.job.profile_file)
        if key not in seen:
            seen.add(key)
            printer.write(task.job)
    print_s = preflight_s = 0.0
    smallest: tuple[bytes, int] | None = None
    for task in tasks:
        seconds, (pdf, pages) = timed(lambda: printer.write(task.job))
        print_s += seconds
        seconds, findings = timed(lambda: preflight.preflight(io.BytesIO(pdf), task.expect,
                                                              shown_as=task.job.source))
        preflight_s += seconds
        if findings:
            raise RuntimeError(f"{task.job.source}: the preflight refused it: {findings[0].message}")
        if smallest is None or (pages, len(pdf)) < (smallest[1], len(smallest[0])):
            smallest = (pdf, pages)
    assert smallest is not None
    return Warm(len(tasks), print_s, preflight_s, smallest)


# --- the benchmark --------------------------------------------------------------------------------------------


def make_fleet(scratch: Path, name: str, clinics: int, seed: int) -> fleetgen.Fleet:
    root = fleetgen.copy_project(ROOT, scratch / name / "project")
    return fleetgen.generate(root, clinics, seed)


def full_builds(args: argparse.Namespace, fleet: fleetgen.Fleet, scratch: Path, row: Row, figures: dict) -> None:
    """The fleet built on the local pool and on a Dask cluster (a new one each time), in turn for each round, the
    order reversed every other round (local, Dask, Dask, local, ...): the machine's speed drifts by several per cent
    over minutes, and a drift that goes one way then weighs on both paths alike."""
    runs: dict[str, list[BuildRun]] = {"local": [], "dask": []}
    failed: set[str] = set()
    for number in range(1, args.rounds + 1):
        for path in ("local", "dask") if number % 2 else ("dask", "local"):
            if path in failed:
                continue
            if path == "local":
                run = real_build(fleet.root, scratch / path, args.today, ["--jobs", str(args.workers)])
            else:
                try:
                    with dask_cluster(args.workers, scratch / "dask-logs") as address:
                        run = real_build(fleet.root, scratch / path, args.today, ["--scheduler", address])
                except (OSError, TimeoutError) as exc:       # the cluster did not come up: its logs say why
                    run = BuildRun(0.0, -1, {}, f"no Dask cluster ({exc}); see {scratch / 'dask-logs'}")
            if run.returncode != 0 or len(run.pdfs) != fleet.documents:
                failed.add(path)
                row(f"full build, {LABELS[path]}", f"exit {run.returncode}, {len(run.pdfs)} PDFs",
                    f"{fleet.documents} PDFs", False)
                print(f"    {run.message}", flush=True)
                continue
            runs[path].append(run)
        if args.rounds > 1:
            print(f"  round {number}: " + ", ".join(f"{LABELS[path]} {found[-1].seconds:.1f} s"
                                                    for path, found in runs.items() if found), flush=True)
    full: dict = {"documents": fleet.documents, "workers": args.workers}
    for path, found in runs.items():
        if found:
            full[f"{path}_s"] = statistics.median(run.seconds for run in found)
            full[f"{path}_rounds"] = [run.seconds for run in found]
            row(f"full build, {LABELS[path]} ({args.workers} {'workers' if path == 'local' else 'processes'})",
                f"{full[f'{path}_s']:.1f} s, {fleet.documents} PDFs")
    figures["full"] = full
    if runs["local"] and runs["dask"]:
        ratio = full["dask_s"] / full["local_s"]
        row("  Dask / local pool", f"{ratio:.2f} x", f"<= {DASK_OVER_LOCAL} x", ratio <= DASK_OVER_LOCAL)
        local, dask = runs["local"][-1].pdfs, runs["dask"][-1].pdfs
        same = sum(local.get(path) == digest for path, digest in dask.items())
        full.update(dask_over_local=ratio, identical=same)
        row("  PDFs byte-identical (sha256)", f"{same} of {fleet.documents}", "every one",
            same == fleet.documents == len(local) == len(dask))


LABELS = {"local": "local pool", "dask": "Dask"}


def overheads(args: argparse.Namespace, fleet: fleetgen.Fleet, warm: Warm, row: Row, figures: dict) -> None:
    """Per-task overhead: a path's time per document on one of its workers, less the warm print time."""
    print_ms = 1000 * warm.print_s / warm.documents
    preflight_ms = 1000 * warm.preflight_s / warm.documents
    figures["warm"] = {"documents": warm.documents, "print_ms": print_ms, "preflight_ms": preflight_ms}
    row(f"warm print time ({warm.documents} of the fleet)", f"{print_ms:.0f} ms a document")
    row("  and preflight", f"{preflight_ms:.0f} ms a document")
    full = figures.get("full", {})
    for path in (p for p in ("dask", "local") if f"{p}_s" in full):
        per_task_ms = 1000 * full[f"{path}_s"] * full["workers"] / full["documents"]
        figures["full"][f"{path}_overhead_ms"] = per_task_ms - print_ms
        label = "per-task overhead, Dask" if path == "dask" else "  the same on the local pool"
        row(label, f"{per_task_ms - print_ms:.0f} ms a task",
            f"({per_task_ms:.0f} ms a document a worker, preflight {preflight_ms:.0f} ms of it)")


def sizes_section(args: argparse.Namespace, scratch: Path, pdf_file: Path, pages: int, row: Row,
                  figures: dict) -> None:
    """Full and no-op builds with the fixed-PDF executor at each size, each in a new process."""
    results = []
    for clinics in args.sizes:
        fleet = make_fleet(scratch, f"size-{clinics}", clinics, args.seed)
        output = fleet.root.parent / "output"
        try:
            full = _child("full", fleet.root, output, args.today, pdf_file, pages)
            noop = _child("noop", fleet.root, output, args.today, pdf_file, pages)
        except RuntimeError as exc:
            row(f"fixed-PDF builds, {fleet.documents} documents", "ended early", "", False)
            print(f"    {exc}", flush=True)
            return
        finally:
            shutil.rmtree(fleet.root.parent)
        if not full["ok"] or full["built"] != fleet.documents or not noop["ok"] or noop["built"]:
            row(f"fixed-PDF builds, {fleet.documents} documents", f"{full['built']} built, then {noop['built']}",
                f"{fleet.documents}, then none", False)
            for problem in full["problems"] + noop["problems"]:
                print(f"    {problem}", flush=True)
            return
        result = {"clinics": clinics, "documents": fleet.documents, "full": full, "noop": noop,
                  "build_ms": 1000 * full["seconds"] / fleet.documents,
                  "render_ms": 1000 * full["render_s"] / fleet.documents,
                  "publish_ms": 1000 * full["publish_s"] / fleet.documents,
                  "peak_mb": max(full["peak_mb"], noop["peak_mb"])}
        result["extra_kb"] = 1024 * (result["peak_mb"] - full["peak_before_mb"]) / fleet.documents
        results.append(result)
        row(f"{fleet.documents:>6,} documents: full build", f"{full['seconds']:.1f} s, {result['build_ms']:.1f} ms/doc",
            f"(render {result['render_ms']:.1f}, publish {result['publish_ms']:.1f} ms/doc)")
        row("  no-op rebuild", f"{noop['seconds']:.2f} s", f"({noop['seconds'] / full['seconds']:.1%} of the full)")
        row("  peak memory of the building process", f"{full['peak_mb']:.0f} MB, no-op {noop['peak_mb']:.0f} MB",
            f"({full['peak_before_mb']:.0f} MB before: {result['extra_kb']:.0f} kB/doc)")
    figures["sizes"] = results
    small, large = results[0], results[-1]
    for key, label in (("build_ms", "full build"), ("publish_ms", "publishing")):
        ratio = large[key] / small[key]
        row(f"{label} per document, {large['documents']:,} / {small['documents']:,}", f"{ratio:.2f} x",
            f"<= {PUBLISH_FLAT} x", ratio <= PUBLISH_FLAT)
    growing = [f"{b['documents']:,}" for a, b in zip(results, results[1:])
               if b["extra_kb"] > MEMORY_PER_DOCUMENT * a["extra_kb"]]
    row("memory per document as the fleet grows", "grows at " + ", ".join(growing) if growing else "never grows",
        "at most linear", not growing)
    noop_share_fake = large["noop"]["seconds"] / large["full"]["seconds"]
    row(f"no-op of {large['documents']:,} / fixed-PDF build", f"{noop_share_fake:.2%}")
    full = figures.get("full", {})
    if "local_s" in full:
        real_s = full["local_s"] / full["documents"] * large["documents"]
        share = large["noop"]["seconds"] / real_s
        figures["noop_share_of_real"] = share
        row(f"no-op of {large['documents']:,} / their real build", f"{share:.2%}", f"< {NOOP_SHARE:.0%}",
            share < NOOP_SHARE)
        print(f"    (their real build is not run: {real_s:.0f} s, the local pool's {full['local_s']:.1f} s for "
              f"{full['documents']} PDFs scaled to {large['documents']:,})", flush=True)


def projection(figures: dict) -> None:
    """45,000 PDFs on more worker cores, from the measured figures: the workers' share divided among the cores,
    plus the building process's own work per document (render and publish), which does not divide."""
    full, sizes = figures.get("full", {}), figures.get("sizes")
    if "dask_s" not in full or not sizes:
        print("no projection: a section it needs did not finish", flush=True)
        return
    core_s = full["dask_s"] * full["workers"] / full["documents"]      # warm print + per-task overhead
    serial_s = sizes[-1]["build_ms"] / 1000                             # plan, render and publish a document
    rows = {cores: PROJECTED_DOCUMENTS * (core_s / cores + serial_s) for cores in PROJECTED_CORES}
    saturated = core_s / serial_s
    figures["projection"] = {"documents": PROJECTED_DOCUMENTS, "core_s_per_document": core_s,
                             "serial_s_per_document": serial_s, "wall_s": rows, "saturates_at_cores": saturated}
    print(f"projection for {PROJECTED_DOCUMENTS:,} PDFs: {core_s * 1000:.0f} ms of a worker core a document "
          f"(the Dask build's, overhead included) / cores + {serial_s * 1000:.1f} ms of the building process a "
          f"document (plan, render, publish: the fixed-PDF build of {sizes[-1]['documents']:,}); a sum, as if the "
          "two never overlapped, so an upper bound", flush=True)
    for cores, seconds in rows.items():
        print(f"  {cores:>3} worker cores: {seconds / 60:6.1f} min", flush=True)
    print(f"  the building process is the bottleneck from about {saturated:.0f} worker cores: beyond that it "
          f"cannot render and publish as fast as the workers print ({serial_s * PROJECTED_DOCUMENTS / 60:.1f} min "
          "for 45,000 at best)", flush=True)


def main() -> int:
    if len(sys.argv) == 8 and sys.argv[1] == "--fake-once":
        mode, root, output, today, pdf_file, pages = sys.argv[2:]
        print(json.dumps(fake_once(mode, Path(root), Path(output), dt.date.fromisoformat(today), Path(pdf_file),
                                   int(pages))))
        return 0
    args = parse_args()
    failures: list[str] = []

    def row(name: str, figure: str, target: str = "", ok: bool | None = None) -> None:
        print(f"  {name:<44} {figure:>26}  {target:<30} {'' if ok is None else ('ok' if ok else 'MISSED')}",
              flush=True)
        if ok is False:
            failures.append(name.strip())

    figures: dict = {"cores": os.cpu_count(), "workers": args.workers, "today": args.today.isoformat()}
    scratch = Path(tempfile.mkdtemp(prefix="handouts-fleet-"))
    try:
        fleet = make_fleet(scratch, "fleet", args.clinics, args.seed)
        sample = {clinic.id for clinic in fleet.clinics[:args.sample]}
        figures["fleet"] = {"clinics": len(fleet.clinics), "documents": fleet.documents,
                            "conditions": list(fleet.conditions)}
        print(f"handouts fleet benchmark: {os.cpu_count()} cores, {args.workers} workers, a fleet of "
              f"{len(fleet.clinics)} clinics = {fleet.documents} PDFs ({', '.join(fleet.conditions)}); fixed-PDF "
              f"builds of {', '.join(map(str, args.sizes))} clinics; scratch in {scratch}", flush=True)
        full_builds(args, fleet, scratch, row, figures)
        warm = warm_times(fleet.root, sample)
        overheads(args, fleet, warm, row, figures)
        pdf_file = scratch / "fixed.pdf"
        pdf_file.write_bytes(warm.smallest[0])
        figures["fixed_pdf"] = {"bytes": len(warm.smallest[0]), "pages": warm.smallest[1]}
        shutil.rmtree(scratch / "fleet")
        sizes_section(args, scratch, pdf_file, warm.smallest[1], row, figures)
        projection(figures)
    finally:
        if args.keep:
            print(f"scratch kept in {scratch}")
        else:
            shutil.rmtree(scratch, ignore_errors=True)
    figures["missed"] = failures
    args.json.write_text(json.dumps(figures, indent=2) + "\n")
    print(f"figures in {args.json}")
    print("all targets met" if not failures else f"targets missed: {', '.join(failures)}")
    return 1 if failures else 0


def _sizes(text: str) -> list[int]:
    sizes = [int(part) for part in text.split(",")]
    if len(sizes) < 2 or any(n < 1 for n in sizes) or sizes != sorted(set(sizes)):
        raise argparse.ArgumentTypeError("give at least two growing numbers of clinics, e.g. 2,20,200")
    return sizes


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clinics", type=int, default=20, help="clinics of the fleet built for real (default: 20)")
    parser.add_argument("--sizes", type=_sizes, default=[2, 20, 200],
                        help="clinics of each fixed-PDF build, comma-separated (default: 2,20,200)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                        help="local pool workers and Dask worker processes (default: the cores)")
    parser.add_argument("--rounds", type=int, default=1, help="full builds on each path; medians compared")
    parser.add_argument("--sample", type=int, default=SAMPLE_CLINICS,
                        help=f"clinics whose documents give the warm print time (default: {SAMPLE_CLINICS})")
    parser.add_argument("--seed", type=int, default=14, help="the fleet generator's seed")
    parser.add_argument("--today", type=dt.date.fromisoformat, default=dt.date.today(),
                        help="the date review dates are checked against (default: today)")
    parser.add_argument("--json", type=Path, default=Path(tempfile.gettempdir()) / "handouts-fleet.json",
                        help="where the figures go, as JSON (default: handouts-fleet.json in the temporary folder)")
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder")
    parser.add_argument("--quick", action="store_true",
                        help="a short run for trying it: 3 clinics, sizes of 2 and 10 clinics, 2 clinics sampled")
    args = parser.parse_args()
    if args.quick:
        args.clinics, args.sizes, args.sample = 3, [2, 10], 2
    return args


if __name__ == "__main__":
    sys.exit(main())
