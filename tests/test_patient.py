"""A sheet filled in for one patient: the patient file is checked strictly, the sheet goes only where the user
says, created private, and the patient's details are found nowhere else on disk and in no message."""

from __future__ import annotations

import datetime as dt
import io
import logging
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from pypdf import PdfReader

from conftest import ROOT, TODAY
from handouts import builder, yamlio
from handouts.models import Patient, validate_patient
from handouts.plan import Selection
from handouts.problems import BuildError, Problem
from helpers import text

ONE_CONSENT = ["--clinic", "fennick-street-uk", "--condition", "acne-scars", "--kind", "consent",
               "--variant", "screen"]
NAME = "Zoë Quillfeather-Okonkwo"          # found nowhere but in the patient file and the one sheet
GOOD = f"name: {NAME}\ndate_of_birth: 1980-02-03\nprocedure_date: 2026-12-01\nclinician: Dr A. Sample\n"


def run(project: Path, *args: str) -> subprocess.CompletedProcess:
    """build.py in the scratch project; standard output as bytes (it may be a PDF), standard error as text."""
    result = subprocess.run([sys.executable, str(ROOT / "build.py"), "--root", str(project), "--today",
                             TODAY.isoformat(), *args], capture_output=True, cwd=project, timeout=300)
    result.stderr = result.stderr.decode("utf-8", "replace")
    return result


def files(folder: Path) -> dict[Path, bytes]:
    return {p: p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


BILLION_LAUGHS = "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join([f'*{chr(97 + i)}'] * 9)}]\n" for i in range(8)) + "name: *i\n"

BAD = {   # the file's text, the line the message names, and words the message must hold
    "unknown key": ("name: Alex\nnickname: Al\n", 2, "unknown key 'nickname'"),
    "a list": ("name: [Alex, Example]\n", 1, "'name' must be text, not a list"),
    "a number": ("name: Alex\nclinician: 42\n", 2, "'clinician' must be text, not a number"),
    "empty file": ("", 1, "the file is empty"),
    "empty name": ("name: ''\n", 1, "'name' is empty or blank"),
    "blank name": ("clinician: Dr A. Sample\nname: '   '\n", 2, "'name' is empty or blank"),
    "null name": ("name:\n", 1, "'name' must be text, not empty (null)"),
    "impossible date": ("name: Alex\ndate_of_birth: 2026-02-30\n", 2, "'date_of_birth' is not a date in the calendar"),
    "unparseable date": ("name: Alex\nprocedure_date: next Tuesday\n", 2, "must be a date written YYYY-MM-DD"),
    "date not YYYY-MM-DD": ("date_of_birth: 03/02/1980\n", 1, "must be a date written YYYY-MM-DD"),
    "future birth": ("name: Alex\n\ndate_of_birth: 2027-01-01\n", 3, "'date_of_birth' is in the future"),
    "10 KB name": ("name: " + "A" * 10_000 + "\n", 1, "'name' is 10,000 characters long; at most 200"),
    "a mapping": ("procedure:\n  what: laser\n", 1, "'procedure' must be text, not keys and values"),
    "not a mapping": ("- Alex\n", 1, "expected keys and values"),
    "alias bomb": (BILLION_LAUGHS, 2, "aliases (*name) are not allowed"),
    "5 MB file": ("name: Alex\n" + "# padding\n" * 500_000, 1, "over the limit of 64,000 bytes: not read"),
    "not UTF-8": ("name: Alex\nclinician: Dr \xe9\n".encode("latin-1"), 2, "not UTF-8: byte 0xe9"),
}


@pytest.mark.parametrize("case", BAD)
def test_a_bad_patient_file_is_a_usage_error_and_nothing_is_written(project: Path, case: str) -> None:
    body, line, words = BAD[case]
    patient = project / "patient.yaml"
    patient.write_bytes(body if isinstance(body, bytes) else body.encode())
    before = files(project)
    result = run(project, *ONE_CONSENT, "--patient", str(patient), "--to", str(project / "sheet.pdf"))
    assert result.returncode == 2, result.stderr
    assert f"{patient}:{line}: patient: " in result.stderr and words in result.stderr, result.stderr
    assert "Traceback" not in result.stderr and result.stdout == b""
    assert files(project) == before                # no sheet, no masters, no output folder: nothing at all
    if case != "not UTF-8":
        assert "Alex" not in result.stderr and "laser" not in result.stderr     # messages never quote a value


@pytest.mark.parametrize("where, words", [("missing.yaml", "cannot read: No such file or directory"),
                                          ("folder", "a directory, not a file: not read"),
                                          ("fifo", "a FIFO, not a file: not read")])
def test_a_patient_file_that_cannot_be_read_is_a_usage_error(project: Path, where: str, words: str) -> None:
    (project / "folder").mkdir()
    os.mkfifo(project / "fifo")                    # reading it would wait for ever
    result = run(project, *ONE_CONSENT, "--patient", str(project / where), "--to", str(project / "sheet.pdf"))
    assert result.returncode == 2, result.stderr
    assert f"{project / where}:1: patient: " in result.stderr and words in result.stderr
    assert "Traceback" not in result.stderr and not (project / "sheet.pdf").exists()


def test_a_sheet_that_cannot_be_written_whole_is_removed(tmp_path: Path, monkeypatch) -> None:
    from handouts import cli

    def full(fd: int) -> None:
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(cli.os, "fsync", full)
    sheet = tmp_path / "sheet.pdf"
    assert cli._write_new_private(sheet, b"%PDF-1.7 ...", cli._parser()) == 1
    assert not sheet.exists()


def test_the_sheet_goes_to_the_new_private_file_and_the_name_nowhere_else(project: Path, tmp_path: Path) -> None:
    patient = project / "patient.yaml"
    patient.write_text(GOOD, encoding="utf-8")
    output = tmp_path / "sheets"
    output.mkdir()
    sheet = output / "sheet-0001.pdf"
    result = run(project, *ONE_CONSENT, "--patient", str(patient), "--to", str(sheet))
    assert result.returncode == 0, result.stderr
    assert stat.S_IMODE(sheet.stat().st_mode) == 0o600
    words = " ".join(text(sheet).split())
    assert f"Patient name {NAME}" in words and "Dr A. Sample" in words
    assert "Date of birth 3 February 1980" in words                  # written the clinic's way
    assert NAME not in result.stderr and result.stdout == b""
    assert not (project / "output").exists()
    holding = set()
    for folder in (project, output):
        for file, data in files(folder).items():
            found = any(form in data for form in (NAME.encode(), NAME.encode("utf-16-be"), b"Quillfeather"))
            if file.suffix == ".pdf":
                found = found or "Quillfeather" in text(file)
            if found:
                holding.add(file)
    assert holding == {patient, sheet}


def test_an_existing_file_is_never_replaced(project: Path) -> None:
    patient = project / "patient.yaml"
    patient.write_text(GOOD, encoding="utf-8")
    earlier = project / "sheet.pdf"
    earlier.write_bytes(b"another patient's sheet")
    result = run(project, *ONE_CONSENT, "--patient", str(patient), "--to", str(earlier))
    assert result.returncode == 2
    assert f"--to {earlier}: already exists: choose another name" in result.stderr
    assert earlier.read_bytes() == b"another patient's sheet"
    link = project / "link.pdf"                    # nor a symbolic link, even one that leads nowhere
    link.symlink_to(project / "nowhere.pdf")
    result = run(project, *ONE_CONSENT, "--patient", str(patient), "--to", str(link))
    assert result.returncode == 2 and "already exists" in result.stderr
    assert not (project / "nowhere.pdf").exists()


def test_to_standard_output_writes_the_pdf_there_and_nothing_on_disk(project: Path) -> None:
    patient = project / "patient.yaml"
    patient.write_text(GOOD, encoding="utf-8")
    before = files(project)
    result = run(project, *ONE_CONSENT, "--patient", str(patient), "--to", "-")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(b"%PDF-") and result.stdout.rstrip().endswith(b"%%EOF")
    assert files(project) == before
    assert NAME not in result.stderr


@pytest.mark.parametrize("args, message", [
    ([*ONE_CONSENT, "--patient", "p.yaml"], "--patient needs --to FILE"),
    ([*ONE_CONSENT, "--to", "sheet.pdf"], "--to is taken with --patient only"),
    (["--clinic", "fennick-street-uk", "--condition", "acne-scars", "--kind", "consent", "--patient", "p.yaml",
      "--to", "s.pdf"], "give --variant"),
    (["check", *ONE_CONSENT, "--patient", "p.yaml", "--to", "s.pdf"], "taken by the build command"),
    ([*ONE_CONSENT, "--patient", "p.yaml", "--to", "no/such/folder/s.pdf"], "there is no folder no/such/folder"),
])
def test_where_the_sheet_goes_must_be_said_and_it_is_one_document(project: Path, args: list[str],
                                                                  message: str) -> None:
    (project / "p.yaml").write_text(GOOD, encoding="utf-8")
    before = files(project)
    result = run(project, *args)
    assert result.returncode == 2, result.stderr
    assert message in result.stderr and "usage:" in result.stderr and "Traceback" not in result.stderr
    assert files(project) == before


def test_personalise_prints_in_memory_and_logs_nothing_of_the_patient(project: Path, monkeypatch,
                                                                      caplog: pytest.LogCaptureFixture) -> None:
    from handouts import pool
    monkeypatch.setattr(pool, "start", lambda *a, **k: pytest.fail("the fork server was started"))
    patient, problems = validate_patient(yamlio.parse(GOOD, "p.yaml", dates=False), "p.yaml", TODAY)
    assert patient is not None and not problems
    before = files(project)
    with caplog.at_level(logging.DEBUG):
        pdf, problems = builder.personalise(project, Selection("fennick-street-uk", None, "acne-scars", "consent",
                                                               "screen"), TODAY, patient)
    assert pdf is not None and pdf.startswith(b"%PDF-"), problems
    assert files(project) == before
    assert not any("Quillfeather" in record.getMessage() for record in caplog.records)
    assert not any("Quillfeather" in p.format() for p in problems)
    with pytest.raises(builder.NotOneDocument, match="give the variant"):
        builder.personalise(project, Selection("fennick-street-uk", None, "acne-scars", "consent"), TODAY, patient)


def test_a_printing_message_that_quotes_the_patient_is_withheld() -> None:
    patient = Patient(name=NAME, date_of_birth=dt.date(1980, 2, 3))
    quoting = Problem("fennick-street-uk/en/acne-scars-consent-screen.pdf", 1, "WeasyPrint: no glyph for "
                      "'quillfeather' in 'Zoë Quillfeather-Okonkwo'", "weasyprint")
    plain = Problem("content/en/acne-scars/evidence.md", 4, "WeasyPrint: unknown property 'colr'", "weasyprint")
    withheld, kept = builder._withheld([quoting, plain], patient)
    assert kept == plain
    assert (withheld.path, withheld.line, withheld.rule) == (quoting.path, quoting.line, quoting.rule)
    assert "Quillfeather" not in withheld.message and "withheld" in withheld.message


def test_a_caller_may_give_real_dates_and_the_checks_hold() -> None:
    assert validate_patient({"name": "A", "date_of_birth": dt.date(1980, 2, 3)}, "form", TODAY)[0] is not None
    patient, problems = validate_patient({"date_of_birth": dt.datetime(1980, 2, 3, 10)}, "form", TODAY)
    assert patient is None and "must be a date written YYYY-MM-DD" in problems[0].message
    patient, problems = validate_patient({"date_of_birth": "1980-02-03", "procedure_date": "1979-01-01",
                                          "name": "line\nbreak"}, "form", TODAY)
    assert patient is None
    assert sorted(p.message for p in problems) == [
        "'name' holds a line break, a tab or another control character: write it on one line",
        "'procedure_date' is before 'date_of_birth'"]


def test_the_consultation_and_leaflet_dates_are_checked_and_printed(project: Path, tmp_path: Path) -> None:
    """The first consultation comes before the treatment (so the time to reflect can be seen); neither date is
    before birth; both print on the form the clinic's way, next to their labels."""
    patient = tmp_path / "p.yaml"
    patient.write_text("date_of_birth: 1980-02-03\nprocedure_date: 2026-12-01\nfirst_consultation: 2026-12-10\n")
    loaded, problems = validate_patient(yaml.safe_load(patient.read_text()), "p.yaml", TODAY)
    assert loaded is None and [p.message for p in problems] == ["'first_consultation' is after 'procedure_date'"]
    loaded, problems = validate_patient({"date_of_birth": "1980-02-03", "leaflet_given": "1979-12-31"}, "p", TODAY)
    assert loaded is None and [p.message for p in problems] == ["'leaflet_given' is before 'date_of_birth'"]
    good, problems = validate_patient({"first_consultation": "2026-11-10", "leaflet_given": "2026-11-10",
                                       "procedure_date": "2026-12-01"}, "p", TODAY)
    assert problems == [] and good is not None
    pdf, problems = builder.personalise(project, Selection("fennick-street-uk", "en", "acne-scars", "consent",
                                                           "screen"), TODAY, good, strict=False)
    assert problems == [] and pdf is not None
    words = " ".join(" ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages).split())
    assert "Date the leaflet was given 10 November 2026" in words
    assert "Date of your first consultation about this treatment 10 November 2026" in words


def test_every_yaml_file_refuses_aliases_and_huge_files_before_expanding_them(project: Path) -> None:
    with pytest.raises(BuildError) as caught:
        yamlio.parse("title: x\nsources: &s [a]\nmore: *s\n", "content/en/x.md", first_line=2)
    assert [p.format() for p in caught.value.problems] == [
        "content/en/x.md:4: yaml: YAML: aliases (*name) are not allowed; write the value out"]
    with pytest.raises(BuildError, match="aliases"):
        yamlio.parse("&a [*a]\n", "self.yaml")                        # a node that holds itself
    catalogue = project / "content/catalogue.yaml"
    catalogue.write_text(catalogue.read_text() + "#" * yamlio.files.MAX_BYTES + "\n")
    with pytest.raises(BuildError, match="over the limit of 262,144 bytes"):
        yamlio.load(catalogue, "content/catalogue.yaml")
    fifo = project / "fifo.yaml"
    os.mkfifo(fifo)                                                   # would block a reader for ever
    with pytest.raises(BuildError, match="a FIFO, not a file"):
        yamlio.load(fifo, "fifo.yaml")


def test_sheets_an_older_release_left_in_the_output_folder_are_pointed_out_not_touched(project: Path) -> None:
    old = project / "output/patients/fennick-street-uk/en/acne-scars-consent-screen-alex-example.pdf"
    old.parent.mkdir(parents=True)
    old.write_bytes(b"%PDF-1.7 an old sheet")
    (project / "output/.handouts-output").write_text("")
    result = run(project, "--clinic", "fennick-street-uk", "--condition", "acne-scars", "--kind", "leaflet",
                 "--variant", "screen")
    assert result.returncode == 0, result.stderr
    assert (f"{project / 'output/patients'}:1: warning: privacy: sheets filled in by an older version, named after "
            "patients, are still here: move them to the patients' records and delete the folder") in result.stderr
    assert old.read_bytes() == b"%PDF-1.7 an old sheet"
