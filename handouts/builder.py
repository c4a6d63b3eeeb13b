"""Runs the pipeline: load -> validate -> plan -> render HTML -> print PDF -> publish."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path

import weasyprint

from . import __version__, checks, content, preflight
from .fonts import files as font_files
from .pdf import Printer, PrintJob, clinic_families
from .plan import Job, Plan, Selection, plan
from .models import BLEED_PT, PAPER_PT
from .problems import BuildError, Problem
from .publish import Entry, Manifest, sha256, write_atomic
from .render import Patient, Renderer

LOGGER = logging.getLogger(__name__)


@dataclass
class Outcome:
    problems: list[Problem] = field(default_factory=list)
    built: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    documents: list[checks.DocumentRow] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not any(p.severity == "error" for p in self.problems)


def shared_inputs(root: Path, library: content.Library) -> tuple[Path, ...]:
    """Files every document depends on: all templates and stylesheets, and the bundled fonts."""
    templates = sorted(p for p in (root / "templates").rglob("*") if p.is_file())
    families = [f for c in library.clinics.values() for f in clinic_families(c.clinic)]
    return tuple(templates) + tuple(sorted(set(font_files(families))))


def inputs_digest(job: Job, root: Path) -> str:
    digest = hashlib.sha256()
    digest.update(f"handouts {__version__}\nweasyprint {weasyprint.__version__}\n".encode())
    digest.update(f"variant {job.variant}\n".encode())
    for file in job.input_files:
        name = str(file.relative_to(root)) if file.is_relative_to(root) else file.name
        digest.update(f"{name} {hashlib.sha256(file.read_bytes()).hexdigest()}\n".encode())
    return digest.hexdigest()


def prepare(root: Path, selection: Selection, today: dt.date,
            strict: bool) -> tuple[content.Library, Plan, list[Problem]]:
    """Load, validate and plan; nothing is written. Problems from checks fail the documents using the file."""
    library, review = _load_and_review(root, today, strict)
    return library, plan(library, selection, shared_inputs(root, library)), review.problems


def _load_and_review(root: Path, today: dt.date, strict: bool) -> tuple[content.Library, checks.Review]:
    library = content.load(root)
    review = checks.run(library, today)
    found = list(library.problems) + review.problems
    if strict:
        found = [Problem(p.path, p.line, p.message, p.rule, "error") for p in found]
    return content.with_problems(library, found), checks.Review(found, review.scores)


def check(root: Path, selection: Selection, today: dt.date, strict: bool) -> Outcome:
    """Validate everything and render every document's HTML (templates included), but print no PDF."""
    library, review = _load_and_review(root, today, strict)
    inputs = shared_inputs(root, library)
    the_plan = plan(library, selection, inputs)
    outcome = Outcome(problems=list(review.problems))
    # The reviewer's table covers every document that can be assembled, errors or not.
    outcome.documents = checks.document_rows(list(plan(content.with_problems(library, []), selection, inputs).jobs),
                                             review)
    renderer = Renderer(root)
    outcome.problems += renderer.compile_all()
    for failed in the_plan.failed:
        outcome.problems += [p for p in failed.problems if p not in outcome.problems]
    for job in the_plan.jobs:
        try:
            renderer.render(library, job)
        except BuildError as exc:
            outcome.problems += [p for p in exc.problems if p not in outcome.problems]
    outcome.problems = sorted(set(outcome.problems))
    return outcome


def build(root: Path, output_dir: Path, selection: Selection, today: dt.date, strict: bool = False,
          patient: Patient = Patient()) -> Outcome:
    library, the_plan, found = prepare(root, selection, today, strict)
    outcome = Outcome(problems=list(found))
    for failed in the_plan.failed:
        outcome.failed.append(failed.output)
        outcome.problems += [p for p in failed.problems if p not in outcome.problems]
        LOGGER.error("failed: %s", failed.output)
    manifest = Manifest.load(output_dir)
    manifest.keep_existing()
    if the_plan.jobs:
        renderer = Renderer(root)
        families = sorted({f for job in the_plan.jobs for f in clinic_families(job.clinic.clinic)})
        printer = Printer(root, families)
        for job in the_plan.jobs:
            try:
                entry, pdf = _build_one(root, library, renderer, printer, job, patient)
            except BuildError as exc:
                outcome.failed.append(job.output)
                outcome.problems += [p for p in exc.problems if p not in outcome.problems]
                LOGGER.error("failed: %s", job.output)
                continue
            if patient.is_blank:
                write_atomic(output_dir, job.output, pdf)
                manifest.record(entry)
                outcome.built.append(job.output)
            else:   # a filled-in sheet is for one patient: kept apart from the masters, not in the manifest
                target = f"patients/{job.key}-{patient.slug}.pdf"
                write_atomic(output_dir, target, pdf)
                outcome.built.append(target)
            LOGGER.info("built: %s (%d pages)", job.output, entry.pages)
    manifest.save()
    outcome.problems = sorted(set(outcome.problems))
    return outcome


def _build_one(root: Path, library: content.Library, renderer: Renderer, printer: Printer, job: Job,
               patient: Patient) -> tuple[Entry, bytes]:
    digest = inputs_digest(job, root)
    html = renderer.render(library, job, patient)
    clinic = job.clinic
    variant = library.variants[job.variant]
    cmyk = variant.colour == "cmyk"
    print_job = PrintJob(html=html, families=tuple(clinic_families(clinic.clinic)), variant_name=job.variant,
                         variant=variant, profile=library.profiles[clinic.clinic.print.profile] if cmyk else None,
                         profile_file=clinic.profile if cmyk else None, digest=digest, source=job.output, created=job.last_reviewed)
    try:
        pdf, pages = printer.write(print_job)
    except BuildError as exc:
        raise BuildError(_locate(exc.problems, job)) from None
    findings = preflight.preflight(io.BytesIO(pdf), expectation(library, job), shown_as=job.output)
    if findings:
        raise BuildError([finding_problem(f) for f in findings])
    entry = Entry(path=job.output, clinic=job.clinic.id, language=job.language, condition=job.condition_id,
                  kind=job.kind_id, variant=job.variant, version=job.version,
                  review_due=job.review_due.isoformat(), pages=pages, sha256=sha256(pdf), inputs_digest=digest)
    return entry, pdf


def expectation(library: content.Library, job: Job) -> preflight.Expectation:
    """What the preflight expects of a document, from its clinic and variant."""
    clinic = job.clinic.clinic
    variant = library.variants[job.variant]
    bleed = BLEED_PT[clinic.print.bleed] if variant.colour == "cmyk" else 0.0
    return preflight.Expectation(job.variant, PAPER_PT[clinic.paper], bleed=bleed, min_body_pt=variant.min_body_pt)


def finding_problem(finding: preflight.Finding) -> Problem:
    """A preflight finding as a problem: the PDF stands for the file and its page for the line."""
    return Problem(finding.document, finding.page or 1, finding.message, f"preflight/{finding.rule}")


def _locate(problems: list[Problem], job: Job) -> list[Problem]:
    """Point a printing problem at the block line that references the failing file, when one does."""
    located = []
    for problem in problems:
        where = (problem.path, problem.line)
        for section in job.sections:
            for offset, text in enumerate(section.block.body.splitlines()):
                for token in _references(text):
                    if token in problem.message:
                        where = (section.block.path, section.block.body_line + offset)
        located.append(Problem(where[0], where[1], f"{job.output}: {problem.message}", problem.rule))
    return located


def _references(line: str) -> list[str]:
    """File names and URLs that a Markdown line points at: the targets of links and images."""
    return [m.rsplit("/", 1)[-1] or m for m in re.findall(r"\]\(([^)\s]+)", line)]


def preflight_outputs(root: Path, output_dir: Path, only: list[Path] | None) -> tuple[dict, list[Problem]]:
    """Preflight PDFs in the output folder (those of the manifest by default) as a print shop would.
    Returns the report written to output/preflight.json and the findings as problems."""
    library = content.load(root)
    jobs = {job.output: job for job in plan(content.with_problems(library, []), Selection(), ()).jobs}
    if only is None:
        targets = sorted(Manifest.load(output_dir).entries)
    else:
        targets = []
        for path in only:
            relative = str(path.resolve().relative_to(output_dir.resolve())) if path.resolve().is_relative_to(
                output_dir.resolve()) else str(path)
            if relative not in jobs:
                raise ValueError(f"{path} is not a document of the catalogue in {output_dir}")
            targets.append(relative)
    documents, problems = [], []
    for relative in targets:
        file = output_dir / relative
        if not file.is_file():
            problems.append(Problem(relative, 1, "listed in the manifest but missing", "preflight/missing"))
            documents.append({"path": relative, "variant": jobs[relative].variant, "passed": False,
                              "findings": [{"page": None, "rule": "missing", "message": "file is missing"}]})
            continue
        findings = preflight.preflight(file, expectation(library, jobs[relative]), shown_as=relative)
        problems += [finding_problem(f) for f in findings]
        documents.append({"path": relative, "variant": jobs[relative].variant, "passed": not findings,
                          "findings": [{"page": f.page, "rule": f.rule, "message": f.message} for f in findings]})
    report = {"documents": documents, "passed": sum(d["passed"] for d in documents),
              "failed": sum(not d["passed"] for d in documents)}
    write_atomic(output_dir, "preflight.json", (json.dumps(report, indent=2) + "\n").encode())
    return report, problems
