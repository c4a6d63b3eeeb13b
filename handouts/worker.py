"""Print documents in warm worker processes.

The building process renders each document's HTML (quick, and it can start while the workers are still being
started) and hands it on. Each worker imports WeasyPrint, loads the fonts and parses the stylesheets once, then
prints and preflights document after document. The building process alone writes files, so a worker never
leaves anything half-written.
"""

from __future__ import annotations

import gc
import io
import re
import resource
from concurrent.futures import as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from . import fonts, pool, preflight
from .content import Library
from .filesource import FileSource
from .models import BLEED_PT, PAPER_PT, Patient
from .plan import Job
from .printjob import PrintJob, clinic_families, crop_marks, print_job
from .problems import BuildError, Problem, shorten_words
from .render import Renderer


@dataclass(frozen=True)
class Task:
    """One document for a worker: how to print it and what its preflight expects."""

    job: PrintJob
    expect: preflight.Expectation


@dataclass(frozen=True)
class Printed:
    """What a worker sends back."""

    pdf: bytes | None
    pages: int
    printing: tuple[Problem, ...]     # the printer's own problems (refused fetches, WeasyPrint warnings)
    findings: tuple[Problem, ...]     # the preflight's, each naming the PDF and its page
    peak_rss_mb: float                # the worker's peak memory so far


@dataclass(frozen=True)
class Result:
    job: Job
    pdf: bytes | None
    pages: int
    problems: tuple[Problem, ...]
    peak_rss_mb: float


class Worker:
    """What a process needs to turn HTML into checked PDF bytes: one printer, reused. Made with a project's root,
    it reads that project's files; made without (a Dask worker's), each task comes with its files."""

    def __init__(self, root: Path | None = None, families: list[str] | tuple[str, ...] = ()):
        from .pdf import Printer   # WeasyPrint is imported only where something is printed
        self.printer = Printer(root, families)

    def run(self, task: Task, files: FileSource | None = None) -> Printed:
        try:
            pdf, pages = self.printer.write(task.job, files)
        except BuildError as exc:
            return Printed(None, 0, tuple(exc.problems), (), _peak_rss_mb())
        findings = preflight.preflight(io.BytesIO(pdf), task.expect, shown_as=task.job.source)
        if findings:
            return Printed(None, 0, (), tuple(finding_problem(f) for f in findings), _peak_rss_mb())
        return Printed(pdf, pages, (), (), _peak_rss_mb())


def settle() -> None:
    """In a process that prints from now on (a pool worker, a Dask worker, a benchmark's floor), once its printer
    is made: every object it holds until then (the modules, the printer, the worker's own state) moved out of the
    cyclic garbage collector's reach. WeasyPrint makes and drops objects by the hundred thousand, so full
    collections run during every document, and each walked all of those objects again: measured here over 12
    documents, full collections took 64 ms a document (8 % of the print time), 21 ms after this. Objects made
    later are collected as usual; what this holds now stays for the process's life, as it would anyway."""
    gc.collect()
    gc.freeze()


def expectation(library: Library, job: Job) -> preflight.Expectation:
    """What the preflight expects of a document, from its clinic and variant."""
    clinic = job.clinic.clinic
    variant = library.variants[job.variant]
    bleed = BLEED_PT[clinic.print.bleed] if variant.colour == "cmyk" else 0.0
    # The logo is a figure whose alternative text is the clinic's name (templates/base.html): its lettering is
    # artwork, exempt from the minimum text size.
    return preflight.Expectation(job.variant, PAPER_PT[clinic.paper], bleed=bleed, min_text_pt=variant.min_text_pt,
                                 fonts=fonts.allowed_names(), crop_marks=crop_marks(clinic, variant) is not None,
                                 artwork=frozenset({clinic.name}))


def finding_problem(finding: preflight.Finding) -> Problem:
    """A preflight finding as a problem: the PDF stands for the file and its page for the line."""
    return Problem(finding.document, finding.page or 1, finding.message, f"preflight/{finding.rule}")


# What a block line can make the printer fetch or attach: a Markdown link or image target, a raw HTML src or href.
_TARGETS = re.compile(r"""\]\(([^)\s]+)|\b(?:src|href)\s*=\s*["']?([^"'\s>]+)""", re.I)
_ATTACHMENT = re.compile(r"""\brel\s*=\s*["']?[^"'>]*\battachment\b""", re.I)


def locate(problems: list[Problem], job: Job) -> list[Problem]:
    """Point a printing problem at the block line that caused it (one that references the failing file, or that
    asks for an attachment), when one does; the message keeps the PDF's name, and long URLs are shortened."""
    located = []
    for problem in problems:
        where = (problem.path, problem.line)
        quoted = re.findall(r"`([^`]{3,})`", problem.message)     # WeasyPrint quotes the CSS it ignored
        for section in job.sections:
            for offset, text in enumerate(section.block.body.splitlines()):
                targets = [t.rsplit("/", 1)[-1] or t for pair in _TARGETS.findall(text) for t in pair if t]
                if (any(t in problem.message for t in targets) or any(q in text for q in quoted)
                        or ("attachment" in problem.message and _ATTACHMENT.search(text))):
                    where = (section.block.path, section.block.body_line + offset)
        message = problem.message if where[0] == job.output else f"{job.output}: {problem.message}"
        located.append(Problem(where[0], where[1], shorten_words(message), problem.rule))
    return located


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# --- the pool --------------------------------------------------------------------------------------------------

_WORKER: Worker | None = None      # one per worker process, made by the initializer


def _init(root: Path, families: list[str]) -> None:
    global _WORKER
    _WORKER = Worker(root, families)
    settle()


def _run(task: Task) -> Printed:
    assert _WORKER is not None
    return _WORKER.run(task)


def _families(library: Library) -> list[str]:
    return sorted({f for c in library.clinics.values() for f in clinic_families(c.clinic)})


def as_result(job: Job, printed: Printed) -> Result:
    """A worker's answer as the builder takes it: printing problems pointed at the block line that caused them."""
    problems = tuple(locate(list(printed.printing), job)) + printed.findings
    return Result(job, printed.pdf, printed.pages, problems, printed.peak_rss_mb)


def render_tasks(library: Library, tasks: list[tuple[Job, str]],
                 patient: Patient) -> Iterator[tuple[Job, Task | BuildError]]:
    """Each document's HTML, rendered here (in the building process, whatever prints it), as a task for a
    worker, or the error that stopped it; one at a time, as they are asked for."""
    renderer = Renderer(library.root)
    for job, digest in tasks:
        try:
            html = renderer.render(library, job, patient)
        except BuildError as exc:
            yield job, exc
            continue
        yield job, Task(print_job(library, job, html, digest), expectation(library, job))


def run_all(library: Library, tasks: list[tuple[Job, str]], patient: Patient, jobs: int,
            worker: Worker | None = None) -> Iterator[Result]:
    """Print every (job, digest), yielding results as they finish. With one job, in this process (with `worker`
    when one is given: a warm printer kept by the caller)."""
    if not tasks:
        return
    if jobs <= 1 or len(tasks) == 1:
        worker = worker or Worker(library.root, _families(library))
        for job, task in render_tasks(library, tasks, patient):
            if isinstance(task, BuildError):
                yield Result(job, None, 0, tuple(task.problems), _peak_rss_mb())
            else:
                yield as_result(job, worker.run(task))
        return
    # Start the fork server, then render every document before the first is handed over: starting a worker
    # waits for the fork server to finish its imports, and the rendering fits in that wait when it comes first.
    pool.start()
    ready = list(render_tasks(library, tasks, patient))
    for job, task in ready:
        if isinstance(task, BuildError):
            yield Result(job, None, 0, tuple(task.problems), 0.0)
    with pool.executor(min(jobs, len(tasks)), _init, (library.root, _families(library))) as executor:
        submitted = {executor.submit(_run, task): job for job, task in ready if isinstance(task, Task)}
        for future in as_completed(submitted):
            yield as_result(submitted[future], future.result())
