"""Render stage: Markdown blocks and Jinja templates to one HTML string per document.

Templates get data only; they never read files or the clock. A missing variable is an error (StrictUndefined).
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from functools import lru_cache
from urllib.parse import urlsplit, urlunsplit
from pathlib import Path
from typing import Any

import jinja2
import segno
from babel import dates as babel_dates
from markupsafe import Markup, escape

from . import files, markdown_ext
from .fill import fill
from .content import Library
from .models import BLEED_PT, Condition, Kind, Patient, Strings
from .plan import Job
from .problems import BuildError, Problem, relpath, shorten


def locale_tag(strings: Strings, country: str) -> str:
    """The language tag of a clinic's documents in this language (strings.yaml html_lang), e.g. en-GB."""
    return strings.html_lang.get(country, strings.html_lang["default"])


def format_date(value: dt.date, strings: Strings, country: str) -> str:
    """A date as the locale writes it in full (Babel's CLDR data): 25 November 2026 in en-GB, November 25, 2026 in
    en-US, 16 de noviembre de 2026 in es."""
    return babel_dates.format_date(value, format="long", locale=locale_tag(strings, country).replace("-", "_"))


@lru_cache(maxsize=256)
def qr_svg(url: str, colour: str, size_mm: float, label: str = "QR code") -> Markup:
    """The URL as a QR code in vector form: segno encodes it, each dark run becomes a rectangle of one path."""
    code = segno.make(url, error="m")
    rows = list(code.matrix_iter(scale=1, border=0))
    runs = []
    for y, row in enumerate(rows):
        x = 0
        while x < len(row):
            if row[x]:
                start = x
                while x < len(row) and row[x]:
                    x += 1
                runs.append(f"M{start} {y}h{x - start}v1h-{x - start}z")
            else:
                x += 1
    n = len(rows)
    return Markup(f'<svg xmlns="http://www.w3.org/2000/svg" class="qr" viewBox="0 0 {n} {n}" '
                  f'width="{size_mm}mm" height="{size_mm}mm" role="img">'
                  f'<title>{escape(label)}: {escape(url)}</title><path fill="{escape(colour)}" d="{"".join(runs)}"/></svg>')


def document_url(pattern: str, clinic: str, language: str, condition: str, kind: str) -> str:
    """A document's address online: a clinic's `document_url` with its placeholders filled in."""
    return fill(pattern, clinic=clinic, language=language, condition=condition, kind=kind)


def versioned(url: str, version: str) -> str:
    """The address with the document's version as the query parameter `v` (`?v=2.0`, or `&v=2.0` after a query
    the address has already): what the QR code encodes, so that the page it opens knows which paper copy was
    scanned."""
    parts = urlsplit(url)
    query = f"{parts.query}&v={version}" if parts.query else f"v={version}"
    return urlunsplit(parts._replace(query=query))


def cmyk(values: tuple[float, float, float, float]) -> str:
    return "device-cmyk(" + " ".join(f"{v / 100:.3g}" for v in values) + ")"


def document_title(strings: Strings, kind: Kind, condition: Condition) -> str:
    """A document's title as its first page prints it: the kind's title string with the condition's name."""
    return fill(getattr(strings, kind.title), condition=condition.name)


def _patient_view(patient: Patient, strings: Strings, country: str) -> dict[str, str | None]:
    """A patient's details as printed: dates are written the clinic's way."""
    view = patient.model_dump()
    for key in ("date_of_birth", "procedure_date", "first_consultation", "leaflet_given"):
        if view[key] is not None:
            view[key] = format_date(view[key], strings, country)
    return view


def unbroken(value: str) -> str:
    """Spaces between digits and before a separator dot made non-breaking: a wrapped line never splits a phone
    number or starts with a separator."""
    return re.sub(r"(?<=[\d)]) (?=\d)| (?=·)", "\u00a0", str(value))


def direction(value: str | None) -> str:
    """"rtl" when the first letter with a strong direction is right-to-left (Arabic, Urdu, Hebrew), else "ltr":
    what HTML's dir="auto" would decide, which WeasyPrint does not implement."""
    for char in str(value or ""):
        kind = unicodedata.bidirectional(char)
        if kind in ("R", "AL"):
            return "rtl"
        if kind == "L":
            return "ltr"
    return "ltr"


def css_string(value: str) -> Markup:
    """A value quoted for use as a CSS string inside a <style> element. Each escape ends with a space, which CSS
    takes as part of the escape: without it, a space that follows the escaped character would be lost."""
    escaped = "".join(ch if ch.isalnum() or ch in " .,-_:/()'" else f"\\{ord(ch):06x} " for ch in str(value))
    return Markup(f'"{escaped}"')


class _Templates(jinja2.FileSystemLoader):
    """Templates read as content is: regular files inside the project, of a sane size, in UTF-8 (files.py)."""

    def __init__(self, root: Path):
        super().__init__(root / "templates")
        self.root = root

    def get_source(self, environment: jinja2.Environment, template: str) -> tuple[str, str, Any]:
        file = Path(self.searchpath[0], *jinja2.loaders.split_template_path(template))
        if not file.exists() and not file.is_symlink():
            raise jinja2.TemplateNotFound(template)
        text = files.read_text(file, f"templates/{template}", self.root)
        mtime = file.stat().st_mtime
        return text, str(file), lambda: file.exists() and file.stat().st_mtime == mtime


class Renderer:
    """Holds one Jinja environment and one Markdown instance; reuse it across documents."""

    def __init__(self, root: Path):
        self.root = root
        self.templates = root / "templates"
        self.env = jinja2.Environment(
            loader=_Templates(root),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.env.filters["css_string"] = css_string
        self.env.filters["unbroken"] = unbroken
        self.env.filters["fill"] = fill
        self.env.filters["direction"] = direction
        self.md = markdown_ext.make_markdown(root / "content")
        self._blocks: dict[tuple[str, Path], str] = {}     # a block's HTML, converted once per process

    def block_html(self, text: str, folder: Path) -> str:
        key = (text, folder)
        if key not in self._blocks:
            self._blocks[key] = markdown_ext.convert(self.md, text, folder)
        return self._blocks[key]

    def compile_all(self) -> list[Problem]:
        """Compile every template, so that a syntax error is found even in one no document uses yet."""
        problems = []
        for name in self.env.list_templates(extensions=["html", "css"]):
            try:
                self.env.get_template(name)
            except jinja2.TemplateSyntaxError as exc:
                problems.append(Problem(f"templates/{name}", exc.lineno, f"template: {exc.message}", "template"))
            except BuildError as exc:
                problems += exc.problems
        return problems

    def context(self, library: Library, job: Job, patient: Patient) -> dict[str, Any]:
        lang = library.languages[job.language]
        strings = lang.strings
        assert strings is not None
        clinic = job.clinic.clinic.in_language(job.language)
        sections = []
        sources: dict[str, Any] = {}
        for section in job.sections:
            block = section.block
            html = self.block_html(block.body, block.file.parent)
            sections.append({"role": section.role, "id": block.meta.id, "title": block.meta.title,
                             "html": Markup(html), "version": block.meta.version,
                             "sources": list(block.meta.sources)})
            for source in block.meta.sources:
                sources.setdefault(str(source.url), source)
        s = strings.model_dump()
        title = document_title(strings, job.kind, job.condition)
        variant = library.variants[job.variant]
        in_cmyk = variant.colour == "cmyk"
        colours = ({k: cmyk(v) for k, v in clinic.print.colours} if in_cmyk else dict(clinic.colours))
        urls = {kind: document_url(clinic.document_url, job.clinic.id, job.language, job.condition_id, kind)
                for kind in library.kinds}
        url = urls[job.kind_id]
        return {
            "lang": job.language,
            "s": s,
            "clinic": clinic,
            "variant": {"name": job.variant, "colour": variant.colour,
                        "bleed": clinic.print.bleed, "bleed_mm": BLEED_PT[clinic.print.bleed] * 25.4 / 72 if in_cmyk else 0,
                        "page_margin_mm": variant.page_margin_mm},
            "colours": colours,
            "document_url": url,                      # printed as text: the plain address
            "document_urls": urls,                    # every kind's address, for pointers to the others
            # The address of this version, named in the document's language for a screen reader.
            "qr": qr_svg(versioned(url, job.version), colours["text"], 24, s.get("qr_label", "QR code")),
            "logo_url": (job.clinic.folder / (clinic.print.logo if in_cmyk else clinic.logo)).resolve().as_uri(),
            "document": {
                "title": title,
                "kind": job.kind_id,
                "variant": job.variant,
                "condition": job.condition.name,
                "condition_id": job.condition_id,
                "procedure": job.condition.procedure,
                "version": job.version,
                "versions": {k: v.version for k, v in job.condition.documents.items()},
                "last_reviewed": format_date(job.last_reviewed, strings, clinic.country),
                "review_due": format_date(job.review_due, strings, clinic.country),
                "created": job.last_reviewed.isoformat(),
                "modified": max(s.block.meta.last_reviewed for s in job.sections).isoformat(),
                "draft": job.draft,
            },
            "sections": sections,
            "sources": list(sources.values()),
            "patient": _patient_view(patient, strings, clinic.country),
        }

    def render(self, library: Library, job: Job, patient: Patient = Patient()) -> str:
        context = self.context(library, job, patient)
        try:
            return self.env.get_template(job.kind.template).render(context)
        except jinja2.TemplateSyntaxError as exc:
            path = relpath(Path(exc.filename), self.root) if exc.filename else f"templates/{exc.name}"
            raise BuildError([Problem(path, exc.lineno, f"template: {exc.message}", "template")]) from None
        except jinja2.TemplateNotFound as exc:
            raise BuildError([Problem(library.kind_paths[job.kind_id], 1,
                                      f"template '{exc.name}' not found in templates/", "template")]) from None
        except jinja2.UndefinedError as exc:
            path, line = _template_location(exc, self.root)
            raise BuildError([Problem(path, line, f"template: {exc.message}", "template")]) from None
        except BuildError:
            raise
        except Exception as exc:      # any other error of a template's own making, e.g. {{ 1 // 0 }}
            path, line = _template_location(exc, self.root)
            raise BuildError([Problem(path, line, f"template: {type(exc).__name__}: {shorten(str(exc))}",
                                      "template")]) from None


def _template_location(exc: BaseException, root: Path) -> tuple[str, int]:
    """The innermost template frame of a rendering error's traceback."""
    tb = exc.__traceback__
    found = ("templates", 1)
    while tb is not None:
        filename = tb.tb_frame.f_code.co_filename
        if filename.endswith(".html") or filename.endswith(".css"):
            found = (relpath(Path(filename), root), tb.tb_lineno)
        tb = tb.tb_next
    return found
