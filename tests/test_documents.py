"""The three documents a clinic hands over, checked on the real PDFs of a full build: the key facts open the
leaflet and the consent form, the consent form records what is specific to the patient and does not repeat the
leaflet, and the online research document carries the long evidence and every source."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from pypdf import PdfReader

from conftest import ROOT, Built
from handouts import content
from helpers import text

CLINICS = {"fennick-street-uk": "UK", "cedar-hollow-us": "US"}
CONDITIONS = ["acne-scars", "wrinkles-ageing-skin", "burns-wounds", "inflammatory-conditions",
              "pigmentation-disorders"]
STRINGS = yaml.safe_load((ROOT / "content/en/strings.yaml").read_text(encoding="utf-8"))
LIBRARY = content.load(ROOT)


def words(pdf: Path, first: int = 0, last: int | None = None) -> str:
    """The PDF's text as one line of words (pages first..last, 0-based), soft breaks and hyphenation undone."""
    pages = PdfReader(pdf).pages[first:last]
    joined = " ".join((page.extract_text() or "") for page in pages)
    return " ".join(joined.replace("\u00ad", "").replace("\xa0", " ").split())


def plain(markdown: str) -> str:
    """A block's body as a reader sees it, near enough to find its sentences in extracted PDF text."""
    body = re.sub(r"\[\[fill:\s*([^\]]+?)\s*\]\]", r"\1", markdown)
    body = re.sub(r"\[([^\]]+)\]\([^)]+\)", r"\1", body)
    body = re.sub(r"[*_`#>|]", " ", body)
    return " ".join(body.split())


def block(condition: str, role: str, country: str) -> content.Block:
    from handouts.plan import select_block
    found, problems = select_block(LIBRARY, "en", condition, role, country)
    assert found is not None and not problems, (condition, role, problems)
    return found


def list_items(markdown: str) -> list[str]:
    return [" ".join(re.sub(r"[*_`]", "", m).split()) for m in re.findall(r"^\s*[-*+]\s+(.+)$", markdown, re.M)]


@pytest.mark.parametrize("clinic", CLINICS)
@pytest.mark.parametrize("kind", ["summary", "leaflet", "consent"])
def test_key_facts_come_first(built: Built, clinic: str, kind: str) -> None:
    """The key facts, the clinic's legal route and costs open every kind, on its first page."""
    country = CLINICS[clinic]
    facts = block("acne-scars", "key-facts", country)
    first_item = list_items(facts.body)[0]
    page_one = words(built.output / clinic / "en" / f"acne-scars-{kind}-screen.pdf", 0, 1)
    assert STRINGS["key_facts_heading"] in page_one
    assert first_item[:40] in page_one
    clinic_yaml = yaml.safe_load((ROOT / "content/clinics" / clinic / "clinic.yaml").read_text())
    both = words(built.output / clinic / "en" / f"acne-scars-{kind}-screen.pdf", 0, 2)
    said = [" ".join(clinic_yaml[key].split()) in both for key in ("legal_route", "cost_range")]
    # The consent form records this patient's legal route and cost quote in their own sections, so its key facts
    # leave the clinic's general wording out rather than say it twice; the summary and the leaflet carry it.
    assert said == ([False, False] if kind == "consent" else [True, True])


@pytest.mark.parametrize("clinic", CLINICS)
@pytest.mark.parametrize("condition", CONDITIONS)
def test_consent_form_records_every_element(built: Built, clinic: str, condition: str) -> None:
    country = CLINICS[clinic]
    form = words(built.output / clinic / "en" / f"{condition}-consent-screen.pdf")
    leaflet_title = STRINGS["leaflet_title"].replace("{condition}", LIBRARY.languages["en"].conditions[condition].name)
    version = LIBRARY.languages["en"].conditions[condition].documents["leaflet"].version
    expected = [
        f"{STRINGS['leaflet_given']} {leaflet_title}, version {version}",   # the leaflet, by title and version
        STRINGS["leaflet_given_date"], STRINGS["first_consultation"], STRINGS["adults_only"],
        STRINGS["plan_heading"], *STRINGS["plan_fields"],
        STRINGS["risks_heading"], *STRINGS["risks_fields"],
        STRINGS["alternatives_heading"], STRINGS["costs_heading"], *STRINGS["costs_fields"],
        STRINGS["experience_heading"], *STRINGS["experience_fields"],
        STRINGS["choices_heading"], *STRINGS["photo_choices"], *STRINGS["cell_choices"], STRINGS["no_adverts"],
        STRINGS["record_heading"], STRINGS["interpreter_statement"], STRINGS["confirmation_heading"],
        STRINGS["confirmation_text"], STRINGS["copy_text"], STRINGS["copy_accepted"],
    ]
    for role in ("consent-diagnosis", "legal-route", "screening", "data-and-photographs", "urgent-help",
                 "clinician-statement", "patient-statement"):
        expected.append(block(condition, role, country).meta.title)
    for role in ("clinician-statement", "patient-statement"):
        expected.append(plain(block(condition, role, country).body)[:120])
    missing = [item for item in expected if " ".join(item.split()) not in form]
    assert missing == []
    # Each alternative of the leaflet is a tick-box line, and so is no treatment.
    options = list_items(block(condition, "key-alternatives", country).body)
    assert options[-1] == "No treatment"
    assert all(option in form for option in options)
    # The legal route asks for the numbers this country's law gives.
    route = block(condition, "legal-route", country).body
    for needle in (("IND", "ClinicalTrials.gov", "IRB") if country == "US" else ("MHRA", "HTA", "exemption")):
        assert needle in route and needle in form, needle


@pytest.mark.parametrize("clinic", CLINICS)
def test_photographs_are_never_offered_for_advertising(built: Built, clinic: str) -> None:
    for item in STRINGS["photo_choices"] + STRINGS["cell_choices"]:
        assert not re.search(r"advert|website|marketing", item, re.I), item
    form = words(built.output / clinic / "en" / "acne-scars-consent-screen.pdf")
    assert form.count(STRINGS["yes_no"]) >= len(STRINGS["photo_choices"]) + len(STRINGS["cell_choices"])


@pytest.mark.parametrize("clinic", CLINICS)
@pytest.mark.parametrize("condition", CONDITIONS)
def test_consent_form_does_not_repeat_the_leaflet(built: Built, clinic: str, condition: str) -> None:
    """No sentence of a block only the leaflet has (risks, alternatives, regulatory status, ...) appears in the
    form: it names the leaflet instead."""
    country = CLINICS[clinic]
    consent_roles = {s.role for s in LIBRARY.kinds["consent"].sections}
    form = words(built.output / clinic / "en" / f"{condition}-consent-screen.pdf")
    repeated = []
    for spec in LIBRARY.kinds["leaflet"].sections:
        if spec.role in consent_roles:
            continue
        for sentence in re.split(r"(?<=[.!?])\s+", plain(block(condition, spec.role, country).body)):
            if len(sentence.split()) >= 8 and sentence in form:
                repeated.append(f"{spec.role}: {sentence}")
    assert repeated == []


@pytest.mark.parametrize("clinic", CLINICS)
def test_leaflet_points_to_the_research_online_which_holds_every_source(built: Built, clinic: str) -> None:
    leaflet = built.output / clinic / "en" / "burns-wounds-leaflet-screen.pdf"
    research = built.output / clinic / "en" / "burns-wounds-evidence-screen.pdf"
    assert not (built.output / clinic / "en" / "burns-wounds-evidence-print.pdf").exists()   # online only
    url = yaml.safe_load((ROOT / "content/clinics" / clinic / "clinic.yaml").read_text())["document_url"]
    online = url.replace("{language}", "en").replace("{condition}", "burns-wounds").replace("{kind}", "evidence")
    assert online in words(leaflet).replace(" ", "")        # a long address may wrap
    research_text = words(research)
    country = CLINICS[clinic]
    for spec in LIBRARY.kinds["leaflet"].sections:          # every leaflet source is listed online
        for source in block("burns-wounds", spec.role, country).meta.sources:
            assert str(source.url) in research_text.replace(" ", ""), (spec.role, source.url)
    assert block("burns-wounds", "evidence", country).meta.title in research_text


@pytest.mark.parametrize("kind", ["summary", "leaflet", "consent", "evidence"])
def test_other_formats_and_feedback_line(built: Built, kind: str) -> None:
    """PIF TICK: every document says it comes in large print and online, and how to give views on it."""
    pdf = built.output / "fennick-street-uk/en" / f"pigmentation-disorders-{kind}-screen.pdf"
    assert STRINGS["form_formats_text" if kind == "consent" else "formats_text"] in words(pdf)


def test_evidence_blocks_cite_studies() -> None:
    """Blocks that say what studies found cite a study, review, guideline, label or registry entry."""
    study_level = {"study", "review", "guideline", "label", "registry"}
    for b in LIBRARY.languages["en"].blocks:
        if b.meta.role in ("evidence", "evidence-summary"):
            assert any(s.type in study_level for s in b.meta.sources), b.path
            for s in b.meta.sources:
                if s.type in ("study", "review"):
                    assert s.doi or s.pmid, (b.path, s.title)


def test_every_document_is_within_its_page_limit(built: Built) -> None:
    """The limits of content/policy/length.yaml hold for every PDF of the real build, read by pypdf."""
    policy = yaml.safe_load((ROOT / "content/policy/length.yaml").read_text())
    factor, kinds = policy["large_print_factor"], policy["kinds"]
    over = []
    pdfs = sorted(built.output.glob("*/*/*.pdf"))
    assert len(pdfs) == 150
    for pdf in pdfs:
        kind, variant = re.match(r".+-(summary|leaflet|consent|evidence)-(screen|print|large-print)\.pdf$",
                                 pdf.name).groups()
        scale = policy.get("languages", {}).get(pdf.parent.name, {}).get("pages_factor", 1)
        pages = {name: int(count * scale + 1e-9) for name, count in kinds.get(kind, {}).get("pages", {}).items()}
        limit = int(factor * pages["screen"]) if variant == "large-print" and "screen" in pages else pages.get(variant)
        count = len(PdfReader(pdf).pages)
        if limit is not None and count > limit:
            over.append(f"{pdf.name}: {count} > {limit}")
    assert over == []
    assert kinds["summary"]["pages"] == {"screen": 2, "print": 2}
    assert kinds["leaflet"]["pages"] == kinds["consent"]["pages"] == {"screen": 6, "print": 6} and factor == 2.5
    assert policy["languages"] == {"es": {"words_factor": 1.2, "pages_factor": 1.2}}
