"""Print stage, checked on the real PDFs of a full build: text, pages, paper size, fonts, stable bytes."""

from __future__ import annotations

import json
import re
import subprocess
from collections import Counter
from pathlib import Path

import pytest
from pypdf import PdfReader

from conftest import ROOT, TODAY, Built
from handouts import builder
from handouts.plan import Selection
from helpers import pdffonts, text, words_by_page

CONDITIONS = ["acne-scars", "wrinkles-ageing-skin", "burns-wounds", "inflammatory-conditions",
              "pigmentation-disorders"]
VARIANTS = ("print", "screen", "large-print")
KINDS = {"summary": VARIANTS, "leaflet": VARIANTS, "consent": VARIANTS, "evidence": ("screen",)}  # evidence: online
CLINICS = {"fennick-street-uk": ("Fennick Street Skin Clinic", (595.28, 841.89)),     # A4 in points
           "cedar-hollow-us": ("Cedar Hollow Dermatology", (612.0, 792.0))}           # US Letter
LANGUAGES = {"fennick-street-uk": ("en",), "cedar-hollow-us": ("en", "es")}           # each clinic's own choice


def test_full_build_succeeds(built: Built) -> None:
    assert built.outcome.problems == []
    assert built.outcome.failed == []
    assert len(built.outcome.built) == 3 * 5 * sum(len(variants) for variants in KINDS.values())   # 150


def test_manifest_lists_every_document(built: Built) -> None:
    manifest = json.loads((built.output / "manifest.json").read_text())
    docs = {d["path"]: d for d in manifest["documents"]}
    expected = {f"{clinic}/{language}/{condition}-{kind}-{variant}.pdf" for clinic in CLINICS
                for language in LANGUAGES[clinic] for condition in CONDITIONS
                for kind, variants in KINDS.items() for variant in variants}
    assert set(docs) == expected
    for path, doc in docs.items():
        pdf = built.output / path
        assert len(PdfReader(pdf).pages) == doc["pages"] >= 1
        assert re.fullmatch(r"[0-9a-f]{64}", doc["sha256"]) and re.fullmatch(r"[0-9a-f]{64}", doc["inputs_digest"])
        assert (doc["clinic"], doc["language"], doc["condition"], doc["kind"], doc["variant"]) == tuple(
            re.match(r"([^/]+)/(en|es)/(.+)-(summary|leaflet|consent|evidence)-(screen|print|large-print)\.pdf",
                     path).groups())


@pytest.mark.parametrize("clinic", CLINICS)
@pytest.mark.parametrize("kind", ["leaflet", "consent"])
def test_pdf_text_pages_and_paper(built: Built, clinic: str, kind: str) -> None:
    name, (width, height) = CLINICS[clinic]
    pdf = built.output / clinic / "en" / f"acne-scars-{kind}-screen.pdf"
    reader = PdfReader(pdf)
    for page in reader.pages:
        assert float(page.mediabox.width) == pytest.approx(width, abs=0.1)
        assert float(page.mediabox.height) == pytest.approx(height, abs=0.1)
    assert reader.trailer["/Root"]["/Lang"] == ("en-GB" if clinic.endswith("uk") else "en-US")
    words = " ".join(text(pdf).split())
    assert name in words
    assert reader.metadata.title == ("Acne scars: stem cell treatment" if kind == "leaflet"
                                     else "Acne scars: consent form for stem cell treatment")
    pages = len(reader.pages)
    assert f"Page {pages} of {pages}" in words
    for heading in (["Key facts", "Risks", "The main studies behind this leaflet"]
                    if kind == "leaflet" else ["Key facts", "About this form", "Record of consent",
                                               "Interpreter (if used)"]):
        assert heading.lower() in words.lower(), heading


def test_consent_sheet_names_the_leaflet_version_and_has_blank_patient_lines(built: Built) -> None:
    words = " ".join(text(built.output / "cedar-hollow-us/en/acne-scars-consent-screen.pdf").split())
    assert "Leaflet given Acne scars: stem cell treatment, version 2.0" in words
    assert "Patient name Date of birth" in words      # labels with blank lines, no values


def test_us_and_uk_get_their_own_regulatory_block(built: Built) -> None:
    us = text(built.output / "cedar-hollow-us/en/acne-scars-leaflet-screen.pdf")
    uk = text(built.output / "fennick-street-uk/en/acne-scars-leaflet-screen.pdf")
    assert "MHRA" in uk and "MHRA" not in us
    assert "MedWatch" in us and "Yellow Card" in uk


def test_every_font_is_embedded(built: Built) -> None:
    for pdf in sorted(built.output.rglob("acne-scars-*.pdf")):
        rows = pdffonts(pdf)
        assert rows, pdf
        assert all(row["emb"] == "yes" for row in rows), rows
        assert {r["name"].split("+")[-1].split("-")[0] for r in rows} <= {"Atkinson", "Lexend"}


def test_two_builds_give_identical_bytes(built: Built, tmp_path: Path) -> None:
    again = builder.build(ROOT, tmp_path, Selection(clinic="fennick-street-uk", condition="burns-wounds"), TODAY)
    assert again.ok
    assert {re.search(r"-(print|screen|large-print)\.pdf$", p).group(1) for p in again.built} == set(VARIANTS)
    assert len(again.built) == 10          # 3 kinds x 3 variants, and the online research document
    for path in again.built:
        assert (tmp_path / path).read_bytes() == (built.output / path).read_bytes(), path


def test_pdf_dates_come_from_the_content_not_the_clock(built: Built) -> None:
    _, plan, _ = builder.prepare(ROOT, Selection("fennick-street-uk", "en", "acne-scars", "leaflet", "print"),
                                 TODAY, strict=False)
    job = plan.jobs[0]
    info = PdfReader(built.output / job.output).metadata
    newest = max(s.block.meta.last_reviewed for s in job.sections)
    assert info["/CreationDate"].startswith("D:" + job.last_reviewed.strftime("%Y%m%d"))
    assert info["/ModDate"].startswith("D:" + newest.strftime("%Y%m%d"))


@pytest.mark.parametrize("clinic, bleed", [("fennick-street-uk", 3 / 25.4 * 72), ("cedar-hollow-us", 0.125 * 72)])
def test_print_master_boxes_with_poppler(built: Built, clinic: str, bleed: float) -> None:
    """pdfinfo -box (poppler) agrees: TrimBox is the finished size, BleedBox is trim plus bleed, and the MediaBox
    reaches beyond the BleedBox on every side, for the crop marks (tests/test_marks.py has the details)."""
    import subprocess
    _, (width, height) = CLINICS[clinic]
    pdf = built.output / clinic / "en/acne-scars-leaflet-print.pdf"
    out = subprocess.run(["pdfinfo", "-box", str(pdf)], check=True, capture_output=True, text=True).stdout
    boxes = {line.split(":")[0]: [float(v) for v in line.split(":")[1].split()]
             for line in out.splitlines() if line.split(":")[0].endswith("Box")}
    assert boxes["TrimBox"] == pytest.approx([0, 0, width, height], abs=0.01)
    assert boxes["BleedBox"] == pytest.approx([-bleed, -bleed, width + bleed, height + bleed], abs=0.01)
    media, bleed_box = boxes["MediaBox"], boxes["BleedBox"]
    assert media[0] < bleed_box[0] - 10 and media[1] < bleed_box[1] - 10
    assert media[2] > bleed_box[2] + 10 and media[3] > bleed_box[3] + 10


def test_print_master_has_a_cmyk_output_intent(built: Built) -> None:
    import pikepdf
    with pikepdf.open(built.output / "fennick-street-uk/en/acne-scars-consent-print.pdf") as pdf:
        intent = pdf.Root.OutputIntents[0]
        assert intent.S == "/GTS_PDFX" and str(intent.OutputConditionIdentifier) == "FOGRA39"
        assert int(intent.DestOutputProfile.N) == 4
        assert intent.DestOutputProfile.read_bytes() == (ROOT / "content/profiles/fogra39.icc").read_bytes()
        xmp = pdf.open_metadata()
        assert xmp["pdfx:GTS_PDFXVersion"] == "PDF/X-4"


@pytest.mark.parametrize("variant", ["screen", "large-print"])
def test_screen_and_large_print_are_tagged_with_language_and_title(built: Built, variant: str) -> None:
    import pikepdf
    with pikepdf.open(built.output / f"cedar-hollow-us/en/pigmentation-disorders-leaflet-{variant}.pdf") as pdf:
        assert "/StructTreeRoot" in pdf.Root and pdf.Root.MarkInfo.Marked
        assert str(pdf.Root.Lang) == "en-US"
        assert pdf.Root.ViewerPreferences.DisplayDocTitle
        assert "/Outlines" in pdf.Root           # bookmarks from headings


def test_leaflet_has_a_qr_code_with_its_url_printed(built: Built) -> None:
    words = "".join(text(built.output / "fennick-street-uk/en/acne-scars-leaflet-screen.pdf").split())
    assert "https://fennick-street.example/handouts/en/acne-scars-leaflet" in words      # a long URL may wrap


@pytest.mark.parametrize("clinic, footer", [
    ("fennick-street-uk", "Fennick Street Skin Clinic (fictional sample) · 0117 496 0123"),
    ("cedar-hollow-us", "Cedar Hollow Dermatology (fictional sample) · (555) 010-0147")])
@pytest.mark.parametrize("variant", VARIANTS)
def test_footer_keeps_its_spaces_and_its_phone_number_on_one_line(built: Built, clinic: str, footer: str,
                                                                  variant: str) -> None:
    pdf = built.output / clinic / "en" / f"burns-wounds-consent-{variant}.pdf"
    layout = subprocess.run(["pdftotext", "-layout", "-f", "2", "-l", "2", str(pdf), "-"], check=True,
                            capture_output=True, text=True).stdout
    lines = [" ".join(line.replace("\xa0", " ").split()) for line in layout.splitlines()]
    if variant != "large-print":
        assert any(footer in line and "Version 2.1 · Next review due" in line for line in lines), lines[-4:]
        return
    # At 16 pt the footer takes two lines, but never breaks the phone number or starts a line with its separator.
    phone = footer.split(" · ")[1]
    assert any(line.endswith(f"· {phone}") or f"· {phone} " in line for line in lines), lines[-4:]
    assert not any(line.startswith("·") for line in lines)


def test_no_page_is_left_nearly_empty(built: Built) -> None:
    """The first page's text runs at least half way down (the first block is not pushed over, leaving the title
    alone on the page), and the last page carries more than a stray line or two. Read by poppler; the running
    header and footer (lines at the same height on most pages) are left out."""
    problems = []
    for path in sorted(built.output.glob("*/*/*.pdf")):
        pages = [words for _, words in words_by_page(path)]
        heights = Counter(round(top) for words in pages for top in {round(t) for t, _, _ in words})
        running = {height for height, count in heights.items() if count > len(pages) / 2}
        body = [[(top, bottom) for top, bottom, _ in words if round(top) not in running] for words in pages]
        area_top = min(top for words in body for top, _ in words)
        area_bottom = max(bottom for words in body for _, bottom in words)
        depth = (max(bottom for _, bottom in body[0]) - area_top) / (area_bottom - area_top)
        if depth < 0.5:
            problems.append(f"{path.name}: the first page's text stops {depth:.0%} down")
        if len(body[-1]) < 20:
            problems.append(f"{path.name}: the last page has {len(body[-1])} words")
    assert problems == []
