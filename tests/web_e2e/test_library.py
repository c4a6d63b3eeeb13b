"""The library in Chromium against the real server: the documents of the user's clinic with their thumbnails,
search and filters, a document's page with its PDF in the page, downloads, the keyboard alone, and another
clinic's documents answering 404 by every URL."""

from __future__ import annotations

import json
import re
from urllib.parse import parse_qs, urlsplit

from web_e2e.harness import focus_ring, follow, login, look, look_with_pdf, ring_shown, shot, signed_in_as, tab_until

CLINIC, OTHER = "cedar-hollow-us", "fennick-street-uk"


def _manifest(built) -> list[dict]:
    return json.loads((built.output / "manifest.json").read_text(encoding="utf-8"))["documents"]


def _documents(built, clinic: str) -> set[tuple[str, str, str]]:
    """The clinic's documents as the library groups them: one card per (language, condition, kind)."""
    return {(d["language"], d["condition"], d["kind"]) for d in _manifest(built) if d["clinic"] == clinic}


def _load_thumbnails(page) -> list[dict]:
    """Scroll every card's thumbnail into view (they load lazily) and wait for it; each one's source and size."""
    for thumb in page.locator(".doc-card img.thumb").all():
        thumb.scroll_into_view_if_needed()
    page.wait_for_function("() => [...document.querySelectorAll('.doc-card img.thumb')].every(i => i.complete)")
    page.evaluate("window.scrollTo(0, 0)")
    return page.evaluate("() => [...document.querySelectorAll('.doc-card img.thumb')].map("
                         "i => ({src: i.getAttribute('src'), width: i.naturalWidth, height: i.naturalHeight}))")


def test_library_lists_the_clinics_documents(server, built, staff, page):
    login(page, staff.name, staff.password)
    answer = page.goto("/")
    assert answer.status == 200 and signed_in_as(page) == staff.name
    assert page.get_by_role("heading", level=1).inner_text() == "Documents"
    mine = _documents(built, CLINIC)
    cards = page.locator(".doc-card")
    assert cards.count() == len(mine) > 0
    assert page.locator(".result-count").inner_text() == f"{len(mine)} documents."
    # Only this clinic's: no link of the page leads to another clinic's documents.
    hrefs = page.eval_on_selector_all("a[href]", "links => links.map(a => a.getAttribute('href'))")
    assert [h for h in hrefs if h.startswith("/library/")], hrefs
    assert not [h for h in hrefs if OTHER in h], hrefs

    # Each card: its title links to the print copy's page, with version, review date, pages, status, thumbnail.
    first = cards.first
    assert first.get_by_role("heading", level=3).get_by_role("link").get_attribute("href").endswith("-print/")
    facts = dict(zip(first.locator("dt").all_inner_texts(), first.locator("dd").all_inner_texts()))
    assert set(facts) == {"Version", "Review due", "Pages", "Copy"} and facts["Copy"] == "Print", facts
    assert re.fullmatch(r"\d+(\.\d+)*", facts["Version"]) and int(facts["Pages"]) >= 1, facts
    assert first.locator(".badge").inner_text() in ("Current", "Review due soon", "Draft", "Review overdue")
    thumbnails = _load_thumbnails(page)
    assert len(thumbnails) == len(mine)
    assert all(t["width"] > 50 and t["height"] > t["width"] for t in thumbnails), thumbnails   # a portrait page
    # Large print and the screen copy are one click away from the card.
    assert first.locator(".other-copies").get_by_role("link", name=re.compile("^Large print")).count() == 1
    assert first.locator(".other-copies").get_by_role("link", name=re.compile("^Screen")).count() == 1
    look(page, "library")


def test_search_and_filters_find_a_consent_form(server, built, staff, page):
    login(page, staff.name, staff.password)
    page.goto("/")
    total = len(_documents(built, CLINIC))
    consents = {d for d in _documents(built, CLINIC) if d[2] == "consent"}

    page.get_by_label("Search").fill("consent")
    with page.expect_navigation():
        page.get_by_role("button", name="Show documents").click()
    assert parse_qs(urlsplit(page.url).query)["q"] == ["consent"]
    assert page.locator(".doc-card").count() == len(consents)
    assert page.locator(".result-count").inner_text() == f"{len(consents)} of {total} documents match."
    assert all("consent" in t.lower() for t in page.locator(".doc-card .doc-kind").all_inner_texts())

    # Filters narrow the search to one condition and language; the chosen values stay in the form.
    page.get_by_label("Condition").select_option("acne-scars")
    page.get_by_label("Kind of document").select_option("consent")
    page.get_by_label("Language").select_option("en")
    with page.expect_navigation():
        page.get_by_role("button", name="Show documents").click()
    assert page.locator(".doc-card").count() == 1
    card = page.locator(".doc-card")
    assert "/library/cedar-hollow-us/en/acne-scars-consent-print/" == \
        card.get_by_role("heading", level=3).get_by_role("link").get_attribute("href")
    assert page.get_by_label("Search").input_value() == "consent"
    assert page.get_by_label("Condition").input_value() == "acne-scars"
    assert card.get_by_role("link", name=re.compile("^Fill in for a patient")).is_visible()
    _load_thumbnails(page)
    look(page, "library-filtered")

    # The large-print filter leads each card with its large-print copy.
    page.get_by_label("Copy", exact=True).select_option("large-print")
    with page.expect_navigation():
        page.get_by_role("button", name="Show documents").click()
    assert card.locator("dd").nth(3).inner_text() == "Large print"
    assert card.get_by_role("heading", level=3).get_by_role("link").get_attribute("href").endswith("-large-print/")

    # Words that match nothing: a page that says so and leads back to everything.
    page.get_by_label("Search").fill("quixotic zebra")
    page.get_by_label("Condition").select_option("")
    with page.expect_navigation():
        page.get_by_role("button", name="Show documents").click()
    assert page.locator(".doc-card").count() == 0
    assert page.get_by_role("heading", name="No documents match").is_visible()
    assert page.locator(".result-count").inner_text() == f"0 of {total} documents match."
    look(page, "library-empty-search")
    with page.expect_navigation():
        page.get_by_role("link", name="Clear search and filters").click()
    assert page.locator(".doc-card").count() == total


def test_document_page_previews_and_downloads(server, built, staff, page):
    login(page, staff.name, staff.password)
    page.goto("/?condition=acne-scars&kind=consent&language=en")
    follow(page, page.locator(".doc-card h3 a"))
    assert page.url == server("/library/cedar-hollow-us/en/acne-scars-consent-print/")
    title = page.get_by_role("heading", level=1).inner_text()
    assert "consent" in title.lower()
    # The preview: the PDF inside the page, from this site, shown inline (not as a download).
    frame = page.locator("iframe.pdf-frame")
    assert frame.get_attribute("src") == "/library/cedar-hollow-us/en/acne-scars-consent-print.pdf"
    assert frame.get_attribute("title").startswith(f"Preview of {title}")
    inline = page.request.get(frame.get_attribute("src"))
    assert inline.status == 200 and inline.headers["content-type"] == "application/pdf"
    assert inline.headers["content-disposition"].startswith("inline;")
    assert inline.headers["x-frame-options"] == "SAMEORIGIN"        # the page may frame it, no other site
    expected = (built.output / "cedar-hollow-us/en/acne-scars-consent-print.pdf").read_bytes()
    assert inline.body() == expected
    look_with_pdf(page, "document")

    # Download: the print copy's very bytes, under a name that says what it is.
    with page.expect_download() as downloading:
        page.get_by_role("link", name="Download PDF").click()
    download = downloading.value
    assert download.suggested_filename == "cedar-hollow-us-en-acne-scars-consent-print.pdf"
    assert open(download.path(), "rb").read() == expected

    # The other copies are one click away.
    follow(page, page.locator(".copy-switch").get_by_role("link", name="Large print"))
    assert page.url == server("/library/cedar-hollow-us/en/acne-scars-consent-large-print/")
    assert page.locator(".copy-switch [aria-current=page]").inner_text() == "Large print"
    with page.expect_navigation():
        page.get_by_role("link", name="Fill in for a patient").click()
    assert page.url == server("/personalise/cedar-hollow-us/en/acne-scars/consent/large-print/")


def test_a_spanish_card_has_its_own_title_and_the_kind_and_language_as_staff_call_them(server, staff, page):
    login(page, staff.name, staff.password)
    page.goto("/")
    page.get_by_label("Language").select_option(label="Spanish (español)")
    page.get_by_label("Condition").select_option("acne-scars")
    with page.expect_navigation():
        page.get_by_role("button", name="Show documents").click()
    cards = page.locator(".doc-card")
    assert cards.count() == 4                              # key facts, leaflet, consent form, research in detail
    assert cards.locator(".doc-kind").all_text_contents() == [                # (shown in capitals by CSS)
        f"{kind} · Spanish (español)" for kind in ("Key facts", "Leaflet", "Consent form", "Research in detail")]
    consent = cards.nth(2)
    heading = consent.get_by_role("heading", level=3)
    assert heading.get_attribute("lang") == "es" and heading.inner_text().startswith("Cicatrices de acné:")
    assert consent.locator(".badge").inner_text() == "Current"
    assert consent.get_by_role("link", name=re.compile("^Fill in for a patient")).get_attribute("href") == \
        "/personalise/cedar-hollow-us/es/acne-scars/consent/print/"
    _load_thumbnails(page)
    look(page, "library-spanish")


OTHER_CLINIC_URLS = [
    "/library/{clinic}/en/acne-scars-consent-print/",
    "/library/{clinic}/en/acne-scars-consent-print.pdf",
    "/library/{clinic}/en/acne-scars-consent-print.pdf?download=1",
    "/library/{clinic}/en/acne-scars-leaflet-large-print.png",
    "/personalise/{clinic}/en/acne-scars/consent/print/",
]


def test_another_clinics_documents_are_not_found(server, staff, open_page, page):
    """A staff user of cedar-hollow-us gets the app's 404 page for fennick-street-uk's document page, PDF, download,
    thumbnail and form; the same URLs of their own clinic work, and fennick-street-uk's own staff open theirs."""
    login(page, staff.name, staff.password)
    for url in OTHER_CLINIC_URLS:
        own = page.request.get(url.format(clinic=CLINIC))
        assert own.status == 200, url
        answer = page.goto(url.format(clinic=OTHER))
        assert answer.status == 404, url
        assert page.get_by_role("heading", level=1).inner_text() == "Page not found", url
        assert signed_in_as(page) == staff.name
    look(page, "not-found-other-clinic")
    # A POST to the other clinic's form (with this session's CSRF token) is refused the same way.
    token = next(c["value"] for c in page.context.cookies() if c["name"] == "handouts_csrf")
    posted = page.request.post(OTHER_CLINIC_URLS[-1].format(clinic=OTHER), form={"name": "Nobody At All"},
                               headers={"X-CSRFToken": token, "Referer": server("/")})
    assert posted.status == 404
    # A filter naming the other clinic shows none of its documents.
    page.goto(f"/?clinic={OTHER}")
    assert page.locator(".doc-card").count() == 0

    theirs = open_page(server)
    password = server.add_user("e2e-fennick-staff", "staff", [OTHER])
    login(theirs, "e2e-fennick-staff", password)
    for url in OTHER_CLINIC_URLS:
        assert theirs.request.get(url.format(clinic=OTHER)).status == 200, url
        assert theirs.request.get(url.format(clinic=CLINIC)).status == 404, url


def test_keyboard_reaches_search_filters_and_cards(server, staff, page):
    login(page, staff.name, staff.password)
    page.goto("/")
    page.locator("body").focus()
    stops = tab_until(page, lambda s: s["href"].startswith("/personalise/"))
    ids = [s["id"] for s in stops]
    assert "q" in ids, ids
    filters = page.eval_on_selector_all("form[role=search] select", "selects => selects.map(s => s.id)")
    assert len(filters) >= 4 and all(f in ids for f in filters), (filters, ids)
    assert ids.index("q") < ids.index(filters[0])
    # Then the first card's links: its title, Preview, Download and Fill in, each with a visible focus ring.
    card = stops[-4:]
    document = card[0]["href"]
    assert re.fullmatch(r"/library/cedar-hollow-us/en/[a-z0-9-]+-print/", document), card
    assert [s["href"] for s in card] == [document, document, document[:-1] + ".pdf?download=1",
                                         card[3]["href"]], card
    assert [s["text"].split()[0] for s in card[1:]] == ["Preview", "Download", "Fill"], card
    for stop in stops:
        if stop["id"] in ["q", *filters] or stop in card:
            assert ring_shown(stop), stop
    shot(page, "library-keyboard-focus")

    # The search works from the keyboard alone: type, Enter, and the filtered list.
    page.get_by_label("Search").focus()
    page.keyboard.type("burns")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert parse_qs(urlsplit(page.url).query)["q"] == ["burns"]
    assert page.locator(".doc-card").count() >= 1
    # Each card is a document of burns, in English ("burn" in its title) or Spanish (the condition's id matches).
    titles = page.locator(".doc-card h3 a")
    assert all("/burns-wounds-" in href for href in titles.evaluate_all("links => links.map(a => a.pathname)"))
    assert any("burn" in t.lower() for t in titles.all_inner_texts())
    # A select changes from the keyboard too.
    page.get_by_label("Kind of document").focus()
    assert ring_shown(focus_ring(page))
    page.keyboard.press("ArrowDown")
    assert page.get_by_label("Kind of document").input_value() != ""
