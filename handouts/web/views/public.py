"""The public page each QR code opens, with no sign-in: a document's current version as a web page, its screen and
large-print PDFs, every source, and, when the paper copy scanned is older, what changed since.

The page is made from the pipeline's own render context (the same sanitised blocks, title and sources as the PDF);
it holds no patient data, so it may be cached, and it sets no cookie."""

from __future__ import annotations

import base64
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.template import loader
from django.urls import reverse
from django.utils.safestring import SafeString, mark_safe

from ... import contrast
from ...content import Library
from ...fill import fill
from ...models import VariantName, Patient, version_key
from ...plan import Job, Selection, plan
from ...publish import document_path, inside
from ...render import Renderer
from .. import pipeline

# The variants anyone may download: the print master is the print shop's.
PUBLIC_VARIANTS: tuple[VariantName, ...] = ("screen", "large-print")
# Kinds whose template prints only some of their blocks' text (the research document lists the leaflet's and the
# form's blocks for their sources only); the page shows the same, with every source.
TEXT_ROLES = {"evidence": ("evidence", "trial-eligibility")}
KEY_ROLES = ("key-facts", "key-alternatives")
CACHE = "public, max-age=300"       # no patient data here: five minutes in any cache is fine

_LOCK = threading.Lock()
_RENDERER: tuple[Library, Renderer] | None = None


def _context(library: Library, job: Job) -> dict[str, Any]:
    """The pipeline's render context for `job` (blank patient): one Renderer per loaded library, as its Markdown
    instance is not shared between threads and its cache of block HTML belongs to that content."""
    global _RENDERER
    with _LOCK:
        if _RENDERER is None or _RENDERER[0] is not library:
            _RENDERER = (library, Renderer(library.root))
        return _RENDERER[1].context(library, job, Patient())


@dataclass(frozen=True)
class Found:
    library: Library
    job: Job | None            # None: the catalogue has the document but it cannot be shown now


def _find(clinic: str, language: str, condition: str, kind: str) -> Found | None:
    """The screen job of the document, as the catalogue plans it today; None when there is no such document."""
    library, _ = pipeline.loaded()
    the_plan = plan(library, Selection(clinic, language, condition, kind, "screen"))
    # Errors in its content, or a translation behind its source: its last good PDFs may exist, the page not (it
    # would show text its source has moved on from).
    if the_plan.failed or the_plan.behind:
        return Found(library, None)
    if len(the_plan.jobs) != 1:
        return None
    job = the_plan.jobs[0]
    return Found(library, None if job.draft else job)    # a draft is not for patients


def _strings(library: Library, language: str) -> dict[str, Any]:
    lang = library.languages.get(language) or next(iter(library.languages.values()), None)
    return lang.strings.model_dump() if lang and lang.strings else {}


def _missing(library: Library | None, clinic: str, language: str, unavailable: bool) -> HttpResponse:
    """The not-found page of the public routes, in the document's language where known, with the clinic's
    contact details when the clinic is known."""
    s = _strings(library, language) if library else {}
    config = library.clinics.get(clinic) if library else None
    html = loader.render_to_string("web/public_missing.html", {
        "s": s, "clinic": config.clinic.in_language(language) if config else None, "unavailable": unavailable,
        "lang": s.get("html_lang", {}).get(config.clinic.country, s.get("html_lang", {}).get("default", "en"))
        if config and s else "en",
        "brand_css": reverse("public_brand", args=[clinic]) if config else None,
        "logo": _logo(library, clinic) if config else None,
    })
    return HttpResponse(html, status=404)


def _logo(library: Library, clinic: str) -> str:
    """The clinic's screen logo as a data: address: an <img> never runs a script an SVG may hold."""
    config = library.clinics[clinic]
    data = (config.folder / config.clinic.logo).read_bytes()
    kind = "image/svg+xml" if config.clinic.logo.lower().endswith(".svg") else "image/png"
    return f"data:{kind};base64,{base64.b64encode(data).decode('ascii')}"


_FILE_IMAGE = re.compile(r'<img\b[^>]*?\balt="([^"]*)"[^>]*?>|<img\b[^>]*>')


def _web_html(html: str) -> SafeString:
    """A block's HTML (sanitised by the pipeline) for the web: its images point at files inside the project (file:
    addresses, for the printer), which a browser cannot open and a visitor must not see; each becomes its alt
    text."""
    def replace(match: re.Match) -> str:
        tag = match.group(0)
        if 'src="file:' not in tag:
            return tag
        return f'<span class="image-text">{match.group(1) or ""}</span>'
    return mark_safe(_FILE_IMAGE.sub(replace, str(html)))


def _pdfs(clinic: str, language: str, condition: str, kind: str) -> list[dict[str, Any]]:
    """The public variants of the document the last build made (from its manifest), present in the output."""
    found = []
    output = pipeline.output_dir()
    for entry in pipeline.entries():
        if ((entry.clinic, entry.language, entry.condition, entry.kind) == (clinic, language, condition, kind)
                and entry.variant in PUBLIC_VARIANTS and inside(output, entry.path)):
            found.append({"variant": entry.variant, "version": entry.version, "pages": entry.pages,
                          "kb": max(1, round((output / entry.path).stat().st_size / 1024)),
                          "url": reverse("public_pdf", args=[clinic, language, condition, kind, entry.variant])})
    return sorted(found, key=lambda p: PUBLIC_VARIANTS.index(p["variant"]))


def _source(source: Any, language: str) -> dict[str, Any]:
    """A source as listed: its identifiers only where its address does not already show them, and its own language
    where it is not the page's (a cited work keeps its title)."""
    url = str(source.url)
    return {"title": source.title, "publisher": source.publisher, "url": url,
            "lang": source.language if source.language != language else None,
            "doi": source.doi if source.doi and source.doi.lower() not in url.lower() else None,
            "pmid": source.pmid if source.pmid and source.pmid not in url else None, "registry": source.registry}


def _seen_version(request: HttpRequest) -> str | None:
    value = request.GET.get("v", "")
    return value if re.fullmatch(r"\d{1,4}\.\d{1,4}", value) else None


def page(request: HttpRequest, clinic: str, language: str, condition: str, kind: str) -> HttpResponse:
    found = _find(clinic, language, condition, kind)
    if found is None or found.job is None:
        library = found.library if found else pipeline.loaded()[0]
        return _missing(library, clinic, language, unavailable=found is not None)
    library, job = found.library, found.job
    context = _context(library, job)
    s, doc = context["s"], context["document"]
    clinic_model = job.clinic.clinic.in_language(language)      # its footer, legal route and costs in this language
    version = job.condition.documents[kind]
    seen = _seen_version(request)
    newer = None
    if seen and version_key(seen) < version_key(version.version):
        newer = {"text": fill(s["online_newer_text"], old=seen, new=version.version),
                 "changes": version.changes_since(seen)}
    sections = [dict(section, html=_web_html(section["html"])) for section in context["sections"]]
    by_role = {section["role"]: section for section in sections}
    shown = TEXT_ROLES.get(kind)
    body = [section for section in sections if section["role"] not in KEY_ROLES
            and (shown is None or section["role"] in shown)]
    others = [{"title": fill(s[library.kinds[k].title], condition=job.condition.name),
               "url": reverse("public", args=[clinic, language, condition, k])}
              for k in job.condition.documents if k != kind and k in library.kinds
              and k in library.catalogue.kinds]
    html = loader.render_to_string("web/public.html", {
        "s": s,
        "lang": s["html_lang"].get(clinic_model.country, s["html_lang"]["default"]),
        "clinic": clinic_model,
        "clinic_id": clinic,
        "tel": re.sub(r"[^0-9+]", "", clinic_model.contact.phone),
        "logo": _logo(library, clinic),
        "brand_css": reverse("public_brand", args=[clinic]),
        "document": doc,
        "subtitle": s.get(f"{kind}_subtitle", ""),
        "newer": newer,
        "history": list((version.changes or {}).items()),
        "key_facts": by_role.get("key-facts") if shown is None else None,
        "key_alternatives": by_role.get("key-alternatives") if shown is None else None,
        "sections": body,
        "is_form": kind == "consent",
        "is_research": shown is not None,
        "sources": [_source(source, language) for source in context["sources"]],
        "pdfs": _pdfs(clinic, language, condition, kind),
        "others": others,
        "other_heading": fill(s["online_other_documents"], condition=job.condition.name),
    })
    response = HttpResponse(html)
    response["Cache-Control"] = CACHE
    return response


def pdf(request: HttpRequest, clinic: str, language: str, condition: str, kind: str, variant: str) -> HttpResponse:
    """The screen or large-print PDF of a document that is public now, as the last build made it. Only a path the
    manifest lists, of the catalogue's shape, inside the output folder through no link, is ever opened."""
    if variant not in PUBLIC_VARIANTS:
        raise Http404()
    found = _find(clinic, language, condition, kind)
    if found is None or found.job is None:
        raise Http404()
    path = f"{clinic}/{language}/{condition}-{kind}-{variant}.pdf"
    listed = {entry.path for entry in pipeline.entries()}
    output = pipeline.output_dir()
    if path not in listed or not document_path(path, clinic, language, condition, kind, variant) \
            or not inside(output, path):
        raise Http404()
    response = FileResponse((output / path).open("rb"), content_type="application/pdf",
                            filename=Path(path).name)
    response["Content-Disposition"] = f'inline; filename="{Path(path).name}"'
    response["Cache-Control"] = CACHE
    return response


def _readable_on(background: str, *candidates: str) -> str:
    """The first candidate colour with WCAG AA contrast (4.5:1) on `background`; else black or white, whichever
    contrasts more."""
    for colour in candidates:
        if contrast.ratio(colour, background) >= 4.5:
            return colour
    return max(("#000000", "#ffffff"), key=lambda c: contrast.ratio(c, background))


def brand(request: HttpRequest, clinic: str) -> HttpResponse:
    """The clinic's colours and fonts as CSS custom properties (the app's CSP allows no inline style), with text
    colours chosen to pass WCAG AA on the backgrounds they are used on."""
    library, _ = pipeline.loaded()
    config = library.clinics.get(clinic)
    if config is None:
        raise Http404()
    c = config.clinic.colours
    page_bg = c.background
    text = _readable_on(page_bg, c.text)
    heading = _readable_on(page_bg, c.primary, text)
    on_primary = _readable_on(c.primary, c.background, "#ffffff", c.text)
    panel = c.accent if contrast.ratio(text, c.accent) >= 4.5 and contrast.ratio(heading, c.accent) >= 4.5 \
        else page_bg
    fonts = config.clinic.fonts

    def family(name: str) -> str:
        return '"' + re.sub(r'[^A-Za-z0-9 -]', "", name) + '"'
    css = (":root {\n"
           f"  --clinic-primary: {c.primary};\n  --clinic-on-primary: {on_primary};\n"
           f"  --clinic-panel: {panel};\n  --clinic-text: {text};\n  --clinic-heading: {heading};\n"
           f"  --clinic-background: {page_bg};\n"
           f"  --clinic-body-font: {family(fonts.body)};\n  --clinic-heading-font: {family(fonts.headings)};\n"
           "}\n")
    response = HttpResponse(css, content_type="text/css; charset=utf-8")
    response["Cache-Control"] = CACHE
    return response
