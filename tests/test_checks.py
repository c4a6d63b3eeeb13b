"""Content rules: each with content that passes and content that fails, reported as path:line: rule: message."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from conftest import ROOT, TODAY
from handouts import builder, checks, content
from handouts.plan import Selection
from handouts.readability import score, syllables
from helpers import VALID_FRONT, write_block

FOLDER = "content/en/acne-scars"
PLAIN = ("This block is written in plain words. Each sentence is short. It says what may happen and what may not. "
         "It names the risks. It tells you who to ask. You can take time to decide. You can say no at any time. "
         "Your doctor will help you.\n")


def problems_for(project: Path, body: str = PLAIN, front: str = VALID_FRONT, today: dt.date = TODAY,
                 name: str = "extra.md") -> list[str]:
    write_block(project / FOLDER, name, front.replace("condition-risks", "what-to-expect").replace("test-block", "x"),
                body)
    library = content.load(project)
    return [p.format() for p in checks.run(library, today).problems if p.path == f"{FOLDER}/{name}"]


def test_plain_block_passes(project: Path) -> None:
    assert problems_for(project) == []


# --- review dates -------------------------------------------------------------------------------------------

def test_expired_block_is_an_error(project: Path) -> None:
    found = problems_for(project, today=dt.date(2027, 11, 2))
    assert found == [f"{FOLDER}/extra.md:7: review-expired: review was due 2027-11-01: review the block and "
                     "update 'last_reviewed' and 'review_due' (or mark it 'draft: true')"]


def test_review_due_soon_is_a_warning(project: Path) -> None:
    found = problems_for(project, today=dt.date(2027, 9, 15))
    assert found == [f"{FOLDER}/extra.md:7: warning: review-soon: review is due in 47 days (2027-11-01)"]
    assert problems_for(project, today=dt.date(2027, 9, 1)) == []      # 61 days: fine


def test_draft_flag_lets_an_expired_block_build_marked_draft(project: Path, tmp_path: Path) -> None:
    block = project / "content/en/acne-scars/condition-risks.md"
    text = block.read_text()
    assert "review_due: 2027-11-25" in text and "last_reviewed: 2026-11-25" in text
    block.write_text(text.replace("review_due: 2027-11-25", "review_due: 2026-11-20\ndraft: true", 1)
                     .replace("last_reviewed: 2026-11-25", "last_reviewed: 2025-11-16", 1))
    outcome = builder.build(project, tmp_path, Selection("fennick-street-uk", "en", "acne-scars", "leaflet"), TODAY)
    assert outcome.ok and outcome.built
    assert any(p.rule == "review-expired" and p.severity == "warning" for p in outcome.problems)
    from helpers import text as pdf_text
    from pypdf import PdfReader
    pdf = tmp_path / outcome.built[0]
    pages = PdfReader(pdf).pages
    assert all("DRAFT" in (page.extract_text() or "") for page in pages), "every page carries DRAFT"
    strict = builder.build(project, tmp_path / "strict", Selection("fennick-street-uk", "en", "acne-scars",
                                                                    "leaflet"), TODAY, strict=True)
    assert not strict.ok and not strict.built
    assert "DRAFT" in pdf_text(pdf)


# --- readability --------------------------------------------------------------------------------------------

HARD = ("Mesenchymal stromal cell administration constitutes an investigational therapeutic intervention whose "
        "regenerative, immunomodulatory and anti-inflammatory characteristics remain incompletely characterised "
        "in controlled dermatological investigations. Consequently, individualised consideration of alternative "
        "evidence-based management strategies, including conventional pharmacological, procedural and "
        "observational approaches, is recommended prior to authorisation.\n")
MIDDLE = ("Researchers think these cells may release signals that calm inflammation. The evidence comes mainly "
          "from laboratory work and a few small studies. Your clinician will explain what is known about the "
          "treatment and what remains uncertain. They will also describe the standard treatments available for "
          "your condition.\n")


def test_readability_scores_are_sane() -> None:
    assert [syllables(w) for w in ["skin", "cells", "study", "treatment", "inflammation"]] == [1, 1, 2, 2, 4]
    assert score(["The cat sat on the mat.", "It was glad."]).grade < 2
    assert score([HARD]).grade > 10


def test_hard_block_is_an_error(project: Path) -> None:
    found = problems_for(project, body=HARD)
    assert len(found) == 1 and found[0].startswith(f"{FOLDER}/extra.md:14: readability: reading grade ")
    assert "above 10" in found[0]


def test_middling_block_is_a_warning(project: Path) -> None:
    found = problems_for(project, body=MIDDLE)
    assert len(found) == 1 and found[0].startswith(f"{FOLDER}/extra.md:14: warning: readability:"), found
    assert "above 8" in found[0]


# --- overclaiming -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("body, line, word", [
    ("This treatment is a **cure** for scars.\n", 14, "cure"),
    ("Results are *Guaranteed*.\n", 14, "Guaranteed"),
    ("Some say it gives permanent\nresults for everyone.\n", 14, "permanent results"),
    ("It is _clinically_ proven.\n", 14, "clinically proven"),
    ("A risk-free choice.\n", 14, "risk-free"),
    ("Our cells are FDA approved.\n", 14, "FDA approved"),
    ("Text.\n\nIt is a real miracle.\n", 16, "miracle"),
])
def test_overclaiming_phrases_are_errors(project: Path, body: str, line: int, word: str) -> None:
    found = [m for m in problems_for(project, body=body) if "overclaim" in m]
    assert len(found) == 1, found
    assert found[0].startswith(f"{FOLDER}/extra.md:{line}: overclaim: '{word}' overclaims: ")


@pytest.mark.parametrize("body", ["Doctors try to secure a good result.\n", "The skin may take time to heal.\n",
                                  "There is a small risk of infection.\n", "Procurement of cells is regulated.\n"])
def test_words_that_merely_contain_a_phrase_pass(project: Path, body: str) -> None:
    assert [m for m in problems_for(project, body=body) if "overclaim" in m] == []


# --- sources, links, images, headings -----------------------------------------------------------------------

def test_block_without_sources_is_an_error(project: Path) -> None:
    front = VALID_FRONT[: VALID_FRONT.index("sources:")] + "sources: []\n"
    assert problems_for(project, front=front) == [
        f"{FOLDER}/extra.md:9: sources: every block needs at least one source"]


def test_malformed_links_are_errors(project: Path) -> None:
    body = PLAIN + "\nSee [the NHS](https://www.nhs.uk/) or [this](www.example) or [mail](mailto:a@b.example).\n"
    found = problems_for(project, body=body)
    assert found == [f"{FOLDER}/extra.md:16: link: link 'www.example' is not a well-formed web, mailto: or tel: "
                     "address"]


def test_links_and_sources_must_use_https(project: Path) -> None:
    """A PDF may link to https addresses only (preflight fails any other): the content says so at its line."""
    body = PLAIN + "\nSee [the NHS](http://www.nhs.uk/conditions/acne/).\n"
    assert problems_for(project, body=body) == [
        f"{FOLDER}/extra.md:16: link: link 'http://www.nhs.uk/conditions/acne/' must use https: a PDF may link to "
        "no other web address (preflight refuses it)"]
    front = VALID_FRONT.replace("url: https://www.nhs.uk/conditions/acne/", "url: http://www.nhs.uk/conditions/acne/")
    write_block(project / FOLDER, "extra.md", front.replace("test-block", "x"))
    found = [p.format() for p in content.load(project).problems if p.path == f"{FOLDER}/extra.md"]
    assert len(found) == 1 and found[0].startswith(f"{FOLDER}/extra.md:12: schema: front matter: 'sources.0.url': "
                                                   "URL scheme should be 'https'"), found


def test_a_character_no_bundled_font_has_is_an_error_at_its_line(project: Path) -> None:
    body = PLAIN + "\nAsk about \u1200 and \u0531.\n"
    assert problems_for(project, body=body) == [
        f"{FOLDER}/extra.md:16: fonts: U+1200 ETHIOPIC SYLLABLE HA is not in any bundled font: it would print as a box",
        f"{FOLDER}/extra.md:16: fonts: U+0531 ARMENIAN CAPITAL LETTER AYB is not in any bundled font: it would print "
        "as a box"]


def test_image_without_alt_text_is_an_error(project: Path) -> None:
    (project / FOLDER / "diagram.svg").write_text('<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>')
    assert problems_for(project, body=PLAIN + "\n![Where the cells go](diagram.svg)\n") == []
    found = problems_for(project, body=PLAIN + "\n![](diagram.svg)\n")
    assert found == [f"{FOLDER}/extra.md:16: image-alt: image 'diagram.svg' has no alt text: "
                     "write ![what it shows](file)"]


def test_top_level_headings_inside_a_block_are_errors(project: Path) -> None:
    found = problems_for(project, body="## Too high\n\n" + PLAIN + "\n### Fine\n\nMore text.\n")
    assert found == [f"{FOLDER}/extra.md:14: heading-level: use '###' or deeper inside a block: the block title "
                     "is the level-2 heading"]


# --- required sections, strict, the whole library -----------------------------------------------------------

def test_consent_form_without_legal_route_or_diagnosis_fails(project: Path) -> None:
    (project / "content/en/shared/legal-route.us.md").unlink()
    (project / "content/en/burns-wounds/consent-diagnosis.md").unlink()
    outcome = builder.check(project, Selection(kind="consent"), TODAY, strict=False)
    messages = [p.format() for p in outcome.problems]
    assert any("required-section: no block fills role 'legal-route' for acne-scars (US, en)" in m for m in messages)
    assert not any("role 'legal-route' for acne-scars (UK" in m for m in messages)     # the UK block is there
    assert any("required-section: no block fills role 'consent-diagnosis' for burns-wounds" in m for m in messages)
    assert not any("role 'consent-diagnosis' for acne-scars" in m for m in messages)


def test_strict_turns_warnings_into_errors(project: Path) -> None:
    soon = dt.date(2027, 10, 1)
    relaxed = builder.check(project, Selection(), soon, strict=False)
    strict = builder.check(project, Selection(), soon, strict=True)
    assert relaxed.ok and relaxed.problems and {p.severity for p in relaxed.problems} == {"warning"}
    assert not strict.ok and {p.severity for p in strict.problems} == {"error"}


def test_shipped_content_passes_check_strict() -> None:
    outcome = builder.check(ROOT, Selection(), TODAY, strict=True)
    assert [p.format() for p in outcome.problems] == []
    assert len(outcome.documents) == 3 * 5 * 4     # US in English and Spanish, UK; five conditions, four kinds
    assert all(row.scores["grade"] <= 8 for row in outcome.documents if row.language == "en")
    assert all(row.scores["inflesz"] >= 55 for row in outcome.documents if row.language == "es")


def test_every_shipped_block_reads_at_grade_8_or_below() -> None:
    library = content.load(ROOT)
    review = checks.run(library, TODAY)
    scored = {path: s for path, s in review.scores.items()       # the checker does not score a few lines (policy)
              if s.words >= checks.load_policy(ROOT).thresholds.readability["en"].min_words
              and path.startswith("content/en/")}
    assert len(scored) > 50 and {path: s.grade for path, s in scored.items() if s.grade > 8} == {}


def test_reviewer_table_is_printed(project: Path) -> None:
    import subprocess
    import sys
    result = subprocess.run([sys.executable, str(ROOT / "build.py"), "check", "--root", str(project), "--today",
                             TODAY.isoformat()], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["document", "readability", "words", "word", "range", "review", "due", "warnings",
                                "errors"]
    assert any(line.startswith("en US pigmentation-disorders consent") for line in lines)


# --- brand colours ------------------------------------------------------------------------------------------

def test_contrast_ratio_matches_wcag() -> None:
    from handouts.contrast import ratio
    assert ratio("#000000", "#ffffff") == pytest.approx(21.0)
    assert ratio("#777777", "#ffffff") == pytest.approx(4.48, abs=0.01)
    assert ratio("#ffffff", "#777777") == ratio("#777777", "#ffffff")


def test_low_contrast_clinic_colours_are_an_error(project: Path) -> None:
    file = project / "content/clinics/fennick-street-uk/clinic.yaml"
    text = file.read_text().replace('text: "#1b1b1b"', 'text: "#8a8a8a"')
    file.write_text(text)
    line = next(i for i, l in enumerate(text.splitlines(), 1) if '"#8a8a8a"' in l)
    found = [p.format() for p in checks.run(content.load(project), TODAY).problems if p.rule == "contrast"]
    assert found[0] == (f"content/clinics/fennick-street-uk/clinic.yaml:{line}: contrast: text #8a8a8a on background "
                        "#ffffff has contrast 3.45:1, below 4.5:1 (WCAG 2 AA)")
    assert len(found) == 2          # also on the accent panels


def test_evidence_blocks_must_cite_a_study_level_source(project: Path) -> None:
    """A block saying what studies found cites the studies (policy: content/policy/checks.yaml `evidence`)."""
    front = VALID_FRONT.replace("condition-risks", "evidence-summary").replace("test-block", "x")
    write_block(project / FOLDER, "extra.md", front, PLAIN)
    found = [p.format() for p in checks.run(content.load(project), TODAY).problems if p.path == f"{FOLDER}/extra.md"]
    assert found == [f"{FOLDER}/extra.md:9: sources: a block of role 'evidence-summary' says what studies found: "
                     "cite at least one source of type study, review, guideline, label, registry (with its doi, pmid "
                     "or registry number)"]
    study = front + ("  - title: A trial\n    url: https://doi.org/10.1000/xyz1\n    type: study\n"
                     "    doi: 10.1000/xyz1\n")
    write_block(project / FOLDER, "extra.md", study, PLAIN)
    assert [p for p in checks.run(content.load(project), TODAY).problems if p.path == f"{FOLDER}/extra.md"] == []


def test_a_study_source_needs_its_identifier(project: Path) -> None:
    front = VALID_FRONT.replace("test-block", "x") + "  - title: A trial\n    url: https://example.org/t\n    type: study\n"
    write_block(project / FOLDER, "extra.md", front, PLAIN)
    problems = [p.format() for p in content.load(project).problems if p.path == f"{FOLDER}/extra.md"]
    assert len(problems) == 1 and "a source of type 'study' needs its 'doi' or 'pmid'" in problems[0]


def test_shipped_clinic_colours_pass() -> None:
    assert [p for p in checks.run(content.load(ROOT), TODAY).problems if p.rule == "contrast"] == []


# --- the memo of findings -------------------------------------------------------------------------------------

def _extra(project: Path, body: str) -> None:
    write_block(project / FOLDER, "extra.md", VALID_FRONT.replace("condition-risks", "what-to-expect")
                .replace("test-block", "x"), body)


def _findings(review: checks.Review) -> list[str]:
    return [p.format() for p in review.problems if p.path == f"{FOLDER}/extra.md"]


def test_memo_replays_findings_until_the_block_the_policy_or_the_day_changes(project: Path) -> None:
    _extra(project, PLAIN + "\nIt is a miracle.\n")
    fresh = checks.run(content.load(project), TODAY)
    assert [m for m in _findings(fresh) if "overclaim" in m]
    again = checks.run(content.load(project), TODAY, fresh.memo)
    assert again.problems == fresh.problems and again.scores == fresh.scores and again.memo == fresh.memo

    # The memo is really read: an entry changed by hand is what the next run reports for an unchanged block.
    planted = {key: [found[0], [dict(p, message="planted") for p in found[1]]] for key, found in fresh.memo.items()}
    assert {m.rsplit(": ", 1)[1] for m in _findings(checks.run(content.load(project), TODAY, planted))
            if "overclaim" in m} == {"planted"}

    # ...but not once the block changes,
    _extra(project, PLAIN + "\nIt is a wonder cure.\n")
    found = _findings(checks.run(content.load(project), TODAY, planted))
    assert [m for m in found if "overclaim" in m and "'cure' overclaims" in m]
    # or the policy does,
    _extra(project, PLAIN + "\nIt is a miracle.\n")
    phrases = project / "content/policy/phrases.en.yaml"
    phrases.write_text(phrases.read_text() + "\n")
    assert "planted" not in " ".join(_findings(checks.run(content.load(project), TODAY, planted)))
    # and review dates are always checked against the day.
    late = _findings(checks.run(content.load(project), dt.date(2027, 11, 2), fresh.memo))
    assert [m for m in late if "review-expired" in m]


def test_build_keeps_the_memo_and_survives_a_broken_one(project: Path, tmp_path: Path) -> None:
    selection = Selection("fennick-street-uk", "en", "acne-scars", "leaflet", "screen")
    assert builder.build(project, tmp_path, selection, TODAY, jobs=1).ok
    memo = tmp_path / builder.MEMO
    assert memo.is_file() and len(json.loads(memo.read_text())) == sum(
        len(language.blocks) for language in content.load(project).languages.values())
    memo.write_text("{ not json")
    block = project / "content/en/acne-scars/condition-risks.md"
    block.write_text(block.read_text() + "\nThis is a miracle.\n")
    outcome = builder.build(project, tmp_path, selection, TODAY, jobs=1)
    assert not outcome.ok and [p for p in outcome.problems if p.rule == "overclaim"]
    assert json.loads(memo.read_text())          # rewritten whole
