"""Command line: `python build.py [build|check|preflight|deliver|watch] [options]`; `python build.py serve` and
`python build.py users ...` run and manage the staff web app (handouts.web).

Exit codes: 0 success; 1 problems were found (printed as path:line: message), or the Dask cluster could not go
on (one line); 2 usage error; 3 another run holds the output folder's lock; 128 + the signal's number when SIGINT
(130), SIGTERM (143) or SIGHUP (129) stopped the command (workers ended, no temporary file left, the manifest
agreeing with the files).
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import json
import logging
import os
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Callable

from . import builder, interrupt, pool
from .models import Patient
from .plan import Selection
from .problems import BuildError, Problem

ROOT = Path(__file__).resolve().parent.parent
LOGGER = logging.getLogger("handouts")
EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE, EXIT_LOCKED = 0, 1, 2, 3
COMMANDS = ["build", "check", "preflight", "deliver", "watch"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="build.py", description="Build branded patient handouts (PDF) from reviewed Markdown content.")
    parser.add_argument("command", nargs="?", default="build", choices=COMMANDS,
                        help="build: render the PDFs whose inputs changed (default); check: validate everything "
                             "without rendering PDFs; preflight: check produced PDFs as a print shop would; "
                             "deliver: zip the print masters changed since the last delivery; watch: rebuild "
                             "whenever a content or template file is saved")
    parser.add_argument("pdfs", nargs="*", type=Path, help="preflight only: PDFs to check (default: the manifest)")
    parser.add_argument("--clinic", help="only this clinic (folder name under content/clinics/)")
    parser.add_argument("--language", help="only this language, e.g. en")
    parser.add_argument("--condition", help="only this condition, e.g. acne-scars")
    parser.add_argument("--kind", help="only this kind of document, e.g. leaflet or consent")
    parser.add_argument("--variant", help="only this variant, e.g. screen")
    parser.add_argument("--strict", action="store_true", help="treat warnings as errors")
    parser.add_argument("--verify", action="store_true",
                        help="build: read and hash every PDF already in the output folder to tell whether it is "
                             "unchanged (by default one whose size, modification time and inode are as recorded "
                             "is taken as unchanged without being read)")
    parser.add_argument("--format", "--report", dest="format", choices=["text", "json"], default="text",
                        help="text for people, json for machines (a report on standard output)")
    parser.add_argument("--jobs", type=_positive, default=None,
                        help="worker processes that render in parallel (default: the number of cores)")
    parser.add_argument("--scheduler", type=_scheduler, default=None, metavar="tcp://HOST:PORT|local:N",
                        help="print on a Dask cluster: its scheduler's address, or local:N to start one of N worker "
                             "processes on this machine (default: the local pool, see --jobs)")
    parser.add_argument("--wait", type=float, default=0, metavar="SECONDS",
                        help="if another run is using the output folder, wait this long for it (default: 0)")
    parser.add_argument("--output", type=Path, default=None, help="output folder (default: output/)")
    parser.add_argument("--root", type=Path, default=ROOT, help=argparse.SUPPRESS)
    parser.add_argument("--today", type=dt.date.fromisoformat, default=None,
                        help="the date review dates are checked against (default: today), YYYY-MM-DD")
    parser.add_argument("--patient", type=Path, default=None,
                        help="YAML file with one patient's details (name, date_of_birth, procedure, procedure_date, "
                             "clinician, first_consultation, leaflet_given): fill in one document for them, written "
                             "to --to only")
    parser.add_argument("--to", default=None, metavar="FILE",
                        help="with --patient: a new file for the filled-in sheet (created readable by you alone, "
                             "never overwritten), or - for standard output")
    parser.add_argument("-q", "--quiet", action="store_true", help="print problems only")
    return parser


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return value


def _scheduler(text: str) -> str:
    from .executors import scheduler_error
    problem = scheduler_error(text)
    if problem:
        raise argparse.ArgumentTypeError(f"{text!r}: {problem}")
    return text


def _validate_selection(args: argparse.Namespace, parser: argparse.ArgumentParser) -> Selection:
    from . import yamlio
    try:
        catalogue = yamlio.load(args.root / "content" / "catalogue.yaml", "content/catalogue.yaml", args.root)
    except BuildError:
        catalogue = {}         # the load stage reports it
    catalogue = catalogue if isinstance(catalogue, dict) else {}
    clinics = sorted(p.parent.name for p in (args.root / "content" / "clinics").glob("*/clinic.yaml"))
    for option, known in (("clinic", clinics), ("language", catalogue.get("languages")),
                          ("condition", catalogue.get("conditions")), ("kind", catalogue.get("kinds")),
                          ("variant", catalogue.get("variants"))):
        value = getattr(args, option)
        if value is not None and isinstance(known, list) and value not in known:
            parser.error(f"--{option} {value!r} is not one of: {', '.join(map(str, known))}")
    return Selection(args.clinic, args.language, args.condition, args.kind, args.variant)


def _print_report(outcome: builder.Outcome, fmt: str) -> None:
    if fmt == "json":
        print(json.dumps({"ok": outcome.ok, "problems": [p.as_dict() for p in outcome.problems],
                          "built": outcome.built, "failed": outcome.failed, "behind": outcome.behind,
                          "documents": [asdict(row) for row in outcome.documents],
                          "translations": _translations_json(outcome.translations)}, indent=2))
        return
    for problem in outcome.problems:
        print(problem.format(), file=sys.stderr)
    if outcome.documents:
        print(_table(outcome.documents))
    if outcome.translations:
        print(_translation_table(outcome.translations))


def _grid(header: tuple, lines: list[tuple], left: int = 1) -> str:
    """A plain-text table: the first `left` columns aligned left, the others right."""
    widths = [max(len(h), *(len(line[i]) for line in lines)) for i, h in enumerate(header)]
    def fmt(cells: tuple) -> str:
        return "  ".join(c.ljust(w) if i < left else c.rjust(w)
                         for i, (c, w) in enumerate(zip(cells, widths))).rstrip()
    return "\n".join([fmt(header), "  ".join("-" * w for w in widths), *map(fmt, lines)])


def _table(rows: list) -> str:
    header = ("document", "readability", "words", "word range", "review due", "warnings", "errors")
    return _grid(header, [(f"{r.language} {r.country} {r.condition} {r.kind}", r.readability, str(r.words),
                           f"{r.word_range[0]}-{r.word_range[1]}" if r.word_range else "-", r.review_due,
                           str(r.warnings), str(r.errors)) for r in rows])


def _translations_json(rows: list) -> dict:
    """Per language: how many source blocks are current, stale and missing, and each one's row."""
    from .translation import summary
    counts = summary(rows)
    return {language: {**counts[language], "blocks": [asdict(r) for r in rows if r.language == language]}
            for language in sorted(counts)}


def _translation_table(rows: list) -> str:
    """Each translated language's table: every source block, with its translation's state and dates."""
    from .translation import summary
    order = {"stale": 0, "missing": 1, "current": 2}
    parts = []
    for language, counts in sorted(summary(rows).items()):
        mine = sorted((r for r in rows if r.language == language), key=lambda r: (order[r.status], r.source))
        parts.append(f"\nTranslations into {language}: {counts['current']} current, {counts['stale']} stale, "
                     f"{counts['missing']} missing")
        header = ("status", "source block", "version", "reviewed", "translation", "translates", "translated", "note")
        parts.append(_grid(header, [(
            r.status, r.source, r.source_version, r.source_date, r.path or "-", r.translates or "-",
            r.translated or "-", f"an error from {r.error_from}" if r.error_from else "") for r in mine], left=8))
    return "\n".join(parts)


def _preflight(args: argparse.Namespace, parser: argparse.ArgumentParser, output: Path) -> int:
    try:
        report, problems = builder.preflight_outputs(args.root, output, args.pdfs or None)
    except ValueError as exc:
        parser.error(str(exc))
    written = builder.write_preflight_report(output, report, args.wait)
    if args.format == "json":
        print(json.dumps(report, indent=2))
    else:
        for problem in problems:
            print(problem.format(), file=sys.stderr)
        details = (f"details in {output / 'preflight.json'}" if written else
                   f"{output / 'preflight.json'} not written: another run is using {output}")
        print(f"preflight: {report['passed']} passed, {report['failed']} failed ({details})")
    return EXIT_PROBLEMS if problems else EXIT_OK


def _configure_logging(quiet: bool) -> bool:
    """Plain timestamped lines when not on a terminal (cron, CI); a progress bar on one. Returns the latter."""
    interactive = sys.stderr.isatty()
    fmt = "%(message)s" if interactive else "%(asctime)s %(levelname)s %(message)s"
    logging.basicConfig(level=logging.WARNING if quiet else logging.INFO, format=fmt, stream=sys.stderr)
    logging.getLogger("weasyprint").setLevel(logging.WARNING)
    logging.getLogger("fontTools").setLevel(logging.ERROR)
    logging.getLogger("pikepdf").setLevel(logging.WARNING)
    return interactive and not quiet


class _Progress:
    """Reports each document as it is published: a bar on a terminal, a log line otherwise."""

    def __init__(self, bar: bool):
        self.bar = None
        self.use_bar = bar
        self.published = 0

    def __call__(self, event: str, path: str) -> None:
        self.published += event in ("added", "changed")
        if self.use_bar and event in ("added", "changed", "failed"):
            if self.bar is None:
                from tqdm import tqdm
                self.bar = tqdm(unit="doc", desc="rendering", file=sys.stderr, leave=False)
            self.bar.update()
            self.bar.set_postfix_str(path.rsplit("/", 1)[-1], refresh=False)
        else:
            (LOGGER.error if event == "failed" else LOGGER.info)("%s: %s", event, path)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _summary(outcome: builder.Outcome) -> str:
    behind = f", {len(outcome.behind)} behind their source (last good PDF kept)" if outcome.behind else ""
    return (f"{len(outcome.added)} added, {len(outcome.changed)} changed, {len(outcome.removed)} removed, "
            f"{len(outcome.unchanged)} unchanged, {len(outcome.failed)} failed{behind}")


def _published(progress: _Progress) -> str:
    done = "1 document was" if progress.published == 1 else f"{progress.published} documents were"
    return f"{done} published, the rest will be built by the next run"


def _cluster_stopped(exc: Exception, progress: _Progress) -> str:
    """The one line for a build the cluster could not finish."""
    return f"build.py: {exc}" + (f"; {_published(progress)}" if progress.published else "")


def _executor(args: argparse.Namespace):
    """The Dask executor --scheduler names, or None: the builder's local pool of --jobs processes."""
    from .executors import executor_for
    return executor_for(args.scheduler, args.jobs) if args.scheduler else None


def _build(args: argparse.Namespace, parser: argparse.ArgumentParser, selection: Selection, today: dt.date,
           output: Path, bar: bool) -> int:
    from .executors import ClusterError
    progress = _Progress(bar)
    executor = _executor(args)
    try:
        outcome = builder.build(args.root, output, selection, today, args.strict, jobs=args.jobs,
                                progress=progress, executor=executor, verify=args.verify)
    except interrupt.Interrupted as exc:
        exc.note = _published(progress)
        raise
    except ClusterError as exc:        # the cluster cannot go on: what was published stays
        progress.close()
        print(_cluster_stopped(exc, progress), file=sys.stderr)
        return EXIT_PROBLEMS
    finally:
        progress.close()
        if executor is not None:
            executor.close()
    if args.format == "json":
        print(json.dumps(outcome.summary(), indent=2))
    else:
        for problem in outcome.problems:
            print(problem.format(), file=sys.stderr)
        LOGGER.log(logging.INFO if outcome.ok else logging.WARNING, "%s", _summary(outcome))
    return EXIT_OK if outcome.ok else EXIT_PROBLEMS


def _deliver(args: argparse.Namespace, output: Path, today: dt.date) -> int:
    from .deliver import deliver
    from .problems import BuildError
    try:
        delivery = deliver(output, today, args.root)
    except BuildError as exc:       # the catalogue cannot be read, or a master is not what the build made
        for problem in exc.problems:
            print(problem.format(), file=sys.stderr)
        print("deliver: nothing delivered", file=sys.stderr)
        return EXIT_PROBLEMS
    for problem in delivery.problems:
        print(problem.format(), file=sys.stderr)
    if args.format == "json":
        print(json.dumps({"delivery": delivery.number, "zip": str(delivery.zip_path), "new": delivery.new,
                          "changed": delivery.changed, "withdrawn": delivery.withdrawn}, indent=2))
    elif delivery.empty:
        print(f"delivery {delivery.number}: nothing changed since the last delivery; "
              f"{delivery.zip_path} carries no print masters")
    else:
        print(f"delivery {delivery.number}: {len(delivery.new)} new, {len(delivery.changed)} changed, "
              f"{len(delivery.withdrawn)} withdrawn -> {delivery.zip_path}")
    return EXIT_OK


def _watch(args: argparse.Namespace, parser: argparse.ArgumentParser, selection: Selection,
           output: Path) -> int:
    from .executors import ClusterError
    from .watch import watch
    executor = _executor(args)       # a cluster is kept from one rebuild to the next

    def rebuild() -> None:
        # An unusable catalogue is an outcome like any other (builder.build fails its documents): keep watching.
        progress = _Progress(False)
        try:
            outcome = builder.build(args.root, output, selection, args.today or dt.date.today(), args.strict,
                                    jobs=args.jobs, progress=progress, executor=executor, verify=args.verify)
        except ClusterError as exc:      # the next save tries the cluster again
            print(_cluster_stopped(exc, progress), file=sys.stderr, flush=True)
            return
        for problem in outcome.problems:
            print(problem.format(), file=sys.stderr, flush=True)
        LOGGER.info("%s", _summary(outcome))

    try:
        watch(args.root, rebuild)       # until a signal (Ctrl-C) stops it
    finally:
        if executor is not None:
            executor.close()
    return EXIT_OK


def _claim_output(args: argparse.Namespace, parser: argparse.ArgumentParser) -> Path:
    """The output folder, made or adopted as this tool's own (a marker file says so). A folder that exists, holds
    anything and was not made by this tool is refused: the build writes and removes files there. The project's
    default output/ is adopted when it already holds this tool's manifest (manifest.json, or its store)."""
    from .publish import MARKER, Manifest, mark
    default = args.root / "output"
    output = (args.output or default).resolve()
    shown = str(args.output or default)
    if output.exists() and not output.is_dir():
        parser.error(f"--output {shown}: not a folder")
    if output.is_dir() and not (output / MARKER).is_file():
        try:
            present = {p.name for p in output.iterdir()} - {".lock"}
        except OSError as exc:
            parser.error(f"--output {shown}: cannot read: {exc.strerror}")
        adopt = output == default.resolve() and Manifest.exists(output)
        if present and not adopt:
            parser.error(f"--output {shown}: the folder is not empty and was not made by build.py (no {MARKER} "
                         "file); give a new or empty folder")
    try:
        output.mkdir(parents=True, exist_ok=True)
        mark(output)
    except OSError as exc:
        parser.error(f"--output {shown}: cannot write: {exc.strerror}")
    return output


def _io_error(exc: OSError, output: Path) -> int:
    where = exc.filename or output
    print(f"build.py: {where}: {exc.strerror or exc}", file=sys.stderr)
    return EXIT_PROBLEMS


PATIENT_FILE_LIMIT = 64_000      # bytes: a patient file is five short lines


def _personalise(args: argparse.Namespace, parser: argparse.ArgumentParser, selection: Selection,
                 today: dt.date) -> int:
    """--patient: one document filled in for one patient, written to --to and nowhere else. Nothing about the
    patient is logged; no output folder, lock, manifest or memo is touched."""
    if args.patient is None:
        parser.error("--to is taken with --patient only")
    if args.to is None:
        parser.error("--patient needs --to FILE (a new file) or --to - (standard output)")
    if args.command != "build" or args.output is not None:
        parser.error("--patient is taken by the build command, without --output: the sheet goes to --to only")
    missing = [f"--{name}" for name in ("clinic", "condition", "kind", "variant") if getattr(args, name) is None]
    if missing:
        parser.error(f"--patient fills in one document: give {', '.join(missing)}")
    target = None if args.to == "-" else Path(args.to)
    if target is None and sys.stdout.isatty():
        parser.error("--to -: standard output is a terminal; redirect it to a file or a program")
    if target is not None and os.path.lexists(target):
        parser.error(f"--to {target}: already exists: choose another name")
    if target is not None and not target.parent.is_dir():
        parser.error(f"--to {target}: there is no folder {target.parent}")
    patient, problems = _patient(args.patient, today)
    if patient is None:
        for problem in problems:
            print(problem.format(), file=sys.stderr)
        return EXIT_USAGE
    from .problems import BuildError
    try:
        pdf, problems = builder.personalise(args.root, selection, today, patient, args.strict)
    except builder.NotOneDocument as exc:
        parser.error(f"--patient: {exc}")
    except BuildError as exc:                  # the content cannot be loaded at all (the catalogue, say)
        pdf, problems = None, exc.problems
    for problem in problems:
        print(problem.format(), file=sys.stderr)
    if pdf is None:
        return EXIT_PROBLEMS
    if target is None:
        try:
            sys.stdout.buffer.write(pdf)
            sys.stdout.buffer.flush()
        except OSError as exc:
            print(f"build.py: could not write the sheet to standard output: {exc.strerror or exc}", file=sys.stderr)
            return EXIT_PROBLEMS
        return EXIT_OK
    return _write_new_private(target, pdf, parser)


def _patient(file: Path, today: dt.date) -> tuple[Patient | None, list[Problem]]:
    """The patient file, checked; a file over the limit, with an alias or not UTF-8 is refused before it is
    parsed or expanded. Problems name the file, the line and the key, never a value."""
    from . import yamlio
    from .models import validate_patient
    from .problems import BuildError
    shown = str(file)
    try:
        data = yamlio.load(file, shown, limit=PATIENT_FILE_LIMIT, dates=False)
    except BuildError as exc:
        return None, [Problem(p.path, p.line, p.message, "patient") for p in exc.problems]
    return validate_patient(data, shown, today)


def _write_new_private(target: Path, pdf: bytes, parser: argparse.ArgumentParser) -> int:
    """Create `target` for this sheet alone: a new file (an existing one is never replaced, so one patient's
    sheet can never overwrite another's), readable and writable by its owner only, and removed again unless
    it was written whole."""
    try:
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        parser.error(f"--to {target}: already exists: choose another name")
    except OSError as exc:
        parser.error(f"--to {target}: cannot create it: {exc.strerror or exc}")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(pdf)
            handle.flush()
            os.fsync(handle.fileno())
    except BaseException as exc:
        target.unlink(missing_ok=True)
        if not isinstance(exc, OSError):
            raise
        print(f"build.py: could not write {target}: {exc.strerror or exc}; nothing was kept", file=sys.stderr)
        return EXIT_PROBLEMS
    return EXIT_OK


def _no_traceback(run: Callable[[list[str] | None], int]) -> Callable[[list[str] | None], int]:
    """Problems reach the user as `path:line: rule: message` lines, never as a traceback: a stage that cannot go
    on at all (an unusable catalogue) raises BuildError; anything else is a bug, said so in one line."""

    @functools.wraps(run)
    def main(argv: list[str] | None = None) -> int:
        try:
            return run(argv)
        except BuildError as exc:
            words = sys.argv[1:] if argv is None else argv
            if any(word in ("json", "--format=json", "--report=json") for word in words):
                print(json.dumps({"ok": False, "problems": [p.as_dict() for p in exc.problems]}, indent=2))
            else:
                for problem in exc.problems:
                    print(problem.format(), file=sys.stderr)
            return EXIT_PROBLEMS
        except Exception as exc:    # the last resort
            message = str(exc) if len(str(exc)) <= 200 else str(exc)[:200] + "…"
            print(f"build.py: internal error: {type(exc).__name__}: {message} (please report)", file=sys.stderr)
            return EXIT_PROBLEMS

    return main


AFTER_INTERRUPT = {"check": "nothing was written", "preflight": "the preflight did not finish",
                   "deliver": "nothing new was delivered", "watch": "stopped watching",
                   "build": "the next run builds what is out of date"}


def _serve(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="build.py serve", description="Serve the staff web app with gunicorn.")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="port (default: 8000)")
    parser.add_argument("--workers", type=_positive, default=None,
                        help="server processes, each with a warm printer (default: the number of cores)")
    args = parser.parse_args(argv)
    from .web.serve import serve
    return serve(args.host, args.port, args.workers)


@_no_traceback
def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["serve"]:
        return _serve(argv[1:])
    if argv[:1] == ["users"]:
        from .web.users import main as users
        return users(argv[1:])
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        with interrupt.raised():
            return _run(args, parser)
    except interrupt.Interrupted as exc:
        print(f"build.py: interrupted by {exc.name}; {exc.note or AFTER_INTERRUPT[args.command]}", file=sys.stderr)
        return exc.exit_code


def _run(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    bar = _configure_logging(args.quiet)
    args.root = args.root.resolve()
    selection = _validate_selection(args, parser)
    today = args.today or dt.date.today()
    if args.pdfs and args.command != "preflight":
        parser.error("PDF paths are taken by the preflight command only")
    if args.scheduler is not None and (args.command not in ("build", "watch") or args.patient is not None):
        parser.error("--scheduler is taken by the build and watch commands (a sheet for a patient is printed here)")
    if args.scheduler is not None and args.jobs is not None:
        parser.error("--jobs sets the local pool's processes: with --scheduler the cluster's workers print")
    if args.patient is not None or args.to is not None:
        return _personalise(args, parser, selection, today)
    if args.command == "check":
        outcome = builder.check(args.root, selection, today, args.strict)
        _print_report(outcome, args.format)
        return EXIT_OK if outcome.ok else EXIT_PROBLEMS
    output = _claim_output(args, parser)
    if args.command == "preflight":       # reads finished files: takes the lock only to write its report
        return _preflight(args, parser, output)
    from filelock import FileLock, Timeout
    try:
        with FileLock(output / ".lock", timeout=args.wait), pool.ended_on_error():
            if args.command == "deliver":
                return _deliver(args, output, today)
            if args.command == "watch":
                return _watch(args, parser, selection, output)
            return _build(args, parser, selection, today, output, bar)
    except Timeout:
        print(f"build.py: another run is using {output} (lock {output / '.lock'}); "
              f"waited {args.wait:g} s. Try again later, or pass --wait SECONDS.", file=sys.stderr)
        return EXIT_LOCKED
    except OSError as exc:          # a full disk, a folder made read-only meanwhile (Timeout is one too: above)
        return _io_error(exc, output)


if __name__ == "__main__":
    sys.exit(main())
