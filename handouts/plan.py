"""Plan stage: decide which documents to build and exactly which blocks and files go into each."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from itertools import product
from pathlib import Path

from . import fonts
from .content import SHARED, Block, ClinicConfig, Library
from .deps import template_closure
from .models import Condition, Kind
from .problems import Problem
from .translation import STALE, source_key


@dataclass(frozen=True)
class Selection:
    """What the user asked for; None means all."""

    clinic: str | None = None
    language: str | None = None
    condition: str | None = None
    kind: str | None = None
    variant: str | None = None


@dataclass(frozen=True)
class Section:
    role: str
    block: Block


@dataclass(frozen=True)
class Job:
    """One document to render: every input it depends on is named here."""

    clinic: ClinicConfig
    language: str
    condition_id: str
    condition: Condition
    kind_id: str
    kind: Kind
    variant: str
    sections: tuple[Section, ...]
    input_files: tuple[Path, ...]

    @property
    def key(self) -> str:
        return f"{self.clinic.id}/{self.language}/{self.condition_id}-{self.kind_id}-{self.variant}"

    @property
    def output(self) -> str:
        """Path of the PDF relative to the output folder."""
        return f"{self.key}.pdf"

    @property
    def version(self) -> str:
        return self.condition.documents[self.kind_id].version

    @property
    def last_reviewed(self) -> dt.date:
        return min(s.block.meta.last_reviewed for s in self.sections)

    @property
    def review_due(self) -> dt.date:
        return min(s.block.meta.review_due for s in self.sections)

    @property
    def draft(self) -> bool:
        return any(s.block.meta.draft for s in self.sections)


@dataclass(frozen=True)
class Failed:
    key: str
    output: str
    problems: tuple[Problem, ...]


@dataclass(frozen=True)
class Behind:
    """A translated document held back: a block it uses translates an older version of its source. It is not
    built; its last good PDF stays, marked as behind its source."""

    key: str
    output: str
    problems: tuple[Problem, ...]     # the stale translations' problems (warnings or errors)
    job: Job | None = None            # what it would be, for the reviewer's table


@dataclass(frozen=True)
class Plan:
    jobs: tuple[Job, ...]
    failed: tuple[Failed, ...]
    behind: tuple[Behind, ...] = ()


def _pick(blocks: list[Block], country: str) -> list[Block]:
    for jurisdiction in (country, None):
        chosen = [b for b in blocks if b.meta.jurisdiction == jurisdiction]
        if chosen:
            return chosen
    return []


def select_block(library: Library, language: str, condition: str, role: str,
                 country: str) -> tuple[Block | None, list[Problem]]:
    """The block filling `role` for a condition: the condition's own first, then shared; the country's own
    version first, then the one without a jurisdiction."""
    blocks = library.languages[language].blocks
    for folder in (condition, SHARED):
        candidates = _pick([b for b in blocks if b.folder == folder and b.meta.role == role], country)
        if len(candidates) > 1:
            first = candidates[0]
            others = ", ".join(b.path for b in candidates[1:])
            return None, [Problem(first.path, first.line_of("role"),
                                  f"role '{role}' is filled by more than one block here (also {others})", "plan")]
        if candidates:
            return candidates[0], []
    return None, []


def _matches(selection: Selection, clinic: str, language: str, condition: str, kind: str, variant: str) -> bool:
    wanted = (selection.clinic, selection.language, selection.condition, selection.kind, selection.variant)
    return all(w in (None, v) for w, v in zip(wanted, (clinic, language, condition, kind, variant)))


def plan(library: Library, selection: Selection) -> Plan:
    """Every (clinic, language, condition, kind, variant) in the catalogue that matches `selection`.

    A document that uses a file with errors fails, with those errors; the others build.
    """
    cat = library.catalogue
    errors_by_path: dict[str, list[Problem]] = {}
    for problem in library.problems:
        if problem.severity == "error" and problem.rule != STALE:     # a stale translation holds a document back
            errors_by_path.setdefault(problem.path, []).append(problem)
    jobs: list[Job] = []
    failed: list[Failed] = []
    behind: list[Behind] = []
    # The rules every document is checked by: while they cannot be read, no document is built (none could be
    # checked for overclaims, readability, page limits or stale translations).
    policy = tuple(sorted({p for p in library.problems if p.severity == "error" and p.path.startswith(POLICY)}))
    for clinic_id, language, condition_id, kind_id, variant in product(
            sorted(library.clinics.keys() | library.broken_clinics.keys()), cat.languages, cat.conditions,
            cat.kinds, cat.variants):
        if not _matches(selection, clinic_id, language, condition_id, kind_id, variant) or not _kind_has(
                library, kind_id, variant):
            continue
        if clinic_id in library.broken_clinics:      # its languages as it lists them, else the source language (the
            # manifest's documents of the clinic fail too, whatever their language: see builder._remove_unlisted)
            if language not in library.broken_languages.get(clinic_id, cat.languages[:1]):
                continue
            key = f"{clinic_id}/{language}/{condition_id}-{kind_id}-{variant}"
            path = library.broken_clinics[clinic_id]
            failed.append(Failed(key, f"{key}.pdf", tuple(sorted(set(errors_by_path.get(path, [])))) or (
                Problem(path, 1, "clinic: this clinic has errors", "plan"),)))
            continue
        clinic = library.clinics[clinic_id]
        if language not in clinic.clinic.languages:
            continue
        key = f"{clinic_id}/{language}/{condition_id}-{kind_id}-{variant}"
        if policy:
            failed.append(Failed(key, f"{key}.pdf", policy))
            continue
        job, problems = _plan_one(library, errors_by_path, clinic, language, condition_id, kind_id, variant)
        stale = _stale(library, job)
        if job is not None and not problems and stale:
            behind.append(Behind(key, f"{key}.pdf", stale, job))
        elif job is not None and not problems:
            jobs.append(job)
        else:
            failed.append(Failed(key, f"{key}.pdf", tuple(sorted(set(problems)))))
    return Plan(tuple(jobs), tuple(failed), tuple(behind))


POLICY = "content/policy/"


def _stale(library: Library, job: Job | None) -> tuple[Problem, ...]:
    state = library.translation
    if job is None or state is None:
        return ()
    return tuple(sorted({state.stale[s.block.path] for s in job.sections if s.block.path in state.stale}))


def _plan_one(library: Library, errors_by_path: dict[str, list[Problem]], clinic: ClinicConfig, language: str,
              condition_id: str, kind_id: str, variant: str) -> tuple[Job | None, list[Problem]]:
    lang = library.languages[language]
    condition = lang.conditions.get(condition_id)
    kind = library.kinds.get(kind_id)
    fixed = [lang.strings_path, lang.condition_paths.get(condition_id, ""), library.kind_paths.get(kind_id, ""),
             clinic.path]
    problems = [p for path in fixed for p in errors_by_path.get(path, [])]
    if condition is None or kind is None or lang.strings is None:
        return None, problems or [Problem(fixed[1] or "content", 1, "document cannot be planned", "plan")]
    if kind_id not in condition.documents:
        problems.append(Problem(fixed[1], 1, f"condition: no version is given for document kind '{kind_id}' "
                                             f"under 'documents'", "plan"))
    sections: list[Section] = []
    for spec in kind.sections:
        for bad in lang.broken:
            if bad.folder in (condition_id, SHARED) and bad.role in (None, spec.role):
                problems += errors_by_path.get(bad.path, [])
        block, found = select_block(library, language, condition_id, spec.role, clinic.clinic.country)
        state = library.translation
        if state is not None and language != state.source_language and state.source_language in library.languages:
            # A translated document has exactly the blocks its source-language twin has, each translated: never
            # a block of its own choosing, never the source's text in its place.
            source, found = select_block(library, state.source_language, condition_id, spec.role,
                                         clinic.clinic.country)
            block = state.by_source.get(language, {}).get(source_key(source)) if source else None
            expected = f"content/{language}/{source.folder}/{source.file.name}" if source else ""
            if source is not None and block is None and any(bad.path == expected for bad in lang.broken):
                continue          # its translation is there but has errors, reported above
            if source is not None and block is None:
                problems.append(Problem(source.path, source.line_of("id"), f"no {language} translation of this "
                                        f"block (role '{spec.role}'): write content/{language}/{source.folder}/"
                                        f"{source.file.name} translating it; the {language} document is not built "
                                        f"with the {state.source_language} text in its place",
                                        "translation-missing"))
                continue
        problems += found
        if block is None:
            if spec.required and not found:
                problems.append(Problem(fixed[2], 1, f"no block fills role '{spec.role}' for {condition_id} "
                                                     f"({clinic.clinic.country}, {language})", "required-section"))
            continue
        problems += errors_by_path.get(block.path, [])
        sections.append(Section(spec.role, block))
    spec = library.variants.get(variant)
    if spec is None:
        return None, problems + [Problem("content/catalogue.yaml", 1, f"unknown variant '{variant}'", "plan")]
    cmyk = spec.colour == "cmyk"
    templates = library.root / "templates"
    inputs = ({library.root / p for p in fixed} | set(clinic.files(cmyk)) | {s.block.file for s in sections}
              | set(template_closure(templates, kind.template)) | {templates / "print.css"}
              | ({templates / spec.stylesheet} if spec.stylesheet else set())
              | set(fonts.files([clinic.clinic.fonts.body, clinic.clinic.fonts.headings])))
    job = Job(clinic, language, condition_id, condition, kind_id, kind, variant, tuple(sections),
              tuple(sorted(inputs)))
    return job, problems


def _kind_has(library: Library, kind_id: str, variant: str) -> bool:
    """False only for a variant a valid kind leaves out (an online-only kind has no print master)."""
    kind = library.kinds.get(kind_id)
    return kind is None or kind.variants is None or variant in kind.variants


def unlisted_reason(library: Library, clinic: str, language: str, condition: str, kind: str,
                    variant: str) -> str | None:
    """Why the catalogue, validly loaded, no longer lists this document; None while it does (even when it cannot
    be built because of an error). Only such a document is ever removed or withdrawn."""
    cat = library.catalogue
    for what, value, listed in (("language", language, cat.languages), ("condition", condition, cat.conditions),
                                ("kind", kind, cat.kinds), ("variant", variant, cat.variants)):
        if value not in listed:
            return f"{what} {value} is no longer in content/catalogue.yaml"
    if not _kind_has(library, kind, variant):
        return f"kind {kind} is not made in the {variant} variant ({library.kind_paths[kind]})"
    if clinic in library.broken_clinics:
        return None
    if clinic not in library.clinics:
        return f"clinic {clinic} has no content/clinics/{clinic}/clinic.yaml any more"
    if language not in library.clinics[clinic].clinic.languages:
        return f"language {language} is no longer in {library.clinics[clinic].path}"
    return None
