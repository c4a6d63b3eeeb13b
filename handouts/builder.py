"""Runs the pipeline: load -> validate -> plan -> render HTML -> print PDF -> publish.

A build renders only the documents whose inputs changed since the manifest was written, in warm worker
processes, and publishes each PDF so that a run killed at any moment leaves old or new complete files and a
manifest that agrees with them.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import os
import re
import secrets
import sqlite3
import stat
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterator

from importlib.metadata import version

from . import __version__, checks, code_digest, content, files, fonts, interrupt, pool, publish
from .executors.local import LocalPool
from .models import Patient, Variant
from .plan import Job, Plan, Selection, plan, unlisted_reason
from .problems import BuildError, Problem, relpath
from .publish import Entry, Manifest, sha256, write_atomic

if TYPE_CHECKING:
    from .executors import Executor

# Rendering, printing and preflight (Jinja, WeasyPrint, pikepdf) are imported where they are used, so that a
# rebuild with nothing to do stays fast.

LOGGER = logging.getLogger(__name__)


@dataclass
class Outcome:
    problems: list[Problem] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    behind: list[str] = field(default_factory=list)     # translated documents held back: their last good PDF stays
    documents: list[checks.DocumentRow] = field(default_factory=list)
    due: list[checks.DueRow] = field(default_factory=list)      # reviews overdue or coming due (check only)
    translations: list = field(default_factory=list)            # translation.Row per source block (check only)
    peak_worker_mb: float = 0.0

    @property
    def built(self) -> list[str]:
        return self.added + self.changed

    @property
    def ok(self) -> bool:
        return not any(p.severity == "error" for p in self.problems)

    def summary(self) -> dict:
        return {"ok": self.ok, "added": self.added, "changed": self.changed, "removed": self.removed,
                "unchanged": len(self.unchanged), "failed": self.failed, "behind": self.behind,
                "problems": [p.as_dict() for p in self.problems]}


def _short(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:16]


class Digests:
    """Digests of input files, each file read once per build (see files.one_read_per_file)."""

    def __init__(self, root: Path):
        self.root = root
        self.versions = {"version:handouts": __version__, "code:handouts": code_digest(),
                         "version:weasyprint": version("weasyprint"), "version:nh3": version("nh3"),
                         "version:pikepdf": version("pikepdf"),      # it writes the print masters' final bytes
                         # The fallback fonts by package and version: hashing their bytes (40 MB of CJK)
                         # would slow every run. The clinic's own fonts are input files, hashed as usual.
                         **fonts.fallback_versions()}
        self._files: dict[Path, tuple[str, str]] = {}

    def file(self, path: Path) -> tuple[str, str]:
        if path not in self._files:
            # An installed package's file (a font) by its name: the same whether the virtual environment is inside
            # the project or not, so that a copy of the project has the same digests.
            inside = path.is_relative_to(self.root) and "site-packages" not in path.parts
            name = str(path.relative_to(self.root)) if inside else f"font:{path.name}"
            # A file that is missing or is not a regular file (a FIFO would block) is not read: the stage that
            # uses it reports it. One the run has read already is hashed from the bytes it read.
            self._files[path] = (name, files.sha256(path)[:16] if path.is_file() else "not-a-file")
        return self._files[path]

    def of(self, job: Job, variant_spec: str) -> dict[str, str]:
        """Every input of a document and its digest: files, the software versions, the build options."""
        inputs = dict(self.versions)
        inputs["option:variant"] = _short(variant_spec.encode())
        inputs.update(self.file(path) for path in job.input_files)
        return inputs


def inputs_digest(inputs: dict[str, str]) -> str:
    return hashlib.sha256("\n".join(f"{k} {v}" for k, v in sorted(inputs.items())).encode()).hexdigest()


def prepare(root: Path, selection: Selection, today: dt.date, strict: bool,
            memo: dict[str, list] | None = None) -> tuple[content.Library, Plan, checks.Review]:
    """Load, validate and plan; nothing is written. Problems from checks fail the documents using the file."""
    library, review = _load_and_review(root, today, strict, memo)
    return library, plan(library, selection), review


def _load_and_review(root: Path, today: dt.date, strict: bool,
                     memo: dict[str, list] | None = None) -> tuple[content.Library, checks.Review]:
    library = content.load(root)
    review = checks.run(library, today, memo)
    found = list(library.problems) + review.problems
    if strict:
        found = _strict(found)
    return content.with_problems(library, found, review.translation), replace(review, problems=found)


def _strict(problems: list[Problem]) -> list[Problem]:
    return [Problem(p.path, p.line, p.message, p.rule, "error") for p in problems]


MEMO = ".checks-memo.json"       # in the output folder: the content checks' findings for unchanged blocks


def _load_memo(output_dir: Path) -> dict[str, list]:
    try:
        memo = json.loads((output_dir / MEMO).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}                 # none yet, or unreadable: every block is checked afresh
    return memo if isinstance(memo, dict) else {}


def check(root: Path, selection: Selection, today: dt.date, strict: bool) -> Outcome:
    """Validate everything and render every document's HTML (templates included), but print no PDF."""
    with files.one_read_per_file():
        return _check(root.absolute(), selection, today, strict)


def _check(root: Path, selection: Selection, today: dt.date, strict: bool) -> Outcome:
    from .render import Renderer
    library, review = _load_and_review(root, today, strict)
    the_plan = plan(library, selection)
    outcome = Outcome(problems=list(review.problems))
    # The reviewer's table covers every document that can be assembled, errors or not.
    assembled = plan(content.with_problems(library, []), selection)
    outcome.documents = checks.document_rows([*assembled.jobs, *(held.job for held in assembled.behind)], review)
    outcome.due = checks.reviews_due(library, review, today)
    outcome.translations = review.translations
    outcome.behind = [held.output for held in the_plan.behind]
    words = checks.words_problems(outcome.documents, review.lengths) if review.scores else []  # none if unscored
    outcome.problems += _strict(words) if strict else words
    renderer = Renderer(root)
    outcome.problems += renderer.compile_all()
    for failed in the_plan.failed:
        outcome.problems += failed.problems
    for job in the_plan.jobs:
        try:
            renderer.render(library, job)
        except BuildError as exc:
            outcome.problems += exc.problems
    outcome.problems = sorted(set(outcome.problems))
    return outcome


Progress = Callable[[str, str], None]          # (what happened, document path)


def build(root: Path, output_dir: Path, selection: Selection, today: dt.date, strict: bool = False,
          jobs: int | None = None, progress: Progress | None = None, executor: Executor | None = None,
          verify: bool = False) -> Outcome:
    """Build what changed. A document with errors, or over its page limit, keeps its last good PDF; the others
    still build. `executor` prints (by default the local pool of `jobs` processes). A PDF in place is recognised
    as unchanged by its size, modification time and inode, and read only when they differ; `verify` hashes every
    one. However the run ends (an error or a signal included), manifest.json is exported from the manifest's
    store before it returns."""
    report = progress or (lambda event, path: None)
    root = root.absolute()        # the printer names the project's files by file: URL
    jobs = jobs or os.cpu_count() or 1
    if executor is None and jobs > 1 and not Manifest.exists(output_dir):
        pool.start()      # everything will be printed: let the fork server's imports overlap loading and planning
    publish.mark(output_dir)          # a folder the pipeline writes into is its own, however it was called
    manifest = Manifest.load(output_dir)
    try:
        with files.one_read_per_file():         # loading, checks, plan and digests share each file's bytes
            outcome = _build(root, output_dir, selection, today, strict, executor or LocalPool(jobs), report,
                             verify, manifest)
    except BaseException:
        _export(manifest, failing=True)
        raise
    _export(manifest, failing=False)
    return outcome


def _export(manifest: Manifest, failing: bool) -> None:
    """Write manifest.json from the store, and close it. A signal landing meanwhile does not stop the export:
    later signals are ignored, so it is done again, to the end, before the signal's exception goes on. When the
    run is already failing, an export that fails too is logged, and the first error is the one reported."""
    try:
        try:
            manifest.export()
        except interrupt.Interrupted:
            manifest.export()
            raise
    except (OSError, sqlite3.Error) as exc:
        if not failing:
            raise
        LOGGER.warning("%s: not exported (%s)", manifest.output_dir / Manifest.NAME, exc)
    finally:
        manifest.close()


def _build(root: Path, output_dir: Path, selection: Selection, today: dt.date, strict: bool, executor: Executor,
           report: Progress, verify: bool, manifest: Manifest) -> Outcome:
    memo = _load_memo(output_dir)
    try:
        library, the_plan, review = prepare(root, selection, today, strict, memo)
    except BuildError as exc:          # the catalogue itself is unusable: nothing can be planned, nothing removed
        return _catalogue_failed(manifest, selection, exc.problems, report)
    if review.memo != memo:
        write_atomic(output_dir, MEMO, json.dumps(review.memo, ensure_ascii=False).encode())
    outcome = Outcome(problems=list(review.problems))
    for failed in the_plan.failed:
        outcome.failed.append(failed.output)
        outcome.problems += failed.problems
        report("failed", failed.output)
    outcome.problems += manifest.problems + _old_patient_sheets(output_dir)
    manifest.sweep(_own_folders(library, manifest), verify)
    for held in the_plan.behind:
        outcome.behind.append(held.output)
        outcome.problems += held.problems
        manifest.behind[held.output] = [_why_behind(problem) for problem in held.problems]
        report("behind", held.output)
    held_back = {held.output for held in the_plan.behind}
    for path in list(manifest.behind):         # a document no longer behind, or gone, loses the mark
        entry = manifest.entries.get(path)
        if path not in held_back and (entry is None or _selected(selection, entry)):
            del manifest.behind[path]
    manifest.save_behind()
    _remove_unlisted(library, manifest, selection, {f.output for f in the_plan.failed}, outcome, report)

    tasks: list[tuple[Job, str]] = []
    inputs_of: dict[str, dict[str, str]] = {}
    digests = Digests(root)
    specs = {name: spec.model_dump_json() for name, spec in library.variants.items()}
    for job in the_plan.jobs:
        inputs_of[job.output] = digests.of(job, specs[job.variant])
        digest = inputs_digest(inputs_of[job.output])
        previous = manifest.entries.get(job.output)
        if previous is not None and previous.inputs_digest == digest:
            # Not printed again, but held to today's page limit like a printed one (the manifest has its pages).
            over = _over_limit(review, job, previous.pages)
            if over:
                outcome.failed.append(job.output)
                outcome.problems.append(over)
                report("failed", job.output)
            else:
                outcome.unchanged.append(job.output)
        else:
            tasks.append((job, digest))
    # Longest first, so that no worker is left with a long document when the others have finished.
    tasks.sort(key=lambda task: _expected_cost(task[0], manifest.entries.get(task[0].output),
                                               library.variants[task[0].variant]), reverse=True)
    existed = set(manifest.entries)

    for result in _print_all(library, tasks, executor):
        outcome.peak_worker_mb = max(outcome.peak_worker_mb, result.peak_rss_mb)
        job = result.job
        over = _over_limit(review, job, result.pages) if result.pdf is not None else None
        if result.pdf is None or over:
            outcome.failed.append(job.output)
            outcome.problems += [*result.problems, *([over] if over else [])]
            report("failed", job.output)
            continue
        inputs = inputs_of[job.output]
        entry = Entry(path=job.output, clinic=job.clinic.id, language=job.language, condition=job.condition_id,
                      kind=job.kind_id, variant=job.variant, version=job.version,
                      review_due=job.review_due.isoformat(), pages=result.pages, sha256=sha256(result.pdf),
                      inputs_digest=inputs_digest(inputs), inputs=inputs)
        manifest.publish(entry, result.pdf)
        (outcome.changed if job.output in existed else outcome.added).append(job.output)
        report("changed" if job.output in existed else "added", job.output)
    outcome.problems = sorted(set(outcome.problems))
    return outcome


def _why_behind(problem: Problem) -> dict[str, str]:
    """A stale translation as the manifest records it for the print shop and the staff app."""
    return {"block": f"{problem.path}:{problem.line}", "severity": problem.severity, "message": problem.message}


def _over_limit(review: checks.Review, job: Job, pages: int) -> Problem | None:
    """An error when the document has more pages than content/policy/length.yaml allows its kind and variant: it
    fails, and its last good PDF stays."""
    return (review.lengths.page_problem(job.output, job.kind_id, job.variant, pages, job.language)
            if review.lengths else None)


def _old_patient_sheets(output_dir: Path) -> list[Problem]:
    """Earlier releases wrote filled-in sheets to output/patients/, named after the patient. They are the
    user's files, never deleted here; the user is told that they hold patients' details."""
    folder = output_dir / "patients"
    if not folder.is_dir():
        return []
    return [Problem(str(folder), 1, "sheets filled in by an older version, named after patients, are still here: "
                                    "move them to the patients' records and delete the folder", "privacy", "warning")]


def _catalogue_failed(manifest: Manifest, selection: Selection, problems: list[Problem],
                      report: Progress) -> Outcome:
    """The catalogue cannot be read: every selected document the manifest lists fails and keeps its PDF."""
    outcome = Outcome(problems=sorted(set(problems) | set(manifest.problems)))
    for path, entry in sorted(manifest.entries.items()):
        if _selected(selection, entry):
            outcome.failed.append(path)
            report("failed", path)
    return outcome


def _remove_unlisted(library: content.Library, manifest: Manifest, selection: Selection, failed: set[str],
                     outcome: Outcome, report: Progress) -> None:
    """Remove only the documents the catalogue no longer lists; a document of a clinic whose clinic.yaml has
    errors fails and keeps its PDF."""
    for path in sorted(manifest.entries):
        entry = manifest.entries[path]
        if not _selected(selection, entry):
            continue
        if unlisted_reason(library, entry.clinic, entry.language, entry.condition, entry.kind, entry.variant):
            manifest.remove(path)
            outcome.removed.append(path)
            report("removed", path)
        elif entry.clinic in library.broken_clinics and path not in failed:
            outcome.failed.append(path)
            report("failed", path)


def _own_folders(library: content.Library, manifest: Manifest) -> list[str]:
    """The folders of the output tree this tool writes into: the top, deliveries/ and each <clinic>/<language>/
    of the catalogue or the manifest."""
    clinics = library.clinics.keys() | library.broken_clinics.keys() | {e.clinic for e in manifest.entries.values()}
    languages = set(library.catalogue.languages) | {e.language for e in manifest.entries.values()}
    pairs = [f"{clinic}/{language}" for clinic in sorted(clinics) for language in sorted(languages)]
    return [".", "deliveries", *pairs]


def _expected_cost(job: Job, previous: Entry | None, variant: Variant) -> tuple[int, int, float]:
    """Pages of the last build when known, then the length of the text, then the size of the type."""
    return (previous.pages if previous else 0, sum(len(section.block.body) for section in job.sections),
            variant.min_text_pt)


def _print_all(library: content.Library, tasks: list[tuple[Job, str]], executor: Executor) -> Iterator:
    if not tasks:
        return iter(())
    return executor.run_all(library, tasks, Patient())


def _selected(selection: Selection, entry: Entry) -> bool:
    wanted = (selection.clinic, selection.language, selection.condition, selection.kind, selection.variant)
    values = (entry.clinic, entry.language, entry.condition, entry.kind, entry.variant)
    return all(w in (None, v) for w, v in zip(wanted, values))


# --- one sheet filled in for one patient ------------------------------------------------------------------------

class NotOneDocument(ValueError):
    """The selection for a filled-in sheet names no document, or several: the caller's mistake."""


def personalise(root: Path, selection: Selection, today: dt.date, patient: Patient,
                strict: bool = False) -> tuple[bytes | None, list[Problem]]:
    """One document filled in with one patient's details, as PDF bytes: loaded, checked, planned, rendered,
    printed and preflighted in this process. Nothing is written anywhere (no manifest, memo, output folder or
    log line) and no worker or fork server is started. Returns the PDF (None when an error stopped it) and the
    problems, none of which quotes the patient's details. Raises NotOneDocument when `selection` does not name
    exactly one document of the catalogue (BuildError when the content cannot be loaded at all)."""
    return Personaliser(root, strict).personalise(selection, today, patient)


def content_signature(root: Path, today: dt.date) -> tuple:
    """Every content and template file's name, size and modification time, and the day (review dates depend on
    it): a stat per file, no read. A cache of anything made from the content is valid while this is equal."""
    stats = []
    for top in ("content", "templates"):
        for folder, dirs, names in os.walk(root / top):
            dirs.sort()
            for name in sorted(names):
                try:
                    st = os.stat(os.path.join(folder, name))
                except OSError:
                    continue
                stats.append((folder, name, st.st_size, st.st_mtime_ns))
    return (today, tuple(stats))


class Personaliser:
    """The one in-memory entry point, kept warm for a long-lived process (the staff web app): the content is
    loaded and checked again only when a file under content/ or templates/ changed or the day did, and one
    printer (WeasyPrint imported, fonts and stylesheets parsed) serves every sheet. The command line's
    `--patient` uses a new one for its one sheet, so both give the same PDF for the same details."""

    def __init__(self, root: Path, strict: bool = False):
        self.root = root.resolve()
        self.strict = strict
        self._key: tuple | None = None
        self._loaded: tuple[content.Library, checks.Review] | None = None
        self._worker = None
        self._families: list[str] | None = None
        self._lock = threading.Lock()
        self._printing = threading.Lock()     # one sheet at a time per printer (a server thread waits its turn)

    def signature(self, today: dt.date) -> tuple:
        """What the loaded content depends on (see content_signature): equal signatures, equal content."""
        return content_signature(self.root, today)

    def loaded(self, today: dt.date) -> tuple[content.Library, checks.Review]:
        """The library and its review as of `today`, loaded again only when an input changed."""
        key = self.signature(today)
        with self._lock:
            if self._loaded is None or key != self._key:
                self._loaded = _load_and_review(self.root, today, self.strict)
                self._key = key
            return self._loaded

    def warm(self, today: dt.date) -> None:
        """Load the content and start the printer now, before the first sheet is asked for."""
        library, _ = self.loaded(today)
        self._printer(library)

    def _printer(self, library: content.Library):
        from .worker import Worker, _families
        families = _families(library)
        if self._worker is None or families != self._families:
            self._worker, self._families = Worker(library.root, families), families
        return self._worker

    def personalise(self, selection: Selection, today: dt.date,
                    patient: Patient) -> tuple[bytes | None, list[Problem]]:
        library, review = self.loaded(today)
        the_plan = plan(library, selection)
        found = len(the_plan.jobs) + len(the_plan.failed) + len(the_plan.behind)
        if found != 1:
            raise NotOneDocument(_not_one(selection, the_plan.jobs, found))
        if the_plan.failed:
            return None, sorted(set(the_plan.failed[0].problems))
        if the_plan.behind:       # a stale translation is never filled in: the sheet would not match its source
            return None, [Problem(p.path, p.line, p.message, p.rule, "error") for p in the_plan.behind[0].problems]
        job = the_plan.jobs[0]
        inputs = {relpath(file, self.root) for file in job.input_files}
        problems = [p for p in review.problems if p.path in inputs]      # warnings about this document's own files
        from .worker import run_all
        with self._printing, _unlogged("weasyprint", "fontTools"):
            # A random document ID: a one-off sheet shares no identifier with its master or another patient's.
            result = next(run_all(library, [(job, secrets.token_hex(32))], patient, jobs=1,
                                  worker=self._printer(library)))
        problems += _withheld(list(result.problems), patient)
        return (result.pdf if result.pdf is not None and not any(p.severity == "error" for p in problems) else None,
                sorted(set(problems)))


_FIELDS = {"clinic": lambda job: job.clinic.id, "language": lambda job: job.language,
           "condition": lambda job: job.condition_id, "kind": lambda job: job.kind_id,
           "variant": lambda job: job.variant}


def _not_one(selection: Selection, jobs: tuple[Job, ...], found: int) -> str:
    if not found:
        return "no document of the catalogue matches (is the language one of the clinic's?)"
    varying = {name: sorted({get(job) for job in jobs}) for name, get in _FIELDS.items()
               if getattr(selection, name) is None}
    missing = [f"{name} ({', '.join(values)})" for name, values in varying.items() if len(values) > 1] or list(varying)
    return f"{found} documents match, not one: give the {', '.join(missing)}"


def _withheld(problems: list[Problem], patient: Patient) -> list[Problem]:
    """Printing problems as they may be shown: one that quotes the patient's details (a WeasyPrint warning can
    quote the text it was given) keeps its place and rule but not its words."""
    values = [str(v) for v in patient.model_dump().values() if v is not None]
    quoted = {v.casefold() for v in values} | {w.casefold() for v in values for w in re.findall(r"\w{3,}", v)}
    return [Problem(p.path, p.line, "a problem while printing the filled-in sheet; its message quotes the "
                                    "patient's details and is withheld", p.rule, p.severity)
            if any(q in p.message.casefold() for q in quoted) else p for p in problems]


@contextmanager
def _unlogged(*names: str) -> Iterator[None]:
    """While a patient's sheet is printed, these libraries' log records reach only their own handlers (the
    printer's collector), never the application's log."""
    loggers = [logging.getLogger(name) for name in names]
    before = [logger.propagate for logger in loggers]
    silent = logging.NullHandler()        # and not logging's last resort, which writes to standard error
    for logger in loggers:
        logger.propagate = False
        logger.addHandler(silent)
    try:
        yield
    finally:
        for logger, propagate in zip(loggers, before):
            logger.propagate = propagate
            logger.removeHandler(silent)


def preflight_outputs(root: Path, output_dir: Path, only: list[Path] | None) -> tuple[dict, list[Problem]]:
    """Preflight PDFs in the output folder (those of the manifest by default) as a print shop would.
    Returns the report for output/preflight.json (see `write_preflight_report`) and the findings as problems.
    Raises ValueError for a named file that is not a regular file, a PDF of the catalogue, in the output folder."""
    from . import preflight
    from .worker import expectation, finding_problem
    library = content.load(root)
    jobs = {job.output: job for job in plan(content.with_problems(library, []), Selection()).jobs}
    if only is None:
        targets = sorted(Manifest.load(output_dir).entries)
    else:
        targets = []
        for path in only:
            try:
                mode = path.stat().st_mode          # never opened here: a FIFO would wait for a writer
            except OSError as exc:
                raise ValueError(f"{path}: {exc.strerror}") from None
            if not stat.S_ISREG(mode):
                raise ValueError(f"{path} is not a regular file (a directory, FIFO or device)")
            resolved, out = path.resolve(), output_dir.resolve()
            relative = str(resolved.relative_to(out)) if resolved.is_relative_to(out) else None
            if relative not in jobs:
                raise ValueError(f"{path} is not a document of the catalogue in {output_dir}")
            targets.append(relative)
    documents, problems = [], []
    for relative in targets:
        file = output_dir / relative
        if relative not in jobs or not file.is_file():
            problems.append(Problem(relative, 1, "listed in the manifest but missing or not in the catalogue",
                                    "preflight/missing"))
            documents.append({"path": relative, "passed": False, "findings": [
                {"page": None, "rule": "missing", "message": "missing or not in the catalogue"}]})
            continue
        findings = preflight.preflight(file, expectation(library, jobs[relative]), shown_as=relative)
        problems += [finding_problem(f) for f in findings]
        documents.append({"path": relative, "variant": jobs[relative].variant, "passed": not findings,
                          "findings": [{"page": f.page, "rule": f.rule, "message": f.message} for f in findings]})
    report = {"documents": documents, "passed": sum(d["passed"] for d in documents),
              "failed": sum(not d["passed"] for d in documents)}
    return report, problems


def write_preflight_report(output_dir: Path, report: dict, wait: float) -> bool:
    """Write output/preflight.json atomically, holding the output folder's lock only while writing (the checks
    themselves never hold it). False, and nothing written, when another run holds it for more than `wait` s."""
    from filelock import FileLock, Timeout
    try:
        with FileLock(output_dir / ".lock", timeout=wait):
            write_atomic(output_dir, "preflight.json", (json.dumps(report, indent=2) + "\n").encode())
    except Timeout:
        return False
    return True
