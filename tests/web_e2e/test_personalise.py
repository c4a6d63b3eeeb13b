"""Personalise in Chromium against the real server: the newcomer's few clicks from the library to a consent form
with a patient's details filled in, and nothing about that patient anywhere afterwards (the issue's "Done when");
the preview in the page; messages beside their fields; script and quotes in every field coming back as text; the
form by keyboard alone."""

from __future__ import annotations

import io
import os
import re
import secrets
import stat
import tempfile
import time
from pathlib import Path
from urllib.parse import quote, quote_plus

from pypdf import PdfReader

from conftest import TODAY
from web_e2e.harness import (ROOT, focus_ring, follow, login, look, look_with_pdf, ring_shown, shot, signed_in_as,
                             tab_until)

FORM = "/personalise/cedar-hollow-us/en/acne-scars/consent/print/"
# The form's fields in the order the consent form prints them, with their labels there (content/en/strings.yaml).
LABELS = {"name": "Patient name", "date_of_birth": "Date of birth", "procedure": "Procedure",
          "clinician": "Clinician who will treat you", "procedure_date": "Planned date of treatment",
          "leaflet_given": "Date the leaflet was given",
          "first_consultation": "Date of your first consultation about this treatment"}
DATES = ("date_of_birth", "procedure_date", "leaflet_given", "first_consultation")
TEXTS = ("name", "procedure", "clinician")
DOWNLOAD = "Download the filled-in PDF"
LARGEST = 50 * 1024 * 1024          # files read whole by the search for the patient's name; larger ones are skipped
HOSTILE = """<script>alert(1)</script>"'><img src=x onerror=alert(2)>"""


def pdf_text(data: bytes) -> str:
    """The PDF's text, every page, with runs of white space as one space (a name may wrap)."""
    return " ".join(" ".join((page.extract_text() or "") for page in PdfReader(io.BytesIO(data)).pages).split())


def fill(page, details: dict[str, str]) -> None:
    """Type each value into the field its label names, as a person would."""
    for name, value in details.items():
        page.get_by_label(LABELS[name], exact=True).fill(value)


def as_text_fields(page, names) -> None:
    """Make date fields plain text fields, as a browser without a date picker shows them, so that anything can be
    typed (Chromium's date picker only takes real dates)."""
    for name in names:
        page.locator(f"#id_{name}").evaluate("input => { input.type = 'text'; }")


def is_post(response) -> bool:
    return response.request.method == "POST"


# --- the newcomer's flow, and nothing left behind ------------------------------------------------------------------

def _needles(*details: str) -> dict[str, bytes]:
    """Every form of the details a file could hold them in: as typed, lower and upper case, URL-encoded (a query
    string or a form body), and UTF-16 (a database or a Windows tool may write that)."""
    forms = {}
    for detail in details:
        for form in (detail, detail.lower(), detail.upper(), quote(detail), quote_plus(detail)):
            forms[form] = form.encode()
        forms[f"{detail} (UTF-16)"] = detail.encode("utf-16-le")
    return forms


def _found(roots: list[Path], needles: dict[str, bytes], *, skip: tuple[Path, ...] = (),
           since: float | None = None) -> tuple[list[str], int]:
    """(where any needle occurs, how many files were read) in the regular files under `roots`, read as bytes;
    folders in `skip` are not entered, files larger than LARGEST not read, and with `since` only files changed
    since then are."""
    hits, read = [], 0
    skipped = {str(p) for p in skip}
    for root in roots:
        for folder, folders, files in os.walk(root):
            folders[:] = [f for f in folders if os.path.join(folder, f) not in skipped]
            for name in files:
                path = os.path.join(folder, name)
                try:
                    info = os.lstat(path)
                    if (not stat.S_ISREG(info.st_mode) or info.st_size > LARGEST
                            or (since is not None and info.st_mtime < since)):
                        continue
                    data = Path(path).read_bytes()
                except OSError:             # a file removed while walking (another process's temporary file)
                    continue
                read += 1
                hits += [f"{path}: {label!r}" for label, needle in needles.items() if needle in data]
    return hits, read


_DATABASE_TEXT = """
import json
from handouts.web.setup import django_ready
django_ready()
from django.contrib.sessions.models import Session
from django.db import connection
for session in Session.objects.all():
    print(json.dumps(session.get_decoded(), sort_keys=True))
with connection.cursor() as cursor:
    for table in connection.introspection.table_names(cursor):
        cursor.execute(f'SELECT * FROM "{table}"')
        for row in cursor.fetchall():
            print(table, row)
"""


def test_newcomer_fills_in_a_consent_form_and_nothing_remains(server, built, staff, page, tmp_path):
    """Sign in, find a consent form, preview it, fill it in for a patient, download it; the patient's name is in
    the PDF and nowhere else: not in the project folder, the server's data folder (database, logs), its output
    folder, the database's rows and sessions decoded, or the temporary folder."""
    started = time.time() - 1
    token = secrets.token_hex(8)        # the name exists only in this run: any copy of it found is a leak
    details = {"name": f"Quillon Vexmarrow-Test {token}", "date_of_birth": "1987-03-14",
               "procedure": f"Fractional laser to both cheeks, course {token}",
               "clinician": f"Dr Orrin Halvard-Test {token}", "procedure_date": "2026-12-09",
               "leaflet_given": "2026-10-05", "first_consultation": "2026-10-02"}

    # Sign in and find the form: search, a filter, the document's page with its preview.
    login(page, staff.name, staff.password)
    assert page.url == server("/") and signed_in_as(page) == staff.name
    page.get_by_label("Search").fill("consent")
    page.get_by_label("Condition").select_option("acne-scars")
    with page.expect_navigation():
        page.get_by_role("button", name="Show documents").click()
    follow(page, page.locator(".doc-card h3 a").first)
    assert page.url == server("/library/cedar-hollow-us/en/acne-scars-consent-print/")
    title = page.get_by_role("heading", level=1).inner_text()
    version = page.locator(".doc-side dt:text-is('Version') + dd").inner_text()
    assert page.request.get(page.locator("iframe.pdf-frame").get_attribute("src")).headers["content-type"] == \
        "application/pdf"
    with page.expect_navigation():
        page.get_by_role("link", name="Fill in for a patient").click()
    assert page.url == server(FORM)
    assert page.get_by_role("heading", level=1).inner_text() == "Fill in for a patient"
    assert all(page.get_by_label(label, exact=True).input_value() == "" for label in LABELS.values())
    look(page, "personalise")

    # Fill in every field and download.
    fill(page, details)
    session_before = next(c["value"] for c in page.context.cookies() if c["name"] == "handouts_session")
    with page.expect_response(is_post) as posted, page.expect_download() as downloading:
        page.get_by_role("button", name=DOWNLOAD).click()
    response, download = posted.value, downloading.value
    # The details went in the POST body alone, to the form's own address.
    assert response.request.url == server(FORM)
    assert details["name"] in response.request.post_data
    assert response.status == 200
    headers = response.headers
    assert headers["content-type"] == "application/pdf"
    assert headers["cache-control"] == "no-store"
    filename = "cedar-hollow-us-en-acne-scars-consent-print-filled-in.pdf"
    assert headers["content-disposition"] == f'attachment; filename="{filename}"'
    assert token not in str(headers)
    assert download.suggested_filename == filename
    assert download.url.startswith("blob:")             # saved from the page's memory, never a server URL
    data = Path(download.path()).read_bytes()
    text = pdf_text(data)
    for name in ("name", "procedure", "clinician"):
        assert details[name] in text, (name, text[:2000])
    assert "1987" in text                               # the date of birth, in the form's own date format
    # The session key changed with the PDF, so the browser keeps no page of the exchange in its back/forward cache.
    assert next(c["value"] for c in page.context.cookies() if c["name"] == "handouts_session") != session_before

    # The line for the patient's record: what was given, when, by whom; nothing about the patient.
    line = page.locator("#record-lines .record-line")
    assert line.count() == 1
    assert line.inner_text() == f"{title}, version {version}, en, print, given {TODAY.isoformat()} by {staff.name}"
    assert not [value for value in (*details.values(), token, "1987") if value in line.inner_text()]
    assert page.locator("#personalise-status").inner_text().startswith("Downloaded.")
    assert page.url == server(FORM)                     # nothing of the details in the address either
    look(page, "personalise-downloaded")
    # Reloaded, the form is empty; the line (it names no patient) stays for this session.
    page.reload()
    assert all(page.get_by_label(label, exact=True).input_value() == "" for label in LABELS.values())
    assert page.locator("#record-lines .record-line").all_inner_texts() == [line.inner_text()]
    for value in details.values():
        assert value not in page.content()

    # Nothing about the patient anywhere (one more page first, so that the session is saved as it now stays).
    page.goto("/")
    needles = _needles(details["name"], details["procedure"], details["clinician"], token)

    control = tmp_path / "control"                      # the search finds what is there
    control.mkdir()
    (control / "a.bin").write_bytes(b"\0\1" + quote_plus(details["name"].lower()).encode() + b"\xff")
    assert len(_found([control], needles)[0]) == 1
    (control / "a.bin").unlink()

    # The project folder, every file (binary too) and .git, but not .venv: the interpreter and installed packages,
    # hundreds of megabytes the app never writes to.
    hits, read = _found([ROOT], needles, skip=(ROOT / ".venv",))
    assert read > 100
    assert not hits, hits
    # The server's data folder: its SQLite database with any -wal and -journal files, secret key and logs; and the
    # output folder it reads.
    data_files = {p.name for p in server.data_dir.iterdir()}
    assert {"handouts.sqlite3", "server.stdout.log", "server.stderr.log"} <= data_files, data_files
    hits, _ = _found([server.data_dir, built.output], needles)
    assert not hits, hits
    logs = server.logs()
    assert "POST " + FORM in logs                       # the log is there, and has the request
    assert not [label for label, needle in needles.items() if needle.decode(errors="ignore") in logs]
    # Every row of every table and every session, decoded (a session is stored encoded: bytes would not show it).
    rows = server.python(_DATABASE_TEXT)
    assert '"handouts_records"' in rows and "personalise" in rows    # what is kept is there, and no more
    assert not [label for label in needles if label in rows and not label.endswith("(UTF-16)")]
    # The temporary folder: every file changed during this test, but the download itself (the browser's copy).
    hits, _ = _found([Path(tempfile.gettempdir())], needles, skip=(Path(download.path()).parent,), since=started)
    assert not hits, hits


# --- the preview ---------------------------------------------------------------------------------------------------

def test_preview_shows_the_filled_in_form_in_the_page(server, staff, page):
    login(page, staff.name, staff.password)
    page.goto(FORM)
    fill(page, {"name": "Perrin Ashgrove-Test", "clinician": "Dr Ysolde Marren-Test", "procedure_date": "2026-12-14"})
    downloads = []
    page.on("download", lambda download: downloads.append(download))
    answered = []       # the PDF as the server sent it (Playwright keeps no body of a response the page consumed)

    def keep(route):
        response = route.fetch()
        answered.append(response.body())
        route.fulfill(response=response)
    page.route(server(FORM), keep)
    with page.expect_response(is_post) as posted:
        page.get_by_role("button", name="Preview").click()
    response = posted.value
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["content-disposition"].startswith("inline;")
    assert "x-handouts-record" not in response.headers      # a preview is not a handout: no record line

    panel = page.locator("#preview-panel")
    panel.wait_for(state="visible")
    frame = page.locator("#preview-frame")
    source = frame.get_attribute("src")
    assert source.startswith(f"blob:{server.url}/")        # the PDF from the page's memory, no server URL
    assert "Perrin Ashgrove-Test" in pdf_text(answered[0])
    assert page.evaluate("document.activeElement.id") == "preview-heading"
    assert page.locator("#personalise-status").inner_text() == "The preview is shown below the form."
    assert page.locator("#record-lines li").count() == 0
    assert downloads == []
    look_with_pdf(page, "personalise-preview")

    # Closed, the preview lets go of the PDF (its object URL revoked) and the focus returns to the Preview button.
    page.evaluate("""() => { const revoke = URL.revokeObjectURL.bind(URL); window.revoked = [];
                             URL.revokeObjectURL = url => { window.revoked.push(url); revoke(url); }; }""")
    page.get_by_role("button", name="Close the preview").click()
    assert panel.is_hidden() and frame.get_attribute("src") is None
    assert page.evaluate("window.revoked") == [source]
    assert focus_ring(page)["text"] == "Preview"


# --- messages beside their fields -------------------------------------------------------------------------------

def test_field_errors_are_shown_beside_their_fields(server, staff, page):
    login(page, staff.name, staff.password)
    page.goto(FORM)
    downloads = []
    page.on("download", lambda download: downloads.append(download))
    fill(page, {"name": "Tamsin Orrow-Test", "date_of_birth": "2027-03-01"})       # after today, 2026-11-24
    as_text_fields(page, ["procedure_date", "leaflet_given"])
    fill(page, {"procedure_date": "2026-02-30", "leaflet_given": "next Tuesday"})
    with page.expect_response(is_post) as posted:
        page.get_by_role("button", name=DOWNLOAD).click()
    assert posted.value.status == 400
    summary = page.locator("#error-summary")
    summary.wait_for()
    assert page.evaluate("document.activeElement.id") == "error-summary"         # read out first
    assert page.title().startswith("Check the form: ")

    expected = {"date_of_birth": f"Date of birth is in the future (today is {TODAY.isoformat()})",
                "procedure_date": "Planned date of treatment is not a date in the calendar",
                "leaflet_given": "Date the leaflet was given must be a date written YYYY-MM-DD"}
    for name, message in expected.items():
        error = page.locator(f".field:has(#id_{name}) .error")           # in the field's own box, by its label
        assert error.count() == 1, name
        assert " ".join(error.inner_text().split()).startswith("Error: " + message), (name, error.inner_text())
        field = page.locator(f"#id_{name}")
        assert field.get_attribute("aria-invalid") == "true"
        assert f"error-{name}" in field.get_attribute("aria-describedby").split()
        # The summary links to the field.
        assert summary.get_by_role("link", name=re.compile("^" + re.escape(message))).get_attribute("href") == \
            f"#id_{name}"
    for name in set(LABELS) - set(expected):
        assert page.locator(f".field:has(#id_{name}) .error").count() == 0, name
        assert page.locator(f"#id_{name}").get_attribute("aria-invalid") is None
    assert page.get_by_label("Patient name").input_value() == "Tamsin Orrow-Test"      # kept, to correct the rest
    assert downloads == []
    look(page, "personalise-errors")

    # Following a link of the summary puts the cursor in the field.
    summary.get_by_role("link", name=re.compile("^Date of birth")).click()
    assert page.evaluate("document.activeElement.id") == "id_date_of_birth"

    # Corrected, the form downloads, and the messages go.
    fill(page, {"date_of_birth": "1990-05-05", "procedure_date": "2026-12-09", "leaflet_given": "2026-10-05"})
    with page.expect_download():
        page.get_by_role("button", name=DOWNLOAD).click()
    assert page.locator(".field .error, #error-summary").count() == 0
    assert page.locator("[aria-invalid]").count() == 0
    assert not page.title().startswith("Check the form")

    # A rule across fields lands on the field it is about.
    fill(page, {"first_consultation": "2026-12-20"})      # after the planned date of treatment
    with page.expect_response(is_post):
        page.get_by_role("button", name=DOWNLOAD).click()
    page.locator("#error-summary").wait_for()
    assert page.locator(".field.invalid input").evaluate_all("inputs => inputs.map(i => i.id)") == \
        ["id_first_consultation"]


# --- script and quotes come back as text ------------------------------------------------------------------------

def test_script_and_quotes_in_every_field_come_back_as_text(server, staff, page):
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    login(page, staff.name, staff.password)
    page.goto(FORM)
    scripts = page.locator("script").count()
    as_text_fields(page, DATES)
    fill(page, dict.fromkeys(LABELS, HOSTILE))
    with page.expect_response(is_post) as posted:
        page.get_by_role("button", name=DOWNLOAD).click()
    answer = posted.value
    assert answer.status == 400             # the dates are not dates; the text fields were accepted
    page.locator("#error-summary").wait_for()
    body = answer.text()
    assert "<script>alert(1)" not in body and "<img src=x" not in body
    assert body.count("&lt;script&gt;alert(1)&lt;/script&gt;&quot;&#x27;&gt;&lt;img src=x onerror=alert(2)&gt;") \
        == len(LABELS)
    # What was typed is in the fields as text: the text fields' values, and the date fields' value attributes
    # (Chromium's date field empties itself of what is not a date).
    for name in TEXTS:
        assert page.locator(f"#id_{name}").input_value() == HOSTILE, name
    for name in DATES:
        assert page.locator(f"#id_{name}").get_attribute("value") == HOSTILE, name
        assert "must be a date written YYYY-MM-DD" in page.locator(f".field:has(#id_{name}) .error").inner_text()
    assert page.locator("img[src=x]").count() == 0 and page.locator("script").count() == scripts
    shot(page, "personalise-escaped")

    # The text fields alone make a PDF with the text as typed, and the record line stays plain text.
    for name in DATES:
        page.locator(f"#id_{name}").fill("")
    fill(page, dict.fromkeys(TEXTS, HOSTILE))
    with page.expect_download() as downloading:
        page.get_by_role("button", name=DOWNLOAD).click()
    assert HOSTILE in pdf_text(Path(downloading.value.path()).read_bytes())

    # The library's search box too.
    page.goto("/?q=" + quote_plus(HOSTILE))
    assert page.get_by_label("Search").input_value() == HOSTILE
    assert page.locator("img[src=x]").count() == 0
    page.wait_for_timeout(300)              # time for a handler that should not exist to fire
    assert dialogs == []


# --- the keyboard alone ---------------------------------------------------------------------------------------------

def test_every_field_is_labelled_and_reached_by_keyboard(server, staff, page):
    login(page, staff.name, staff.password)
    page.goto(FORM)
    page.locator("body").focus()
    stops = tab_until(page, lambda s: s["text"] == DOWNLOAD)
    reached = list(dict.fromkeys(s["id"] for s in stops if s["id"].startswith("id_")))    # a date field has parts
    assert reached == [f"id_{name}" for name in LABELS], reached
    for stop in stops:
        # Each field, each part of a date field; not a date field's calendar button, which has the browser's ring.
        if (stop["id"].startswith("id_") and stop["focus"]) or stop["text"] == DOWNLOAD:
            assert ring_shown(stop), stop
    assert len([s for s in stops if s["id"] == "id_date_of_birth" and s["focus"]]) == 3     # month, day, year
    # Every field has its own visible label, naming it as the printed form does.
    labelled = page.locator("#personalise-form input:not([type=hidden])").evaluate_all(
        "inputs => inputs.map(i => [i.id, i.labels.length, i.labels[0] && i.labels[0].innerText.trim(),"
        " i.labels[0] && i.labels[0].getBoundingClientRect().height > 0])")
    assert labelled == [[f"id_{name}", 1, label, True] for name, label in LABELS.items()], labelled
    page.keyboard.press("Tab")
    assert focus_ring(page)["text"] == "Preview"
    shot(page, "personalise-keyboard-focus")

    # Fill in and download with the keyboard alone: type, then Enter sends the form.
    page.get_by_label("Patient name").focus()
    page.keyboard.type("Keyboard Only-Test")
    with page.expect_download() as downloading:
        page.keyboard.press("Enter")
    assert "Keyboard Only-Test" in pdf_text(Path(downloading.value.path()).read_bytes())
    assert page.locator("#record-lines .copy-record").is_visible()


def test_a_spanish_form_is_labelled_and_printed_in_spanish(server, staff, page):
    spanish = "/personalise/cedar-hollow-us/es/acne-scars/consent/print/"
    login(page, staff.name, staff.password)
    page.goto(spanish)
    fields = page.locator("fieldset.patient-fields")
    assert fields.get_attribute("lang") == "es-US"
    assert page.locator(".doc-kind").text_content() == "Consent form · Cedar Hollow Dermatology · Spanish (español)"
    page.get_by_label("Nombre del paciente", exact=True).fill("Quillon Varga-Testerman")
    page.get_by_label("Fecha de nacimiento", exact=True).fill("1987-04-12")
    look(page, "personalise-spanish")
    with page.expect_download() as downloading:
        page.get_by_role("button", name=DOWNLOAD).click()
    download = downloading.value
    assert download.suggested_filename == "cedar-hollow-us-es-acne-scars-consent-print-filled-in.pdf"
    text = pdf_text(Path(download.path()).read_bytes())
    assert "Nombre del paciente Quillon Varga-Testerman" in text and "12 de abril de 1987" in text
    assert "Patient name" not in text
