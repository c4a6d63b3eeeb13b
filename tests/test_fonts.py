"""Text in any script, never a silent system font: the bundled fallback fonts render patient details in every
script staff meet, fontconfig sees the bundled fonts alone, a character no bundled font has is an error naming
the field and the code point, and the preflight fails a PDF naming any other font."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT, TODAY
from helpers import pdffonts, text
from test_cli import ALL_UK_ACNE, run

from handouts import builder, fonts, preflight
from handouts.models import Patient
from handouts.plan import Selection
from handouts.render import Renderer, direction

CONSENT = ["--clinic", "fennick-street-uk", "--condition", "acne-scars", "--kind", "consent", "--variant", "screen"]
A4 = (595.276, 841.89)

# A patient whose details are in every script the issue names: Arabic and Urdu (right to left) in the name;
# Vietnamese, Polish, Irish, Greek and Cyrillic in the procedure; Devanagari, Bengali, Gurmukhi, Chinese for the
# clinician. One build covers them all.
NAME = "محمد عبدالله عائشہ"      # Urdu's heh goal (U+06C1) in the last word
WORDS = {
    "name": NAME,
    "procedure": "Nguyễn Thị Ánh Tuyết, Łucja Żółć, Seán Ó Súilleabháin, Αλέξανδρος Παπαδόπουλος, Ольга Иванова",
    "clinician": "अनन्या देवी, অনন্যা দাস, ਗੁਰਪ੍ਰੀਤ ਸਿੰਘ, 王秀英",
}
ETHIOPIC_HA = "\u1200"         # ETHIOPIC SYLLABLE HA: no bundled font has it


def _clean_env() -> dict[str, str]:
    """This process's environment without the fontconfig setting a printer in it may have made."""
    return {k: v for k, v in os.environ.items() if k != "FONTCONFIG_FILE"}


def _squeeze(value: str) -> str:
    """Without whitespace: a PDF text extractor puts a space where the font changes inside a word."""
    return "".join(value.split())


def _family(pdf_font: str) -> str:
    return re.sub(r"^[A-Z]{6}\+", "", pdf_font)


def test_patient_details_in_every_script_render_from_bundled_fonts(project: Path) -> None:
    patient = project / "patient.yaml"
    patient.write_text("".join(f'{key}: "{value}"\n' for key, value in WORDS.items()), encoding="utf-8")
    pdf = project / "sheet.pdf"
    result = run(project, *CONSENT, "--patient", str(patient), "--to", str(pdf))
    assert result.returncode == 0, result.stderr
    words = _squeeze(text(pdf))
    for value in WORDS.values():
        for word in value.split(", "):
            assert _squeeze(word) in words, word
    used = {_family(row["name"]) for row in pdffonts(pdf)}
    # Every script came from its fallback, and every font is a bundled one.
    assert {"Noto-Sans-Arabic-Bold", "Noto-Sans-CJK-SC-Bold", "Lohit-Gurmukhi", "Hind-Siliguri-Bold"} <= used
    assert all(preflight._allowed_font(name, fonts.allowed_names()) for name in used), used
    assert not any("DejaVu" in name for name in used)


def test_right_to_left_values_run_right_to_left() -> None:
    assert direction(NAME) == "rtl" and direction("Ann Lee") == "ltr" and direction("12 محمد") == "rtl"
    library, plan, _ = builder.prepare(ROOT, Selection("fennick-street-uk", "en", "acne-scars", "consent", "screen"),
                                       TODAY, strict=False)
    html = Renderer(ROOT).render(library, plan.jobs[0], Patient(name=NAME, clinician="Dr Ann Lee"))
    assert f'<span class="field-value" dir="rtl">{NAME}</span>' in html
    assert '<span class="field-value">Dr Ann Lee</span>' in html


def test_a_character_no_bundled_font_has_is_an_error_naming_the_field(project: Path) -> None:
    patient = project / "patient.yaml"
    patient.write_text(f"date_of_birth: 1980-02-03\nname: Ann {ETHIOPIC_HA}ailu\n", encoding="utf-8")
    result = run(project, *CONSENT, "--patient", str(patient), "--to", str(project / "sheet.pdf"))
    assert result.returncode == 2
    assert result.stderr.strip() == (f"{patient}:2: patient: 'name': U+1200 ETHIOPIC SYLLABLE HA "
                                     "is not in any bundled font")
    assert not list(project.glob("**/*.pdf"))


def test_a_clinic_name_no_bundled_font_has_fails_its_documents(project: Path) -> None:
    clinic = project / "content/clinics/fennick-street-uk/clinic.yaml"
    source = clinic.read_text(encoding="utf-8")
    clinic.write_text(source.replace("name: Fennick Street Skin Clinic", f"name: Fennick {ETHIOPIC_HA} Clinic")
                      .replace("Bristol", "Br\u0531istol"), encoding="utf-8")      # ARMENIAN CAPITAL LETTER AYB
    lines = clinic.read_text(encoding="utf-8").splitlines()
    name_line = next(i for i, line in enumerate(lines, 1) if line.startswith("name:"))
    address_line = next(i for i, line in enumerate(lines, 1) if "address:" in line)
    result = run(project, "check")
    assert result.returncode == 1
    shown = "content/clinics/fennick-street-uk/clinic.yaml"
    assert f"{shown}:{name_line}: fonts: clinic: name: U+1200 ETHIOPIC SYLLABLE HA is not in any bundled font" \
        in result.stderr.splitlines()
    assert (f"{shown}:{address_line}: fonts: clinic: contact.address: U+0531 ARMENIAN CAPITAL LETTER AYB is not in "
            "any bundled font") in result.stderr.splitlines()


def test_content_only_a_system_font_has_fails_the_document_in_the_workers(project: Path) -> None:
    """Text outside the checked fields and blocks (here a label of strings.yaml) with a letter that a system font
    has and no bundled font: the fork-server workers see no system font, so WeasyPrint draws .notdef, and that
    fails the document. Four documents with two jobs, so that they are printed by workers forked from the fork
    server."""
    char = _system_font_and_character()[1]
    strings = project / "content/en/strings.yaml"
    strings.write_text(strings.read_text(encoding="utf-8").replace(
        "\nphone: Phone\n", f"\nphone: Phone {char}\n"),
        encoding="utf-8")
    result = subprocess.run([sys.executable, str(ROOT / "build.py"), "--root", str(project), "--today", "2026-11-24",
                             *ALL_UK_ACNE, "--jobs", "2"], capture_output=True, text=True, cwd=project,
                            env=_clean_env())
    assert result.returncode == 1
    notdef = [line for line in result.stderr.splitlines() if ".notdef" in line]
    assert len(notdef) == 4 and all(f"(U+{ord(char):04X})" in line for line in notdef), result.stderr
    assert sorted(re.search(r"acne-scars-(\w+)-screen\.pdf", line)[1] for line in notdef) == [
        "consent", "evidence", "leaflet", "summary"]
    assert not list(project.glob("output/**/*.pdf"))


SYSTEM_FONT_PROBE = """
import json, logging, sys
isolated, char, target = sys.argv[1] == "isolated", sys.argv[2], sys.argv[3]
if isolated:
    import handouts.pdf                 # what every printing process imports before WeasyPrint
import weasyprint

class Collect(logging.Handler):
    messages = []
    def emit(self, record):
        self.messages.append(record.getMessage())

logging.getLogger("weasyprint").addHandler(Collect())
weasyprint.HTML(string=f"<p style='font-family: sans-serif'>A {char}</p>").write_pdf(target)
print(json.dumps(Collect.messages))
"""


def _system_font_and_character() -> tuple[str, str]:
    """A font the system has (the default configuration's sans-serif) and a letter it has that no bundled font has."""
    from fontTools.ttLib import TTFont
    env = _clean_env()
    file = subprocess.run(["fc-match", "-f", "%{file}", "sans-serif"], capture_output=True, text=True, env=env).stdout
    if not file or Path(file).resolve() in {p.resolve() for p in fonts.bundled_files()}:
        pytest.skip("this machine has no system font apart from the bundled ones")
    covered = fonts.coverage()
    for code_point in sorted(TTFont(file, lazy=True).getBestCmap()):
        if code_point not in covered and chr(code_point).isalpha():
            return file, chr(code_point)
    pytest.skip(f"the system font {file} has no letter the bundled fonts lack")


def test_fontconfig_sees_the_bundled_fonts_alone(tmp_path: Path) -> None:
    system_font, char = _system_font_and_character()
    system_family = subprocess.run(["fc-query", "-f", "%{family[0]}", system_font], capture_output=True,
                                   text=True).stdout.replace(" ", "-")
    outcomes = {}
    for mode in ("system", "isolated"):
        target = tmp_path / f"{mode}.pdf"
        done = subprocess.run([sys.executable, "-c", SYSTEM_FONT_PROBE, mode, char, str(target)], capture_output=True,
                              text=True, env={**_clean_env(), "PYTHONPATH": str(ROOT)}, check=True)
        outcomes[mode] = ({_family(row["name"]) for row in pdffonts(target)}, done.stdout)
    # Without the bundled configuration the system font draws the letter (so this test can fail) ...
    assert any(name.startswith(system_family) for name in outcomes["system"][0]), outcomes
    # ... with it, no system font is used: the letter is a .notdef, which the printer turns into an error.
    assert not any(name.startswith(system_family) for name in outcomes["isolated"][0]), outcomes
    assert f"(U+{ord(char):04X})" in outcomes["isolated"][1]


def test_preflight_fails_a_pdf_naming_a_font_that_is_not_bundled(tmp_path: Path) -> None:
    target = tmp_path / "system-font.pdf"
    subprocess.run([sys.executable, "-c", "import sys, weasyprint; weasyprint.HTML(string='<html lang=\"en\">"
                    "<title>T</title><p style=\"font-family: sans-serif\">Aftercare</p>').write_pdf(sys.argv[1], "
                    "pdf_variant='pdf/ua-1')", str(target)], check=True, env=_clean_env())
    [system] = [_family(row["name"]) for row in pdffonts(target)]
    assert not preflight._allowed_font(system, fonts.allowed_names())
    expect = preflight.Expectation("screen", A4, fonts=fonts.allowed_names())
    findings = preflight.preflight(target, expect)
    assert [(f.page, f.rule, f.message) for f in findings] == [
        (1, "fonts-bundled", f"font {system} is not one of the bundled fonts")]
    assert preflight.preflight(target, preflight.Expectation("screen", A4)) == []      # default: any font


@pytest.mark.parametrize("name, allowed", [
    ("Noto-Sans-CJK-SC-Bold", True), ("NotoSansCJKsc-Regular", True), ("Atkinson-Hyperlegible-Bold-Italic", True),
    ("Noto-Sans-Semi-Condensed-Semi-Bold", True), ("Noto-Sans-Ethiopic", False), ("DejaVu-Sans", False),
    ("Noto-Sans-Arabic-UI", False), ("Bold", False), ("", False)])
def test_font_names_a_pdf_may_use(name: str, allowed: bool) -> None:
    assert preflight._allowed_font(name, fonts.allowed_names()) is allowed


def test_the_build_preflight_and_build_py_preflight_expect_bundled_fonts() -> None:
    from handouts.worker import expectation
    library, plan, _ = builder.prepare(ROOT, Selection("fennick-street-uk", "en", "acne-scars", "leaflet", "screen"),
                                       TODAY, strict=False)
    assert expectation(library, plan.jobs[0]).fonts == fonts.allowed_names()


def test_common_text_needs_no_font_read_and_is_covered() -> None:
    """The quick path: printable Latin-1 and common punctuation are taken as covered without reading a font."""
    assert {ord(c) for c in fonts._COMMON} <= fonts.coverage()
    assert fonts.uncovered("Fennick Street Skin Clinic (fictional sample) · 0117 496 0123 – “St Mary’s” €") == []
    # Joiners, soft hyphens, newlines and variation selectors draw nothing; Hangul is in Noto Sans CJK.
    assert fonts.uncovered(f"a\u200db\u00ad\n{ETHIOPIC_HA}\ufe0f{ETHIOPIC_HA}\uac00") == [0x1200]


def test_print_css_stacks_name_the_fallbacks_in_order() -> None:
    css = (ROOT / "templates/print.css").read_text(encoding="utf-8")
    stacks = re.findall(r"font-family:([^;]+);", css)
    expected = [f'"{fallback.family}"' for fallback in fonts.FALLBACKS] + ["sans-serif"]
    assert len(stacks) == 5
    assert all([part.strip() for part in stack.split(",")][1:] == expected for stack in stacks), stacks


def test_fallback_fonts_are_recorded_by_version_not_read() -> None:
    library, plan, _ = builder.prepare(ROOT, Selection("fennick-street-uk", "en", "acne-scars", "leaflet", "screen"),
                                       TODAY, strict=False)
    job = plan.jobs[0]
    digests = builder.Digests(ROOT)
    inputs = digests.of(job, "spec")
    assert {f"font:{fallback.package}" for fallback in fonts.FALLBACKS} <= set(inputs)
    assert inputs["font:fontpkg-noto-sans"] == "2.015"
    assert not any(path.suffix == ".ttc" or "noto" in path.name.lower() for path in digests._files)
