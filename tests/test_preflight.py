"""Preflight of finished PDFs: for each rule a PDF that passes and one made to fail it.

The PDFs are printed by WeasyPrint from small HTML strings; what WeasyPrint cannot get wrong on purpose is broken
afterwards with pikepdf. poppler-utils and qpdf read some of the same files as independent cross-checks.
"""

from __future__ import annotations

import re
import subprocess
from importlib.resources import files
from pathlib import Path
from typing import Callable

import pikepdf
import pytest
import weasyprint
from pikepdf import Array, Dictionary, Name, Pdf, String
from PIL import Image

from handouts import marks
from handouts.models import CropMarks
from handouts.preflight import Expectation, Finding, preflight
from helpers import pdffonts

ROOT = Path(__file__).resolve().parent.parent
CMYK_PROFILE = ROOT / "content/profiles/fogra39.icc"          # the CMYK profile the project ships
SRGB_PROFILE = Path(str(files("weasyprint.pdf") / "sRGB2014.icc"))  # an RGB profile WeasyPrint ships
MM = 72 / 25.4
A4 = (595.276, 841.89)
LETTER = (612.0, 792.0)
PRINT = Expectation("print", A4, bleed=3 * MM)
SCREEN = Expectation("screen", A4)
LARGE = Expectation("large-print", A4, min_text_pt=16)
TEXT = "<p>Your skin may be red for a few days after the treatment.</p>"

Make = Callable[..., Path]


# --- making PDFs ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def art(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Images for the pages: RGB PNGs and CMYK JPEGs, large (sharp at 50 mm) and tiny (30 x 30 px)."""
    folder = tmp_path_factory.mktemp("art")
    for size in (30, 700):
        Image.new("RGB", (size, size), (200, 40, 40)).save(folder / f"rgb-{size}.png")
        Image.new("CMYK", (size, size), (0, 200, 200, 0)).save(folder / f"cmyk-{size}.jpg")
    return folder


@pytest.fixture
def make(tmp_path: Path, art: Path) -> Make:
    """make(name, body, page=..., style=..., head=..., lang=..., **write_pdf options) -> the PDF's path."""
    def write(name: str, body: str, *, page: str = "size: A4", style: str = "", lang: str = ' lang="en"',
              head: str = "<title>After your treatment</title>", **options: object) -> Path:
        html = (f"<!doctype html><html{lang}><head>{head}<style>@page {{ {page} }} {style}</style></head>"
                f"<body>{body}</body></html>")
        target = tmp_path / f"{name}.pdf"
        weasyprint.HTML(string=html, base_url=art.as_uri() + "/").write_pdf(target, **options)
        return target
    return write


@pytest.fixture
def make_master(make: Make) -> Make:
    """A PDF/X-4 print master: CMYK profile declared, black text in CMYK, 3 mm bleed, no printer's marks."""
    profile = (f"@color-profile device-cmyk {{ src: url({CMYK_PROFILE.as_uri()}); "
               "components: cyan, magenta, yellow, black }")

    def write(name: str, body: str = TEXT, *, page: str = "size: A4; bleed: 3mm", style: str = "",
              **options: object) -> Path:
        return make(name, body, page=page, style=f"{profile} body {{ color: device-cmyk(0 0 0 1) }} {style}",
                    pdf_variant="pdf/x-4", **options)
    return write


@pytest.fixture
def make_copy(make: Make) -> Make:
    """A tagged PDF/UA-1 copy for reading on screen."""
    def write(name: str, body: str = TEXT, **options: object) -> Path:
        return make(name, body, pdf_variant="pdf/ua-1", **options)
    return write


def edit(pdf: Path, change: Callable[[Pdf], None], **save: object) -> Path:
    """A copy of `pdf` changed with pikepdf, for failures WeasyPrint will not make."""
    target = pdf.with_name(pdf.stem + "-edited.pdf")
    with pikepdf.open(pdf) as document:
        change(document)
        document.save(target, **save)
    return target


def rules(findings: list[Finding]) -> list[str]:
    return [finding.rule for finding in findings]


def javascript() -> Dictionary:
    return Dictionary(S=Name.JavaScript, JS=String("app.alert('hello')"))


def draw_form_with_font(document: Pdf, font: Dictionary) -> None:
    """Draw, on page 1, a Form XObject whose own resources hold `font` (the page's resources do not)."""
    page = document.pages[0]
    form = document.make_stream(b"BT /F1 12 Tf 72 72 Td (Hi) Tj ET", Type=Name.XObject, Subtype=Name.Form,
                                BBox=[0, 0, 200, 200], Resources=Dictionary(Font=Dictionary(F1=font)))
    page.Resources.XObject[Name("/Fm1")] = form
    page.contents_add(document.make_stream(b"q /Fm1 Do Q"), prepend=False)


def pdfinfo_boxes(pdf: Path) -> dict[str, tuple[float, ...]]:
    """Page 1's boxes as poppler's `pdfinfo -box` reads them."""
    out = subprocess.run(["pdfinfo", "-box", str(pdf)], check=True, capture_output=True, text=True).stdout
    return {m[1]: tuple(float(v) for v in m[2].split()) for m in re.finditer(r"^(\w+Box):\s+(.*)$", out, re.M)}


def pdfimages_ppi(pdf: Path) -> list[tuple[int, int]]:
    """(x-ppi, y-ppi) of every image, as poppler's `pdfimages -list` computes them."""
    out = subprocess.run(["pdfimages", "-list", str(pdf)], check=True, capture_output=True, text=True).stdout
    return [(int(line.split()[12]), int(line.split()[13])) for line in out.splitlines()[2:]]


# --- API -----------------------------------------------------------------------------------------------------


def test_finding_format() -> None:
    assert Finding("a.pdf", 2, "bleed", "too small").format() == "a.pdf: page 2: bleed: too small"
    assert Finding("a.pdf", None, "title", "none").format() == "a.pdf: title: none"


def test_unknown_variant_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown variant"):
        Expectation("poster", A4)


def test_findings_name_the_document_as_shown(make_copy: Make) -> None:
    pdf = make_copy("copy", "<img src='rgb-30.png'>")
    assert [f.document for f in preflight(pdf, SCREEN, shown_as="out/x.pdf")] == ["out/x.pdf"]
    assert [f.document for f in preflight(pdf, SCREEN)] == [str(pdf)]


def test_unreadable_file_is_one_finding(tmp_path: Path) -> None:
    junk = tmp_path / "junk.pdf"
    junk.write_bytes(b"this is not a PDF")
    assert rules(preflight(junk, SCREEN)) == ["structure"]


# --- print: boxes, output intent, colour, images -------------------------------------------------------------


def test_weasyprint_print_master_without_marks_passes(make_master: Make) -> None:
    pdf = make_master("master", TEXT + "<img src='cmyk-700.jpg' style='width: 50mm'>")
    assert preflight(pdf, PRINT) == []
    # poppler agrees on the boxes preflight accepted, and on the image's resolution.
    boxes = pdfinfo_boxes(pdf)
    assert boxes["TrimBox"] == pytest.approx((0, 0, 595.28, 841.89), abs=0.01)
    assert boxes["BleedBox"] == pytest.approx((-8.50, -8.50, 603.78, 850.39), abs=0.01)
    assert pdfimages_ppi(pdf) == [(356, 356)]


def test_us_letter_with_eighth_inch_bleed_passes(make_master: Make) -> None:
    pdf = make_master("letter", page="size: letter; bleed: 0.125in")
    assert preflight(pdf, Expectation("print", LETTER, bleed=9)) == []
    assert pdfinfo_boxes(pdf)["BleedBox"] == pytest.approx((-9, -9, 621, 801), abs=0.01)


def test_weasyprint_crop_marks_are_device_rgb(make_master: Make) -> None:
    pdf = make_master("marks", TEXT + "<p style='break-before: page'>Second page.</p>",
                      page="size: A4; bleed: 3mm; marks: crop cross")
    findings = preflight(pdf, PRINT)
    assert [(f.page, f.rule) for f in findings] == [(1, "colour-space"), (2, "colour-space")]
    assert "colour spaces on this page: DeviceCMYK, DeviceRGB" in findings[0].message


def test_missing_bleed(make_master: Make) -> None:
    pdf = make_master("no-bleed", page="size: A4")
    findings = preflight(pdf, PRINT)
    assert rules(findings) == ["bleed"]
    assert "grown by 8.50 pt" in findings[0].message
    assert pdfinfo_boxes(pdf)["BleedBox"] == pytest.approx(pdfinfo_boxes(pdf)["TrimBox"])


def test_wrong_trim_size(make_master: Make) -> None:
    findings = preflight(make_master("letter-for-a4", page="size: letter; bleed: 3mm"), PRINT)
    assert rules(findings) == ["boxes"]
    assert "TrimBox is 612.00 x 792.00 pt" in findings[0].message


def test_media_box_must_contain_the_bleed_box(make_master: Make) -> None:
    def shrink(document: Pdf) -> None:
        page = document.pages[0].obj
        page.MediaBox = page.TrimBox

    findings = preflight(edit(make_master("master"), shrink), PRINT)
    assert rules(findings) == ["boxes"]
    assert findings[0].message.startswith("MediaBox [0.00 0.00 595.28 841.89] does not contain BleedBox")


def test_missing_trim_box(make_master: Make) -> None:
    findings = preflight(edit(make_master("master"), lambda d: d.pages[0].obj.__delitem__("/TrimBox")), PRINT)
    assert [(f.rule, f.message) for f in findings] == [("boxes", "no TrimBox: the finished size is not marked")]


# --- print: printer's marks outside the bleed ------------------------------------------------------------------

MARKED = Expectation("print", A4, bleed=3 * MM, crop_marks=True)
CROP_MARKS = CropMarks(gap_mm=1, length_mm=5, margin_mm=1, weight_pt=0.25)


@pytest.fixture
def marked(make_master: Make) -> Path:
    """A two-page master with crop marks added as the build adds them."""
    pdf = make_master("master", TEXT + "<p style='break-before: page'>Second page.</p>")
    target = pdf.with_name("marked.pdf")
    target.write_bytes(marks.add(pdf.read_bytes(), CROP_MARKS))
    return target


def redraw_marks(document: Pdf, change: Callable[[bytes], bytes]) -> None:
    """Change the marks of page 1 (the last content stream, as the build writes it)."""
    stream = document.pages[0].Contents[-1]
    stream.write(change(stream.read_bytes()))


def test_crop_marks_outside_the_bleed_pass(marked: Path) -> None:
    assert preflight(marked, MARKED) == []
    boxes = pdfinfo_boxes(marked)
    assert boxes["BleedBox"] == pytest.approx((-8.50, -8.50, 603.78, 850.39), abs=0.01)
    assert boxes["MediaBox"] == pytest.approx((-28.35, -28.35, 623.62, 870.24), abs=0.01)


def test_a_mark_that_enters_the_bleed_is_refused(marked: Path) -> None:
    """The first mark (left of the bottom edge) made to run on to 2 pt left of the trim, into the bleed."""
    def lengthen(content: bytes) -> bytes:
        changed = re.sub(rb"(-25\.5118 0 m) -11\.3386 0 l", rb"\1 -2 0 l", content, count=1)
        assert changed != content
        return changed

    findings = preflight(edit(marked, lambda d: redraw_marks(d, lengthen)), MARKED)
    assert [(f.page, f.rule, f.message) for f in findings] == [(1, "printer-marks", (
        "1 of 8 printer's marks enter the BleedBox [-8.50 -8.50 603.78 850.39], the first at "
        "[-25.64 -0.12 -1.88 0.12]: marks must stay outside the bleed"))]


def test_marks_named_in_the_resources_are_found_too(marked: Path) -> None:
    """/Artifact /MC0 BDC, its property list in the page's resources: a mark all the same."""
    def named(document: Pdf) -> None:
        document.pages[0].Resources.Properties = Dictionary(MC0=Dictionary(Type=Name.Page))
        redraw_marks(document, lambda content: content.replace(b"<</Type /Page>>", b"/MC0").replace(
            b" -11.3386 0 l", b" -2 0 l", 1))

    findings = preflight(edit(marked, named), MARKED)
    assert [(f.page, f.rule) for f in findings] == [(1, "printer-marks")]
    assert findings[0].message.startswith("1 of 8 printer's marks enter the BleedBox")


def test_marks_beyond_the_media_box(marked: Path) -> None:
    def shrink(document: Pdf) -> None:
        document.pages[1].obj.MediaBox = document.pages[1].obj.BleedBox

    findings = preflight(edit(marked, shrink), MARKED)
    assert [(f.page, f.rule) for f in findings] == [(2, "printer-marks")]
    assert findings[0].message.startswith("8 of 8 printer's marks reach beyond the MediaBox [-8.50 -8.50 603.78")


def test_crop_marks_wanted_but_missing(make_master: Make, marked: Path) -> None:
    plain = make_master("plain")
    findings = preflight(plain, MARKED)
    assert [(f.page, f.rule) for f in findings] == [(1, "printer-marks")]
    assert findings[0].message.startswith("8 of the 8 crop marks are not drawn: left of the bottom edge, left of the "
                                          "top edge, right of the bottom edge")
    assert preflight(plain, PRINT) == []                  # a clinic that turned them off
    # Lines that are not production aids (here: the marks' sequence tagged as a pagination artifact) are artwork.
    untagged = edit(marked, lambda d: redraw_marks(d, lambda c: c.replace(b"/Type /Page", b"/Type /Pagination")))
    assert [(f.page, f.rule) for f in preflight(untagged, MARKED)] == [(1, "printer-marks")]


def test_weasyprint_marks_are_inside_the_bleed_and_not_production_aids(make_master: Make) -> None:
    """Why the build draws its own: WeasyPrint's `marks: crop` are RGB, inside the bleed, and untagged."""
    findings = preflight(make_master("marks", page="size: A4; bleed: 3mm; marks: crop"), MARKED)
    assert [(f.page, f.rule) for f in findings] == [(1, "colour-space"), (1, "printer-marks")]
    assert "8 of the 8 crop marks are not drawn" in findings[1].message


def test_pdf_x4_without_a_cmyk_profile_has_no_output_intent(make: Make) -> None:
    pdf = make("no-profile", TEXT, page="size: A4; bleed: 3mm", style="body { color: device-cmyk(0 0 0 1) }",
               pdf_variant="pdf/x-4")
    assert rules(preflight(pdf, PRINT)) == ["output-intent"]


def test_output_intent_profile_must_be_cmyk(make_master: Make) -> None:
    def rgb_profile(document: Pdf) -> None:
        document.Root.OutputIntents[0].DestOutputProfile = document.make_stream(SRGB_PROFILE.read_bytes(), N=3)

    findings = preflight(edit(make_master("master"), rgb_profile), PRINT)
    assert [(f.rule, f.message) for f in findings] == [
        ("output-intent", "the PDF/X output intent has no embedded CMYK ICC profile (found: /N 3)")]


def test_rgb_text_colour(make_master: Make) -> None:
    findings = preflight(make_master("red", style="p { color: red }"), PRINT)
    assert [(f.page, f.rule) for f in findings] == [(1, "colour-space")]
    assert "DeviceRGB" in findings[0].message


def test_named_colour_spaces_are_resolved(make_master: Make) -> None:
    def paint(document: Pdf) -> None:
        page = document.pages[0]
        cmyk = document.Root.OutputIntents[0].DestOutputProfile
        page.Resources.ColorSpace = Dictionary(CS0=Name.DeviceRGB, CS1=Array([Name.ICCBased, cmyk]))
        page.contents_add(document.make_stream(b"/CS1 cs 0 0 0 1 sc /CS0 CS 1 0 0 SC 0 0 9 9 re B"), prepend=False)

    findings = preflight(edit(make_master("master"), paint), PRINT)
    assert [(f.page, f.rule, f.message) for f in findings] == [(1, "colour-space", (
        "DeviceRGB is used for drawing or text; colour spaces on this page: DeviceCMYK, DeviceRGB, ICCBased CMYK"))]


def test_rgb_image(make_master: Make) -> None:
    findings = preflight(make_master("rgb", "<img src='rgb-700.png' style='width: 50mm'>"), PRINT)
    assert rules(findings) == ["image-rgb"]
    assert "(700 x 700 px) is DeviceRGB" in findings[0].message


def test_low_resolution_image(make_master: Make) -> None:
    pdf = make_master("low-res", TEXT + "<img src='cmyk-30.jpg' style='width: 50mm'>")
    findings = preflight(pdf, PRINT)
    assert rules(findings) == ["image-resolution"]
    assert "(30 x 30 px) placed at 50.0 x 50.0 mm is 15 ppi" in findings[0].message
    assert pdfimages_ppi(pdf) == [(15, 15)]          # poppler computes the same resolution


def test_resolution_is_the_lower_of_the_two_directions(make_master: Make) -> None:
    pdf = make_master("stretched", "<img src='cmyk-700.jpg' style='width: 50mm; height: 100mm'>")
    findings = preflight(pdf, PRINT)
    assert rules(findings) == ["image-resolution"]
    assert "(700 x 700 px) placed at 50.0 x 100.0 mm is 178 ppi" in findings[0].message
    assert pdfimages_ppi(pdf) == [(356, 178)]


def test_inline_image(make_master: Make) -> None:
    def draw_inline(document: Pdf) -> None:
        image = b"BI /W 2 /H 2 /CS /RGB /BPC 8 ID " + bytes(12) + b" EI"
        document.pages[0].contents_add(document.make_stream(b"q 72 0 0 72 100 100 cm " + image + b" Q"),
                                       prepend=False)

    findings = preflight(edit(make_master("master"), draw_inline), PRINT)
    assert [(f.rule, f.message) for f in findings] == [
        ("image-rgb", "image inline image (2 x 2 px) is DeviceRGB; a print master needs CMYK images"),
        ("image-resolution", "image inline image (2 x 2 px) placed at 25.4 x 25.4 mm is 2 ppi; "
                             "print needs at least 300 ppi")]


def test_background_image_drawn_through_a_tiling_pattern(make_master: Make) -> None:
    pdf = make_master("background", "<div></div>",
                      style="div { width: 50mm; height: 50mm; background: url(rgb-30.png) 0 0 / 50mm 50mm }")
    findings = preflight(pdf, PRINT)
    assert rules(findings) == ["image-rgb", "image-resolution"]
    assert "is 15 ppi" in findings[1].message


def test_vector_only_page_has_no_image_findings(make_master: Make) -> None:
    pdf = make_master("vector", "<div></div>",
                      style="div { width: 50mm; height: 50mm; background: device-cmyk(1 0 0 0) }")
    assert preflight(pdf, PRINT) == []


# --- every variant: encryption, JavaScript, fonts ------------------------------------------------------------


def test_accessible_copy_passes(make_copy: Make) -> None:
    pdf = make_copy("copy", TEXT + "<img src='rgb-30.png' alt='The treated area on day two'>")
    assert preflight(pdf, SCREEN) == []
    info = subprocess.run(["pdfinfo", str(pdf)], check=True, capture_output=True, text=True).stdout
    assert re.search(r"^Tagged:\s+yes$", info, re.M)


def test_encrypted_without_password(make_copy: Make) -> None:
    pdf = edit(make_copy("copy"), lambda d: None, encryption=pikepdf.Encryption(owner="owner", user=""))
    assert rules(preflight(pdf, SCREEN)) == ["encryption"]        # the other checks still ran, and passed
    assert subprocess.run(["qpdf", "--is-encrypted", str(pdf)]).returncode == 0     # qpdf agrees


def test_encrypted_with_password(make_copy: Make) -> None:
    pdf = edit(make_copy("copy"), lambda d: None, encryption=pikepdf.Encryption(owner="owner", user="user"))
    findings = preflight(pdf, SCREEN)
    assert [(f.rule, f.message) for f in findings] == [
        ("encryption", "encrypted with a user password: nothing else could be checked")]


def add_open_action(document: Pdf) -> None:
    document.Root.OpenAction = javascript()


def add_names_tree(document: Pdf) -> None:
    document.Root.Names = Dictionary(JavaScript=Dictionary(Names=Array(["hello", document.make_indirect(
        javascript())])))


def add_page_actions(document: Pdf) -> None:
    document.pages[0].obj.AA = Dictionary(O=javascript())


def add_link(document: Pdf) -> None:
    link = Dictionary(Type=Name.Annot, Subtype=Name.Link, Rect=[0, 0, 10, 10], A=javascript())
    document.pages[0].obj.Annots = document.make_indirect(Array([document.make_indirect(link)]))


@pytest.mark.parametrize("change, page, message, poppler_sees_it", [
    (add_open_action, None, "JavaScript action at trailer/Root/OpenAction", False),
    (add_names_tree, None, "document-level scripts (/Names /JavaScript)", True),
    (add_page_actions, 1, "additional actions (/AA) at page", True),
    (add_link, 1, "JavaScript action at page/Annots[0]/A", True),
])
def test_javascript(make_copy: Make, change: Callable[[Pdf], None], page: int | None, message: str,
                    poppler_sees_it: bool) -> None:
    pdf = edit(make_copy("copy"), change)
    findings = preflight(pdf, SCREEN)
    assert findings and set(rules(findings)) == {"javascript"}
    assert (page, message) in [(f.page, f.message) for f in findings]
    # poppler's pdfinfo agrees, except that it does not look at a catalog /OpenAction
    info = subprocess.run(["pdfinfo", str(pdf)], check=True, capture_output=True, text=True).stdout
    assert re.search(r"^JavaScript:\s+(\w+)$", info, re.M)[1] == ("yes" if poppler_sees_it else "no")


def test_open_action_that_only_shows_a_page_is_not_javascript(make_copy: Make) -> None:
    def go_to(document: Pdf) -> None:
        document.Root.OpenAction = Array([document.pages[0].obj, Name.Fit])

    assert preflight(edit(make_copy("copy"), go_to), SCREEN) == []


def test_unembedded_font(make_copy: Make) -> None:
    def unembed(document: Pdf) -> None:
        for font in document.pages[0].Resources.Font.values():
            del font.DescendantFonts[0].FontDescriptor["/FontFile2"]

    pdf = edit(make_copy("copy"), unembed)
    findings = preflight(pdf, SCREEN)
    assert rules(findings) == ["fonts-embedded"]
    assert re.fullmatch(r"font /[A-Z]{6}\+\S+ is not embedded", findings[0].message)
    assert [row["emb"] for row in pdffonts(pdf)] == ["no"]        # poppler agrees


def test_unembedded_font_inside_a_form_xobject(make_copy: Make) -> None:
    helvetica = Dictionary(Type=Name.Font, Subtype=Name.Type1, BaseFont=Name.Helvetica)
    pdf = edit(make_copy("copy"), lambda d: draw_form_with_font(d, d.make_indirect(helvetica)))
    findings = preflight(pdf, SCREEN)
    assert [(f.page, f.rule, f.message) for f in findings] == [
        (1, "fonts-embedded", "font /Helvetica is not embedded")]
    assert {row["name"]: row["emb"] for row in pdffonts(pdf)}["Helvetica"] == "no"


def test_type3_font_counts_as_embedded(make_copy: Make) -> None:
    def add_type3(document: Pdf) -> None:
        square = document.make_stream(b"1000 0 0 0 1000 1000 d1 0 0 1000 1000 re f")
        type3 = Dictionary(Type=Name.Font, Subtype=Name.Type3, FontBBox=[0, 0, 1000, 1000],
                           FontMatrix=[0.001, 0, 0, 0.001, 0, 0], FirstChar=72, LastChar=72, Widths=[1000],
                           Encoding=Dictionary(Differences=[72, Name.square]),
                           CharProcs=Dictionary(square=square), Resources=Dictionary())
        draw_form_with_font(document, document.make_indirect(type3))

    pdf = edit(make_copy("copy"), add_type3)
    assert preflight(pdf, SCREEN) == []
    assert [row["emb"] for row in pdffonts(pdf)] == ["yes", "yes"]      # poppler agrees


# --- screen and large print: tags, language, title, alt text, crop marks, body size -------------------------


def test_untagged(make: Make) -> None:
    findings = preflight(make("plain", TEXT), SCREEN)
    assert [(f.rule, f.message) for f in findings] == [
        ("tagged", "not a tagged PDF: no /MarkInfo /Marked true and no /StructTreeRoot"),
        ("title", "/ViewerPreferences /DisplayDocTitle is not true: viewers show the file name instead")]


def test_language_removed(make_copy: Make) -> None:
    pdf = edit(make_copy("copy"), lambda d: d.Root.__delitem__("/Lang"))
    assert rules(preflight(pdf, SCREEN)) == ["language"]


def test_weasyprint_writes_an_empty_language_without_html_lang(make: Make) -> None:
    pdf = make("no-lang", TEXT, lang="", pdf_variant="pdf/ua-1")
    with pikepdf.open(pdf) as document:
        assert str(document.Root.Lang) == ""
    assert rules(preflight(pdf, SCREEN)) == ["language"]


def test_missing_title(make: Make) -> None:
    findings = preflight(make("untitled", TEXT, head="", pdf_variant="pdf/ua-1"), SCREEN)
    assert [(f.rule, f.message) for f in findings] == [
        ("title", "no document title (neither Info /Title nor XMP dc:title)")]


def test_title_in_xmp_alone_is_enough(make_copy: Make) -> None:
    pdf = edit(make_copy("copy"), lambda d: d.docinfo.__delitem__("/Title"))
    assert preflight(pdf, SCREEN) == []


def test_title_not_displayed(make_copy: Make) -> None:
    pdf = edit(make_copy("copy"), lambda d: d.Root.__delitem__("/ViewerPreferences"))
    assert rules(preflight(pdf, SCREEN)) == ["title"]


def test_figure_without_alt_text_names_its_page(make_copy: Make) -> None:
    pdf = make_copy("figures", "<img src='rgb-30.png' alt='Before treatment'>"
                               "<p style='break-before: page'><img src='rgb-30.png'></p>")
    findings = preflight(pdf, SCREEN)
    assert [(f.page, f.rule, f.message) for f in findings] == [
        (2, "alt-text", "figure 2 of 2 has no alternative text (/Alt)")]


def test_weasyprint_tags_an_empty_alt_as_a_figure_without_alt_text(make_copy: Make) -> None:
    findings = preflight(make_copy("decorative", "<img src='rgb-30.png' alt=''>"), SCREEN)
    assert rules(findings) == ["alt-text"]


def test_screen_copy_with_bleed_and_crop_marks(make_copy: Make) -> None:
    findings = preflight(make_copy("marked", page="size: A4; bleed: 3mm; marks: crop"), SCREEN)
    assert [(f.page, f.rule) for f in findings] == [(1, "crop-marks")]


def test_large_print_text_all_at_16_pt_passes(make_copy: Make) -> None:
    body = "<h1>After your treatment</h1>" + TEXT * 3
    assert preflight(make_copy("large", body, style="body { font-size: 16pt }"), LARGE) == []


def test_large_print_refuses_any_character_under_16_pt(make_copy: Make) -> None:
    """Not only the body: one footer line, one label is enough. The finding names the page, the smallest size and
    the text (read through the font's /ToUnicode map)."""
    page = "size: A4; @bottom-right { content: 'Page ' counter(page); font-size: 10pt }"
    body = "<h1>After your treatment</h1>" + TEXT * 3 + "<p style='page-break-before: always'>Second page.</p>"
    findings = preflight(make_copy("footer", body, page=page, style="body { font-size: 16pt }"), LARGE)
    assert [f.format() for f in findings] == [
        f'{findings[0].document}: page {n}: text-size: 6 characters under 16 pt, the smallest 10 pt ("Page {n}"): '
        "every character needs 16 pt or more" for n in (1, 2)]
    label = "<p style='font-size: 12pt'>Signed</p><p style='font-size: 14pt'>Total cost quoted</p>"
    [finding] = preflight(make_copy("label", TEXT + label, style="body { font-size: 16pt }"), LARGE)
    assert finding.message == ('23 characters under 16 pt, the smallest 12 pt ("Signed"): every character needs '
                               "16 pt or more")


def test_large_print_counts_text_inside_form_xobjects(make_copy: Make) -> None:
    # WeasyPrint draws an element with opacity in a Form XObject (a transparency group)
    pdf = make_copy("group", TEXT + "<p style='opacity: 0.9; font-size: 9pt'>Faint note</p>",
                    style="body { font-size: 16pt }")
    with pikepdf.open(pdf) as document:
        assert any(x.get("/Subtype") == "/Form" for x in document.pages[0].Resources.XObject.values())
    [finding] = preflight(pdf, LARGE)
    assert finding.message.startswith('10 characters under 16 pt, the smallest 9 pt ("Faint note")')


def test_the_logos_lettering_is_exempt_and_nothing_else(make_copy: Make, tmp_path: Path) -> None:
    """A logo drawn from SVG keeps its lettering as text: exempt when the figure's alternative text is the expected
    artwork's (the clinic's name), and only then."""
    logo = tmp_path / "logo.svg"
    logo.write_text('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 240 60" width="240" height="60">'
                    '<text x="10" y="40" font-size="14">Skin Clinic</text></svg>')
    body = f"<img src='{logo.as_uri()}' alt='Fennick Street Skin Clinic' style='height: 12mm'>" + TEXT
    pdf = make_copy("logo", body, style="body { font-size: 16pt }")
    clinic = Expectation("large-print", A4, min_text_pt=16, artwork=frozenset({"Fennick Street Skin Clinic"}))
    assert preflight(pdf, clinic) == []
    other = Expectation("large-print", A4, min_text_pt=16, artwork=frozenset({"Cedar Hollow Dermatology"}))
    [finding] = preflight(pdf, other)
    assert finding.rule == "text-size" and '("Skin' in finding.message     # SVG lettering: glyph by glyph
    # small text next to the logo is not part of it
    small = make_copy("logo-and-note", body + "<p style='font-size: 11pt'>Small print</p>",
                      style="body { font-size: 16pt }")
    [finding] = preflight(small, clinic)
    assert finding.message.startswith('11 characters under 16 pt, the smallest 11 pt ("Small print")')


def test_large_print_size_counts_the_page_transformation(make_copy: Make) -> None:
    style = "div { font-size: 8pt; transform: scale(2); transform-origin: 0 0 }"
    assert preflight(make_copy("scaled", f"<div>{TEXT * 3}</div>", style=style + " p { font-size: 16pt }"),
                     LARGE) == []
    # after the scaled element the graphics state is restored: the text that follows is its own size again
    pdf = make_copy("restored", f"<div>Hello</div>{TEXT}", style=style + " p { font-size: 12pt }")
    [finding] = preflight(pdf, LARGE)
    assert finding.message.startswith('56 characters under 16 pt, the smallest 12 pt ("Your skin may be red')


def test_text_matrix_starts_afresh_in_each_text_object(tmp_path: Path) -> None:
    with pikepdf.new() as document:
        document.add_blank_page(page_size=A4)
        page = document.pages[0]
        page.Resources = Dictionary(Font=Dictionary(F1=Dictionary(Type=Name.Font, Subtype=Name.Type1,
                                                                  BaseFont=Name.Helvetica)))
        page.Contents = document.make_stream(
            b"BT /F1 4 Tf 10 0 0 10 72 700 Tm (x) Tj ET BT /F1 12 Tf 72 600 Td (twenty characters...) Tj ET")
        document.save(tmp_path / "text.pdf")
    findings = [f for f in preflight(tmp_path / "text.pdf", LARGE) if f.rule == "text-size"]
    assert [f.message for f in findings] == [
        '20 characters under 16 pt, the smallest 12 pt ("twenty characters..."): every character needs 16 pt or more']


@pytest.mark.parametrize("shown, characters", [
    (b"[<0041> -20 <00420043>] TJ", 6),              # hex strings only, read from qpdf's serialisation
    (b"[(AB) -20 <0043> (D\\)E)] TJ", 7),            # a literal string, with an escape: read one by one
])
def test_characters_shown_by_a_tj_array(tmp_path: Path, shown: bytes, characters: int) -> None:
    with pikepdf.new() as document:
        document.add_blank_page(page_size=A4)
        page = document.pages[0]
        page.Resources = Dictionary(Font=Dictionary(F1=Dictionary(Type=Name.Font, Subtype=Name.Type1,
                                                                  BaseFont=Name.Helvetica)))
        page.Contents = document.make_stream(b"BT /F1 12 Tf 72 600 Td " + shown + b" ET")
        document.save(tmp_path / "text.pdf")
    findings = [f for f in preflight(tmp_path / "text.pdf", LARGE) if f.rule == "text-size"]
    assert [f.message.split(" (")[0] for f in findings] == [
        f"{characters} characters under 16 pt, the smallest 12 pt"]


def test_screen_copy_is_not_held_to_large_print_size(make_copy: Make) -> None:
    assert preflight(make_copy("small", style="body { font-size: 10pt }"), SCREEN) == []
