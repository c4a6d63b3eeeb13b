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

from ... import builder
from ...plan import Selection
from ...problems import Problem
from ..access import require
from ..models import ADMIN, REVIEWER
from .. import pipeline

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


@require(REVIEWER, ADMIN)
def page(request: HttpRequest) -> HttpResponse:
    today = pipeline.today()
    found = outcome(Path(settings.CONTENT_ROOT), today)
    errors = sum(p.severity == "error" for p in found.problems)
    rows = [{"row": row, "status": "error" if row.errors else "warning" if row.warnings else "current",
             "days": (dt.date.fromisoformat(row.review_due) - today).days} for row in found.documents]
    return render(request, "web/review.html", {
        "today": today,
        "groups": _grouped(found.problems),
        "errors": errors,
        "warnings": len(found.problems) - errors,
        "due": [{"row": row, "late": -row.days} for row in found.due],
        "rows": rows,
        "documents": len(found.documents),
    })
