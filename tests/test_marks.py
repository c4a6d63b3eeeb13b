"""Crop marks outside the bleed, on real print masters of both sample clinics: the boxes as poppler reads them,
the marks as poppler draws them and as pikepdf reads them, and a clinic that turns them off."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pikepdf
import pytest
import weasyprint
import yaml
from PIL import Image

from conftest import ROOT, TODAY
from handouts import builder, marks, preflight
from handouts.models import CropMarks
from handouts.plan import Selection

MM = 72 / 25.4
CLINICS = {"fennick-street-uk": ((595.28, 841.89), 3 * MM),        # A4, 3 mm bleed
           "cedar-hollow-us": ((612.0, 792.0), 0.125 * 72)}         # US Letter, 0.125 in bleed
MARKS = yaml.safe_load((ROOT / "templates/variants.yaml").read_text())["print"]["crop_marks"]
GAP, LENGTH = MARKS["gap_mm"] * MM, MARKS["length_mm"] * MM
REACH = GAP + LENGTH + MARKS["margin_mm"] * MM          # how far the MediaBox reaches beyond the BleedBox
DOCUMENT = "burns-wounds-leaflet-print.pdf"


def print_master(root: Path, output: Path, clinic: str) -> Path:
    outcome = builder.build(root, output, Selection(clinic=clinic, condition="burns-wounds", kind="leaflet",
                                                    variant="print"), TODAY, jobs=1)
    assert outcome.ok and outcome.problems == [], outcome.problems
    return output / clinic / "en" / DOCUMENT


@pytest.fixture(scope="module")
def masters(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    output = tmp_path_factory.mktemp("masters")
    return {clinic: print_master(ROOT, output, clinic) for clinic in CLINICS}


def pdfinfo_boxes(pdf: Path) -> list[dict[str, tuple[float, ...]]]:
    """Every page's boxes as poppler's `pdfinfo -box` reads them."""
    out = subprocess.run(["pdfinfo", "-box", "-f", "1", "-l", "999", str(pdf)], check=True, capture_output=True,
                         text=True).stdout
    pages: dict[int, dict[str, tuple[float, ...]]] = {}
    for number, name, values in re.findall(r"^Page\s+(\d+) (\w+Box):\s+(.*)$", out, re.M):
        pages.setdefault(int(number), {})[name] = tuple(float(v) for v in values.split())
    return [pages[number] for number in sorted(pages)]


def grown(box: tuple[float, ...], by: float) -> tuple[float, ...]:
    return box[0] - by, box[1] - by, box[2] + by, box[3] + by


@pytest.mark.parametrize("clinic", CLINICS)
def test_boxes_with_poppler_and_pikepdf(masters: dict[str, Path], clinic: str) -> None:
    """TrimBox is the paper, BleedBox is trim + bleed, the MediaBox holds the marks beyond the BleedBox on every
    side, and there is no CropBox of its own (poppler shows the MediaBox for it)."""
    (width, height), bleed = CLINICS[clinic]
    pages = pdfinfo_boxes(masters[clinic])
    assert len(pages) >= 2
    for boxes in pages:
        assert boxes["TrimBox"] == pytest.approx((0, 0, width, height), abs=0.01)
        assert boxes["BleedBox"] == pytest.approx(grown(boxes["TrimBox"], bleed), abs=0.01)
        assert boxes["MediaBox"] == pytest.approx(grown(boxes["BleedBox"], REACH), abs=0.01)
        media, bleed_box = boxes["MediaBox"], boxes["BleedBox"]
        assert media[0] < bleed_box[0] and media[1] < bleed_box[1]
        assert media[2] > bleed_box[2] and media[3] > bleed_box[3]
        assert boxes["CropBox"] == boxes["MediaBox"]
    with pikepdf.open(masters[clinic]) as pdf:
        assert not any("/CropBox" in page.obj for page in pdf.pages)


@pytest.mark.parametrize("clinic", CLINICS)
def test_marks_as_poppler_draws_them(masters: dict[str, Path], clinic: str, tmp_path: Path) -> None:
    """At 72 dpi (a pixel a point, no anti-aliasing): dark pixels along each of the eight marks; outside the
    BleedBox nothing but the marks (the artwork is clipped to it); and the bleed's corners, where WeasyPrint put its
    marks, blank."""
    (width, height), bleed = CLINICS[clinic]
    subprocess.run(["pdftoppm", "-png", "-r", "72", "-aa", "no", "-aaVector", "no", "-f", "1", "-l", "1",
                    "-singlefile", str(masters[clinic]), str(tmp_path / "page")], check=True)
    image = Image.open(tmp_path / "page.png").convert("L")
    left, top = -bleed - REACH, height + bleed + REACH          # the MediaBox's top-left corner on the page

    def pixel(x: float, y: float) -> tuple[int, int]:
        return int(x - left), int(top - y)

    near, far = bleed + GAP, bleed + GAP + LENGTH               # where each mark begins and ends, from the trim
    lines = [((-far, y), (-near, y)) for y in (0, height)]
    lines += [((width + near, y), (width + far, y)) for y in (0, height)]
    lines += [((x, -far), (x, -near)) for x in (0, width)]
    lines += [((x, height + near), (x, height + far)) for x in (0, width)]
    on_a_mark = set()
    for (x1, y1), (x2, y2) in lines:
        (px1, py1), (px2, py2) = pixel(x1, y1), pixel(x2, y2)
        line = {(x, y) for x in range(min(px1, px2) - 1, max(px1, px2) + 2)
                for y in range(min(py1, py2) - 1, max(py1, py2) + 2)}
        on_a_mark |= line
        assert sum(image.getpixel(p) < 128 for p in line) >= LENGTH - 2, ((x1, y1), (x2, y2))
    outer = [(x, y) for x in range(image.width) for y in range(image.height)
             if not (pixel(-bleed, 0)[0] - 1 <= x <= pixel(width + bleed, 0)[0] + 1
                     and pixel(0, height + bleed)[1] - 1 <= y <= pixel(0, -bleed)[1] + 1)]
    assert len(outer) > 4 * 15 * 600                            # the band around the BleedBox, on every side
    assert [p for p in outer if image.getpixel(p) < 250 and p not in on_a_mark] == []
    spans = {"x": ((-bleed, 0), (width, width + bleed)), "y": ((-bleed, 0), (height, height + bleed))}
    corners = [(x, y) for low_x, high_x in spans["x"] for low_y, high_y in spans["y"]
               for x in range(pixel(low_x, 0)[0] + 1, pixel(high_x, 0)[0] - 1)
               for y in range(pixel(0, high_y)[1] + 1, pixel(0, low_y)[1] - 1)]
    assert len(corners) >= 4 * 6 * 6
    assert [p for p in corners if image.getpixel(p) < 250] == []


@pytest.mark.parametrize("clinic", CLINICS)
def test_marks_as_pikepdf_reads_them(masters: dict[str, Path], clinic: str) -> None:
    """On every page, after the artwork: eight lines of 100 % K, in a production-aid artifact, and the preflight
    finds all eight of them outside the BleedBox."""
    with pikepdf.open(masters[clinic]) as pdf:
        for page in pdf.pages:
            last = pikepdf.parse_content_stream(page.Contents[-1])
            operators = [str(instruction.operator) for instruction in last]
            assert operators.count("S") == 8 and operators.count("m") == 8
            colours = [list(i.operands) for i in last
                       if str(i.operator) in ("K", "k", "RG", "rg", "G", "g", "CS", "cs", "SC", "sc", "SCN", "scn")]
            assert colours == [[0, 0, 0, 1]]                  # 100 % K, stroked
            begin = next(i for i in last if str(i.operator) == "BDC")
            assert begin.operands[0] == "/Artifact" and begin.operands[1].Type == "/Page"
    (width, height), bleed = CLINICS[clinic]
    expect = preflight.Expectation("print", (width, height), bleed=bleed, crop_marks=True)
    assert preflight.preflight(masters[clinic], expect) == []


def test_two_builds_give_the_same_bytes(masters: dict[str, Path], tmp_path: Path) -> None:
    """The marks are added by qpdf, which writes the same bytes (and the same identifiers) every time."""
    again = print_master(ROOT, tmp_path, "cedar-hollow-us")
    assert again.read_bytes() == masters["cedar-hollow-us"].read_bytes()


def test_a_clinic_can_turn_marks_off(project: Path) -> None:
    """`print: crop_marks: false`: the MediaBox is the BleedBox, no marks, and the preflight (which no longer
    expects marks) passes."""
    clinic = project / "content/clinics/fennick-street-uk/clinic.yaml"
    text = clinic.read_text()
    assert "  crop_marks: true " in text
    clinic.write_text(text.replace("  crop_marks: true ", "  crop_marks: false"))
    pdf = print_master(project, project / "output", "fennick-street-uk")
    for boxes in pdfinfo_boxes(pdf):
        assert boxes["MediaBox"] == pytest.approx(boxes["BleedBox"], abs=0.01)
        assert boxes["BleedBox"] == pytest.approx(grown(boxes["TrimBox"], 3 * MM), abs=0.01)
    with pikepdf.open(pdf) as opened:
        assert all(b"/Artifact" not in page.Contents.read_bytes() for page in opened.pages)
    expect = preflight.Expectation("print", CLINICS["fennick-street-uk"][0], bleed=3 * MM, crop_marks=True)
    assert {f.rule for f in preflight.preflight(pdf, expect)} == {"printer-marks"}     # marks were wanted here


def test_crop_marks_on_a_variant_in_rgb_are_refused(project: Path) -> None:
    variants = project / "templates/variants.yaml"
    variants.write_text(variants.read_text().replace(
        "  colour: rgb\n", "  colour: rgb\n  crop_marks: {gap_mm: 1, length_mm: 5, margin_mm: 1, weight_pt: 0.2}\n",
        1))
    outcome = builder.check(project, Selection(), TODAY, strict=False)
    assert any(p.path == "templates/variants.yaml" and "'crop_marks' are for a CMYK print master" in p.message
               for p in outcome.problems), outcome.problems


def test_artwork_beyond_the_bleed_is_clipped_to_it(tmp_path: Path) -> None:
    """A box WeasyPrint draws past the bleed shows up to the BleedBox and no further: nothing but the marks is
    drawn in the area around it."""
    html = ("<style>@page { size: A4; bleed: 3mm; margin: 0 } div { position: absolute; left: -20mm; top: 100mm; "
            "width: 60mm; height: 60mm; background: black }</style><div></div>")
    unmarked = weasyprint.HTML(string=html).write_pdf()
    pdf = tmp_path / "marked.pdf"
    pdf.write_bytes(marks.add(unmarked, CropMarks(**MARKS)))
    subprocess.run(["pdftoppm", "-png", "-r", "72", "-aa", "no", "-aaVector", "no", "-singlefile", str(pdf),
                    str(tmp_path / "page")], check=True)
    image = Image.open(tmp_path / "page.png").convert("L")
    bleed_edge = int(REACH)                     # the BleedBox's left edge, in pixels from the MediaBox's
    row = int(REACH + 3 * MM + 130 * MM)         # across the box, from the top
    assert image.getpixel((bleed_edge + 2, row)) < 128                     # the box runs into the bleed
    assert [image.getpixel((x, row)) for x in range(bleed_edge - 1)] == [255] * (bleed_edge - 1)
