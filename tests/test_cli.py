"""The command line end to end, in a scratch copy of the project: exit codes, isolation of failures, and
the last good PDF kept in place."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT

ALL_UK_ACNE = ["--clinic", "fennick-street-uk", "--condition", "acne-scars", "--variant", "screen"]


def run(project: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "build.py"), "--root", str(project), "--today", "2026-11-24",
                           *args], capture_output=True, text=True, cwd=project)


def break_block(project: Path, relative: str) -> int:
    """Give a block an invalid review date; return the line of the error."""
    file = project / relative
    lines = file.read_text().splitlines()
    number = next(i for i, line in enumerate(lines) if line.startswith("review_due:"))
    lines[number] = "review_due: soon"
    file.write_text("\n".join(lines) + "\n")
    return number + 1


def test_check_passes_on_shipped_content(project: Path) -> None:
    result = run(project, "check")
    assert result.returncode == 0, result.stderr
    assert "error" not in result.stderr.lower()


def test_check_reports_every_problem_then_exits_1(project: Path) -> None:
    line_a = break_block(project, "content/en/acne-scars/evidence.md")
    line_b = break_block(project, "content/en/shared/questions.md")
    result = run(project, "check")
    assert result.returncode == 1
    assert f"content/en/acne-scars/evidence.md:{line_a}: schema: front matter: 'review_due'" in result.stderr
    assert f"content/en/shared/questions.md:{line_b}: schema: front matter: 'review_due'" in result.stderr
    assert not (project / "output").exists()


@pytest.mark.parametrize("args", [["--clinic", "nowhere"], ["--kind", "poster"], ["--bogus"], ["deploy"],
                                  ["--today", "yesterday"]])
def test_usage_errors_exit_2(project: Path, args: list[str]) -> None:
    result = run(project, *args)
    assert result.returncode == 2
    assert "usage:" in result.stderr


def test_build_selection_and_manifest(project: Path) -> None:
    result = run(project, *ALL_UK_ACNE)
    assert result.returncode == 0, result.stderr
    manifest = json.loads((project / "output/manifest.json").read_text())
    assert [d["path"] for d in manifest["documents"]] == [
        f"fennick-street-uk/en/acne-scars-{kind}-screen.pdf" for kind in ("consent", "evidence", "leaflet", "summary")]
    assert not list(project.glob("output/**/.*.tmp"))


def test_broken_block_fails_only_its_documents_and_keeps_the_last_good_pdf(project: Path) -> None:
    assert run(project, "--clinic", "fennick-street-uk", "--variant", "screen").returncode == 0
    output = project / "output/fennick-street-uk/en"
    before = {p.name: p.read_bytes() for p in output.glob("*.pdf")}
    assert len(before) == 20

    line = break_block(project, "content/en/acne-scars/evidence.md")     # used by the research document only
    (project / "content/en/burns-wounds/condition-overview.md").write_text(
        (project / "content/en/burns-wounds/condition-overview.md").read_text() + "\nA new sentence.\n")
    result = run(project, "--clinic", "fennick-street-uk", "--variant", "screen")

    assert result.returncode == 1
    assert f"content/en/acne-scars/evidence.md:{line}:" in result.stderr
    assert "failed: fennick-street-uk/en/acne-scars-evidence-screen.pdf" in result.stderr
    assert result.stderr.count("failed: ") == 1
    after = {p.name: p.read_bytes() for p in output.glob("*.pdf")}
    assert after["acne-scars-evidence-screen.pdf"] == before["acne-scars-evidence-screen.pdf"]   # last good kept
    assert after["burns-wounds-leaflet-screen.pdf"] != before["burns-wounds-leaflet-screen.pdf"]  # others rebuilt
    manifest = {d["path"] for d in json.loads((project / "output/manifest.json").read_text())["documents"]}
    assert "fennick-street-uk/en/acne-scars-evidence-screen.pdf" in manifest


def test_missing_required_block_fails_the_documents_needing_it(project: Path) -> None:
    (project / "content/en/shared/screening.md").unlink()     # the consent form uses it, the leaflet does not
    result = run(project, "check")
    assert result.returncode == 1
    assert "content/kinds/consent.yaml" in result.stderr and "no block fills role 'screening'" in result.stderr
    built = run(project, "--clinic", "cedar-hollow-us", "--condition", "acne-scars", "--variant", "screen")
    assert built.returncode == 1
    assert (project / "output/cedar-hollow-us/en/acne-scars-leaflet-screen.pdf").is_file()
    assert not (project / "output/cedar-hollow-us/en/acne-scars-consent-screen.pdf").exists()


def test_template_error_names_template_and_line(project: Path) -> None:
    template = project / "templates/leaflet.html"
    lines = template.read_text().splitlines()
    lines.insert(3, "{{ document.no_such_field }}")
    template.write_text("\n".join(lines) + "\n")
    result = run(project, "check")
    assert result.returncode == 1
    assert "templates/leaflet.html:4: template:" in result.stderr and "no_such_field" in result.stderr


def test_json_format(project: Path) -> None:
    break_block(project, "content/en/shared/questions.md")
    result = run(project, "check", "--format", "json")
    assert result.returncode == 1
    report = json.loads(result.stdout)
    assert {p["path"] for p in report["problems"]} >= {"content/en/shared/questions.md"}


def test_patient_details_fill_the_consent_sheet(project: Path) -> None:
    patient = project / "patient.yaml"
    patient.write_text("name: Alex Example\ndate_of_birth: 1980-02-03\nclinician: Dr A. Sample\n")
    sheet = project / "sheet.pdf"
    result = run(project, "--clinic", "fennick-street-uk", "--condition", "acne-scars", "--kind", "consent",
                 "--variant", "screen", "--patient", str(patient), "--to", str(sheet))
    assert result.returncode == 0, result.stderr
    from helpers import text
    assert not (project / "output").exists()                         # no masters, no manifest: the sheet only
    words = " ".join(text(sheet).split())
    assert "Patient name Alex Example" in words and "Dr A. Sample" in words
    assert "Date of birth 3 February 1980" in words                  # written the clinic's way
