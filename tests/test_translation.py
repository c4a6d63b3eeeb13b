"""Translation governance, end to end in a scratch copy of the project: a translation is current, stale (held back,
its last good PDF kept and marked behind) or missing (its documents fail, never filled in with English)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from helpers import text
from test_cli import run

# The Spanish acne-scars leaflet uses the shared risks block; the summary does not.
US_ACNE_ES = ["--clinic", "cedar-hollow-us", "--language", "es", "--condition", "acne-scars", "--variant", "screen"]
LEAFLET = "cedar-hollow-us/es/acne-scars-leaflet-screen.pdf"
SUMMARY = "cedar-hollow-us/es/acne-scars-summary-screen.pdf"
CONSENT = "cedar-hollow-us/es/acne-scars-consent-screen.pdf"


def line_of(file: Path, prefix: str) -> int:
    return next(i for i, line in enumerate(file.read_text(encoding="utf-8").splitlines(), 1) if line.startswith(prefix))


def bump_version(file: Path, new: str) -> None:
    text_ = file.read_text(encoding="utf-8")
    file.write_text(re.sub(r'(?m)^version: "[0-9.]+"$', f'version: "{new}"', text_, count=1), encoding="utf-8")


def test_check_ends_with_a_translation_table_and_json_carries_it(project: Path) -> None:
    result = run(project, "check")
    assert result.returncode == 0, result.stderr
    table = result.stdout[result.stdout.index("Translations into es:"):]
    first = table.splitlines()[0]
    current = int(re.search(r"(\d+) current", first).group(1))
    assert current > 50 and "0 stale, 0 missing" in first
    assert "current  content/en/shared/risks.md" in table and "content/es/shared/risks.md" in table
    report = json.loads(run(project, "check", "--format", "json").stdout)
    es = report["translations"]["es"]
    assert (es["current"], es["stale"], es["missing"]) == (current, 0, 0)
    row = next(r for r in es["blocks"] if r["source"] == "content/en/shared/risks.md")
    assert row["status"] == "current" and row["path"] == "content/es/shared/risks.md"
    assert row["translates"] == row["source_version"] and row["translated"] == "2026-11-26"


def test_stale_translation_keeps_its_last_good_pdf_marked_behind(project: Path, tmp_path: Path) -> None:
    output = tmp_path / "out"
    first = run(project, "build", "--output", str(output), *US_ACNE_ES)
    assert first.returncode == 0, first.stderr
    before = {name: (output / name).read_bytes() for name in (LEAFLET, SUMMARY)}
    source = project / "content/en/shared/risks.md"
    bump_version(source, "2.2")       # the English changes; its Spanish translation still says 2.1

    check = run(project, "check")
    assert check.returncode == 0, check.stderr            # within the grace period: a warning
    translation_line = line_of(project / "content/es/shared/risks.md", "translation:")
    version_line = line_of(source, "version:")
    warning = next(line for line in check.stderr.splitlines() if "translation-stale" in line)
    assert warning.startswith(f"content/es/shared/risks.md:{translation_line}: warning: translation-stale: ")
    assert f"content/en/shared/risks.md:{version_line}" in warning and "version 2.1" in warning
    assert "now version 2.2" in warning and "an error from 2026-12-26" in warning
    assert re.search(r"\n\s*1 stale|1 stale", check.stdout)
    assert "stale    content/en/shared/risks.md" in check.stdout

    second = run(project, "build", "--output", str(output), *US_ACNE_ES, "--format", "json")
    assert second.returncode == 0, second.stderr
    summary = json.loads(second.stdout)
    assert LEAFLET in summary["behind"] and CONSENT not in summary["behind"]     # the form has no risks block
    assert LEAFLET not in summary["changed"] and LEAFLET not in summary["failed"]
    assert (output / LEAFLET).read_bytes() == before[LEAFLET]      # the last good PDF, untouched
    manifest = json.loads((output / "manifest.json").read_text())
    assert [e["path"] for e in manifest["documents"] if e["path"] == LEAFLET] == [LEAFLET]
    why = manifest["behind"][LEAFLET]
    assert why[0]["block"] == f"content/es/shared/risks.md:{translation_line}" and why[0]["severity"] == "warning"
    assert "content/en/shared/risks.md" in why[0]["message"]

    # After the grace period the same is an error: the build says so and exits 1, still keeping the PDF.
    late = run(project, "build", "--output", str(output), *US_ACNE_ES, "--today", "2026-12-27")
    assert late.returncode == 1
    assert f"content/es/shared/risks.md:{translation_line}: translation-stale: " in late.stderr
    assert (output / LEAFLET).read_bytes() == before[LEAFLET]

    # Translating the new version clears it: the document is built again and the mark goes.
    bump_translation = project / "content/es/shared/risks.md"
    bump_translation.write_text(bump_translation.read_text(encoding="utf-8").replace(
        'source_version: "2.1"', 'source_version: "2.2"'), encoding="utf-8")
    fixed = run(project, "build", "--output", str(output), *US_ACNE_ES, "--format", "json")
    assert fixed.returncode == 0 and LEAFLET in json.loads(fixed.stdout)["changed"]
    assert "behind" not in json.loads((output / "manifest.json").read_text())


def test_missing_translation_fails_the_document_naming_each_block(project: Path, tmp_path: Path) -> None:
    output = tmp_path / "out"
    assert run(project, "build", "--output", str(output), *US_ACNE_ES).returncode == 0
    good = (output / LEAFLET).read_bytes()
    (project / "content/es/acne-scars/condition-overview.md").unlink()
    (project / "content/es/shared/questions.md").unlink()
    result = run(project, "build", "--output", str(output), *US_ACNE_ES, "--format", "json")
    assert result.returncode == 1
    summary = json.loads(result.stdout)
    evidence = "cedar-hollow-us/es/acne-scars-evidence-screen.pdf"       # it lists the leaflet's blocks' sources
    assert sorted(summary["failed"]) == [evidence, LEAFLET]            # the others still build
    messages = [p for p in summary["problems"] if p["rule"] == "translation-missing"]
    assert {p["path"] for p in messages} == {"content/en/acne-scars/condition-overview.md",
                                            "content/en/shared/questions.md"}
    assert all("no es translation of this block" in p["message"] and p["line"] > 1 for p in messages)
    assert (output / LEAFLET).read_bytes() == good           # never rebuilt with English in its place
    check = run(project, "check")
    assert "2 missing" in check.stdout and "missing  content/en/shared/questions.md" in check.stdout


@pytest.mark.parametrize("edit, message", [
    (lambda t: re.sub(r"(?ms)^translation:.*?(?=^sources:)", "", t),
     "translation: every block in 'es' names the block it translates"),
    (lambda t: t.replace("source: en/shared/risks.md", "source: en/shared/risk.md"),
     "translation: source 'en/shared/risk.md' is not a block of content/en/"),
    (lambda t: t.replace('source_version: "2.1"', 'source_version: "3.0"'),
     "translation: source_version 3.0 is newer than content/en/shared/risks.md:"),
    (lambda t: t.replace("source: en/shared/risks.md", "source: en/shared/questions.md"),
     "translation: id 'risks' (the source's is 'questions'); role 'risks' (the source's is 'questions')"),
])
def test_bad_translation_front_matter_is_an_error_on_its_line(project: Path, edit, message: str) -> None:
    file = project / "content/es/shared/risks.md"
    file.write_text(edit(file.read_text(encoding="utf-8")), encoding="utf-8")
    result = run(project, "check")
    assert result.returncode == 1
    found = [line for line in result.stderr.splitlines() if line.startswith("content/es/shared/risks.md:")]
    assert any(message in line for line in found), found
    assert all(re.match(r"content/es/shared/risks\.md:\d+: ", line) for line in found)


def test_spanish_strings_need_every_label_and_a_spanish_locale(project: Path) -> None:
    strings = project / "content/es/strings.yaml"
    body = strings.read_text(encoding="utf-8")
    body = re.sub(r"(?m)^call_us: .*\n", "", body).replace("html_lang: {default: es, US: es-US}",
                                                            "html_lang: {default: es, US: en-US}")
    strings.write_text(body, encoding="utf-8")
    result = run(project, "check")
    assert result.returncode == 1
    assert ("content/es/strings.yaml:1: translation-missing: translation: missing call_us (in "
            "content/en/strings.yaml)") in result.stderr
    assert "html_lang gives 'en-US' for US, a tag of another language than 'es'" in result.stderr


def test_a_clinic_adds_a_language_with_its_own_words(project: Path, tmp_path: Path) -> None:
    """The UK sample clinic offers Spanish by naming it and giving its footer and key facts in Spanish."""
    clinic = project / "content/clinics/fennick-street-uk/clinic.yaml"
    body = re.sub(r"(?m)^languages: \[en\].*$", "languages: [en, es]", clinic.read_text(encoding="utf-8"))
    assert "languages: [en, es]" in body
    clinic.write_text(body, encoding="utf-8")
    refused = run(project, "check")
    assert refused.returncode == 1
    assert re.search(r"content/clinics/fennick-street-uk/clinic\.yaml:\d+: .*offers 'es': give its footer",
                     refused.stderr), refused.stderr
    clinic.write_text(body + (
        "translations:\n  es:\n    footer: Fennick Street Skin Clinic (clínica ficticia de ejemplo) · 0117 496 0123\n"
        "    legal_route: Solo hecho para usted con la exención hospitalaria, por un fabricante con licencia.\n"
        "    cost_range: De £3,000 a £7,500 por un tratamiento completo. Primero le damos un presupuesto.\n"),
        encoding="utf-8")
    output = tmp_path / "out"
    built = run(project, "build", "--output", str(output), "--clinic", "fennick-street-uk", "--language", "es",
                "--condition", "acne-scars", "--kind", "summary", "--variant", "screen")
    assert built.returncode == 0, built.stderr
    words = " ".join(text(output / "fennick-street-uk/es/acne-scars-summary-screen.pdf").split())
    assert "En el Reino Unido no tiene licencia" in words and "999" in words     # the UK's own Spanish blocks
    assert "clínica ficticia de ejemplo" in words
    assert "De £3,000 a £7,500" in words and "fictional sample" not in words
