"""The staff app's library: the documents of the user's own clinics from the last build, found by search and
filters, each with its facts and first page, previewed inline and downloaded; another clinic's are 404."""

from __future__ import annotations

import datetime as dt
import html
import re
import struct
from pathlib import Path

import pytest
from pypdf import PdfReader

from conftest import TODAY
from handouts.publish import Manifest
from handouts.web.models import PRINT_SHOP, REVIEWER, STAFF, AuditEvent
from handouts.web.views import library

UK, US = "fennick-street-uk", "cedar-hollow-us"
ACNE_CONSENT = f"/library/{UK}/en/acne-scars-consent-print"


@pytest.fixture
def ann(client, web, make_user):
    """A member of staff of the UK clinic only, signed in."""
    client.force_login(make_user("ann", STAFF, [UK]))
    return client


def cards(page: str) -> list[str]:
    return re.findall(r'<li class="doc-card">(.*?)</li>\s*(?=<li class="doc-card">|</ul>)', page, re.S)


def card_titles(page: str) -> list[str]:
    return [html.unescape(t) for t in re.findall(r"<h3 lang=\"[a-z]+\"><a href=\"[^\"]+\">([^<]+)</a></h3>", page)]


def links(page: str) -> set[str]:
    return set(re.findall(r'(?:href|src)="(/library/[^"]+)"', page))


def test_the_library_lists_the_documents_of_the_users_own_clinic_only(ann, web) -> None:
    response = ann.get("/")
    assert response.status_code == 200
    page = response.content.decode()
    own = [e for e in Manifest.load(web.output).entries.values() if e.clinic == UK]
    # One card per document: 5 conditions x (summary, leaflet, consent in 3 copies; evidence on screen only).
    assert len(cards(page)) == len({(e.language, e.condition, e.kind) for e in own}) == 20
    assert all(link.startswith(f"/library/{UK}/") for link in links(page)) and links(page)
    assert US not in page and "Cedar Hollow" not in page
    assert "Acne scars: consent form for stem cell treatment" in card_titles(page)
    assert "Fennick Street Skin Clinic" in page


def test_each_card_leads_with_print_and_has_its_facts_thumbnail_and_other_copies(ann, web) -> None:
    page = ann.get("/").content.decode()
    card = next(c for c in cards(page) if "Acne scars: consent form for stem cell treatment" in c)
    entry = Manifest.load(web.output).entries[f"{UK}/en/acne-scars-consent-print.pdf"]
    facts = dict(re.findall(r"<dt>([^<]+)</dt><dd>(?:<time[^>]*>)?([^<]+)", card))
    assert facts == {"Version": entry.version, "Review due": "25 Nov 2027", "Pages": str(entry.pages),
                     "Copy": "Print"}
    assert '<span class="badge current">Current</span>' in card
    assert f'src="{ACNE_CONSENT}.png"' in card and 'alt="First page of the print copy"' in card
    assert f'href="{ACNE_CONSENT}/"' in card and f'href="{ACNE_CONSENT}.pdf?download=1"' in card
    # Large print and the screen copy, one click away.
    assert f'href="/library/{UK}/en/acne-scars-consent-large-print/"' in card
    assert f'href="/library/{UK}/en/acne-scars-consent-screen/"' in card
    assert f'href="/personalise/{UK}/en/acne-scars/consent/print/"' in card and "Fill in for a patient" in card
    leaflet = next(c for c in cards(page) if "Acne scars: stem cell treatment</a>" in c)
    assert "Fill in for a patient" not in leaflet and "/personalise/" not in leaflet
    evidence = next(c for c in cards(page) if "the research in detail" in c)     # made on screen only
    assert "<dd>Screen</dd>" in evidence and "other-copies" not in evidence


@pytest.mark.parametrize("query, expected", [
    ("condition=acne-scars", {"Acne scars: stem cell treatment, key facts", "Acne scars: stem cell treatment",
                              "Acne scars: consent form for stem cell treatment",
                              "Acne scars: stem cell treatment, the research in detail"}),
    ("kind=consent", {f"{c}: consent form for stem cell treatment" for c in (
        "Acne scars", "Wrinkles and skin changes with age", "Burn scars and slow-healing wounds",
        "Eczema and psoriasis", "Vitiligo")}),
    ("q=acne+consent", {"Acne scars: consent form for stem cell treatment"}),
    ("q=ACNE&kind=summary", {"Acne scars: stem cell treatment, key facts"}),
    ("q=no-such-words", set()),
])
def test_search_and_filters_narrow_the_cards(ann, query: str, expected: set[str]) -> None:
    page = ann.get(f"/?{query}").content.decode()
    assert set(card_titles(page)) == expected
    if not expected:
        assert "No documents match" in page


def test_the_condition_names_in_the_filters_are_the_contents(ann) -> None:
    page = ann.get("/").content.decode()
    select = re.search(r'<select id="f-condition" name="condition">(.*?)</select>', page, re.S).group(1)
    assert re.findall(r'<option value="([^"]*)"', select) == ["", "acne-scars", "wrinkles-ageing-skin",
                                                               "burns-wounds", "inflammatory-conditions",
                                                               "pigmentation-disorders"]
    assert 'id="f-clinic"' not in page        # one clinic: nothing to choose


def test_the_variant_filter_leads_each_card_with_that_copy(ann) -> None:
    screen = ann.get("/?variant=screen").content.decode()
    assert len(cards(screen)) == 20 and all("<dd>Screen</dd>" in c for c in cards(screen))
    assert all(re.search(r'src="/library/[^"]+-screen\.png"', c) for c in cards(screen))
    large = ann.get("/?variant=large-print&language=en").content.decode()
    assert len(cards(large)) == 15                  # the research document has no large print
    assert all("<dd>Large print</dd>" in c for c in cards(large))
    assert '<option value="large-print" selected>' in large


def test_a_reviewer_sees_every_clinic_and_can_filter_by_clinic_but_not_fill_in(client, web, make_user) -> None:
    client.force_login(make_user("rita", REVIEWER))
    page = client.get("/").content.decode()
    assert len(cards(page)) == 60 and 'id="f-clinic"' in page       # the US clinic's in English and Spanish
    assert "Acne scars · Cedar Hollow" in page and "Acne scars · Fennick Street" in page
    assert "/personalise/" not in page
    only_us = client.get(f"/?clinic={US}").content.decode()
    assert len(cards(only_us)) == 40 and all(link.startswith(f"/library/{US}/") for link in links(only_us))


def test_a_print_shop_sees_its_clinics_documents_without_the_form_link(client, web, make_user) -> None:
    client.force_login(make_user("pat", PRINT_SHOP, [US]))
    page = client.get("/").content.decode()
    assert len(cards(page)) == 40 and all(link.startswith(f"/library/{US}/") for link in links(page))
    assert "/personalise/" not in page


def test_kind_and_language_labels_come_from_the_kind_files_and_babel(client, web, make_user) -> None:
    client.force_login(make_user("sam", STAFF, [US]))
    page = client.get("/").content.decode()
    kinds = re.search(r'<select id="f-kind" name="kind">(.*?)</select>', page, re.S).group(1)
    assert re.findall(r'<option value="([^"]+)">([^<]+)</option>', kinds) == [
        ("summary", "Key facts"), ("leaflet", "Leaflet"), ("consent", "Consent form"),
        ("evidence", "Research in detail")]                       # content/kinds/*.yaml's label
    languages = re.search(r'<select id="f-language" name="language">(.*?)</select>', page, re.S).group(1)
    assert [html.unescape(t) for t in re.findall(r'<option value="[^"]+">([^<]+)</option>', languages)] == [
        "English", "Spanish (español)"]
    spanish = next(c for c in cards(page) if f'href="/library/{US}/es/acne-scars-consent-print/"' in c)
    assert '<p class="doc-kind">Consent form · Spanish (español)</p>' in html.unescape(spanish)
    assert '<h3 lang="es">' in spanish and "Cicatrices de acné" in html.unescape(card_titles(spanish)[0])
    assert len(cards(client.get("/?q=spanish+consent").content.decode())) == 5       # the label is searched too
    assert len(cards(client.get("/?q=espa%C3%B1ol").content.decode())) == 20


def test_labels_for_what_the_tables_of_the_past_did_not_name(web) -> None:
    from types import SimpleNamespace
    from handouts.content import load
    consent = load(web.root).kinds["consent"]
    assert library.kind_label(SimpleNamespace(kinds={"side-effects": consent.model_copy(update={"label": None})}),
                              "side-effects") == "Side effects"                   # no label: the id, capitalised
    assert library.kind_label(SimpleNamespace(kinds={}), "aftercare") == "Aftercare"
    assert [library.language_label(code) for code in ("en", "es", "fr", "pt", "zz")] == [
        "English", "Spanish (español)", "French (français)", "Portuguese (português)", "zz"]
    assert not hasattr(library, "KIND_LABELS") and not hasattr(library, "LANGUAGE_LABELS")


def test_review_due_soon_and_draft_are_shown(ann, settings) -> None:
    settings.HANDOUTS_TODAY = "2027-10-26"          # 30 days before the documents' review date (warn: 60 days)
    page = ann.get("/").content.decode()
    assert all('<span class="badge due-soon">Review due soon</span>' in c for c in cards(page))
    assert "Review due in 30 days" in page
    entry = Manifest.load(Path(settings.OUTPUT_DIR)).entries[f"{UK}/en/acne-scars-consent-print.pdf"]
    assert library._status(entry, frozenset({entry.path}), TODAY, 60).label == "Draft"
    assert library._status(entry, frozenset(), dt.date(2027, 11, 26), 60).label == "Review overdue"
    assert library._status(entry, frozenset(), TODAY, 60).label == "Current"


def test_a_document_with_a_draft_block_is_marked_draft(ann, project: Path, settings, monkeypatch) -> None:
    from handouts.web import pipeline
    settings.CONTENT_ROOT = project                     # the build's PDFs, with a scratch copy of their content
    monkeypatch.setattr(pipeline, "_PERSONALISER", None)
    block = project / "content" / "en" / "acne-scars" / "consent-diagnosis.md"
    block.write_text(block.read_text().replace("reviewer: ", "draft: true\nreviewer: ", 1))
    page = ann.get("/").content.decode()
    drafts = [card_titles(c)[0] for c in cards(page) if '<span class="badge draft">Draft</span>' in c]
    # The block is in the consent form and in the research document (which lists every block).
    assert drafts == ["Acne scars: consent form for stem cell treatment",
                      "Acne scars: stem cell treatment, the research in detail"]
    screen = ann.get(f"/library/{UK}/en/acne-scars-consent-screen/").content.decode()
    assert '<span class="badge draft">Draft</span>' in screen


def test_a_translation_behind_its_source_is_shown_plainly_with_its_last_good_copy(client, web_behind,
                                                                                  make_user) -> None:
    spanish = [f"{US}/es/acne-scars-consent-{v}.pdf" for v in ("print", "screen", "large-print")]
    manifest = Manifest.load(web_behind.output)
    assert set(manifest.behind) == {*spanish, f"{US}/es/acne-scars-evidence-screen.pdf"}
    block = manifest.behind[spanish[0]][0]["block"]
    assert re.fullmatch(r"content/es/acne-scars/consent-diagnosis\.md:\d+", block)
    client.force_login(make_user("sam", STAFF, [US]))
    page = client.get("/").content.decode()
    held = [c for c in cards(page) if '<span class="badge behind">Behind its source</span>' in c]
    assert [card_titles(c)[0] for c in held] == ["Cicatrices de acné: formulario de consentimiento para el "
                                                  "tratamiento con células madre",
                                                  "Cicatrices de acné: tratamiento con células madre, la "
                                                  "investigación en detalle"]
    assert (f"Behind its English source: the Spanish translation in {block} is out of date; this is the last good "
            "copy") in html.unescape(held[0])
    assert "/personalise/" not in held[0]                    # it cannot be filled in until it is updated
    # The last good copy is still there to preview and download, the very file of the last good build.
    assert f'href="/library/{US}/es/acne-scars-consent-print.pdf?download=1"' in held[0]
    download = client.get(f"/library/{US}/es/acne-scars-consent-print.pdf?download=1")
    assert download.status_code == 200 and download.content == (web_behind.output / spanish[0]).read_bytes()
    # Every other document is as it was: the English consent form, the Spanish leaflet.
    english = next(c for c in cards(page) if f'href="/library/{US}/en/acne-scars-consent-print/"' in c)
    assert '<span class="badge current">Current</span>' in english and "/personalise/" in english
    leaflet = next(c for c in cards(page) if f'href="/library/{US}/es/acne-scars-leaflet-print/"' in c)
    assert '<span class="badge current">Current</span>' in leaflet
    # Counted, and found by the status filter.
    assert "2 documents are behind their source" in " ".join(page.split())
    assert '<option value="behind">Behind its source</option>' in page
    only = client.get("/?status=behind").content.decode()
    assert [card_titles(c)[0] for c in cards(only)] == [card_titles(c)[0] for c in held]
    assert len(cards(client.get("/?status=current").content.decode())) == 40 - 2
    detail = html.unescape(client.get(f"/library/{US}/es/acne-scars-consent-screen/").content.decode())
    assert '<span class="badge behind">Behind its source</span>' in detail and block in detail
    assert "Fill in for a patient" not in detail


def test_thumbnails_are_png_first_pages(ann, web) -> None:
    response = ann.get(f"{ACNE_CONSENT}.png")
    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    png = response.content
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    width, height = struct.unpack(">II", png[16:24])
    page = PdfReader(web.output / f"{UK}/en/acne-scars-consent-print.pdf").pages[0].mediabox      # with bleed
    assert abs(width - float(page.width) * 30 / 72) <= 1 and abs(height - float(page.height) * 30 / 72) <= 1
    assert ann.get(f"{ACNE_CONSENT}.png").content == png      # the second comes from memory, the same


def test_preview_is_inline_and_download_an_attachment_each_audited(ann, web) -> None:
    data = (web.output / f"{UK}/en/acne-scars-consent-print.pdf").read_bytes()
    preview = ann.get(f"{ACNE_CONSENT}.pdf")
    assert preview.status_code == 200 and preview["Content-Type"] == "application/pdf"
    assert preview["Content-Disposition"] == f'inline; filename="{UK}-en-acne-scars-consent-print.pdf"'
    assert preview["X-Frame-Options"] == "SAMEORIGIN" and preview.content == data
    download = ann.get(f"{ACNE_CONSENT}.pdf?download=1")
    assert download["Content-Disposition"] == f'attachment; filename="{UK}-en-acne-scars-consent-print.pdf"'
    assert download.content == data
    rows = list(AuditEvent.objects.exclude(event="login").order_by("at", "id").values_list(
        "user", "event", "clinic", "document", "version", "language", "variant", "detail"))
    entry = Manifest.load(web.output).entries[f"{UK}/en/acne-scars-consent-print.pdf"]
    expected = ("ann", UK, entry.path, entry.version, "en", "print", f"bytes={len(data)}")
    assert rows == [(expected[0], "preview", *expected[1:]), (expected[0], "download", *expected[1:])]


def test_the_document_page_previews_the_pdf_in_a_same_origin_frame(ann, web) -> None:
    response = ann.get(f"{ACNE_CONSENT}/")
    assert response.status_code == 200
    page = response.content.decode()
    assert f'<iframe class="pdf-frame" src="{ACNE_CONSENT}.pdf"' in page
    assert "<h1 lang=\"en\">Acne scars: consent form for stem cell treatment</h1>" in page
    assert f'<a href="{ACNE_CONSENT}/" aria-current="page">Print</a>' in page
    assert f'href="/library/{UK}/en/acne-scars-consent-large-print/"' in page
    assert f'href="/personalise/{UK}/en/acne-scars/consent/print/"' in page
    assert response["X-Frame-Options"] == "DENY"       # only the PDF itself may be framed, by this site
    assert not AuditEvent.objects.exclude(event="login").exists()             # the frame's own request is the preview


OTHER_CLINIC = [f"/library/{US}/en/acne-scars-consent-print{end}" for end in (".pdf", ".pdf?download=1", ".png", "/")]
OTHER_CLINIC.append(f"/personalise/{US}/en/acne-scars/consent/print/")
UNKNOWN = [f"/library/{UK}/en/acne-scars-consent-a4.pdf", f"/library/{UK}/fr/acne-scars-consent-print.pdf",
           f"/library/{UK}/en/acne-scars-evidence-print.png", "/library/no-such-clinic/en/acne-scars-consent-print/",
           f"/library/{UK}/en/..%2F..%2Fmanifest.pdf", f"/library/{UK}/en/../../manifest.json",
           f"/library/{UK}/en/%2e%2e/{US}/en/acne-scars-consent-print.pdf", "/library/../manifest.json",
           f"/library/{UK}/en/.checks-memo.pdf", f"/library/{UK}/en/manifest.pdf"]


@pytest.mark.parametrize("url", OTHER_CLINIC + UNKNOWN)
def test_another_clinics_and_unknown_documents_are_not_found(ann, url: str) -> None:
    response = ann.get(url)
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html") and b"%PDF" not in response.content
    assert not AuditEvent.objects.exclude(event="login").exists()


def test_a_file_swapped_for_a_link_out_of_the_output_folder_is_not_served(ann, web, settings, tmp_path) -> None:
    output = tmp_path / "output"
    (output / UK / "en").mkdir(parents=True)
    (output / "manifest.json").write_bytes((web.output / "manifest.json").read_bytes())
    (output / UK / "en" / "acne-scars-consent-print.pdf").symlink_to(web.output / UK / "en" /
                                                                       "acne-scars-consent-print.pdf")
    settings.OUTPUT_DIR = output
    assert ann.get(f"{ACNE_CONSENT}.pdf").status_code == 404


@pytest.mark.parametrize("url", ["/", f"{ACNE_CONSENT}.pdf", f"{ACNE_CONSENT}.png", f"{ACNE_CONSENT}/"])
def test_without_signing_in_every_library_page_sends_to_the_login(client, web, url: str) -> None:
    response = client.get(url)
    assert response.status_code == 302 and response["Location"].startswith("/login/?next=")


def test_before_the_first_build_the_library_says_how_to_build(ann, settings, tmp_path) -> None:
    settings.OUTPUT_DIR = tmp_path / "nothing-built"
    response = ann.get("/")
    page = response.content.decode()
    assert response.status_code == 200
    assert "The documents have not been built yet" in page and "<code>make build</code>" in page
    assert 'role="search"' not in page


def test_content_that_cannot_be_read_gives_a_page_that_says_so(ann, monkeypatch) -> None:
    from handouts.problems import BuildError, Problem
    from handouts.web import pipeline

    def unreadable():
        raise BuildError([Problem("content/catalogue.yaml", 3, "catalogue: 'kinds' must be a list", "schema")])
    monkeypatch.setattr(pipeline, "loaded", unreadable)
    for url in ("/", f"{ACNE_CONSENT}/", f"{ACNE_CONSENT}.pdf", f"/personalise/{UK}/en/acne-scars/consent/print/"):
        response = ann.get(url)
        assert response.status_code == 503, url
        assert "<code>content/catalogue.yaml:3</code> (schema)" in response.content.decode()


def test_the_library_pages_have_no_inline_script_or_style(ann) -> None:
    for url in ("/", "/?kind=consent", f"{ACNE_CONSENT}/"):
        page = ann.get(url).content.decode()
        assert not re.search(r"<script(?![^>]*\bsrc=)", page) and " style=" not in page
        assert len(re.findall(r"<h1[ >]", page)) == 1 and '<main id="main"' in page
