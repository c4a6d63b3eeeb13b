"""Visual regression: the first page of a few documents, rendered by poppler, against reviewed references.

After an intended change to the design, refresh them with `pytest --update-visual`, then look at the new PNGs.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from PIL import Image, ImageChops, ImageStat

from conftest import Built

REFERENCES = Path(__file__).parent / "visual"
DOCUMENTS = ["fennick-street-uk/en/acne-scars-leaflet-screen.pdf",
             "cedar-hollow-us/en/burns-wounds-consent-print.pdf",
             "fennick-street-uk/en/pigmentation-disorders-leaflet-large-print.pdf"]
TOLERANCE = 1.0          # mean absolute difference per channel, out of 255: anti-aliasing noise, not a change


def first_page(pdf: Path, target: Path) -> Image.Image:
    subprocess.run(["pdftoppm", "-png", "-r", "40", "-f", "1", "-l", "1", "-singlefile", str(pdf),
                    str(target.with_suffix(""))], check=True)
    return Image.open(target).convert("RGB")


def difference(a: Image.Image, b: Image.Image) -> float:
    return sum(ImageStat.Stat(ImageChops.difference(a, b)).mean) / 3


@pytest.mark.parametrize("document", DOCUMENTS)
def test_first_page_looks_as_reviewed(built: Built, document: str, tmp_path: Path,
                                      request: pytest.FixtureRequest) -> None:
    reference = REFERENCES / (document.replace("/", "_").removesuffix(".pdf") + ".png")
    page = first_page(built.output / document, tmp_path / "page.png")
    if request.config.getoption("--update-visual"):
        page.save(reference)
    assert reference.is_file(), f"no reference {reference.name}: run pytest --update-visual and look at it"
    expected = Image.open(reference).convert("RGB")
    assert page.size == expected.size
    assert difference(page, expected) <= TOLERANCE


def test_the_comparison_notices_a_change(built: Built, tmp_path: Path) -> None:
    """A different document's first page is far outside the tolerance: the test can fail."""
    a = first_page(built.output / DOCUMENTS[0], tmp_path / "a.png")
    b = first_page(built.output / DOCUMENTS[0].replace("acne-scars", "burns-wounds"), tmp_path / "b.png")
    assert difference(a, b) > TOLERANCE
