"""Render and print documents in warm worker processes.

Each worker imports WeasyPrint, loads the fonts and parses the stylesheets once, then prints document after
document. The parent process alone writes files, so a worker never leaves anything half-written.
"""

from __future__ import annotations

import io
import multiprocessing
import re
import resource
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from typing import Iterator

from . import preflight
from .content import Library
from .models import BLEED_PT, PAPER_PT
from .problems import BuildError, Problem
from .plan import Job, Patient
from .render import Renderer


@dataclass(frozen=True)
class Result:
    job: Job
    pdf: bytes | None
    pages: int
    problems: tuple[Problem, ...]
    peak_rss_mb: float          # the worker's peak memory so far


class Worker:
    """Everything a process needs to turn a planned document into checked PDF bytes."""

    def __init__(self, library: Library):
        from .pdf import Printer, clinic_families   # WeasyPrint is imported only where something is printed
        self.library = library
        self.renderer = Renderer(library.root)
        families = sorted({f for c in library.clinics.values() for f in clinic_families(c.clinic)})
        self.printer = Printer(library.root, families)

    def run(self, job: Job, digest: str, patient: Patient) -> Result:
        try:
            pdf, pages = self._print(job, digest, patient)
            return Result(job, pdf, pages, (), _peak_rss_mb())
        except BuildError as exc:
            return Result(job, None, 0, tuple(exc.problems), _peak_rss_mb())

    def _print(self, job: Job, digest: str, patient: Patient) -> tuple[bytes, int]:
        from .pdf import PrintJob, clinic_families
        html = self.renderer.render(self.library, job, patient)
        clinic = job.clinic
        variant = self.library.variants[job.variant]
        cmyk = variant.colour == "cmyk"
        print_job = PrintJob(html=html, families=tuple(clinic_families(clinic.clinic)), variant_name=job.variant,
                             variant=variant,
                             profile=self.library.profiles[clinic.clinic.print.profile] if cmyk else None,
                             profile_file=clinic.profile if cmyk else None, digest=digest, source=job.output,
                             created=job.last_reviewed)
        try:
            pdf, pages = self.printer.write(print_job)
        except BuildError as exc:
            raise BuildError(locate(exc.problems, job)) from None
        findings = preflight.preflight(io.BytesIO(pdf), expectation(self.library, job), shown_as=job.output)
        if findings:
            raise BuildError([finding_problem(f) for f in findings])
        return pdf, pages


def expectation(library: Library, job: Job) -> preflight.Expectation:
    """What the preflight expects of a document, from its clinic and variant."""
    clinic = job.clinic.clinic
    variant = library.variants[job.variant]
    bleed = BLEED_PT[clinic.print.bleed] if variant.colour == "cmyk" else 0.0
    return preflight.Expectation(job.variant, PAPER_PT[clinic.paper], bleed=bleed, min_body_pt=variant.min_body_pt)


def finding_problem(finding: preflight.Finding) -> Problem:
    """A preflight finding as a problem: the PDF stands for the file and its page for the line."""
    return Problem(finding.document, finding.page or 1, finding.message, f"preflight/{finding.rule}")


def locate(problems: list[Problem], job: Job) -> list[Problem]:
    """Point a printing problem at the block line that references the failing file, when one does."""
    located = []
    for problem in problems:
        where = (problem.path, problem.line)
        for section in job.sections:
            for offset, text in enumerate(section.block.body.splitlines()):
                targets = [m.rsplit("/", 1)[-1] or m for m in re.findall(r"\]\(([^)\s]+)", text)]
                if any(t in problem.message for t in targets):
                    where = (section.block.path, section.block.body_line + offset)
        located.append(Problem(where[0], where[1], f"{job.output}: {problem.message}", problem.rule))
    return located


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# --- the pool --------------------------------------------------------------------------------------------------

_WORKER: Worker | None = None      # one per worker process, made by the initializer


def _init(library: Library) -> None:
    global _WORKER
    _WORKER = Worker(library)


def _run(job: Job, digest: str, patient: Patient) -> Result:
    assert _WORKER is not None
    return _WORKER.run(job, digest, patient)


def run_all(library: Library, tasks: list[tuple[Job, str]], patient: Patient, jobs: int) -> Iterator[Result]:
    """Print every (job, digest), yielding results as they finish. With one job, in this process."""
    if not tasks:
        return
    if jobs <= 1 or len(tasks) == 1:
        worker = Worker(library)
        for job, digest in tasks:
            yield worker.run(job, digest, patient)
        return
    context = multiprocessing.get_context("forkserver")
    with ProcessPoolExecutor(max_workers=min(jobs, len(tasks)), mp_context=context, initializer=_init,
                             initargs=(library,)) as pool:
        futures: list[Future] = [pool.submit(_run, job, digest, patient) for job, digest in tasks]
        for future in as_completed(futures):
            yield future.result()
