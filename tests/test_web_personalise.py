"""The staff app's personalise form: the consent form's own labels, field-by-field messages, the PDF made in memory
and handed back uncached, the same PDF as the command line's --patient, and no patient detail kept anywhere."""

from __future__ import annotations

import html
import io
import logging
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import unquote

import pytest
from django.contrib.sessions.models import Session
from pypdf import PdfReader

from conftest import ROOT, TODAY
from handouts.models import Patient
from handouts.problems import Problem
from handouts.web import pipeline
from handouts.web.models import PRINT_SHOP, REVIEWER, STAFF, AuditEvent
from handouts.web.views import personalise

UK, US = "fennick-street-uk", "cedar-hollow-us"
FORM = f"/personalise/{UK}/en/acne-scars/consent/print/"
NAME = "Ottilie Brackenridge-Vance"          # fictional; found nowhere but in the one response
DETAILS = {"name": NAME, "date_of_birth": "1980-02-03", "procedure": "", "clinician": "Dr Imelda Sample-Quist",
           "procedure_date": "2026-12-01", "leaflet_given": "2026-11-10", "first_consultation": "2026-11-03"}
SECRETS = ("Ottilie", "Brackenridge", "Imelda", "Sample-Quist", "1980-02-03", "1980")


@pytest.fixture
def ann(client, web, make_user):
    client.force_login(make_user("ann", STAFF, [UK]))
    return client


def post(client, details: dict[str, str], action: str = "download", url: str = FORM):
    return client.post(url, {**details, "action": action})


def field(page: str, name: str) -> str:
    """The HTML of one field's <div class="field ...">, from its label to its input."""
    match = re.search(rf'<div class="field[^"]*">\s*<label for="id_{name}">.*?<input [^>]*name="{name}"[^>]*>', page,
                      re.S)
    assert match, f"no field {name}"
    return match.group(0)


def value(page: str, name: str) -> str:
    return html.unescape(re.search(r'value="([^"]*)"', field(page, name)).group(1))


def pdf_text(data: bytes) -> str:
    return " ".join(" ".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(data)).pages).split())


def test_the_fields_are_labelled_as_on_the_consent_form_from_its_string_table(ann) -> None:
    response = ann.get(FORM)
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    page = response.content.decode()
    strings = pipeline.loaded()[0].languages["en"].strings
    consent = (ROOT / "templates" / "consent.html").read_text()
    assert sorted(name for name, _, _ in personalise.FIELDS) == sorted(Patient.model_fields)
    for name, key, is_date in personalise.FIELDS:
        # The consent template prints this string beside this patient field.
        assert re.search(rf"field\(s\.{key}, patient\.{name}\b", consent), (key, name)
        label = html.unescape(re.search(r"<label [^>]*>([^<]*)</label>", field(page, name)).group(1))
        assert label == getattr(strings, key)
        assert f'type="{"date" if is_date else "text"}"' in field(page, name)
    assert "Patient name" in page and "Date the leaflet was given" in page
    assert '<input type="hidden" name="csrfmiddlewaretoken"' in page
    assert 'name="action" value="download"' in page and 'name="action" value="preview"' in page
    assert '<script src="/static/web/personalise.js">' in page
    assert not re.search(r"<script(?![^>]*\bsrc=)", page) and " style=" not in page


def test_a_filled_in_pdf_comes_back_uncached_with_the_patients_name_in_it(ann, web) -> None:
    session_before = ann.cookies["handouts_session"].value
    response = post(ann, DETAILS)
    assert response.status_code == 200, response.content[:2000]
    assert response["Content-Type"] == "application/pdf" and response["Cache-Control"] == "no-store"
    assert response["Content-Disposition"] == f'attachment; filename="{UK}-en-acne-scars-consent-print-filled-in.pdf"'
    text = pdf_text(response.content)
    assert f"Patient name {NAME}" in text and "Dr Imelda Sample-Quist" in text
    assert "Date of birth 3 February 1980" in text
    assert ann.cookies["handouts_session"].value != session_before        # the session key changed (bfcache)
    assert ann.get("/").status_code == 200                                  # and the user is still signed in


def test_preview_is_inline_and_download_gives_a_record_line_with_no_patient_detail(ann) -> None:
    preview = post(ann, DETAILS, "preview")
    assert preview.status_code == 200 and preview["Content-Disposition"].startswith("inline; ")
    assert "X-Handouts-Record" not in preview
    download = post(ann, DETAILS, "download")
    line = unquote(download["X-Handouts-Record"])
    assert line == ("Acne scars: consent form for stem cell treatment, version 2.1, en, print, given "
                    f"{TODAY.isoformat()} by ann")
    page = ann.get(FORM).content.decode()           # the page shows it too (without JavaScript: on reload)
    assert f'<code class="record-line">{html.escape(line)}</code>' in page
    assert not any(secret in line or secret in page for secret in SECRETS)


def test_an_invalid_date_is_400_with_the_message_beside_it_and_nothing_else_lost(ann) -> None:
    response = post(ann, {**DETAILS, "procedure_date": "2026-02-30"})
    assert response.status_code == 400 and response["Cache-Control"] == "no-store"
    page = response.content.decode()
    bad = field(page, "procedure_date")
    assert 'class="field invalid' in bad and 'aria-invalid="true"' in bad
    assert 'aria-describedby="error-procedure_date"' in bad
    assert re.search(r'<p class="error" id="error-procedure_date"[^>]*>.*Planned date of treatment is not a date in '
                     r'the calendar', bad, re.S)
    assert '<a href="#id_procedure_date">Planned date of treatment is not a date' in page      # the summary
    for name, typed in DETAILS.items():
        assert value(page, name) == (typed if name != "procedure_date" else "2026-02-30")
        if name != "procedure_date":
            assert "aria-invalid" not in field(page, name) and "error" not in field(page, name)


def test_dates_in_the_wrong_order_are_shown_beside_the_later_one(ann) -> None:
    page = post(ann, {**DETAILS, "first_consultation": "2026-12-05"}).content.decode()
    assert "Date of your first consultation about this treatment is after “Planned date of treatment”" in \
        field(page, "first_consultation")
    future = post(ann, {**DETAILS, "date_of_birth": "2030-01-01"}).content.decode()
    assert f"Date of birth is in the future (today is {TODAY.isoformat()})" in field(future, "date_of_birth")


def test_an_empty_form_asks_for_at_least_one_field(ann) -> None:
    response = post(ann, {name: " " for name in DETAILS})
    assert response.status_code == 400
    assert "Fill in at least one field" in response.content.decode()


HOSTILE = "<script>alert(\"x\")</script>' onfocus='alert(1)\" autofocus=\""


def test_markup_and_quotes_in_every_field_come_back_escaped(ann) -> None:
    response = post(ann, {name: HOSTILE for name in DETAILS})
    assert response.status_code == 400
    page = response.content.decode()
    assert "<script>alert" not in page and "onfocus='alert" not in page and 'autofocus="' not in page
    for name in DETAILS:
        assert value(page, name) == HOSTILE
        assert 'value="&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&#x27; onfocus=&#x27;alert(1)&quot; ' \
               'autofocus=&quot;"' in field(page, name)


def test_a_pipeline_failure_is_a_generic_400_that_names_the_rule_and_file_only(ann, monkeypatch) -> None:
    def failing(selection, today, patient):
        return None, [Problem("templates/consent.html", 12, f"WeasyPrint: something about {patient.name}",
                              "weasyprint")]
    monkeypatch.setattr(pipeline.personaliser(), "personalise", failing)
    response = post(ann, DETAILS)
    assert response.status_code == 400 and response["Cache-Control"] == "no-store"
    page = response.content.decode()
    assert "The form could not be made" in page and "<code>templates/consent.html</code> (weasyprint)" in page
    assert "something about" not in page
    assert value(page, "name") == NAME                     # what was typed stays in the form, for a retry
    assert AuditEvent.objects.filter(event="personalise-failed").count() == 1


def test_an_unexpected_error_is_logged_by_its_type_only(ann, monkeypatch, caplog) -> None:
    def broken(selection, today, patient):
        raise RuntimeError(f"cannot print {patient.name}")
    monkeypatch.setattr(pipeline.personaliser(), "personalise", broken)
    with caplog.at_level(logging.DEBUG):
        response = post(ann, DETAILS)
    assert response.status_code == 400 and "The form could not be made" in response.content.decode()
    messages = [record.getMessage() for record in caplog.records]
    assert any("RuntimeError" in m for m in messages)
    assert not any("Brackenridge" in m or "cannot print" in m for m in messages)
    assert not any(record.exc_info for record in caplog.records)


@pytest.mark.parametrize("url", [f"/personalise/{US}/en/acne-scars/consent/print/",       # another clinic's
                                 f"/personalise/{UK}/en/acne-scars/leaflet/print/",       # no patient fields
                                 f"/personalise/{UK}/en/acne-scars/evidence/screen/",
                                 f"/personalise/{UK}/en/acne-scars/consent/a4/",
                                 f"/personalise/{UK}/fr/acne-scars/consent/print/",
                                 f"/personalise/{UK}/en/no-such-condition/consent/print/",
                                 "/personalise/no-such-clinic/en/acne-scars/consent/print/"])
def test_other_clinics_other_kinds_and_unknown_documents_are_not_found(ann, url: str) -> None:
    assert ann.get(url).status_code == 404
    assert post(ann, DETAILS, url=url).status_code == 404
    assert not AuditEvent.objects.exclude(event="login").exists()


@pytest.mark.parametrize("role, clinics", [(REVIEWER, ()), (PRINT_SHOP, (UK,))])
def test_roles_that_do_not_fill_in_forms_get_404(client, web, make_user, role: str, clinics) -> None:
    client.force_login(make_user("someone", role, clinics))
    assert client.get(FORM).status_code == 404


def test_without_signing_in_the_form_sends_to_the_login_and_takes_nothing(client, web) -> None:
    assert client.get(FORM)["Location"].startswith("/login/?next=")
    response = post(client, DETAILS)
    assert response.status_code == 302 and response["Location"].startswith("/login/?next=")
    assert NAME not in response["Location"]


def test_without_the_csrf_token_a_post_is_refused(client, web, make_user) -> None:
    from django.test import Client
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(make_user("ann", STAFF, [UK]))
    assert post(strict, DETAILS).status_code == 403
    page = strict.get(FORM).content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    assert strict.post(FORM, {**DETAILS, "action": "download", "csrfmiddlewaretoken": token}).status_code == 200


def test_no_patient_detail_reaches_the_audit_the_sessions_or_the_log(ann, caplog) -> None:
    with caplog.at_level(logging.DEBUG):
        assert post(ann, DETAILS).status_code == 200
        assert post(ann, {**DETAILS, "date_of_birth": "2030-01-01"}).status_code == 400
        assert post(ann, DETAILS, "preview").status_code == 200
    rows = list(AuditEvent.objects.filter(event="personalise").values())
    assert len(rows) == 2
    assert {(r["clinic"], r["document"], r["version"], r["language"], r["variant"]) for r in rows} == {
        (UK, f"{UK}/en/acne-scars-consent-print.pdf", "2.1", "en", "print")}
    assert all(re.fullmatch(r"action=(download|preview) bytes=\d+ ms=\d+", r["detail"]) for r in rows)
    stored = [str(r) for r in AuditEvent.objects.values()] + [str(s.get_decoded()) for s in Session.objects.all()]
    logged = [record.getMessage() for record in caplog.records]
    for secret in SECRETS:
        assert not any(secret in text for text in stored + logged), secret


def test_the_same_details_give_the_same_pdf_as_the_command_line(ann, tmp_path: Path) -> None:
    patient = tmp_path / "patient.yaml"
    patient.write_text("".join(f"{k}: {v}\n" for k, v in DETAILS.items() if v), encoding="utf-8")
    sheet = tmp_path / "sheet.pdf"
    result = subprocess.run([sys.executable, str(ROOT / "build.py"), "--today", TODAY.isoformat(), "--clinic", UK,
                             "--language", "en", "--condition", "acne-scars", "--kind", "consent", "--variant",
                             "print", "--patient", str(patient), "--to", str(sheet)],
                            capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert result.returncode == 0, result.stderr
    web_pdf, cli_pdf = post(ann, DETAILS).content, sheet.read_bytes()
    web_pages, cli_pages = PdfReader(io.BytesIO(web_pdf)).pages, PdfReader(sheet).pages
    assert len(web_pages) == len(cli_pages) > 1
    assert [p.extract_text() for p in web_pages] == [p.extract_text() for p in cli_pages]
    assert NAME in web_pages[0].extract_text()

    def without_ids(data: bytes) -> bytes:
        """Each sheet has a random document ID (the trailer's /ID, and the XMP DocumentID of a print master)."""
        data, ids = re.subn(rb"/ID \[<[0-9a-f]+><[0-9a-f]+>\]", b"/ID []", data)
        assert ids == 1
        return re.sub(rb"xmp\.did:[0-9a-f-]{36}", b"xmp.did:", data)

    assert web_pdf != cli_pdf and without_ids(web_pdf) == without_ids(cli_pdf)


@pytest.fixture
def content(project: Path, settings, monkeypatch) -> Path:
    """The app reading a scratch copy of the content (a Personaliser of its own, dropped afterwards)."""
    settings.CONTENT_ROOT = project
    monkeypatch.setattr(pipeline, "_PERSONALISER", None)
    return project


def test_a_draft_form_says_so_and_prints_as_a_draft(ann, content: Path) -> None:
    block = content / "content" / "en" / "acne-scars" / "consent-diagnosis.md"
    block.write_text(block.read_text().replace("reviewer: ", "draft: true\nreviewer: ", 1))
    page = ann.get(FORM).content.decode()
    assert "This form is a draft" in page
    response = post(ann, DETAILS)
    assert response.status_code == 200 and "DRAFT" in pdf_text(response.content)
    assert "This form is a draft" not in ann.get(f"/personalise/{UK}/en/burns-wounds/consent/print/").content.decode()


def test_a_form_the_content_cannot_make_says_so_without_a_form(ann, content: Path) -> None:
    block = content / "content" / "en" / "acne-scars" / "consent-diagnosis.md"
    block.write_text(block.read_text().replace("review_due: 2027-11-25", "review_due: soon", 1))
    response = ann.get(FORM)
    page = response.content.decode()
    assert response.status_code == 200 and "The form could not be made" in page
    assert "<code>content/en/acne-scars/consent-diagnosis.md</code>" in page and 'id="personalise-form"' not in page
    assert post(ann, DETAILS).status_code == 400


# --- a Spanish consent form --------------------------------------------------------------------------------------

SPANISH_FORM = f"/personalise/{US}/es/acne-scars/consent/print/"


@pytest.fixture
def sam(client, make_user):
    """A member of staff of the US clinic, which offers English and Spanish, signed in."""
    client.force_login(make_user("sam", STAFF, [US]))
    return client


def test_a_spanish_form_has_its_own_labels_and_language_and_prints_in_spanish(sam, web) -> None:
    response = sam.get(SPANISH_FORM)
    assert response.status_code == 200
    page = html.unescape(response.content.decode())
    strings = pipeline.loaded()[0].languages["es"].strings
    for name, key, _ in personalise.FIELDS:           # the form's own labels, from content/es/strings.yaml
        assert re.search(r"<label [^>]*>([^<]*)</label>", field(page, name)).group(1) == getattr(strings, key)
    assert "Nombre del paciente" in page and "Fecha de nacimiento" in page and "Patient name" not in page
    assert '<fieldset class="patient-fields" lang="es-US">' in page        # html_lang's tag for a US clinic
    assert "Consent form · Cedar Hollow Dermatology · Spanish (español)" in page
    assert re.search(r'<span lang="es-US">Cicatrices de acné: formulario de consentimiento', page)
    english = sam.get(f"/personalise/{US}/en/acne-scars/consent/print/").content.decode()
    assert '<fieldset class="patient-fields" lang="en-US">' in english
    pdf = post(sam, DETAILS, url=SPANISH_FORM)
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    assert pdf["Content-Disposition"] == f'attachment; filename="{US}-es-acne-scars-consent-print-filled-in.pdf"'
    text = pdf_text(pdf.content)
    assert f"Nombre del paciente {NAME}" in text and "Fecha de nacimiento 3 de febrero de 1980" in text
    assert "formulario de consentimiento" in text and "Patient name" not in text and "Date of birth" not in text
    assert unquote(pdf["X-Handouts-Record"]).endswith(f", es, print, given {TODAY.isoformat()} by sam")


def test_a_form_behind_its_source_refuses_in_one_line_and_never_makes_a_pdf(sam, web_behind) -> None:
    response = sam.get(SPANISH_FORM)
    assert response.status_code == 200
    page = html.unescape(response.content.decode())
    assert ("This Spanish form cannot be filled in: its translation is behind its English source and must be "
            "updated first.") in page
    assert re.search(r"<code>content/es/acne-scars/consent-diagnosis\.md:\d+</code>", page)
    assert 'id="personalise-form"' not in page and 'name="name"' not in page
    refused = post(sam, DETAILS, url=SPANISH_FORM)
    assert refused.status_code == 400 and refused["Content-Type"].startswith("text/html")
    assert b"%PDF" not in refused.content and NAME not in refused.content.decode()
    assert list(AuditEvent.objects.exclude(event="login").values_list("event", "document", "detail")) == [
        ("personalise-failed", f"{US}/es/acne-scars-consent-print.pdf", "behind its source")]
    # The English form of the same document, whose source moved on, is made as usual.
    assert post(sam, DETAILS, url=f"/personalise/{US}/en/acne-scars/consent/print/").status_code == 200
