"""Length and size are policy: page limits per kind and variant, a words range per kind (content/policy/length.yaml),
and large print large everywhere (every character at templates/variants.yaml's min_text_pt or more).

Nothing here depends on how long the shipped content is: each test sets the limits it needs in a scratch copy."""

from __future__ import annotations

import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from pypdf import PdfReader

from conftest import ROOT, TODAY
from handouts import builder, checks, content
from handouts.plan import Selection, plan
from handouts.publish import Manifest, sha256
from helpers import VALID_FRONT, text_sizes, write_block

POLICY = "content/policy/length.yaml"
LEAFLET = Selection("fennick-street-uk", "en", "acne-scars", "leaflet", "screen")
LEAFLET_PDF = "fennick-street-uk/en/acne-scars-leaflet-screen.pdf"


def set_policy(project: Path, text: str) -> None:
    (project / POLICY).write_text(text)


def line_of(project: Path, needle: str) -> int:
    return next(n for n, line in enumerate((project / POLICY).read_text().splitlines(), 1) if needle in line)


def length_problems(project: Path) -> list[str]:
    return [p.format() for p in checks.run(content.load(project), TODAY).problems if p.path == POLICY]


# --- the policy file ------------------------------------------------------------------------------------------

def test_shipped_policy_is_valid_and_limits_leaflet_and_consent() -> None:
    lengths, problems = checks.load_lengths(ROOT)
    assert problems == [] and lengths is not None
    for kind in ("leaflet", "consent"):
        assert lengths.pages(kind, "screen").pages == 6 and lengths.pages(kind, "print").pages == 6
        assert lengths.pages(kind, "large-print").pages == 15          # 2.5 x 6
        assert lengths.words(kind) is not None
    assert lengths.pages("a-kind-not-listed", "screen") is None and lengths.words("a-kind-not-listed") is None


@pytest.mark.parametrize("text, needle, message", [
    ("large_print_factor: 2.5\nkinds:\n  leaflet:\n    pages: {screen: 0}\n", "pages:",
     "'kinds.leaflet.pages.screen': Input should be greater than 0, got 0"),
    ("large_print_factor: 2.5\nkinds:\n  leaflet:\n    words: [1900, 1400]\n", "words:",
     "'kinds.leaflet.words': give the fewest words first, then the most: [1400, 1900]"),
    ("large_print_factor: 2.5\nkinds:\n  leaflet:\n    pages: {screen: 6, large-print: 12}\n", "pages:",
     "'kinds.leaflet.pages': large print has no limit of its own: it is 'large_print_factor' times "
     "the screen limit"),
    ("large_print_factor: 2.5\nkinds:\n  leaflet:\n    pages: {screen: six}\n", "pages:",
     "'kinds.leaflet.pages.screen': Input should be a valid integer, unable to parse string as an integer, "
     "got 'six'"),
    ("large_print_factor: 0.5\nkinds: {}\n", "large_print_factor", "'large_print_factor': Input should be greater "
                                                                    "than or equal to 1, got 0.5"),
    ("large_print_factor: 2.5\nkinds:\n  leaflet:\n    page: {screen: 6}\n", "page:", "unknown key "
                                                                                       "'kinds.leaflet.page'"),
])
def test_a_bad_value_names_its_line(project: Path, text: str, needle: str, message: str) -> None:
    set_policy(project, text)
    found = length_problems(project)
    assert found == [f"{POLICY}:{line_of(project, needle)}: schema: policy: {message}"]


def test_a_bad_policy_is_one_line_from_the_command_line(project: Path) -> None:
    set_policy(project, "large_print_factor: 2.5\nkinds:\n  consent:\n    pages: {print: -1}\n")
    result = subprocess.run([sys.executable, str(ROOT / "build.py"), "--root", str(project), "--today",
                             TODAY.isoformat(), "check"], capture_output=True, text=True)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert f"{POLICY}:4: schema: policy: 'kinds.consent.pages.print': Input should be greater than 0" in result.stderr


def test_a_kind_listed_but_not_defined_is_a_warning_not_an_error(project: Path) -> None:
    set_policy(project, "large_print_factor: 2.5\nkinds:\n  poster:\n    pages: {screen: 2, print: 2}\n"
                        "  leaflet:\n    pages: {screen: 60}\n")
    assert length_problems(project) == [f"{POLICY}:3: warning: policy: kind 'poster' has no content/kinds/"
                                        "poster.yaml: these limits apply to no document"]
    # ...and one that is defined but not in the catalogue is fine: its limits wait for it
    (project / "content/kinds/poster.yaml").write_text((project / "content/kinds/leaflet.yaml").read_text())
    assert length_problems(project) == []
    assert builder.build(project, project / "output", LEAFLET, TODAY, jobs=1).ok


# --- pages ----------------------------------------------------------------------------------------------------

def test_a_document_over_its_page_limit_fails_and_keeps_its_last_good_pdf(project: Path) -> None:
    output = project / "output"
    set_policy(project, "large_print_factor: 2.5\nkinds:\n  leaflet:\n    pages: {screen: 60, print: 60}\n")
    first = builder.build(project, output, LEAFLET, TODAY, jobs=1)
    assert first.ok and first.added == [LEAFLET_PDF]
    good = (output / LEAFLET_PDF).read_bytes()
    pages = len(PdfReader(output / LEAFLET_PDF).pages)
    assert pages > 1

    # The limit drops below the document: not printed again (nothing changed), still held to it.
    set_policy(project, "large_print_factor: 2.5\nkinds:\n  leaflet:\n    pages: {screen: 1, print: 60}\n")
    expected = (f"{LEAFLET_PDF}:2: pages: {pages} pages; the leaflet's limit in the screen variant is 1 "
                f"({POLICY}:4)")
    again = builder.build(project, output, LEAFLET, TODAY, jobs=1)
    assert not again.ok and again.failed == [LEAFLET_PDF] and not again.unchanged
    assert [p.format() for p in again.problems] == [expected]

    # A change to one of its blocks: printed, over the limit, refused; the earlier PDF stays in place.
    block = project / "content/en/acne-scars/condition-overview.md"
    block.write_text(block.read_text() + "\nAsk the clinic if anything is unclear.\n")
    changed = builder.build(project, output, LEAFLET, TODAY, jobs=1)
    assert not changed.ok and changed.failed == [LEAFLET_PDF] and not changed.built
    [problem] = changed.problems
    assert re.fullmatch(rf"{re.escape(LEAFLET_PDF)}:2: pages: \d+ pages; the leaflet's limit in the screen variant "
                        rf"is 1 \({POLICY}:4\)", problem.format())
    assert (output / LEAFLET_PDF).read_bytes() == good
    assert Manifest.load(output).entries[LEAFLET_PDF].sha256 == sha256(good)

    # Within the limit again: built.
    set_policy(project, "large_print_factor: 2.5\nkinds:\n  leaflet:\n    pages: {screen: 60}\n")
    assert builder.build(project, output, LEAFLET, TODAY, jobs=1).changed == [LEAFLET_PDF]


def test_large_print_limit_is_the_factor_times_the_screen_limit(project: Path) -> None:
    set_policy(project, "large_print_factor: 2.5\nkinds:\n  leaflet:\n    pages: {screen: 1}\n")
    selection = Selection("cedar-hollow-us", "en", "acne-scars", "leaflet", "large-print")
    outcome = builder.build(project, project / "output", selection, TODAY, jobs=1)
    output = "cedar-hollow-us/en/acne-scars-leaflet-large-print.pdf"
    assert outcome.failed == [output] and not (project / "output" / output).exists()
    [problem] = outcome.problems
    assert re.fullmatch(rf"{re.escape(output)}:3: pages: \d+ pages; the leaflet's limit in large print is 2, 2.5 x "
                        rf"its screen limit of 1 \({POLICY}:1, {POLICY}:4\)", problem.format()), problem.format()


# --- words ----------------------------------------------------------------------------------------------------

def test_words_a_reader_reads_are_counted_in_every_part_of_a_block(project: Path) -> None:
    """The block's title, its headings, text, list items, table cells and fill-in labels; not link targets."""
    body = ("### Two words\n\nOne two three [four](https://www.nhs.uk/a/b/c).\n\n- five six\n\n"
            "| seven | eight |\n|---|---|\n| nine | ten |\n\n[[fill: eleven twelve]]\n")
    write_block(project / "content/en/acne-scars", "extra.md", VALID_FRONT.replace("test-block", "x"), body)
    review = checks.run(content.load(project), TODAY)
    assert review.words["content/en/acne-scars/extra.md"] == 3 + 2 + 12       # "A test block", "Two words", 1-12


def test_words_outside_the_kinds_range_are_a_warning_naming_the_document(project: Path) -> None:
    set_policy(project, "large_print_factor: 2.5\nkinds:\n  leaflet:\n    words: [10, 20]\n"
                        "  consent:\n    words: [0, 1000000]\n")
    outcome = builder.check(project, Selection(), TODAY, strict=False)
    rows = {(r.language, r.country, r.condition): r for r in outcome.documents if r.kind == "leaflet"}
    assert len(rows) == 15 and all(r.word_range == (10, 20) and r.words > 20 for r in rows.values())
    assert all(r.word_range == (0, 1000000) for r in outcome.documents if r.kind == "consent")
    words = [p.format() for p in outcome.problems if p.rule == "words"]
    assert len(words) == 15 and outcome.ok
    row = rows[("en", "UK", "acne-scars")]
    assert (f"{POLICY}:4: warning: words: the acne-scars leaflet (en, UK) has {row.words:,} words in its blocks, "
            "more than 20: the leaflet's range is 10 to 20") in words
    # a row's count is the sum of its blocks' counts
    [job] = plan(content.load(project), LEAFLET).jobs
    review = checks.run(content.load(project), TODAY)
    assert row.words == sum(review.words[s.block.path] for s in job.sections)

    strict = builder.check(project, Selection(), TODAY, strict=True)
    assert not strict.ok and {p.severity for p in strict.problems if p.rule == "words"} == {"error"}

    set_policy(project, "large_print_factor: 2.5\nkinds:\n  leaflet:\n    words: [10, 1000000]\n")
    assert [p for p in builder.check(project, Selection(), TODAY, strict=True).problems if p.rule == "words"] == []


def test_the_table_shows_each_documents_words_and_range(project: Path) -> None:
    set_policy(project, "large_print_factor: 2.5\nkinds:\n  leaflet:\n    words: [10, 1000000]\n")
    result = subprocess.run([sys.executable, str(ROOT / "build.py"), "--root", str(project), "--today",
                             TODAY.isoformat(), "check"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["document", "readability", "words", "word", "range", "review", "due", "warnings",
                                "errors"]
    # en UK acne-scars leaflet  grade 6.8, ease 71  1690  10-1000000  2027-11-25  0  0
    leaflet = next(line.split() for line in lines if line.startswith("en UK acne-scars leaflet"))
    consent = next(line.split() for line in lines if line.startswith("en UK acne-scars consent"))
    assert leaflet[4] == "grade" and int(leaflet[8]) > 10 and leaflet[9] == "10-1000000" and consent[9] == "-"


# --- large print: every character at 16 pt or more ------------------------------------------------------------

def _logo_lettering(project: Path, clinic: str) -> set[str]:
    svg = ET.parse(project / "content/clinics" / clinic / "logo.svg").getroot()
    return {"".join(element.itertext()).strip() for element in svg.iter("{http://www.w3.org/2000/svg}text")}


def test_real_large_print_has_no_text_under_16_pt(project: Path) -> None:
    """The shipped templates and content, built in large print for each clinic (limits off: length is not the
    point here), read by pypdf: nothing under 16 pt but the lettering of the logo in the title band."""
    set_policy(project, "large_print_factor: 2.5\nkinds: {}\n")
    outcome = builder.build(project, project / "output", Selection(condition="acne-scars", variant="large-print"),
                            TODAY, jobs=2)
    assert outcome.ok and len(outcome.added) == 9, [p.format() for p in outcome.problems]   # 3 kinds x 3: UK, US en, es
    for path in outcome.added:
        logo = _logo_lettering(project, path.split("/")[0])
        sizes = text_sizes(project / "output" / path)
        small = [(page, size, text) for page, size, text in sizes if size < 16]
        assert {text for _, _, text in small} == logo, path          # the reader does see small text: the logo's
        assert {page for page, _, _ in small} == {1}, path
        pages = len(PdfReader(project / "output" / path).pages)
        # headers, footers and page numbers are on every page, at 16 pt or more
        assert {page for page, size, text in sizes if re.fullmatch(rf"(Page|Página) {page} (of|de) {pages}", text)
                and size >= 16} == set(range(1, pages + 1)), path


def test_small_text_in_large_print_fails_the_document(project: Path) -> None:
    css = project / "templates/large-print.css"
    css.write_text(css.read_text() + "\n.title-band .doc-meta { font-size: 11pt; }\n")
    selection = Selection("fennick-street-uk", "en", "acne-scars", "leaflet", "large-print")
    set_policy(project, "large_print_factor: 2.5\nkinds: {}\n")
    outcome = builder.build(project, project / "output", selection, TODAY, jobs=1)
    output = "fennick-street-uk/en/acne-scars-leaflet-large-print.pdf"
    assert outcome.failed == [output] and not (project / "output" / output).exists()
    [problem] = outcome.problems
    assert problem.format().startswith(f"{output}:1: preflight/text-size: ")
    assert re.search(r'the smallest 11 pt \("Version \d+\.\d+', problem.message), problem.message
