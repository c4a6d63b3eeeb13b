"""Render stage: the HTML of one leaflet and one consent sheet, compared with reviewed golden copies.

After an intended change to templates or content, refresh them with `pytest --update-golden` and review the diff.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import ROOT, TODAY
from handouts import builder
from handouts.plan import Selection
from handouts.render import Renderer

GOLDEN = Path(__file__).parent / "golden"
CASES = [
    Selection("fennick-street-uk", "en", "acne-scars", "leaflet", "screen"),
    Selection("cedar-hollow-us", "en", "pigmentation-disorders", "consent", "screen"),
]


def render(selection: Selection) -> str:
    library, plan, _ = builder.prepare(ROOT, selection, TODAY, strict=False)
    assert len(plan.jobs) == 1, plan.failed
    html = Renderer(ROOT).render(library, plan.jobs[0])
    return html.replace(ROOT.resolve().as_uri(), "file://PROJECT")


@pytest.mark.parametrize("selection", CASES, ids=lambda s: f"{s.clinic}-{s.condition}-{s.kind}")
def test_html_matches_golden(selection: Selection, request: pytest.FixtureRequest) -> None:
    golden = GOLDEN / f"{selection.clinic}-{selection.condition}-{selection.kind}.html"
    html = render(selection)
    if request.config.getoption("--update-golden"):
        golden.write_text(html, encoding="utf-8")
    assert golden.is_file(), f"no golden file {golden.name}: run pytest --update-golden and review it"
    assert html == golden.read_text(encoding="utf-8")
