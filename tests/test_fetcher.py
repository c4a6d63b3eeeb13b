"""The URL fetcher serves files inside the project's content, templates and fonts, and nothing else."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import ROOT, TODAY
from handouts import builder
from handouts.filesource import ProjectFiles
from handouts.pdf import FetchRefused, ProjectFetcher
from handouts.plan import Selection


@pytest.fixture
def fetcher() -> ProjectFetcher:
    return ProjectFetcher(ProjectFiles(ROOT, []))


def test_serves_a_file_inside_the_project(fetcher: ProjectFetcher) -> None:
    logo = ROOT / "content/clinics/fennick-street-uk/logo.svg"
    response = fetcher.fetch(logo.as_uri())
    assert response.read() == logo.read_bytes()


@pytest.mark.parametrize("url", [
    "file:///etc/passwd",
    (ROOT / "pyproject.toml").as_uri(),
    (ROOT / "content/../pyproject.toml").as_uri(),
    "http://example.com/logo.png",
    "https://example.com/logo.png",
    "data:text/plain,hello",
])
def test_refuses_anything_else(fetcher: ProjectFetcher, url: str) -> None:
    with pytest.raises(FetchRefused):
        fetcher.fetch(url)
    assert fetcher.refused == [url]


def _build_with_body(project: Path, tmp_path: Path, body: str) -> builder.Outcome:
    block = project / "content/en/acne-scars/condition-risks.md"
    text = block.read_text()
    head, rest = text.split("\n---\n", 1)
    block.write_text(f"{head}\n---\n{body}\n\n{rest}")
    return builder.build(project, tmp_path / "out", Selection("fennick-street-uk", "en", "acne-scars", "leaflet",
                                                                     "screen"), TODAY)


@pytest.mark.parametrize("body, expected", [
    # The sanitiser removes these before the fetcher would refuse them (raw-html); either way the block is named.
    ("![Passwords](file:///etc/passwd)", "'file:///etc/passwd'"),
    ("![A remote picture](http://example.com/x.png)", "'http://example.com/x.png'"),
    ("![A missing picture](missing-diagram.svg)", "missing-diagram.svg"),
])
def test_refused_or_missing_files_fail_the_document_naming_the_block(project: Path, tmp_path: Path,
                                                                     body: str, expected: str) -> None:
    outcome = _build_with_body(project, tmp_path, body)
    assert outcome.failed == ["fennick-street-uk/en/acne-scars-leaflet-screen.pdf"]
    block_line = (project / "content/en/acne-scars/condition-risks.md").read_text().splitlines().index(body) + 1
    found = [p.format() for p in outcome.problems]
    assert any(m.startswith(f"content/en/acne-scars/condition-risks.md:{block_line}:") and expected in m
               for m in found), found
    assert not (tmp_path / "out/fennick-street-uk/en/acne-scars-leaflet-screen.pdf").exists()


def test_attachments_are_refused(project: Path, tmp_path: Path) -> None:
    outcome = _build_with_body(project, tmp_path, '<a rel="attachment" href="https://www.nhs.uk/">notes</a>')
    assert outcome.failed and any("attachments are not allowed" in p.message for p in outcome.problems)


def test_a_project_named_by_a_relative_path_builds(project: Path, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """The printer names the project's files by file: URL, which needs an absolute path: the builder makes the
    root it is given absolute (an API caller, or the benchmark's --root, may pass a relative one)."""
    monkeypatch.chdir(project.parent)
    outcome = builder.build(Path(project.name), tmp_path / "out",
                            Selection("fennick-street-uk", "en", "acne-scars", "summary", "screen"), TODAY, jobs=1)
    assert outcome.ok and outcome.added == ["fennick-street-uk/en/acne-scars-summary-screen.pdf"]
    assert (tmp_path / "out/fennick-street-uk/en/acne-scars-summary-screen.pdf").read_bytes().startswith(b"%PDF-")
