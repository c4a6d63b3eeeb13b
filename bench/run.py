"""The project's benchmark: how fast the whole catalogue builds, against a floor and a naive peer.

    .venv/bin/python bench/run.py [--jobs N] [--skip-naive] [--skip-web | --web-only]

Works on a scratch copy of content/ and templates/, so the project is never touched, and prints each figure, its
ratio and whether it meets its target. Exits 1 when a target is missed. Run it on an otherwise idle machine.

- full build: every clinic, language, condition, kind and variant, from an empty output folder, N workers;
- floor: the same HTML printed in one warm process (fonts loaded, stylesheets parsed), print time only, / N;
- naive peer: one `weasyprint` command-line process per document on the same HTML and stylesheets, in turn;
- no-op rebuild; a rebuild after a change to one shared block, and to one condition's block;
- peak memory (RSS) of a worker;
- the staff web app under gunicorn on 127.0.0.1 (bench/web.py): one filled-in consent form against the warm
  print time, and 16 members of staff for a minute against the floor.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from handouts import builder, content, fonts  # noqa: E402
from handouts.models import Patient  # noqa: E402
from handouts.plan import Selection, plan  # noqa: E402
from handouts.printjob import PrintJob, print_job  # noqa: E402
from handouts.render import Renderer  # noqa: E402
from handouts.worker import Worker, settle  # noqa: E402

# Targets, from the issue that asked for this benchmark.
FULL_OVER_FLOOR = 1.10
NAIVE_OVER_FULL = 4.0
NOOP_SHARE = 0.02
WORKER_MB = 250.0

SHARED_BLOCK = "content/en/shared/risks.md"
CONDITION_BLOCK = "content/en/pigmentation-disorders/evidence.md"     # the online research only: the leaflets have little room left


def timed(action):
    start = time.perf_counter()
    result = action()
    return time.perf_counter() - start, result


def users_of(output: Path, relative: str) -> set[str]:
    """Documents whose recorded inputs include a file, from the manifest the build wrote."""
    manifest = json.loads((output / "manifest.json").read_text())
    return {entry["path"] for entry in manifest["documents"] if relative in entry["inputs"]}


def touch_block(root: Path, relative: str) -> None:
    """An edit an author might make: one more sentence at the end of the block."""
    path = root / relative
    path.write_text(path.read_text() + "\nAsk us if anything here is unclear.\n")


def print_jobs(root: Path) -> tuple[Worker, list[PrintJob]]:
    """Every document of the catalogue as the printer sees it (its HTML and what goes with it), and a worker."""
    library = content.load(root)
    renderer = Renderer(root)
    jobs = [print_job(library, job, renderer.render(library, job, Patient()), job.key)
            for job in plan(library, Selection()).jobs]
    printer = Worker(root, sorted({family for job in jobs for family in job.families}))
    settle()        # as a pool worker does once its printer is made
    return printer, jobs


def floor(worker: Worker, jobs: list[PrintJob]) -> float:
    """Print time of every document in one warm process: stylesheets parsed and fonts loaded beforehand."""
    seen = set()
    for job in jobs:                      # warm-up: one document per stylesheet combination, not counted
        key = (job.families, job.variant.stylesheet, job.profile_file)
        if key not in seen:
            seen.add(key)
            worker.printer.write(job)
    total = 0.0
    for job in jobs:
        seconds, _ = timed(lambda: worker.printer.write(job))
        total += seconds
    return total


def naive(worker: Worker, jobs: list[PrintJob], scratch: Path) -> float:
    """One `weasyprint` process per document, in turn, on the same HTML and the same stylesheets."""
    weasyprint = Path(sys.executable).with_name("weasyprint")
    templates = worker.printer.templates
    scratch.mkdir()
    files = []
    for number, job in enumerate(jobs):
        html = scratch / f"{number}.html"
        html.write_text(job.html)
        sheets = scratch / f"{number}-fonts.css"
        sheets.write_text(fonts.font_faces(list(job.families)))
        command = [str(weasyprint), "-q", "-u", templates.as_uri() + "/", "-s", str(sheets),
                   "-s", str(templates / "print.css"), "--pdf-variant", job.variant.pdf_variant]
        if job.variant.stylesheet:
            command += ["-s", str(templates / job.variant.stylesheet)]
        if job.profile_file is not None:
            profile = scratch / f"{number}-profile.css"
            profile.write_text(f'@color-profile device-cmyk {{ src: url("{job.profile_file.resolve().as_uri()}"); '
                               "components: cyan, magenta, yellow, black }")
            command += ["-s", str(profile)]
        files.append(command + [str(html), str(scratch / f"{number}.pdf")])
    start = time.perf_counter()
    for command in files:
        subprocess.run(command, check=True)
    return time.perf_counter() - start


def build_once(root: Path, output: Path, today: dt.date, jobs: int) -> None:
    """One build in this fresh process, timed from the call (the interpreter's start and imports excluded, the
    worker processes started cold); prints the figures as JSON for the parent to read."""
    seconds, outcome = timed(lambda: builder.build(root, output, Selection(), today, jobs=jobs))
    print(json.dumps({"seconds": seconds, "built": outcome.built, "ok": outcome.ok and not outcome.failed,
                      "peak_worker_mb": outcome.peak_worker_mb,
                      "problems": [p.format() for p in outcome.problems]}))


def cold_build(root: Path, output: Path, today: dt.date, jobs: int) -> dict:
    """A full build from an empty output folder, in a new process as a scheduled job would run it."""
    shutil.rmtree(output, ignore_errors=True)
    done = subprocess.run([sys.executable, __file__, "--build-once", str(root), str(output), today.isoformat(),
                           str(jobs)], check=True, capture_output=True, text=True)
    return json.loads(done.stdout.splitlines()[-1])


def median(values: list[float]) -> float:
    return statistics.median(values)


def main() -> int:
    if len(sys.argv) == 6 and sys.argv[1] == "--build-once":
        build_once(Path(sys.argv[2]), Path(sys.argv[3]), dt.date.fromisoformat(sys.argv[4]), int(sys.argv[5]))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="workers (default: the cores)")
    parser.add_argument("--today", type=dt.date.fromisoformat, default=dt.date.today(),
                        help="the date review dates are checked against (default: today)")
    parser.add_argument("--rounds", type=int, default=5,
                        help="full builds and floors, taken in turn; their medians are compared (default: 5)")
    parser.add_argument("--skip-naive", action="store_true", help="leave out the naive peer (it is slow)")
    parser.add_argument("--skip-web", action="store_true", help="leave out the web section")
    parser.add_argument("--web-only", action="store_true", help="measure the web section alone")
    args = parser.parse_args()
    failures = []

    def row(name: str, figure: str, target: str = "", ok: bool | None = None) -> None:
        print(f"  {name:<34} {figure:>24}  {target:<26} {'' if ok is None else ('ok' if ok else 'MISSED')}",
              flush=True)
        if ok is False:
            failures.append(name)

    if args.web_only:
        return web_section(args, row, failures)
    with tempfile.TemporaryDirectory(prefix="handouts-bench-") as scratch_name:
        scratch = Path(scratch_name)
        root = scratch / "project"
        for name in ("content", "templates"):
            shutil.copytree(ROOT / name, root / name)
        output = scratch / "output"
        print(f"handouts benchmark: {os.cpu_count()} cores, {args.jobs} workers, {args.rounds} rounds, "
              f"scratch copy in {scratch}", flush=True)

        # Full builds and floors in turn, so that a slow spell of the machine touches both alike. The floor
        # prints the very HTML of the full build.
        worker, jobs = print_jobs(root)
        fulls, floors, peak = [], [], 0.0
        for number in range(1, args.rounds + 1):
            full = cold_build(root, output, args.today, args.jobs)
            if not full["ok"] or len(full["built"]) != len(jobs):
                print("the full build failed:", *full["problems"], sep="\n", file=sys.stderr)
                return 1
            fulls.append(full["seconds"])
            peak = max(peak, full["peak_worker_mb"])
            floors.append(floor(worker, jobs) / args.jobs)
            print(f"  round {number}: full build {fulls[-1]:.1f} s, floor {floors[-1]:.1f} s", flush=True)
        full_s, floor_s = median(fulls), median(floors)
        row("full build (median)", f"{full_s:.1f} s, {len(jobs)} PDFs")
        row("floor (print time / workers)", f"{floor_s:.1f} s")
        row("  full build / floor", f"{full_s / floor_s:.2f} x", f"<= {FULL_OVER_FLOOR} x",
            full_s / floor_s <= FULL_OVER_FLOOR)
        if not args.skip_naive:
            naive_s = naive(worker, jobs, scratch / "naive")
            row("naive peer (CLI per document)", f"{naive_s:.1f} s")
            row("  naive peer / full build", f"{naive_s / full_s:.2f} x", f">= {NAIVE_OVER_FULL} x",
                naive_s / full_s >= NAIVE_OVER_FULL)
        del worker, jobs

        def build():
            return builder.build(root, output, Selection(), args.today, jobs=args.jobs)

        noop_s, noop = timed(build)
        row("no-op rebuild", f"{noop_s:.2f} s, {len(noop.built)} rendered",
            f"nothing, <= {NOOP_SHARE:.0%} of full", not noop.built and noop_s <= NOOP_SHARE * full_s)
        row("  share of the full build", f"{noop_s / full_s:.2%}")
        command = [sys.executable, str(ROOT / "build.py"), "-q", "--root", str(root), "--output", str(output),
                   "--today", args.today.isoformat()]
        command_s, _ = timed(lambda: subprocess.run(command, check=True))
        row("  the same as a command", f"{command_s:.2f} s ({command_s / full_s:.1%})")

        for label, block in (("one shared block changed", SHARED_BLOCK),
                             ("one condition block changed", CONDITION_BLOCK)):
            expected = users_of(output, block)
            touch_block(root, block)
            seconds, outcome = timed(build)
            rendered = set(outcome.built)
            row(label, f"{seconds:.1f} s, {len(rendered)} rendered", f"exactly its {len(expected)} users",
                rendered == expected and outcome.ok)

        row("worker peak memory", f"{peak:.0f} MB", f"<= {WORKER_MB:.0f} MB", peak <= WORKER_MB)

    if not args.skip_web:
        return web_section(args, row, failures)
    print("all targets met" if not failures else f"targets missed: {', '.join(failures)}")
    return 1 if failures else 0


def web_section(args, row, failures: list[str]) -> int:
    import web
    print(f"web: the staff app under gunicorn, {args.jobs} server processes, on 127.0.0.1", flush=True)
    web.run(row, args.jobs, args.today, args.rounds)
    print("all targets met" if not failures else f"targets missed: {', '.join(failures)}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
