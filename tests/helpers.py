"""Small readers of real PDFs used by the tests."""

from __future__ import annotations

import math
import re
import subprocess
from pathlib import Path

from pypdf import PdfReader


def text(pdf: Path) -> str:
    return "\n".join(page.extract_text() or "" for page in PdfReader(pdf).pages)


def pdffonts(pdf: Path) -> list[dict[str, str]]:
    """Rows of poppler's `pdffonts` (an independent reader), as dicts of name, type, emb."""
    out = subprocess.run(["pdffonts", str(pdf)], check=True, capture_output=True, text=True).stdout
    rows = []
    for line in out.splitlines()[2:]:
        parts = line.split()
        # name type... encoding emb sub uni object-id gen: read from the right, the name from the left.
        rows.append({"name": parts[0], "emb": parts[-5], "sub": parts[-4]})
    return rows


def words_by_page(pdf: Path) -> list[tuple[float, list[tuple[float, float, str]]]]:
    """Each page's height and its words with their top and bottom (from the top of the page), read by poppler's
    `pdftotext -bbox`."""
    out = subprocess.run(["pdftotext", "-bbox", str(pdf), "-"], check=True, capture_output=True, text=True).stdout
    pages = []
    for height, body in re.findall(r'<page width="[\d.]+" height="([\d.]+)">(.*?)</page>', out, re.S):
        words = re.findall(r'<word xMin="[\d.]+" yMin="([\d.]+)" xMax="[\d.]+" yMax="([\d.]+)">(.*?)</word>', body)
        pages.append((float(height), [(float(top), float(bottom), word) for top, bottom, word in words]))
    return pages


Matrix = tuple[float, float, float, float, float, float]
IDENTITY: Matrix = (1, 0, 0, 1, 0, 0)


def _times(m: Matrix, n: Matrix) -> Matrix:
    """m then n, as PDF composes matrices (m x n)."""
    a, b, c, d, e, f = m
    A, B, C, D, E, F = n
    return (a * A + b * C, a * B + b * D, c * A + d * C, c * B + d * D, e * A + f * C + E, e * B + f * D + F)


def text_sizes(pdf: Path) -> list[tuple[int, float, str]]:
    """Every piece of text on every page with the size it is drawn at, (page, points, text), read by pypdf (an
    independent reader): font size times the text matrix times the transformation in force. pypdf reads a Form
    XObject afresh, from the identity, so the transformation where the form is drawn (and the form's own /Matrix)
    is kept here on a stack, pushed and popped around each `Do`."""
    found = []
    reader = PdfReader(pdf)
    for number, page in enumerate(reader.pages, 1):
        # (the matrix from the current form's space to the page's, the current resources)
        stack: list[tuple[Matrix, object]] = [(IDENTITY, page.get("/Resources"))]
        flushing = [False]     # pypdf reports the text pending before a `Do` after our `before` saw the `Do`

        def before(operator: bytes, operands: list, cm: list, tm: list) -> None:
            flushing[0] = False
            if operator == b"Do":
                outer, resources = stack[-1]
                xobject = resources.get_object()["/XObject"][operands[0]].get_object()
                form = tuple(float(v) for v in xobject.get("/Matrix", IDENTITY))
                stack.append((_times(_times(form, tuple(cm)), outer), xobject.get("/Resources", resources)))
                flushing[0] = True

        def after(operator: bytes, operands: list, cm: list, tm: list) -> None:
            if operator == b"Do":
                stack.pop()

        def text(shown: str, cm: list, tm: list, font: object, size: float) -> None:
            if not shown.strip():
                return
            outer = stack[-2][0] if flushing[0] else stack[-1][0]
            _, _, c, d, _, _ = _times(_times(tuple(tm), tuple(cm)), outer)
            found.append((number, round(abs(size) * math.hypot(c, d), 1), shown.strip()))

        page.extract_text(visitor_operand_before=before, visitor_operand_after=after, visitor_text=text)
    return found


def write_block(folder: Path, name: str, front: str, body: str = "Some plain text.\n") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    file = folder / name
    file.write_text(f"---\n{front.strip()}\n---\n{body}", encoding="utf-8")
    return file


VALID_FRONT = """
id: test-block
title: A test block
role: condition-risks
version: "1.0"
last_reviewed: 2026-11-01
review_due: 2027-11-01
reviewer: Consultant dermatologist
sources:
  - title: Acne
    publisher: NHS
    url: https://www.nhs.uk/conditions/acne/
"""
