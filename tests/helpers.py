"""Small readers of real PDFs used by the tests."""

from __future__ import annotations

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
