"""Print stage: HTML to PDF with WeasyPrint, in each variant, with bundled fonts, a locked-down fetcher and
stable bytes."""

from __future__ import annotations

import calendar
import hashlib
import logging
import os
import re
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator
from urllib.parse import unquote, urlsplit

from . import fonts, marks
from .filesource import FetchRefused, FileSource, ProjectFiles, profile, stylesheets, templates_url

# Before WeasyPrint (and with it fontconfig) is loaded: fontconfig sees the bundled fonts and nothing else.
fonts.use_bundled_fonts_only()

import pydyf  # noqa: E402
import weasyprint  # noqa: E402
from weasyprint.html import element_has_link_type  # noqa: E402
from weasyprint.text.fonts import FontConfiguration  # noqa: E402
from weasyprint.urls import URLFetcher, URLFetcherResponse  # noqa: E402

from .printjob import PrintJob
from .problems import BuildError, Problem

LOGGER = logging.getLogger(__name__)
STYLESHEETS_KEPT = 64      # parsed combinations of fonts, stylesheets and profile a printer keeps, the oldest dropped


class ProjectFetcher(URLFetcher):
    """Serves `file:` URLs from a file source (the project's content, templates and fonts) and nothing else: no
    network, no other files. The source is the printer's own, or the one that came with the document."""

    def __init__(self, files: FileSource | None):
        super().__init__(allowed_protocols={"file"}, allow_redirects=False)
        self.files = files
        self.refused: list[str] = []

    def fetch(self, url: str, headers: dict | None = None) -> URLFetcherResponse:
        parts = urlsplit(url)
        if parts.scheme != "file" or parts.netloc not in ("", "localhost") or self.files is None:
            self.refused.append(url)
            raise FetchRefused(f"refused to fetch {url}: only files inside the project are allowed")
        try:
            found = self.files.read(Path(unquote(parts.path)))
        except FetchRefused as exc:
            self.refused.append(url)
            raise FetchRefused(f"refused to fetch {url}: {exc}") from None
        return URLFetcherResponse(found.resolved.as_uri(), found.data)


class _Collector(logging.Handler):
    """Collects WeasyPrint's warnings and errors while one document is printed."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@contextmanager
def collect_warnings() -> Iterator[_Collector]:
    collector = _Collector()
    logger = logging.getLogger("weasyprint")
    logger.addHandler(collector)
    propagate, logger.propagate = logger.propagate, False   # reported once, as problems naming the block
    try:
        yield collector
    finally:
        logger.removeHandler(collector)
        logger.propagate = propagate


def _stable_uuid(digest: str) -> str:
    return str(uuid.UUID(hex=hashlib.sha256(f"xmp {digest}".encode()).hexdigest()[:32]))


def _print_finisher(job: PrintJob, files: FileSource):
    """Finish a PDF/X-4 master: a document ID derived from the inputs instead of a random one, and the output
    condition named as print shops expect it. (Crop marks are added to the written PDF: see `marks`.)"""

    def finish(document: weasyprint.document.Document, pdf: pydyf.PDF) -> None:
        for obj in pdf.objects:
            if isinstance(obj, pydyf.Stream) and obj.extra.get("Type") == "/Metadata":
                obj.stream = [re.sub(rb"xmp\.did:[0-9a-f-]{36}", f"xmp.did:{_stable_uuid(job.digest)}".encode(),
                                     part if isinstance(part, bytes) else str(part).encode())
                              for part in obj.stream]
        if job.profile is not None and job.profile_file is not None:
            for intent in pdf.catalog.get("OutputIntents", []):
                intent["OutputConditionIdentifier"] = pydyf.String(job.profile.condition)
                intent["OutputCondition"] = pydyf.String(job.profile.description)
                intent["RegistryName"] = pydyf.String(str(job.profile.registry))
                intent["Info"] = pydyf.String(job.profile.description)
                # Embed the shipped profile as it is: WeasyPrint re-serialises it through LittleCMS, which
                # doubles its size and does not give the same bytes every time.
                number = int(intent["DestOutputProfile"].split()[0])
                pdf.objects[number].stream = [files.read(job.profile_file).data]

    return finish


class Printer:
    """One per process: font configuration, fetcher and parsed stylesheets are made once and reused.

    Made with a project's root (and the font families its clinics use), it reads that project's files from disk;
    made without, every document brings its own files (`write(job, files)`): a Dask worker's printer, which
    serves many builds of many projects."""

    def __init__(self, root: Path | None = None, families: list[str] | tuple[str, ...] = ()):
        self.files: FileSource | None = ProjectFiles(root, families) if root is not None else None
        self.fetcher = ProjectFetcher(self.files)
        self.font_config = FontConfiguration()
        self._stylesheets: dict[tuple, tuple[list[weasyprint.CSS], dict]] = {}

    @property
    def templates(self) -> Path:
        assert self.files is not None, "a printer made without a project has no templates folder"
        return self.files.root / "templates"

    def _css(self, **kwargs) -> weasyprint.CSS:
        return weasyprint.CSS(font_config=self.font_config, url_fetcher=self.fetcher, **kwargs)

    def stylesheets(self, job: PrintJob, files: FileSource) -> tuple[list[weasyprint.CSS], dict]:
        """Parsed stylesheets and colour profiles for a combination of fonts, variant and profile; cached by what
        the files hold (a long-lived printer sees new versions of them) and where they are (what their relative
        references resolve against)."""
        sheets, colour = stylesheets(job, files.root), profile(job)
        key = (job.families, str(files.root), *(files.digest(sheet) for sheet in sheets),
               files.digest(colour) if colour is not None else None)
        if key not in self._stylesheets:
            profiles: dict = {}
            with collect_warnings() as warnings:
                parsed = [self._css(string=fonts.font_faces(list(job.families)))]
                parsed += [self._css(url=sheet.as_uri()) for sheet in sheets]
                if colour is not None:
                    parsed.append(self._css(color_profiles=profiles, string=(
                        f'@color-profile device-cmyk {{ src: url("{colour.absolute().as_uri()}"); '
                        "components: cyan, magenta, yellow, black }")))
            if warnings.messages:
                raise BuildError([Problem("templates/print.css", 1, f"stylesheet, fonts or profile: {m}",
                                          "weasyprint") for m in warnings.messages])
            if len(self._stylesheets) >= STYLESHEETS_KEPT:       # a long-lived printer sees many versions
                del self._stylesheets[next(iter(self._stylesheets))]
            self._stylesheets[key] = (parsed, profiles)
        return self._stylesheets[key]

    def write(self, job: PrintJob, files: FileSource | None = None) -> tuple[bytes, int]:
        """Print to PDF bytes and the page count, reading the files `job` refers to from `files` (by default the
        printer's project). Any warning, refused fetch or attachment is an error."""
        files = files or self.files
        assert files is not None, "a printer made without a project is given each document's files"
        self.fetcher.files = files
        stylesheets, profiles = self.stylesheets(job, files)
        self.fetcher.refused.clear()
        # fontTools stamps the time into the fonts it writes (WeasyPrint uses it to make a variable font static)
        # unless SOURCE_DATE_EPOCH is set: use the document's own date.
        os.environ["SOURCE_DATE_EPOCH"] = str(calendar.timegm(job.created.timetuple()))
        with collect_warnings() as warnings:
            document = weasyprint.HTML(string=job.html, base_url=templates_url(files.root),
                                       url_fetcher=self.fetcher)
            # WeasyPrint's own reading of rel (any case, one of several link types), so nothing it attaches slips by.
            if any(element_has_link_type(el, "attachment") for el in document.etree_element.iter()):
                raise BuildError([Problem(job.source, 1, "attachments are not allowed in a handout", "fetch")])
            cmyk = job.variant.colour == "cmyk"
            rendered = document.render(stylesheets=stylesheets, font_config=self.font_config,
                                       color_profiles=profiles if cmyk else None,
                                       pdf_variant=job.variant.pdf_variant)
            pdf = rendered.write_pdf(
                pdf_identifier=hashlib.sha256(f"id {job.digest}".encode()).hexdigest()[:32].encode(),
                pdf_variant=job.variant.pdf_variant,
                finisher=_print_finisher(job, files) if cmyk else None,
            )
        problems = [Problem(job.source, 1, f"refused fetch: {url}", "fetch") for url in self.fetcher.refused]
        problems += [Problem(job.source, 1, f"WeasyPrint: {m}", "weasyprint") for m in warnings.messages
                     if not any(url in m for url in self.fetcher.refused)]
        if problems:
            raise BuildError(problems)
        if job.crop_marks is not None:
            pdf = marks.add(pdf, job.crop_marks)
        return pdf, len(rendered.pages)
