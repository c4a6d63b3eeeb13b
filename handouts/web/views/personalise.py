"""Personalise: a consent form filled in with one patient's details, made in memory by the pipeline's one entry
point and handed back in the one response. The details travel only in the POST body; they are echoed back only
into the form of the same response (when a field needs correcting) and are never stored, logged or cached."""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass
from urllib.parse import quote

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from django.views.decorators.http import require_http_methods

from ...builder import NotOneDocument
from ...models import Strings, validate_patient
from ...plan import Job, Selection, plan
from ...problems import BuildError, Problem
from ...render import document_title, locale_tag
from .. import audit, pipeline
from ..access import PERSONALISE_ROLES, clinics_for, require
from .library import (PERSONALISED_KINDS, VARIANT_LABELS, VARIANT_ORDER, content_needed, kind_label,
                      language_label, language_name)

LOGGER = logging.getLogger(__name__)

# The patient's fields in the order the consent form prints them, each with the key of strings.yaml that labels it
# there (templates/consent.html), and whether it is a date. The names are handouts.models.Patient's.
FIELDS = (("name", "patient_name", False), ("date_of_birth", "date_of_birth", True),
          ("procedure", "procedure", False), ("clinician", "clinician", False),
          ("procedure_date", "procedure_date", True), ("leaflet_given", "leaflet_given_date", True),
          ("first_consultation", "first_consultation", True))
MAX_LENGTH = {"name": 200, "clinician": 200, "procedure": 500}     # as handouts.models.Patient allows
RECORDS_KEPT = 10       # the record lines of this session shown on the page (they name no patient)
SESSION_RECORDS = "handouts_records"


@dataclass(frozen=True)
class Target:
    """The document a personalise URL names, as the content makes it today."""

    selection: Selection
    job: Job | None                  # None when the document cannot be made (see problems, behind)
    problems: tuple[Problem, ...]
    strings: Strings
    title: str
    condition_name: str
    procedure: str
    clinic_name: str
    variants: tuple[str, ...]        # the variants this document comes in, for links to the others
    kind_label: str
    lang: str                        # the document's language tag (strings.yaml html_lang for the clinic's country)
    behind: tuple[Problem, ...] = ()     # a translation behind its source: each stale block (never filled in)
    source_language: str = ""            # the language the translation is behind

    @property
    def version(self) -> str:
        return self.job.version if self.job else ""

    @property
    def path(self) -> str:
        s = self.selection
        return f"{s.clinic}/{s.language}/{s.condition}-{s.kind}-{s.variant}.pdf"

    @property
    def filename(self) -> str:
        """From the document alone, never the patient."""
        s = self.selection
        return f"{s.clinic}-{s.language}-{s.condition}-{s.kind}-{s.variant}-filled-in.pdf"


def _target(request: HttpRequest, clinic: str, language: str, condition: str, kind: str, variant: str) -> Target:
    """The document, or 404: another clinic's, a kind without patient fields, or no document of the catalogue."""
    if clinic not in clinics_for(request.user, pipeline.clinic_ids()) or kind not in PERSONALISED_KINDS:
        raise Http404()
    library, _ = pipeline.loaded()
    selection = Selection(clinic, language, condition, kind, variant)
    found = plan(library, selection)
    lang = library.languages.get(language)
    topic = lang.conditions.get(condition) if lang else None
    kind_spec = library.kinds.get(kind)
    if (len(found.jobs) + len(found.failed) + len(found.behind) != 1 or lang is None or lang.strings is None
            or topic is None or kind_spec is None):
        raise Http404()
    every = plan(library, Selection(clinic, language, condition, kind))
    made = [job.variant for job in every.jobs] + [held.key.removeprefix(f"{clinic}/{language}/{condition}-{kind}-")
                                                  for held in every.behind]
    variants = sorted(set(made) | {variant}, key=lambda v: VARIANT_ORDER.index(v) if v in VARIANT_ORDER else 99)
    config = library.clinics[clinic]
    return Target(selection, found.jobs[0] if found.jobs else None,
                  found.failed[0].problems if found.failed else (), lang.strings,
                  document_title(lang.strings, kind_spec, topic), topic.name, topic.procedure,
                  config.clinic.name, tuple(variants), kind_label(library, kind),
                  locale_tag(lang.strings, config.clinic.country),
                  found.behind[0].problems if found.behind else (),
                  getattr(library.translation, "source_language", "") or "")


def _labels(strings: Strings) -> dict[str, str]:
    return {name: str(getattr(strings, key)) for name, key, _ in FIELDS}


def _field_errors(problems: list[Problem], labels: dict[str, str]) -> tuple[dict[str, str], list[str]]:
    """Each problem of validate_patient beside its field (its message begins with the field's key), in the words
    of the form: a key becomes its label. Problems of no one field are the form's."""
    def worded(text: str) -> str:
        return re.sub(r"'([a-z_]+)'", lambda m: f"“{labels[m[1]]}”" if m[1] in labels else m[0], text)

    fields: dict[str, str] = {}
    general: list[str] = []
    for problem in problems:
        match = re.match(r"'([a-z_]+)':?\s*(.*)", problem.message)
        if match and match[1] in labels:
            fields.setdefault(match[1], f"{labels[match[1]]} {worded(match[2])}".rstrip())
        elif problem.message.startswith("no details are given"):
            general.append("Fill in at least one field. For a blank form, download the form from the library.")
        else:
            general.append(worded(problem.message))
    return fields, general


def _page(request: HttpRequest, target: Target, values: dict[str, str] | None = None,
          errors: dict[str, str] | None = None, general: list[str] | None = None,
          failure: list[Problem] | None = None, status: int = 200) -> HttpResponse:
    values, errors = values or {}, errors or {}
    labels = _labels(target.strings)
    today = pipeline.today()
    fields = []
    for name, _, is_date in FIELDS:
        hint = target.procedure if name == "procedure" else ""      # what a blank procedure prints
        described = " ".join(i for i in ((f"hint-{name}" if hint else ""), (f"error-{name}" if name in errors else ""))
                             if i)
        fields.append({"name": name, "label": labels[name], "type": "date" if is_date else "text",
                       "value": values.get(name, ""), "error": errors.get(name, ""), "hint": hint,
                       "describedby": described, "maxlength": MAX_LENGTH.get(name),
                       "max": today.isoformat() if name == "date_of_birth" else ""})
    s = target.selection
    response = render(request, "web/personalise.html", {
        "target": target,
        "fields": fields,
        "field_errors": [f for f in fields if f["error"]],
        "general": general or [],
        "failure": [{"rule": p.rule, "path": p.path} for p in failure] if failure is not None else None,
        "behind": _behind_line(target),
        "kind_label": target.kind_label,
        "language_label": language_label(s.language),
        "variant_label": VARIANT_LABELS.get(s.variant, s.variant),
        "variants": [{"label": VARIANT_LABELS.get(v, v), "current": v == s.variant,
                      "url": reverse("personalise", kwargs={"clinic": s.clinic, "language": s.language,
                                                            "condition": s.condition, "kind": s.kind, "variant": v})}
                     for v in target.variants],
        "document_url": reverse("document", kwargs={"clinic": s.clinic, "language": s.language,
                                                    "name": f"{s.condition}-{s.kind}-{s.variant}"}),
        "records": list(reversed(request.session.get(SESSION_RECORDS, []))),
    }, status=status)
    response["Cache-Control"] = "no-store"
    return response


def _behind_line(target: Target) -> dict | None:
    """Why a form behind its source cannot be filled in: one line, and the stale blocks (path:line)."""
    if not target.behind:
        return None
    source = f"its {language_name(target.source_language)} source" if target.source_language else "its source"
    return {"text": f"This {language_name(target.selection.language)} form cannot be filled in: its translation is "
                    f"behind {source} and must be updated first.",
            "blocks": sorted({f"{p.path}:{p.line}" for p in target.behind})}


def record_line(target: Target, username: str) -> str:
    """The line to paste into the patient's record: what was given, when and by whom; nothing of the patient."""
    s = target.selection
    return (f"{target.title}, version {target.version}, {s.language}, {s.variant}, given "
            f"{pipeline.today().isoformat()} by {username}")


@require(*PERSONALISE_ROLES)
@content_needed
@require_http_methods(["GET", "POST"])
@sensitive_post_parameters()      # an error report, were one ever made, shows neither the form nor the locals
@sensitive_variables()
def form(request: HttpRequest, clinic: str, language: str, condition: str, kind: str, variant: str) -> HttpResponse:
    target = _target(request, clinic, language, condition, kind, variant)
    if target.behind:               # never a PDF of a translation behind its source, whatever was sent
        if request.method == "POST":
            audit.record(request.user, "personalise-failed", clinic=clinic, document=target.path, language=language,
                         variant=variant, detail="behind its source")
        return _page(request, target, status=200 if request.method == "GET" else 400)
    if request.method == "GET":
        return _page(request, target, failure=list(target.problems) if target.job is None else None)
    values = {name: request.POST.get(name, "") for name, _, _ in FIELDS}
    action = "preview" if request.POST.get("action") == "preview" else "download"
    today = pipeline.today()
    patient, problems = validate_patient({k: v for k, v in values.items() if v.strip()}, "form", today)
    if patient is None:
        errors, general = _field_errors(problems, _labels(target.strings))
        return _page(request, target, values, errors, general, status=400)
    started = time.perf_counter()
    try:
        pdf, problems = pipeline.personaliser().personalise(target.selection, today, patient)
    except (BuildError, NotOneDocument) as exc:
        pdf, problems = None, list(getattr(exc, "problems", []))
    except Exception as exc:        # never its message or traceback: either could quote the details
        LOGGER.error("personalise %s failed: %s", target.path, type(exc).__name__)
        pdf, problems = None, []
    ms = round((time.perf_counter() - started) * 1000)
    if pdf is None:
        audit.record(request.user, "personalise-failed", clinic=clinic, document=target.path,
                     version=target.version, language=language, variant=variant, detail=f"ms={ms}")
        return _page(request, target, values, failure=[p for p in problems if p.severity == "error"] or problems,
                     status=400)
    audit.record(request.user, "personalise", clinic=clinic, document=target.path, version=target.version,
                 language=language, variant=variant, detail=f"action={action} bytes={len(pdf)} ms={ms}")
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = (f'{"attachment" if action == "download" else "inline"}; '
                                       f'filename="{target.filename}"')
    response["Cache-Control"] = "no-store"
    if action == "download":
        line = record_line(target, request.user.get_username())
        request.session[SESSION_RECORDS] = (request.session.get(SESSION_RECORDS, []) + [line])[-RECORDS_KEPT:]
        response["X-Handouts-Record"] = quote(line, safe=" ,.:;()/'-")
    # A new session key, so that the browser keeps no page of this exchange in its back/forward cache.
    request.session.cycle_key()
    return response
