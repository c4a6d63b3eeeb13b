"""Print stage: HTML to PDF with WeasyPrint, with bundled fonts, a locked-down fetcher and stable bytes."""

from __future__ import annotations

import hashlib
import logging
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator
from urllib.parse import unquote, urlsplit

import fontpkg
import weasyprint
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import URLFetcher, URLFetcherResponse

from .models import Clinic
from .problems import BuildError, Problem

LOGGER = logging.getLogger(__name__)


class FetchRefused(ValueError):
    pass


class ProjectFetcher(URLFetcher):
    """Serves `file:` URLs inside the allowed folders and nothing else: no network, no other files."""

    def __init__(self, allowed: tuple[Path, ...]):
        super().__init__(allowed_protocols={"file"}, allow_redirects=False)
        self.allowed = tuple(p.resolve() for p in allowed)
        self.refused: list[str] = []

    def fetch(self, url: str, headers: dict | None = None) -> URLFetcherResponse:
        parts = urlsplit(url)
        if parts.scheme != "file" or parts.netloc not in ("", "localhost"):
            self.refused.append(url)
            raise FetchRefused(f"refused to fetch {url}: only files inside the project are allowed")
        path = Path(unquote(parts.path)).resolve()
        if not any(path.is_relative_to(folder) for folder in self.allowed):
            self.refused.append(url)
            raise FetchRefused(f"refused to fetch {url}: outside the project's content, templates and fonts")
        if not path.is_file():
            raise FileNotFoundError(f"no such file: {path}")
        return URLFetcherResponse(path.as_uri(), path.read_bytes())


class _Collector(logging.Handler):
    """Counts WeasyPrint's warnings and errors while one document is printed."""

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
    try:
        yield collector
    finally:
        logger.removeHandler(collector)


def font_faces(families: list[str]) -> str:
    """@font-face rules for bundled font families (installed Python packages, pinned by version)."""
    rules = []
    for name in dict.fromkeys(families):
        family = fontpkg.family(name)
        for file in family.files:
            # A variable font is declared once per weight the design uses (regular and bold).
            weights = [400, 700] if file.variable else [file.weight]
            for weight in weights:
                rules.append(f'@font-face {{ font-family: "{family.name}"; src: url("{file.path.as_uri()}"); '
                             f"font-style: {file.style}; font-weight: {weight}; }}")
    return "\n".join(rules)


def font_files(families: list[str]) -> list[Path]:
    return [file.path for name in dict.fromkeys(families) for file in fontpkg.family(name).files]


def font_folders(families: list[str]) -> list[Path]:
    return sorted({file.parent for file in font_files(families)})


def clinic_families(clinic: Clinic) -> list[str]:
    return [clinic.fonts.body, clinic.fonts.headings]


class Printer:
    """One per process: font configuration, fetcher and parsed stylesheets are made once and reused."""

    def __init__(self, root: Path, families: list[str]):
        self.root = root
        self.templates = root / "templates"
        allowed = (root / "content", self.templates, *font_folders(families))
        self.fetcher = ProjectFetcher(allowed)
        self.font_config = FontConfiguration()
        self._stylesheets: dict[tuple[str, ...], list[weasyprint.CSS]] = {}

    def stylesheets(self, families: list[str]) -> list[weasyprint.CSS]:
        key = tuple(families)
        if key not in self._stylesheets:
            with collect_warnings() as warnings:
                sheets = [
                    weasyprint.CSS(string=font_faces(families), font_config=self.font_config,
                                   url_fetcher=self.fetcher),
                    weasyprint.CSS(filename=str(self.templates / "print.css"), font_config=self.font_config,
                                   url_fetcher=self.fetcher),
                ]
            if warnings.messages:
                raise BuildError([Problem("templates/print.css", 1, f"stylesheet or fonts: {m}", "weasyprint")
                                  for m in warnings.messages])
            self._stylesheets[key] = sheets
        return self._stylesheets[key]

    def write(self, html: str, families: list[str], identifier: str, source: str) -> tuple[bytes, int]:
        """Print `html` to PDF bytes. Any warning, refused fetch or attachment is an error naming `source`."""
        stylesheets = self.stylesheets(families)
        self.fetcher.refused.clear()
        with collect_warnings() as warnings:
            document = weasyprint.HTML(string=html, base_url=self.templates.as_uri() + "/",
                                       url_fetcher=self.fetcher)
            attachments = [el for el in document.etree_element.iter()
                           if "attachment" in (el.get("rel") or "").split()]
            if attachments:
                raise BuildError([Problem(source, 1, "attachments are not allowed in a handout", "fetch")])
            rendered = document.render(stylesheets=stylesheets, font_config=self.font_config, pdf_tags=True)
            pdf = rendered.write_pdf(
                pdf_identifier=hashlib.sha256(identifier.encode()).hexdigest()[:32].encode(),
                pdf_tags=True,
            )
        problems = [Problem(source, 1, f"refused fetch: {url}", "fetch") for url in self.fetcher.refused]
        problems += [Problem(source, 1, f"WeasyPrint: {m}", "weasyprint") for m in warnings.messages
                     if not any(url in m for url in self.fetcher.refused)]
        if problems:
            raise BuildError(problems)
        return pdf, len(rendered.pages)
