"""The public page each QR code opens, and the version the QR code carries: the QR code of a built PDF read back
module by module, the page's blocks, sources, PDFs and language, the notice for an older paper copy, and 404s for
anything that is not a public document."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pikepdf
import pytest
import segno
from pypdf import PdfReader

from conftest import ROOT, TODAY, Built
from handouts import builder, content, contrast
from handouts.models import Patient
from handouts.plan import Selection, plan
from handouts.render import Renderer, versioned
from helpers import text
from handouts.web import pipeline

LEAFLET = "/fennick-street-uk/en/acne-scars/leaflet"
CONDITION_YAML = "content/en/acne-scars/condition.yaml"


@pytest.fixture(scope="module")
def warm() -> builder.Personaliser:
    """One personaliser of the real content for the module (the app's is per process, and may have been made
    for another test's scratch project)."""
    return builder.Personaliser(ROOT)


@pytest.fixture
def app(web: Built, warm: builder.Personaliser, monkeypatch: pytest.MonkeyPatch) -> Built:
    monkeypatch.setattr(pipeline, "_PERSONALISER", warm)
    return web


# --- the QR code carries the version ---------------------------------------------------------------------------

def qr_modules(pdf: Path) -> list[list[int]]:
    """The QR code drawn in a PDF, read back from its vector path: one filled path of many subpaths, each one run
    of dark modules (m, three l, h) in module units."""
    paths = []
    with pikepdf.open(pdf) as opened:
        for page in opened.pages:
            ops = [(str(op), [float(a) for a in args] if str(op) in ("m", "l") else [])
                   for args, op in pikepdf.parse_content_stream(page)]
            current: list = []
            for i, (op, args) in enumerate(ops):
                if op == "m" and [o for o, _ in ops[i + 1:i + 5]] == ["l", "l", "l", "h"]:
                    current.append([args] + [a for _, a in ops[i + 1:i + 4]])
                elif op in ("f", "f*", "S", "n", "B", "b"):
                    if len(current) > 50:
                        paths.append(current)
                    current = []
    assert len(paths) == 1, "expected one QR code in the document"
    rects = [(min(p[0] for p in pts), max(p[0] for p in pts), min(p[1] for p in pts), max(p[1] for p in pts))
             for pts in paths[0]]
    size = int(max(x1 for _, x1, _, _ in rects))
    grid = [[0] * size for _ in range(size)]
    for x0, x1, y0, y1 in rects:
        assert y1 - y0 == 1 and x0 == int(x0), "a run is one module high, on the module grid"
        for x in range(int(x0), int(x1)):
            grid[int(y0)][x] = 1
    return grid


def segno_modules(data: str) -> list[list[int]]:
    return [[1 if m else 0 for m in row] for row in segno.make(data, error="m").matrix_iter(scale=1, border=0)]


@pytest.mark.parametrize("variant", ["screen", "print", "large-print"])
def test_the_qr_code_of_a_built_pdf_encodes_the_address_with_the_version(built: Built, variant: str) -> None:
    pdf = built.output / f"fennick-street-uk/en/acne-scars-leaflet-{variant}.pdf"
    plain = "https://fennick-street.example/handouts/en/acne-scars-leaflet"
    drawn = qr_modules(pdf)
    assert drawn == segno_modules(plain + "?v=2.0")         # every module, read from the PDF's vector path
    assert drawn != segno_modules(plain)
    printed = "".join(text(pdf).split())
    assert plain in printed and plain + "?v=" not in printed   # the address printed as text stays the plain one


def test_versioned_adds_v_after_a_query_and_before_a_fragment() -> None:
    assert versioned("https://a.example/x/leaflet", "2.0") == "https://a.example/x/leaflet?v=2.0"
    assert versioned("https://a.example/doc?id=7", "1.3") == "https://a.example/doc?id=7&v=1.3"
    assert versioned("https://a.example/doc#top", "2.0") == "https://a.example/doc?v=2.0#top"


def _clinic_url(project: Path, url: str) -> int:
    file = project / "content/clinics/fennick-street-uk/clinic.yaml"
    lines = file.read_text().splitlines()
    number = next(i for i, line in enumerate(lines) if line.startswith("document_url:"))
    lines[number] = f'document_url: "{url}"'
    file.write_text("\n".join(lines) + "\n")
    return number + 1


def test_document_url_may_name_the_clinic_so_it_can_point_at_the_public_page(project: Path) -> None:
    _clinic_url(project, "https://handouts.example.org/{clinic}/{language}/{condition}/{kind}")
    library, the_plan, _ = builder.prepare(project, Selection("fennick-street-uk", "en", "acne-scars", "leaflet",
                                                              "screen"), TODAY, strict=False)
    context = Renderer(project).context(library, the_plan.jobs[0], Patient())
    assert context["document_url"] == "https://handouts.example.org/fennick-street-uk/en/acne-scars/leaflet"
    assert context["document_urls"]["evidence"] == ("https://handouts.example.org/fennick-street-uk/en/acne-scars/"
                                                    "evidence")
    assert "handouts.example.org/fennick-street-uk/en/acne-scars/leaflet?v=2.0</title>" in str(context["qr"])


def test_an_unknown_placeholder_in_document_url_names_its_line(project: Path) -> None:
    line = _clinic_url(project, "https://handouts.example.org/{clinc}/{kind}")
    problems = [p for p in content.load(project).problems if p.path.endswith("fennick-street-uk/clinic.yaml")]
    assert [(p.line, "{clinic}" in p.message and "clinc" in p.message) for p in problems] == [(line, True)]


# --- version history, validated -------------------------------------------------------------------------------

@pytest.mark.parametrize("old, new, expected", [
    ('      "2.0": >-', '      "3.0": >-', "names version 3.0, newer than the document's version 2.0"),
    ('      "2.0": >-', '      "1.5": >-', "says nothing about the current version 2.0"),
    ('      "1.0": "First version."', '      1.0: "First version."', 'must be written in quotes, e.g. "2.0"'),
])
def test_a_wrong_history_is_an_error_on_its_line(project: Path, old: str, new: str, expected: str) -> None:
    file = project / CONDITION_YAML
    source = file.read_text()
    assert old in source
    file.write_text(source.replace(old, new, 1))
    lines = source.splitlines()
    changed = lines.index(old)
    changes_line = max(i for i in range(changed) if lines[i] == "    changes:") + 1     # the history's own line
    found = [p for p in content.load(project).problems if p.path == CONDITION_YAML]
    assert [(p.line, expected in p.message) for p in found] == [(changes_line, True)], found


def test_every_document_of_the_sample_content_says_what_its_current_version_changed() -> None:
    library = content.load(ROOT)
    for condition in library.languages["en"].conditions.values():
        for kind, document in condition.documents.items():
            assert document.changes and document.version in document.changes, (condition.name, kind)
            newer = [(v, text) for v, text in document.changes.items() if v != "1.0"]    # newest first
            assert document.changes_since("1.0") == newer and (document.version == "1.0") == (newer == [])
            assert newer == [] or newer[0][0] == document.version


# --- the public page ----------------------------------------------------------------------------------------------

def _job(kind: str = "leaflet", clinic: str = "fennick-street-uk"):
    library = content.load(ROOT)
    return library, plan(library, Selection(clinic, "en", "acne-scars", kind, "screen")).jobs[0]


def test_the_page_shows_the_documents_blocks_sources_pdfs_and_language(app: Built, client) -> None:
    response = client.get(LEAFLET)
    assert response.status_code == 200
    page = response.content.decode()
    assert '<html lang="en-GB">' in page
    assert response["Cache-Control"] == "public, max-age=300"
    assert not response.cookies                                  # no cookie for a patient reading a leaflet
    library, job = _job()
    context = Renderer(ROOT).context(library, job, Patient())
    for section in context["sections"]:                          # every block, as the PDF has it
        assert str(section["html"]) in page, section["role"]
        assert html.escape(section["title"]) in page or section["role"] in ("key-facts", "key-alternatives")
    for source in {str(s.url) for section in job.sections for s in section.block.meta.sources}:
        assert f'href="{html.escape(source)}"' in page, source       # the full source list
    assert 'href="/fennick-street-uk/en/acne-scars/leaflet/screen.pdf"' in page
    assert 'href="/fennick-street-uk/en/acne-scars/leaflet/large-print.pdf"' in page
    assert "print.pdf\"" not in page.replace("large-print.pdf\"", "")     # never the print master
    assert "There is a newer version" not in page
    assert "<script" not in page and "style=" not in page           # CSP: no inline script or style


def test_the_page_of_another_clinic_kind_and_country(app: Built, client) -> None:
    page = client.get("/cedar-hollow-us/en/acne-scars/evidence").content.decode()
    assert '<html lang="en-US">' in page
    library, job = _job("evidence", "cedar-hollow-us")
    evidence = next(s.block for s in job.sections if s.role == "evidence")
    assert html.escape(evidence.meta.title, quote=False) in page
    assert "/cedar-hollow-us/en/acne-scars/evidence/screen.pdf" in page
    assert "large-print.pdf" not in page                           # the research document is online only
    sources = {str(s.url) for section in job.sections for s in section.block.meta.sources}
    assert all(f'href="{html.escape(url)}"' in page for url in sources)   # every leaflet and form source too


def test_an_older_paper_copy_is_told_what_changed(app: Built, client) -> None:
    page = client.get(LEAFLET + "?v=1.0").content.decode()
    notice = page[page.index('<section class="newer"'):page.index("</section>", page.index('<section class="newer"'))]
    assert page.index('class="newer"') < page.index('id="document-title"')      # at the top, before the title
    assert "There is a newer version of this document" in notice
    assert "The paper copy you have is version 1.0. This page shows version 2.0, the newest." in notice
    change = content.load(ROOT).languages["en"].conditions["acne-scars"].documents["leaflet"].changes["2.0"]
    assert html.escape(change) in notice                          # what version 2.0 changed, in its own words
    assert "First version" not in notice                          # nothing about versions the reader has


@pytest.mark.parametrize("query", ["?v=2.0", "?v=9.0", "?v=abc", "?v=", "?v=1.0x"])
def test_no_notice_for_the_current_version_or_a_version_that_is_not_older(app: Built, client, query: str) -> None:
    response = client.get(LEAFLET + query)
    assert response.status_code == 200
    assert 'class="newer"' not in response.content.decode()


def test_the_public_pdfs_are_the_built_files(app: Built, client) -> None:
    for variant in ("screen", "large-print"):
        response = client.get(f"{LEAFLET}/{variant}.pdf")
        assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
        data = b"".join(response.streaming_content)
        assert data == (app.output / f"fennick-street-uk/en/acne-scars-leaflet-{variant}.pdf").read_bytes()
        assert "Acne scars" in PdfReader(__import__("io").BytesIO(data)).pages[0].extract_text()


@pytest.mark.parametrize("url", [
    f"{LEAFLET}/print.pdf",                                         # the print master is the print shop's
    "/cedar-hollow-us/en/acne-scars/evidence/large-print.pdf",     # not built: online only
    f"{LEAFLET}/screen.PDF",
    f"{LEAFLET}/..%2Fprint.pdf",
    "/fennick-street-uk/en/acne-scars/..%2F..%2Fmanifest/screen.pdf",
    "/fennick-street-uk/en/acne-scars/leaflet/%2e%2e/screen.pdf",
    "/nowhere-clinic/en/acne-scars/leaflet/screen.pdf",
    "/fennick-street-uk/fr/acne-scars/leaflet/screen.pdf",
])
def test_anything_but_a_public_pdf_is_not_found(app: Built, client, url: str) -> None:
    assert client.get(url).status_code == 404


@pytest.mark.parametrize("url, heading", [
    ("/nowhere-clinic/en/acne-scars/leaflet", "We cannot find this document"),
    ("/fennick-street-uk/en/acne-scars/brochure", "We cannot find this document"),
    ("/fennick-street-uk/en/no-condition/leaflet", "We cannot find this document"),
    ("/fennick-street-uk/en/acne-scars/..%2Fleaflet", "Page not found"),
])
def test_an_unknown_clinic_or_document_is_a_404_page(app: Built, client, url: str, heading: str) -> None:
    response = client.get(url)
    assert response.status_code == 404
    assert heading in response.content.decode()


def test_a_draft_document_is_not_public(web: Built, project: Path, settings, client,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    overview = project / "content/en/acne-scars/condition-overview.md"
    overview.write_text(overview.read_text().replace("---\n", "---\ndraft: true\n", 1))
    settings.CONTENT_ROOT = project
    monkeypatch.setattr(pipeline, "_PERSONALISER", builder.Personaliser(project))
    response = client.get(LEAFLET)
    assert response.status_code == 404
    page = response.content.decode()
    assert "This document is not online right now" in page and "0117 496 0123" in page   # the clinic's phone
    assert client.get(f"{LEAFLET}/screen.pdf").status_code == 404
    assert client.get("/fennick-street-uk/en/acne-scars/summary").status_code == 200      # not using that block


SPANISH = "/cedar-hollow-us/es/acne-scars"


def test_a_spanish_document_is_in_spanish_with_its_countrys_language_tag(app: Built, client) -> None:
    response = client.get(f"{SPANISH}/leaflet?v=1.0")
    assert response.status_code == 200
    page = html.unescape(response.content.decode())
    assert '<html lang="es-US">' in page                          # content/es/strings.yaml html_lang for the US
    library = content.load(ROOT)
    s = library.languages["es"].strings
    job = plan(library, Selection("cedar-hollow-us", "es", "acne-scars", "leaflet", "screen")).jobs[0]
    title = Renderer(ROOT).context(library, job, Patient())["document"]["title"]
    assert f'<h1 id="document-title">{title}</h1>' in page and title.startswith("Cicatrices de acné")
    for key in ("online_newer_heading", "online_pdfs_heading", "online_pdf_screen", "online_pdf_large_print",
                "contact_heading", "sources_heading", "online_history_heading"):
        assert getattr(s, key) in page, key
    assert "Hay una versión más nueva de este documento" in page
    english = library.languages["en"].strings
    for key in ("online_newer_heading", "online_pdfs_heading", "contact_heading", "sources_heading"):
        assert getattr(english, key) not in page, key
    assert f'href="{SPANISH}/leaflet/screen.pdf"' in page and f'href="{SPANISH}/consent"' in page
    clinic = library.clinics["cedar-hollow-us"].clinic                 # its own words, in Spanish (clinic.yaml)
    for key in ("legal_route", "cost_range", "footer"):
        assert getattr(clinic.translations["es"], key) in page and getattr(clinic, key) not in page, key
    missing = client.get("/cedar-hollow-us/es/no-condition/leaflet")
    assert missing.status_code == 404 and "No encontramos este documento" in html.unescape(missing.content.decode())


def test_a_document_behind_its_source_is_not_online_right_now(web_behind: Built, client) -> None:
    response = client.get(f"{SPANISH}/consent")
    page = html.unescape(response.content.decode())
    assert response.status_code == 404             # as for a draft: not served now, and never its stale text
    assert '<html lang="es-US">' in page
    assert "Este documento no está en internet en este momento" in page and "No encontramos" not in page
    stale = content.load(web_behind.root).languages["es"]
    diagnosis = next(b for b in stale.blocks if b.folder == "acne-scars" and b.meta.role == "consent-diagnosis")
    assert diagnosis.meta.title not in page and 'class="block' not in page
    assert "Cedar Hollow Dermatology" in page                     # the clinic's contact details instead
    for variant in ("screen", "large-print"):
        assert client.get(f"{SPANISH}/consent/{variant}.pdf").status_code == 404
    assert client.get(f"{SPANISH}/leaflet").status_code == 200          # the leaflet does not use that block
    assert client.get("/cedar-hollow-us/en/acne-scars/consent").status_code == 200     # nor is English behind


@pytest.mark.parametrize("clinic", ["fennick-street-uk", "cedar-hollow-us"])
def test_the_clinics_colours_come_as_css_with_text_that_passes_aa(app: Built, client, clinic: str) -> None:
    response = client.get(f"/brand/{clinic}.css")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/css")
    values = dict(re.findall(r"--clinic-([a-z-]+): (#[0-9a-f]{6});", response.content.decode()))
    assert contrast.ratio(values["text"], values["background"]) >= 4.5
    assert contrast.ratio(values["heading"], values["background"]) >= 4.5
    assert contrast.ratio(values["on-primary"], values["primary"]) >= 4.5
    assert contrast.ratio(values["text"], values["panel"]) >= 4.5
    assert client.get("/brand/nowhere-clinic.css").status_code == 404
