"""The reviewer's page in Chromium against the real server: the `check` report as a page (the tallies, every
problem with its file and line, reviews coming due, the per-document table), for reviewers only."""

from __future__ import annotations

import re

from web_e2e.harness import login, look, signed_in_as

FIRST_CHECK_MS = 180_000        # the first load checks the whole catalogue (every document's HTML): a while on 2 cores


def test_reviewer_sees_the_check_report(server, page):
    password = server.add_user("e2e-reviewer", "reviewer")
    login(page, "e2e-reviewer", password)
    assert signed_in_as(page) == "e2e-reviewer"
    with page.expect_navigation(timeout=FIRST_CHECK_MS):
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Review").click()
    assert page.url == server("/review/")
    assert page.get_by_role("heading", level=1).inner_text() == "Content review"
    tally = {label: int(count) for count, label in (t.split(maxsplit=1)
                                                    for t in page.locator(".tally-item").all_inner_texts())}
    documents = next(count for label, count in tally.items() if label.startswith("document"))
    rows = page.locator("table.documents tbody tr")
    assert documents == rows.count() > 0
    # Each row: condition, kind, language, readability (its language's scores), words, review date, warnings,
    # errors, status.
    cells = rows.first.locator("td").all_inner_texts()
    assert len(cells) == 9 and re.fullmatch(r"\d{4}-\d{2}-\d{2}", cells[5]), cells
    assert cells[8] in ("OK", "Warnings", "Errors")
    readability = rows.locator("td:nth-child(4)").all_inner_texts()
    assert all(re.fullmatch(r"grade \d+\.\d, ease \d+|INFLESZ \d+ \([a-z ]+\), F-H \d+", r) for r in readability)
    assert any(r.startswith("INFLESZ") for r in readability)                  # the Spanish documents'
    # The translation table: Spanish, its counts, the current translations folded away.
    assert page.get_by_role("heading", level=3, name="Spanish (español)").is_visible()
    assert not page.locator("details.current-translations table").is_visible()
    # Every problem listed names its file and line.
    for where in page.locator(".problems .where").all_inner_texts():
        assert re.fullmatch(r"[^\s:]+:\d+", where), where
    problems = sum(count for label, count in tally.items() if label.startswith(("error", "warning")))
    assert page.locator(".problems li").count() == problems
    look(page, "review")


def test_review_and_deliveries_are_not_for_staff(staff, page):
    login(page, staff.name, staff.password)
    for path in ("/review/", "/deliveries/"):
        answer = page.goto(path)
        assert answer.status == 404, path
        assert page.get_by_role("heading", level=1).inner_text() == "Page not found"
    assert [a.inner_text() for a in page.get_by_role("navigation", name="Main").get_by_role("link").all()] == \
        ["Documents"]
