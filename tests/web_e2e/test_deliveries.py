"""The print shop's page in Chromium against the real server (a copy of the session build with one delivery made in
it): the deliveries of its clinics with their changelog, and a download that holds only its clinics' masters."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

from web_e2e.harness import login, look, signed_in_as

CLINIC = "cedar-hollow-us"


def test_print_shop_downloads_its_clinics_delivery(delivery_server, open_page):
    page = open_page(delivery_server)
    password = delivery_server.add_user("e2e-print-shop", "print-shop", [CLINIC])
    login(page, "e2e-print-shop", password)
    assert signed_in_as(page) == "e2e-print-shop"
    with page.expect_navigation():
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Deliveries").click()
    assert page.url == delivery_server("/deliveries/")
    assert page.get_by_role("heading", level=1).inner_text() == "Deliveries"
    assert "Cedar Hollow Dermatology" in page.locator(".lead").inner_text()
    delivery = page.locator("section.delivery")
    assert delivery.count() == 1
    assert delivery.get_by_role("heading", level=2).inner_text() == "Delivery 1"
    # The changelog is open and names only this clinic's masters.
    changes = delivery.locator("pre.changes")
    assert changes.is_visible()
    listed = [line for line in changes.inner_text().splitlines() if line.endswith(".pdf")]
    assert listed and all(line.startswith(f"{CLINIC}/") for line in listed), listed
    look(page, "deliveries")

    with page.expect_download() as downloading:
        delivery.get_by_role("link", name="Download delivery 1").click()
    download = downloading.value
    assert download.suggested_filename.startswith("delivery-0001-")
    with zipfile.ZipFile(io.BytesIO(Path(download.path()).read_bytes())) as bundle:
        names = bundle.namelist()
        manifest = json.loads(bundle.read("manifest.json"))
    masters = [n for n in names if n.endswith(".pdf")]
    assert {"manifest.json", "CHANGES.txt"} <= set(names)
    assert masters and all(n.startswith(f"{CLINIC}/") and n.endswith("-print.pdf") for n in masters), names
    assert sorted(d["path"] for d in manifest["documents"]) == sorted(masters)
    assert sorted(masters) == sorted(listed)
