"""The public page each QR code opens, in Chromium against the real server, with no sign-in: the current version
in the document's language, its screen and large-print PDFs, the plain notice when the paper copy scanned is an
older version, a phone-sized screen, and the not-found page."""

from __future__ import annotations

import json
from urllib.parse import urlsplit

from web_e2e.harness import look, shot

LEAFLET = "/cedar-hollow-us/en/acne-scars/leaflet"
NEWER = "There is a newer version of this document"


def _current(built, clinic: str, condition: str, kind: str) -> dict[str, dict]:
    """The manifest's entries of one document, by variant."""
    documents = json.loads((built.output / "manifest.json").read_text(encoding="utf-8"))["documents"]
    return {d["variant"]: d for d in documents
            if (d["clinic"], d["language"], d["condition"], d["kind"]) == (clinic, "en", condition, kind)}


def test_public_page_shows_the_current_version_without_signing_in(server, built, page):
    copies = _current(built, "cedar-hollow-us", "acne-scars", "leaflet")
    version = copies["screen"]["version"]
    answer = page.goto(LEAFLET)
    assert answer.status == 200 and page.url == server(LEAFLET)       # no redirect to the login page
    assert page.locator("html").get_attribute("lang") == "en-US"       # a US clinic
    title = page.get_by_role("heading", level=1).inner_text()
    assert title.startswith("Acne scars")
    assert page.title().startswith(title)
    assert page.locator(".meta-list dt:text-is('Version') + dd").inner_text() == version
    assert page.get_by_role("heading", name=NEWER).count() == 0
    assert page.get_by_role("button", name="Sign out").count() == 0 and page.locator("header.top").count() == 0
    assert page.get_by_role("heading", name="Key facts").is_visible()
    assert page.locator(".sources ol li").count() >= 3                  # the full source list
    assert page.context.cookies() == []                                 # nothing about the visitor kept
    assert answer.headers["cache-control"].startswith("public")

    # The screen and large-print PDFs: the very files the build made; the print master is not public.
    links = page.locator("nav.downloads a")
    assert links.count() == 2
    for link, variant in zip(links.all(), ("screen", "large-print")):
        href = link.get_attribute("href")
        pdf = page.request.get(href)
        assert pdf.status == 200 and pdf.headers["content-type"] == "application/pdf", href
        assert pdf.body() == (built.output / copies[variant]["path"]).read_bytes(), href
        assert f"Version {version}" in link.inner_text() and f"{copies[variant]['pages']} pages" in link.inner_text()
    screen = urlsplit(links.first.get_attribute("href")).path
    assert screen.endswith("/screen.pdf")
    print_master = screen.removesuffix("screen.pdf") + "print.pdf"
    assert page.request.get(print_master).status == 404
    look(page, "public")

    # Clicked, a PDF opens in the browser (not a download).
    with page.expect_navigation():
        links.first.click(no_wait_after=True)
    assert page.url.endswith("/screen.pdf")


def test_old_version_shows_the_newer_version_notice_first(server, built, page):
    version = _current(built, "cedar-hollow-us", "acne-scars", "leaflet")["screen"]["version"]
    assert version != "1.0"
    answer = page.goto(LEAFLET + "?v=1.0")               # what the QR code of a version 1.0 paper copy opens
    assert answer.status == 200
    notice = page.locator("section.newer")
    assert notice.get_by_role("heading", level=2).inner_text() == NEWER
    assert (f"The paper copy you have is version 1.0. This page shows version {version}, the newest."
            in notice.inner_text())
    assert "What changed:" in notice.inner_text()
    assert notice.locator("li").first.inner_text().startswith(f"Version {version}:")
    # At the top: the first thing in the page's content, before the title.
    first = page.evaluate("() => document.querySelector('main article').firstElementChild.className")
    assert first == "newer"
    assert notice.bounding_box()["y"] < page.get_by_role("heading", level=1).bounding_box()["y"]
    look(page, "public-old-version")

    # The current version, or a version the page does not know as older, shows no notice.
    for query in (f"?v={version}", "?v=banana", "?v=<script>"):
        page.goto(LEAFLET + query)
        assert page.locator("section.newer").count() == 0, query


def test_public_page_on_a_phone(server, open_page):
    phone = open_page(server, viewport={"width": 390, "height": 844}, device_scale_factor=1, is_mobile=True,
                      has_touch=True)
    phone.goto(LEAFLET + "?v=1.0")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390         # nothing wider than the screen
    assert phone.get_by_role("heading", name=NEWER).is_visible()
    assert phone.locator("nav.downloads a").first.is_visible()
    look(phone, "public-phone")


def test_public_page_of_a_uk_clinic_and_the_not_found_page(server, page):
    page.goto("/fennick-street-uk/en/acne-scars/consent")
    assert page.locator("html").get_attribute("lang") == "en-GB"
    assert page.get_by_role("heading", level=1).inner_text().startswith("Acne scars")
    shot(page, "public-uk-consent")

    answer = page.goto("/cedar-hollow-us/en/no-such-condition/leaflet")
    assert answer.status == 404
    assert page.get_by_role("heading", level=1).inner_text() == "We cannot find this document"
    look(page, "public-not-found")


def test_public_page_of_a_spanish_document(server, page):
    answer = page.goto("/cedar-hollow-us/es/acne-scars/leaflet?v=1.0")
    assert answer.status == 200
    assert page.locator("html").get_attribute("lang") == "es-US"
    assert page.get_by_role("heading", level=1).inner_text().startswith("Cicatrices de acné")
    assert page.get_by_role("heading", name="Hay una versión más nueva de este documento").is_visible()
    assert page.get_by_role("heading", name="Datos clave").is_visible()
    assert page.get_by_role("heading", name="Key facts").count() == 0
    assert page.locator("nav.downloads a").count() == 2
    look(page, "public-spanish")
