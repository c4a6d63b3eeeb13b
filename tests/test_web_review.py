"""The reviewer's page and the print shop's page, through the Django test client: who may open them, what they show
(every problem with its file and line, reviews coming due; a print shop's deliveries and nothing of another clinic),
the check cached until the content changes, and downloads that hold only what the print shop may have."""

from __future__ import annotations

import hashlib
import html
import io
import json
import os
import re
import shutil
import zipfile
from pathlib import Path

import pytest

from conftest import STALE_SOURCE, TODAY, Built, bump_version
from handouts import builder
from handouts.deliver import deliver
from handouts.web.models import ADMIN, AuditEvent, PRINT_SHOP, REVIEWER, STAFF

OVERVIEW = "content/en/acne-scars/condition-overview.md"
QUESTIONS = "content/en/shared/questions.md"
URGENT_UK = "content/en/shared/urgent-help.uk.md"


def _set_review_due(project: Path, relative: str, when: str) -> int:
    file = project / relative
    lines = file.read_text().splitlines()
    number = next(i for i, line in enumerate(lines) if line.startswith("review_due:"))
    lines[number] = f"review_due: {when}"
    file.write_text("\n".join(lines) + "\n")
    return number + 1


@pytest.fixture
def flawed(project: Path, settings, db) -> dict:
    """A scratch project with an overclaim (an error) and two reviews coming due (warnings)."""
    overview = project / OVERVIEW
    overview.write_text(overview.read_text().rstrip("\n") + "\n\nThis will cure your scars.\n")
    found = {"phrase_line": len(overview.read_text().splitlines()),
             "questions_line": _set_review_due(project, QUESTIONS, "2026-12-20"),
             "urgent_line": _set_review_due(project, URGENT_UK, "2026-12-01")}
    settings.CONTENT_ROOT = project
    settings.HANDOUTS_TODAY = TODAY.isoformat()
    return found


def test_the_reviewer_sees_every_problem_with_its_file_and_line(flawed: dict, client, make_user) -> None:
    client.force_login(make_user("rita", REVIEWER))
    response = client.get("/review/")
    assert response.status_code == 200
    page = response.content.decode()
    assert f"{OVERVIEW}:{flawed['phrase_line']}" in page and "cure" in page
    errors, warnings = page.index("Errors ("), page.index("Warnings (")
    assert errors < warnings                                              # errors first
    assert errors < page.index(f"{OVERVIEW}:{flawed['phrase_line']}") < warnings
    # Reviews coming due: both blocks, with the line of their review_due, the sooner first.
    due = page[page.index('id="due-heading"'):page.index('id="documents-heading"')]
    urgent, questions = due.index(f"{URGENT_UK}:{flawed['urgent_line']}"), due.index(
        f"{QUESTIONS}:{flawed['questions_line']}")
    assert urgent < questions
    assert "Due in 7 days" in due and "Due in 26 days" in due
    # The per-document table: a row per document (English in the US and the UK, Spanish in the US; five
    # conditions, four kinds), each with its language's readability scores.
    table = page[page.index('id="documents-heading"'):]
    assert table.count("<tr>") == 1 + 3 * 5 * 4
    assert '<span class="badge error">Errors</span>' in table             # the leaflets using the overview
    assert "<th scope=\"col\">Readability</th>" in table and "Reading ease</th>" not in table
    assert re.search(r"<td>English \(UK\)</td>\s*<td class=\"nowrap\">grade \d+\.\d, ease \d+</td>", table)
    assert re.search(r"<td>Spanish \(español\) \(US\)</td>\s*"
                     r"<td class=\"nowrap\">INFLESZ \d+ \([a-z ]+\), F-H \d+</td>", html.unescape(table))


def test_the_translation_table_names_each_stale_and_missing_block_with_both_files_and_dates(
        project: Path, settings, client, make_user) -> None:
    version, line = bump_version(project / STALE_SOURCE)
    (project / "content/es/pigmentation-disorders/what-to-expect.md").unlink()      # a block with no translation
    settings.CONTENT_ROOT = project
    settings.HANDOUTS_TODAY = TODAY.isoformat()
    client.force_login(make_user("rita", REVIEWER))
    page = html.unescape(client.get("/review/").content.decode())
    section = page[page.index('id="translations-heading"'):page.index('id="documents-heading"')]
    assert '<h3 id="translation-es">Spanish (español)</h3>' in section
    counts = dict((status, int(n)) for n, status in re.findall(
        r'<span class="tally-number">(\d+)</span> (current|stale|missing)</li>', section))
    assert counts["stale"] == 1 and counts["missing"] == 1 and counts["current"] > 30
    rows = re.findall(r"<tr>\s*<td>(.*?)</tr>", section[:section.index("<details")], re.S)
    assert len(rows) == 2                                      # stale first, then missing; current ones collapsed
    stale, missing = rows
    translated = (project / "content/es/acne-scars/consent-diagnosis.md").read_text().splitlines()
    translation_line = translated.index("translation:") + 1
    assert '<span class="badge due-soon">Stale</span>' in stale and "an error from 2026-12-26" in stale
    assert re.search(rf"<code>{STALE_SOURCE}:{line}</code></td>\s*<td class=\"num\">{version}</td>\s*"
                     r'<td class="date">2026-11-25</td>\s*'
                     rf'<td><code>content/es/acne-scars/consent-diagnosis.md:{translation_line}</code></td>\s*'
                     r'<td class="num">2.1</td>\s*<td class="date">2026-11-26</td>', stale), stale
    assert "<code>content/en/pigmentation-disorders/what-to-expect.md:" in missing
    assert "No translation yet" in missing
    assert '<span class="badge error">Missing</span>' in missing
    current = section[section.index("<details"):section.index("</details>")]
    assert f"<summary>{counts['current']} current translations</summary>" in current
    assert "<code>content/es/shared/risks.md:" in current and "acne-scars/consent-diagnosis" not in current
    # The PDFs the stale block holds back: the Spanish consent form of acne scars and its research document.
    held = re.findall(r"<li><code>([^<]+)</code></li>", section[section.index('id="behind-heading"'):])
    assert held == [f"cedar-hollow-us/es/acne-scars-consent-{v}.pdf" for v in ("large-print", "print", "screen")] + [
        "cedar-hollow-us/es/acne-scars-evidence-screen.pdf"]
    assert '<span class="tally-number">4</span> PDFs behind their source' in page


def test_the_check_is_cached_until_a_content_file_changes(flawed: dict, client, make_user,
                                                         monkeypatch: pytest.MonkeyPatch, settings) -> None:
    calls = []
    real = builder.check

    def counted(*args, **kwargs):
        calls.append(args[0])
        return real(*args, **kwargs)
    monkeypatch.setattr(builder, "check", counted)
    client.force_login(make_user("ada", ADMIN))
    def main() -> str:
        page = client.get("/review/").content.decode()
        return page[page.index("<main"):]                 # the header's sign-out form has a fresh CSRF token
    first = main()
    assert main() == first and len(calls) == 1                                # the second load is from memory
    overview = Path(settings.CONTENT_ROOT) / OVERVIEW
    overview.write_text(overview.read_text().replace("This will cure your scars.", "This may help a little."))
    os.utime(overview, ns=(overview.stat().st_atime_ns, overview.stat().st_mtime_ns + 10**9))
    page = client.get("/review/").content.decode()
    assert len(calls) == 2 and "cure" not in page                             # checked again, never stale


@pytest.mark.parametrize("role", [STAFF, PRINT_SHOP])
def test_other_roles_get_404_and_no_one_signed_in_is_sent_to_sign_in(client, make_user, role: str) -> None:
    assert client.get("/review/").status_code == 302
    client.force_login(make_user("someone", role, ["fennick-street-uk"]))
    assert client.get("/review/").status_code == 404


# --- the print shop's page ---------------------------------------------------------------------------------------

@pytest.fixture
def delivered(web: Built, tmp_path: Path, settings) -> dict:
    """The session's print masters delivered twice: all of them, then the US clinic's again (as if rebuilt)."""
    output = tmp_path / "output"
    output.mkdir()
    shutil.copy(web.output / "manifest.json", output / "manifest.json")
    for pdf in web.output.glob("*/*/*-print.pdf"):
        target = output / pdf.relative_to(web.output)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(pdf, target)
    first = deliver(output, TODAY, web.root)
    ledger_file = output / "deliveries/ledger.json"
    ledger = json.loads(ledger_file.read_text())
    ledger["delivered"] = {p: e for p, e in ledger["delivered"].items() if not p.startswith("cedar-hollow-us/")}
    ledger_file.write_text(json.dumps(ledger))
    second = deliver(output, TODAY, web.root)
    settings.OUTPUT_DIR = output
    return {"output": output, "first": first.zip_path.name, "second": second.zip_path.name,
            "uk": [p for p in first.new if p.startswith("fennick-street-uk/")]}


def test_a_print_shop_sees_only_its_clinics_deliveries_and_changes(delivered: dict, client, make_user) -> None:
    client.force_login(make_user("presto", PRINT_SHOP, ["fennick-street-uk"]))
    page = client.get("/deliveries/").content.decode()
    assert delivered["first"] in page and delivered["second"] not in page   # the second is the US clinic's only
    assert "fennick-street-uk/en/acne-scars-leaflet-print.pdf" in page       # its changelog lines
    assert "cedar-hollow-us" not in page
    assert "Fennick Street Skin Clinic" in page


def test_a_print_shops_zip_holds_only_its_masters_and_is_the_same_every_time(delivered: dict, client,
                                                                           make_user) -> None:
    client.force_login(make_user("presto", PRINT_SHOP, ["fennick-street-uk"]))
    url = f"/deliveries/{delivered['first']}"
    response = client.get(url)
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    data = response.content
    assert client.get(url).content == data                                   # deterministic
    with zipfile.ZipFile(io.BytesIO(data)) as bundle:
        names = bundle.namelist()
        pdfs = sorted(n for n in names if n.endswith(".pdf"))
        assert pdfs == sorted(delivered["uk"]) and pdfs
        changes = bundle.read("CHANGES.txt").decode()
        listing = json.loads(bundle.read("manifest.json"))
        for name in pdfs:                                                    # the delivered bytes, unchanged
            assert bundle.read(name) == (delivered["output"] / name).read_bytes()
            record = next(d for d in listing["documents"] if d["path"] == name)
            assert hashlib.sha256(bundle.read(name)).hexdigest() == record["sha256"]
    assert "cedar-hollow-us" not in changes and "cedar-hollow-us" not in json.dumps(listing)
    assert changes.startswith("Delivery 1,") and all(p in changes for p in pdfs)
    assert client.get(f"/deliveries/{delivered['second']}").status_code == 404      # not its clinics'
    event = AuditEvent.objects.filter(event="delivery-download").latest("id")
    assert (event.user, event.document, event.clinic) == ("presto", delivered["first"], "fennick-street-uk")


def test_spanish_print_masters_are_delivered_and_listed_like_english_ones(delivered: dict, client,
                                                                          make_user) -> None:
    client.force_login(make_user("pedro", PRINT_SHOP, ["cedar-hollow-us"]))
    page = client.get("/deliveries/").content.decode()
    for language in ("en", "es"):
        assert f"cedar-hollow-us/{language}/acne-scars-consent-print.pdf\n  version " in page
    first = client.get(f"/deliveries/{delivered['first']}").content
    with zipfile.ZipFile(io.BytesIO(first)) as bundle:
        names = set(bundle.namelist())
    spanish = {p.relative_to(delivered["output"]).as_posix()
               for p in (delivered["output"] / "cedar-hollow-us" / "es").glob("*-print.pdf")
               if not p.name.endswith("-large-print.pdf")}
    assert len(spanish) == 5 * 3 and spanish <= names          # summary, leaflet and form of five conditions


def test_an_administrator_downloads_the_whole_delivery(delivered: dict, client, make_user) -> None:
    client.force_login(make_user("ada", ADMIN))
    page = client.get("/deliveries/").content.decode()
    assert page.index(delivered["second"]) < page.index(delivered["first"])  # newest first
    response = client.get(f"/deliveries/{delivered['second']}")
    whole = (delivered["output"] / "deliveries" / delivered["second"]).read_bytes()
    assert b"".join(response.streaming_content) == whole
    assert AuditEvent.objects.filter(event="delivery-download", user="ada").count() == 1


def test_only_zips_the_ledger_lists_are_served(delivered: dict, client, make_user) -> None:
    folder = delivered["output"] / "deliveries"
    (folder / "delivery-0009-2026-11-24.zip").write_bytes(b"not a zip")           # not in the ledger
    (folder / "delivery-0010-2026-11-24.zip").symlink_to(folder / delivered["first"])   # a link
    (delivered["output"] / "secret.zip").write_bytes(b"PK")
    client.force_login(make_user("ada", ADMIN))
    for name in ["delivery-0009-2026-11-24.zip", "delivery-0010-2026-11-24.zip", "..%2Fsecret.zip",
                 "ledger.json", "..%2Fmanifest.json", "%2E%2E%2Fsecret.zip", ".zip"]:
        assert client.get(f"/deliveries/{name}").status_code == 404, name
    assert client.get("/deliveries/../secret.zip").status_code == 404


def test_staff_and_reviewers_get_404_for_deliveries(delivered: dict, client, make_user) -> None:
    for name, role in (("sam", STAFF), ("rita", REVIEWER)):
        client.force_login(make_user(name, role, ["fennick-street-uk"]))
        assert client.get("/deliveries/").status_code == 404
        assert client.get(f"/deliveries/{delivered['first']}").status_code == 404

