"""Translation governance: every block of a translated language names the source block and the source version it
translates; the build knows, for each source block, whether its translation is current, stale or missing.

- current: the translation translates the source's current version;
- stale: the source has a newer version. A warning while the source's new version (its `last_reviewed` date) is
  younger than the grace period in content/policy/checks.yaml, an error afterwards; either way no document is built
  from the stale block (the plan holds it back, keeping its last good PDF, marked as behind its source);
- missing: no block translates it. A document that needs it fails, naming each missing block (plan.py).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Literal

from .content import Block, Library
from .models import version_key
from .problems import Problem

Status = Literal["current", "stale", "missing"]
STALE = "translation-stale"


@dataclass(frozen=True)
class Row:
    """One source block and its translation into one language."""

    language: str
    status: Status
    source: str                      # the source block, as shown: content/en/shared/risks.md
    source_line: int                 # the line of its version
    source_version: str
    source_date: str                 # when the source's current version was reviewed
    path: str | None = None          # the translation, when there is one
    line: int | None = None          # the line of its translation mapping
    translates: str | None = None    # the source version it translates
    translated: str | None = None    # when it was translated
    error_from: str | None = None    # a stale translation: the day from which it is an error


@dataclass(frozen=True)
class State:
    """What the plan needs: the source language, each language's translation of each source block (by the
    source's path relative to content/), and the stale problem of each stale translation (by its path)."""

    source_language: str
    by_source: dict[str, dict[str, Block]] = field(default_factory=dict)
    stale: dict[str, Problem] = field(default_factory=dict)


def source_key(block: Block) -> str:
    """A block's name as a translation's `source` gives it: en/shared/risks.md."""
    return f"{block.language}/{block.folder}/{block.file.name}"


def govern(library: Library, source_language: str, grace_days: int,
           today: dt.date) -> tuple[State, list[Row], list[Problem]]:
    """Check every translated block against its source; return the state, the table and the problems."""
    problems: list[Problem] = []
    rows: list[Row] = []
    state = State(source_language)
    source = library.languages.get(source_language)
    if source is None:
        others = [code for code in library.languages if code != source_language]
        if others:
            problems.append(Problem("content/catalogue.yaml", 1, f"translation: the source language "
                                    f"'{source_language}' (content/policy/checks.yaml) is not in the catalogue, so "
                                    f"{', '.join(others)} cannot be checked against it", "translation"))
        return state, rows, problems
    sources = {source_key(block): block for block in source.blocks}
    used_roles = {section.role for kind in library.kinds.values() for section in kind.sections}
    for code, language in sorted(library.languages.items()):
        if code == source_language:
            for block in language.blocks:
                if block.meta.translation is not None:
                    problems.append(Problem(block.path, block.line_of("translation"), f"translation: a block of the "
                                            f"source language '{source_language}' translates nothing: remove "
                                            "'translation'", "translation"))
            continue
        mine: dict[str, Block] = {}
        for block in language.blocks:
            problems += _check_one(block, sources, source_language, mine)
        state.by_source[code] = mine
        problems += _strings_keys(library, code, source_language)
        for key, original in sorted(sources.items()):
            if original.meta.role not in used_roles:
                continue
            rows.append(_row(code, original, mine.get(key), grace_days, today, state, problems))
    return state, rows, problems


def _check_one(block: Block, sources: dict[str, Block], source_language: str,
               mine: dict[str, Block]) -> list[Problem]:
    meta = block.meta
    line = block.line_of("translation")
    if meta.translation is None:
        return [Problem(block.path, block.line_of("id"), f"translation: every block in '{block.language}' names the "
                        f"block it translates: add 'translation:' with source (e.g. "
                        f"{source_language}/{block.folder}/{block.file.name}), source_version, date, translator and "
                        "reviewer", "translation")]
    wanted = meta.translation.source
    original = sources.get(wanted)
    if original is None:
        return [Problem(block.path, line, f"translation: source '{wanted}' is not a block of "
                        f"content/{source_language}/ (give it as {source_language}/<folder>/<file>.md)", "translation")]
    differs = [f"{what} {mine_value!r} (the source's is {theirs!r})" for what, mine_value, theirs in (
        ("id", meta.id, original.meta.id), ("role", meta.role, original.meta.role),
        ("folder", block.folder, original.folder), ("jurisdiction", meta.jurisdiction, original.meta.jurisdiction))
        if mine_value != theirs]
    if differs:
        return [Problem(block.path, line, f"translation: {'; '.join(differs)}: a translation fills the same place as "
                        f"{original.path}", "translation")]
    if wanted in mine:
        return [Problem(block.path, line, f"translation: {mine[wanted].path} already translates {original.path}",
                        "translation")]
    if version_key(meta.translation.source_version) > version_key(original.meta.version):
        return [Problem(block.path, line, f"translation: source_version {meta.translation.source_version} is newer "
                        f"than {original.path}:{original.line_of('version')} (version {original.meta.version})",
                        "translation")]
    mine[wanted] = block
    return []


def _row(code: str, original: Block, translated: Block | None, grace_days: int, today: dt.date, state: State,
         problems: list[Problem]) -> Row:
    common = dict(language=code, source=original.path, source_line=original.line_of("version"),
                  source_version=original.meta.version, source_date=original.meta.last_reviewed.isoformat())
    if translated is None:
        return Row(status="missing", **common)
    assert translated.meta.translation is not None
    info = translated.meta.translation
    mine = dict(path=translated.path, line=translated.line_of("translation"), translates=info.source_version,
                translated=info.date.isoformat())
    if info.source_version == original.meta.version:
        return Row(status="current", **common, **mine)
    error_from = original.meta.last_reviewed + dt.timedelta(days=grace_days + 1)
    late = today >= error_from
    problem = Problem(translated.path, translated.line_of("translation"),
                      f"translates version {info.source_version} of {original.path}, which is now version "
                      f"{original.meta.version} ({original.path}:{original.line_of('version')}, reviewed "
                      f"{original.meta.last_reviewed}): update the translation and its source_version; until then "
                      f"its documents are not rebuilt and keep their last good PDFs"
                      + ("" if late else f" (an error from {error_from})"),
                      STALE, "error" if late else "warning")
    problems.append(problem)
    state.stale[translated.path] = problem
    return Row(status="stale", error_from=error_from.isoformat(), **common, **mine)


def _strings_keys(library: Library, code: str, source_language: str) -> list[Problem]:
    """A translated strings.yaml has every label the source's has: a missing one would print nothing, or English."""
    theirs, mine = library.languages[source_language], library.languages[code]
    if theirs.strings is None or mine.strings is None:
        return []
    found = [Problem(mine.strings_path, 1, f"translation: html_lang gives '{tag}' for {country}, a tag of another "
                     f"language than '{code}'", "translation")
             for country, tag in mine.strings.html_lang.items() if tag.split("-")[0].lower() != code]
    missing = sorted(set(theirs.strings.model_dump()) - set(mine.strings.model_dump()))
    if not missing:
        return found
    return found + [Problem(mine.strings_path, 1, f"translation: missing {', '.join(missing)} (in {theirs.strings_path}): "
                    f"every label needs its {code} wording", "translation-missing")]


def summary(rows: list[Row]) -> dict[str, dict[str, int]]:
    """Per language, how many source blocks are current, stale and missing."""
    counts: dict[str, dict[str, int]] = {}
    for row in rows:
        counts.setdefault(row.language, {"current": 0, "stale": 0, "missing": 0})[row.status] += 1
    return counts
