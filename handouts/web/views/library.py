"""The library: the finished documents of the user's clinics, as the last build published them, to find, preview
and download. One card per document (clinic, language, condition, kind), with its print copy first and large
print and the screen copy one click away."""

from __future__ import annotations

import datetime as dt
import hashlib
import subprocess
import tempfile
import threading
from collections import OrderedDict
from dataclasses import dataclass, replace
from functools import cache, wraps
from pathlib import Path
from typing import Callable

from babel import Locale, UnknownLocaleError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_GET

from ... import checks
from ...content import Library
from ...plan import Selection, plan
from ...problems import BuildError
from ...publish import Entry, Manifest, inside
from ...render import document_title
from .. import audit, pipeline
from ..access import LIBRARY_ROLES, PERSONALISE_ROLES, clinics_for, require, role

# The copy a card leads with, then the others: print first, large print and screen one click away.
VARIANT_ORDER = ("print", "large-print", "screen")
VARIANT_LABELS = {"print": "Print", "large-print": "Large print", "screen": "Screen"}
PERSONALISED_KINDS = ("consent",)       # the kinds with patient fields to fill in


def kind_label(library: Library, kind: str) -> str:
    """What staff call a kind of document: its `label` in content/kinds/<kind>.yaml, else its id capitalised."""
    spec = library.kinds.get(kind)
    return spec.label if spec is not None and spec.label else kind.replace("-", " ").capitalize()


@cache
def language_name(code: str) -> str:
    """A language's name in English, from Babel's locale data (CLDR): 'Spanish'; the code when Babel has none."""
    try:
        return Locale.parse(code).get_display_name("en") or code
    except (ValueError, UnknownLocaleError):
        return code


@cache
def language_label(code: str) -> str:
    """A language as staff see it: its English name, and its own name when that differs ('English',
    'Spanish (español)'), from Babel's locale data."""
    english = language_name(code)
    try:
        native = Locale.parse(code).get_display_name() or english
    except (ValueError, UnknownLocaleError):
        return english
    return english if native.casefold() == english.casefold() else f"{english} ({native})"


@dataclass(frozen=True)
class Copy:
    """One variant of a document: one PDF of the manifest."""

    entry: Entry

    @property
    def variant(self) -> str:
        return self.entry.variant

    @property
    def variant_label(self) -> str:
        return VARIANT_LABELS.get(self.entry.variant, self.entry.variant)

    @property
    def name(self) -> str:
        """The file's name without .pdf: <condition>-<kind>-<variant>."""
        return f"{self.entry.condition}-{self.entry.kind}-{self.entry.variant}"

    @property
    def review_due(self) -> dt.date | None:
        try:
            return dt.date.fromisoformat(self.entry.review_due)
        except ValueError:
            return None

    def _args(self) -> dict[str, str]:
        return {"clinic": self.entry.clinic, "language": self.entry.language, "name": self.name}

    @property
    def pdf_url(self) -> str:
        return reverse("pdf", kwargs=self._args())

    @property
    def download_url(self) -> str:
        return f"{self.pdf_url}?download=1"

    @property
    def thumbnail_url(self) -> str:
        return reverse("thumbnail", kwargs=self._args())

    @property
    def url(self) -> str:
        return reverse("document", kwargs=self._args())

    @property
    def filename(self) -> str:
        return f"{self.entry.clinic}-{self.entry.language}-{self.name}.pdf"


@dataclass(frozen=True)
class Status:
    key: str          # behind, draft, overdue, due-soon, current: the badge's class and the status filter's value
    label: str
    explanation: str


# The status filter's choices, in this order (only those some document has).
STATUS_LABELS = {"behind": "Behind its source", "draft": "Draft", "overdue": "Review overdue",
                 "due-soon": "Review due soon", "current": "Current"}


@dataclass(frozen=True)
class Document:
    """A document in every variant the build made of it."""

    clinic: str
    clinic_name: str
    language: str
    condition: str
    condition_name: str
    kind: str
    kind_label: str                   # what staff call the kind (content/kinds/<kind>.yaml's label)
    language_label: str               # 'Spanish (español)'
    title: str
    copies: tuple[Copy, ...]          # in VARIANT_ORDER
    status: Status
    lead: Copy                        # the copy the card leads with
    behind: tuple[str, ...] = ()      # a document behind its source: each stale block, as path:line

    @property
    def others(self) -> list[Copy]:
        return [c for c in self.copies if c is not self.lead]

    def copy(self, variant: str) -> Copy | None:
        return next((c for c in self.copies if c.variant == variant), None)

    @property
    def personalised(self) -> bool:
        """A form to fill in for a patient (never one behind its source: it cannot be made now)."""
        return self.kind in PERSONALISED_KINDS and not self.behind

    def personalise_url(self, copy: Copy) -> str:
        return reverse("personalise", kwargs={"clinic": self.clinic, "language": self.language,
                                              "condition": self.condition, "kind": self.kind,
                                              "variant": copy.variant})

    @property
    def personalise_lead_url(self) -> str:
        return self.personalise_url(self.lead)

    @property
    def words(self) -> str:
        """What the search looks in."""
        return " ".join((self.title, self.condition_name, self.condition, self.kind_label, self.language_label,
                         self.clinic_name)).casefold()


# --- the catalogue as the library shows it --------------------------------------------------------------------

_FACTS_LOCK = threading.Lock()
_FACTS: tuple[Library, frozenset[str], int] | None = None


def _content_facts(library: Library) -> tuple[frozenset[str], int]:
    """The documents the content marks as drafts (a block with draft: true), and content/policy/checks.yaml's
    review.warn_within_days (the checks' own "review due soon"): worked out once per loaded content."""
    global _FACTS
    with _FACTS_LOCK:
        if _FACTS is None or _FACTS[0] is not library:
            drafts = frozenset(job.output for job in plan(library, Selection()).jobs if job.draft)
            try:
                warn_days = checks.load_policy(library.root).thresholds.review.warn_within_days
            except BuildError:
                warn_days = 0
            _FACTS = (library, drafts, warn_days)
        return _FACTS[1], _FACTS[2]


def _stale_blocks(manifest: Manifest, copies: tuple[Copy, ...]) -> tuple[str, ...]:
    """The stale translated blocks (path:line) the manifest's "behind" names for any copy of a document."""
    found: dict[str, None] = {}
    for copy in copies:
        for why in manifest.behind.get(copy.entry.path, []):
            if isinstance(why.get("block"), str):
                found.setdefault(why["block"])
    return tuple(found)


def _behind(library: Library, language: str, blocks: tuple[str, ...]) -> Status:
    """A translated document held back because a block translates an older version of its source: the PDF is the
    last good one."""
    state = library.translation
    source = getattr(state, "source_language", None)
    against = f"its {language_name(source)} source" if source else "its source"
    named = blocks[0] if len(blocks) == 1 else f"{', '.join(blocks[:-1])} and {blocks[-1]}"
    translation = f"{language_name(language)} translation{'s' if len(blocks) > 1 else ''}"
    return Status("behind", STATUS_LABELS["behind"],
                  f"Behind {against}: the {translation} in {named} {'are' if len(blocks) > 1 else 'is'} out of "
                  "date; this is the last good copy")


def _status(entry: Entry, drafts: frozenset[str], today: dt.date, warn_days: int) -> Status:
    if entry.path in drafts:
        return Status("draft", STATUS_LABELS["draft"], "Not yet clinically reviewed: not for patients")
    try:
        due = dt.date.fromisoformat(entry.review_due)
    except ValueError:
        return Status("overdue", "Review date unknown", "The manifest gives no review date")
    days = (due - today).days
    if days < 0:
        return Status("overdue", STATUS_LABELS["overdue"], f"Review was due {days * -1} days ago")
    if days <= warn_days:
        return Status("due-soon", STATUS_LABELS["due-soon"], f"Review due in {days} days")
    return Status("current", STATUS_LABELS["current"], "Reviewed and in date")


def _title(library: Library, entry: Entry) -> tuple[str, str]:
    """The document's title as printed on it, and the condition's name (ids when the content no longer has
    them)."""
    lang = library.languages.get(entry.language)
    condition = lang.conditions.get(entry.condition) if lang else None
    kind = library.kinds.get(entry.kind)
    name = condition.name if condition else entry.condition.replace("-", " ").capitalize()
    if lang is None or lang.strings is None or condition is None or kind is None:
        return f"{name}: {kind_label(library, entry.kind).lower()}", name
    try:
        return document_title(lang.strings, kind, condition), name
    except (AttributeError, ValueError):
        return f"{name}: {kind_label(library, entry.kind).lower()}", name


def documents(request: HttpRequest,
              manifest: Manifest | None = None) -> tuple[Library, list[str], list[Document]]:
    """The library, the clinics the user may see, and their documents in catalogue order (of `manifest`, by
    default the last build's)."""
    library, _ = pipeline.loaded()
    manifest = manifest or pipeline.manifest()
    clinics = clinics_for(request.user, pipeline.clinic_ids())
    mine = set(clinics)
    drafts, warn_days = _content_facts(library)
    today = pipeline.today()
    grouped: dict[tuple[str, str, str, str], list[Entry]] = {}
    for entry in sorted(manifest.entries.values(), key=lambda e: e.path):
        if entry.clinic in mine:
            grouped.setdefault((entry.clinic, entry.language, entry.condition, entry.kind), []).append(entry)
    found = []
    for (clinic, language, condition, kind), variants in grouped.items():
        variants.sort(key=lambda e: VARIANT_ORDER.index(e.variant) if e.variant in VARIANT_ORDER else 99)
        title, condition_name = _title(library, variants[0])
        copies = tuple(Copy(e) for e in variants)
        lead = copies[0]
        stale = _stale_blocks(manifest, copies)
        status = _behind(library, language, stale) if stale else _status(lead.entry, drafts, today, warn_days)
        found.append(Document(clinic, library.clinics[clinic].clinic.name, language, condition, condition_name, kind,
                              kind_label(library, kind), language_label(language), title, copies, status, lead,
                              stale))
    cat = library.catalogue

    def order(values: list[str], value: str) -> int:
        return values.index(value) if value in values else len(values)

    found.sort(key=lambda d: (clinics.index(d.clinic), order(cat.conditions, d.condition),
                              order(cat.languages, d.language), order(cat.kinds, d.kind)))
    return library, clinics, found


def find(request: HttpRequest, clinic: str, language: str, name: str) -> tuple[Document, Copy]:
    """The document and copy a URL names, or 404: for a clinic the user may not see, a document the manifest does
    not list, or a file that is not a regular file inside the output folder."""
    if clinic not in clinics_for(request.user, pipeline.clinic_ids()):
        raise Http404()
    path = f"{clinic}/{language}/{name}.pdf"
    for document in documents(request)[2]:
        if document.clinic == clinic and document.language == language:
            for copy in document.copies:
                if copy.entry.path == path and inside(pipeline.output_dir(), path):
                    return document, copy
    raise Http404()


# --- filters ----------------------------------------------------------------------------------------------------

FILTERS = ("clinic", "condition", "kind", "language", "variant", "status")


def _options(docs: list[Document]) -> dict[str, list[tuple[str, str]]]:
    """Each filter's choices, from the documents the user can see (never a choice that finds nothing)."""
    seen: dict[str, dict[str, str]] = {name: {} for name in FILTERS}
    for d in docs:
        seen["clinic"].setdefault(d.clinic, d.clinic_name)
        seen["condition"].setdefault(d.condition, d.condition_name)
        seen["kind"].setdefault(d.kind, d.kind_label)
        seen["language"].setdefault(d.language, d.language_label)
        seen["status"].setdefault(d.status.key, STATUS_LABELS[d.status.key])
        for c in d.copies:
            seen["variant"].setdefault(c.variant, c.variant_label)
    seen["variant"] = {v: seen["variant"][v] for v in sorted(seen["variant"], key=lambda v: VARIANT_ORDER.index(v)
                                                             if v in VARIANT_ORDER else 99)}
    seen["status"] = {k: label for k, label in STATUS_LABELS.items() if k in seen["status"]}
    return {name: list(values.items()) for name, values in seen.items()}


def _matching(docs: list[Document], query: str, chosen: dict[str, str]) -> list[Document]:
    words = query.casefold().split()
    result = []
    for d in docs:
        if any(chosen[name] and chosen[name] != getattr(d, name) for name in ("clinic", "condition", "kind",
                                                                              "language")):
            continue
        if chosen["status"] and chosen["status"] != d.status.key:
            continue
        if chosen["variant"]:
            lead = d.copy(chosen["variant"])
            if lead is None:
                continue
            d = replace(d, lead=lead)
        if words and not all(w in d.words for w in words):
            continue
        result.append(d)
    return result


@dataclass(frozen=True)
class Group:
    heading: str
    language: str             # of the condition's name in the heading (its first document's)
    documents: list[Document]


def _groups(docs: list[Document], several_clinics: bool) -> list[Group]:
    groups: dict[tuple[str, str], Group] = {}
    for d in docs:
        key = (d.clinic, d.condition)
        if key not in groups:
            groups[key] = Group(f"{d.condition_name} · {d.clinic_name}" if several_clinics else d.condition_name,
                                d.language, [])
        groups[key].documents.append(d)
    return list(groups.values())


# --- views --------------------------------------------------------------------------------------------------------

def content_needed(view: Callable) -> Callable:
    """The view needs the content loaded: when it cannot be (content/catalogue.yaml unreadable, say), a page that
    says so, 503, rather than a server error."""
    @wraps(view)
    def guarded(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except BuildError as exc:
            return render(request, "web/unavailable.html", {"problems": [
                {"path": p.path, "line": p.line, "rule": p.rule} for p in exc.problems[:20]]}, status=503)
    return guarded


@require(*LIBRARY_ROLES)
@content_needed
@require_GET
def index(request: HttpRequest) -> HttpResponse:
    manifest = pipeline.manifest()
    library, clinics, docs = documents(request, manifest)
    query = request.GET.get("q", "").strip()[:200]
    chosen = {name: request.GET.get(name, "").strip()[:100] for name in FILTERS}
    options = _options(docs)
    shown = _matching(docs, query, chosen)
    labels = {"clinic": "Clinic", "condition": "Condition", "kind": "Kind of document", "language": "Language",
              "variant": "Copy", "status": "Status"}
    # A filter with one choice finds what no filter finds: the clinic's and the status's are left out then.
    several = {name for name in ("clinic", "status") if len(options[name]) > 1}
    return render(request, "web/library.html", {
        "built": bool(manifest.entries),
        "clinic_names": [library.clinics[c].clinic.name for c in clinics],
        "query": query,
        "filtering": bool(query or any(chosen.values())),
        "filters": [{"name": name, "label": labels[name],
                     "choices": [(value, text, value == chosen[name]) for value, text in options[name]]}
                    for name in FILTERS if name not in ("clinic", "status") or name in several],
        "groups": _groups(shown, len(clinics) > 1),
        "shown": len(shown),
        "total": len(docs),
        "behind": sum(d.status.key == "behind" for d in docs),
        "may_personalise": role(request.user) in PERSONALISE_ROLES,
    })


@require(*LIBRARY_ROLES)
@content_needed
@require_GET
def detail(request: HttpRequest, clinic: str, language: str, name: str) -> HttpResponse:
    document, copy = find(request, clinic, language, name)
    return render(request, "web/document.html", {
        "document": document, "copy": copy,
        "may_personalise": role(request.user) in PERSONALISE_ROLES and document.personalised,
        "personalise_url": document.personalise_url(copy) if document.personalised else "",
    })


@require(*LIBRARY_ROLES)
@content_needed
@require_GET
@xframe_options_sameorigin          # the document page shows it in an iframe of this site
def pdf(request: HttpRequest, clinic: str, language: str, name: str) -> HttpResponse:
    document, copy = find(request, clinic, language, name)
    data = (pipeline.output_dir() / copy.entry.path).read_bytes()
    download = request.GET.get("download") == "1"
    audit.record(request.user, "download" if download else "preview", clinic=clinic, document=copy.entry.path,
                 version=copy.entry.version, language=language, variant=copy.variant, detail=f"bytes={len(data)}")
    response = HttpResponse(data, content_type="application/pdf")
    response["Content-Disposition"] = f'{"attachment" if download else "inline"}; filename="{copy.filename}"'
    response["Cache-Control"] = "private, no-cache"
    response["ETag"] = f'"{hashlib.sha256(data).hexdigest()}"'
    return response


# First-page thumbnails, made once per PDF (by its bytes' sha256) and kept in memory: a cache safe to drop.
_THUMBNAILS: OrderedDict[str, bytes] = OrderedDict()
_THUMBNAILS_LOCK = threading.Lock()
THUMBNAILS_KEPT = 400


def first_page_png(data: bytes) -> bytes:
    """The first page at 30 dpi, by poppler's pdftoppm (the PDF on standard input, the PNG in a private temporary
    folder that is removed at once)."""
    key = hashlib.sha256(data).hexdigest()
    with _THUMBNAILS_LOCK:
        if key in _THUMBNAILS:
            _THUMBNAILS.move_to_end(key)
            return _THUMBNAILS[key]
    with tempfile.TemporaryDirectory(prefix="handouts-thumb-") as folder:
        subprocess.run(["pdftoppm", "-png", "-r", "30", "-f", "1", "-l", "1", "-singlefile", "-",
                        str(Path(folder) / "page")], input=data, check=True, capture_output=True, timeout=60)
        png = (Path(folder) / "page.png").read_bytes()
    with _THUMBNAILS_LOCK:
        _THUMBNAILS[key] = png
        while len(_THUMBNAILS) > THUMBNAILS_KEPT:
            _THUMBNAILS.popitem(last=False)
    return png


@require(*LIBRARY_ROLES)
@content_needed
@require_GET
def thumbnail(request: HttpRequest, clinic: str, language: str, name: str) -> HttpResponse:
    document, copy = find(request, clinic, language, name)
    try:
        png = first_page_png((pipeline.output_dir() / copy.entry.path).read_bytes())
    except (subprocess.SubprocessError, OSError):
        raise Http404() from None
    response = HttpResponse(png, content_type="image/png")
    response["Cache-Control"] = "private, max-age=3600"
    return response
