"""The reviewer's page: the `check` report (every problem with its file and line, reviews coming due, the
per-document table) for reviewers and administrators, so that a reviewer needs no terminal.

`builder.check` renders every document's HTML, which takes seconds; its outcome is kept in memory, per server
process, for as long as the content's signature (every content and template file's size and time, and the day)
is the same, so the page is quick after its first load and never stale."""

from __future__ import annotations

import datetime as dt
import threading
from collections import defaultdict
from pathlib import Path

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from ... import builder, translation
from ...plan import Selection
from ...problems import Problem
from ..access import require
from ..models import ADMIN, REVIEWER
from .. import pipeline
from .library import language_label

_LOCK = threading.Lock()
_CACHE: dict[str, tuple[tuple, builder.Outcome]] = {}     # content root -> (signature, outcome), the last only


def outcome(root: Path, today: dt.date) -> builder.Outcome:
    """The check of the whole catalogue as of `today`, made again only when the content changed."""
    key = builder.content_signature(root, today)
    with _LOCK:                          # one check at a time: a second request waits for the first's result
        cached = _CACHE.get(str(root))
        if cached is None or cached[0] != key:
            found = builder.check(root, Selection(), today, strict=False)
            _CACHE.clear()               # one content folder is served; keep no outcome of an older one
            _CACHE[str(root)] = cached = (key, found)
        return cached[1]


def _grouped(problems: list[Problem]) -> list[dict]:
    """Errors first, then warnings; within each, by file, in line order."""
    groups = []
    for severity, label in (("error", "Errors"), ("warning", "Warnings")):
        files: dict[str, list[Problem]] = defaultdict(list)
        for problem in problems:
            if problem.severity == severity:
                files[problem.path].append(problem)
        if files:
            groups.append({"severity": severity, "label": label,
                           "count": sum(len(found) for found in files.values()),
                           "files": [{"path": path, "problems": sorted(found, key=lambda p: (p.line, p.message))}
                                     for path, found in sorted(files.items())]})
    return groups


def _translations(rows: list[translation.Row], today: dt.date) -> list[dict]:
    """Per translated language: how many source blocks are current, stale and missing; the stale and missing rows
    (what needs work, stale first, by source; a stale one an error from its error_from day), and the current ones."""
    counts = translation.summary(rows)
    order = {"stale": 0, "missing": 1}
    found = []
    for language, count in counts.items():
        mine = [row for row in rows if row.language == language]
        todo = sorted((row for row in mine if row.status != "current"), key=lambda row: (order[row.status], row.source))
        found.append({"language": language, "label": language_label(language), "counts": count,
                      "todo": [{"row": row, "late": bool(row.error_from) and today.isoformat() >= row.error_from}
                               for row in todo],
                      "current": sorted((row for row in mine if row.status == "current"),
                                        key=lambda row: row.source)})
    return found


@require(REVIEWER, ADMIN)
def page(request: HttpRequest) -> HttpResponse:
    today = pipeline.today()
    found = outcome(Path(settings.CONTENT_ROOT), today)
    errors = sum(p.severity == "error" for p in found.problems)
    rows = [{"row": row, "status": "error" if row.errors else "warning" if row.warnings else "current",
             "language": language_label(row.language),
             "days": (dt.date.fromisoformat(row.review_due) - today).days} for row in found.documents]
    return render(request, "web/review.html", {
        "today": today,
        "groups": _grouped(found.problems),
        "errors": errors,
        "warnings": len(found.problems) - errors,
        "due": [{"row": row, "late": -row.days} for row in found.due],
        "rows": rows,
        "documents": len(found.documents),
        "translations": _translations(found.translations, today),
        "behind": sorted(found.behind),
    })
