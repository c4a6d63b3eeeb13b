"""Crop marks outside the bleed, added to a finished print master.

WeasyPrint can only draw marks inside its bleed area, where they touch the artwork that runs into the bleed. Print
shops expect them outside the BleedBox, further from the trim than the bleed reaches. So a print master is printed
without marks, and this grows each page's MediaBox beyond the BleedBox by the mark area, clips the page's own
drawing to the BleedBox, and draws eight thin lines of 100 % K in the area gained, each along a trim edge.

The marks are a marked-content sequence of production aids (/Artifact with /Type /Page, the kind PDF 1.7 section
14.8.2.2 gives for cut marks and colour bars), which is how the preflight tells them from the artwork. TrimBox and
BleedBox stay exactly as WeasyPrint wrote them, and no CropBox is added. The file is rewritten by qpdf with an
identifier derived from its content (the first one, WeasyPrint's, derives from the inputs), so the same inputs
still give the same bytes.
"""

from __future__ import annotations

import io

import pikepdf
from pikepdf import Array, Name, Page

from .models import CropMarks

POINTS_PER_MM = 72 / 25.4

Box = tuple[float, float, float, float]

# Begins the sequence the marks are drawn in: a production aid, not part of the document (PDF 1.7, 14.8.2.2).
MARKS_BEGIN = b"/Artifact <</Type /Page>> BDC"


def add(pdf: bytes, marks: CropMarks) -> bytes:
    """`pdf` with crop marks outside the BleedBox of every page, and each MediaBox grown to hold them."""
    with pikepdf.open(io.BytesIO(pdf)) as document:
        for page in document.pages:
            _mark(document, page, marks)
        out = io.BytesIO()
        # Streams already written are copied as they are; only the few added here are compressed.
        document.save(out, deterministic_id=True, stream_decode_level=pikepdf.StreamDecodeLevel.none)
    return out.getvalue()


def _mark(document: pikepdf.Pdf, page: Page, marks: CropMarks) -> None:
    trim, bleed = _box(page.obj.TrimBox), _box(page.obj.BleedBox)
    gap, length = marks.gap_mm * POINTS_PER_MM, marks.length_mm * POINTS_PER_MM
    reach = gap + length + marks.margin_mm * POINTS_PER_MM
    page.obj.MediaBox = Array([bleed[0] - reach, bleed[1] - reach, bleed[2] + reach, bleed[3] + reach])
    left, bottom, right, top = trim
    near = (bleed[0] - gap, bleed[1] - gap, bleed[2] + gap, bleed[3] + gap)        # where each mark begins
    far = (near[0] - length, near[1] - length, near[2] + length, near[3] + length)  # and where it ends
    lines = [((far[0], y), (near[0], y)) for y in (bottom, top)]                    # left of the trim
    lines += [((near[2], y), (far[2], y)) for y in (bottom, top)]                   # right
    lines += [((x, far[1]), (x, near[1])) for x in (left, right)]                   # below
    lines += [((x, near[3]), (x, far[3])) for x in (left, right)]                   # above
    clip = f"q {_numbers(bleed[0], bleed[1], bleed[2] - bleed[0], bleed[3] - bleed[1])} re W n\n"
    drawn = "".join(f"{_numbers(*start)} m {_numbers(*end)} l S\n" for start, end in lines)
    page.contents_add(document.make_stream(clip.encode()), prepend=True)
    page.contents_add(document.make_stream(
        b"Q\n" + MARKS_BEGIN + f"\nq {_numbers(marks.weight_pt)} w 0 J [] 0 d 0 0 0 1 K\n{drawn}Q\nEMC\n".encode()))


def _box(value: pikepdf.Object) -> Box:
    x1, y1, x2, y2 = (float(v) for v in value)
    return min(x1, x2), min(y1, y2), max(x1, x2), max(y1, y2)


def _numbers(*values: float) -> str:
    """Numbers as a content stream writes them: at most four decimals, no trailing zeros."""
    shown = (f"{value:.4f}".rstrip("0").rstrip(".") for value in values)
    return " ".join("0" if text == "-0" else text for text in shown)
