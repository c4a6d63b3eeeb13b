"""A clinic administrator's pages in Chromium against the real server: the clinic's accounts, adding one with a
one-time password that the new person must replace when they first sign in, the audit log; and the Django admin's
index for a global administrator."""

from __future__ import annotations

import re

from web_e2e.harness import login, look, signed_in_as

CLINIC_NAME = "Cedar Hollow Dermatology"


def test_clinic_admin_adds_an_account_with_a_one_time_password(server, open_page, page):
    password = server.add_user("e2e-cedar-admin", "clinic-admin", ["cedar-hollow-us"])
    server.add_user("e2e-fennick-nurse", "staff", ["fennick-street-uk"])
    login(page, "e2e-cedar-admin", password)
    assert signed_in_as(page) == "e2e-cedar-admin"
    with page.expect_navigation():
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Users").click()
    assert page.url == server("/users/")
    assert page.get_by_role("heading", level=1).inner_text() == "Users"
    names = page.locator("table.accounts tbody th").all_inner_texts()
    assert "e2e-cedar-admin (you)" in names
    assert "e2e-fennick-nurse" not in names and "admin" not in names      # another clinic's, and the global admin
    look(page, "users")

    with page.expect_navigation():
        page.get_by_role("link", name="Add an account").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Add an account"
    # A clinic administrator gives only staff and clinic-administrator roles, for their own clinic.
    roles = page.locator("input[name=role]").evaluate_all("inputs => inputs.map(i => i.value)")
    assert roles == ["staff", "clinic-admin"]
    assert page.get_by_label(CLINIC_NAME).is_checked()
    assert page.locator("input[name=clinics]").count() == 1
    look(page, "user-add")

    # A name that is not allowed, and no role: each message beside its field.
    page.get_by_label("Username").fill("not a valid name!")
    with page.expect_navigation():
        page.get_by_role("button", name="Add the account").click()
    assert page.get_by_role("alert").inner_text().startswith("The account was not added")
    assert page.locator("#id_username-error").is_visible()
    assert page.get_by_label("Username").get_attribute("aria-invalid") == "true"
    assert page.locator("#id_role-error").is_visible()
    assert page.get_by_label("Username").input_value() == "not a valid name!"
    look(page, "user-add-errors")

    page.get_by_label("Username").fill("e2e-new-nurse")
    page.locator("input[name=role][value=staff]").check()
    with page.expect_navigation() as added:
        page.get_by_role("button", name="Add the account").click()
    assert "no-store" in added.value.headers["cache-control"]
    assert page.get_by_role("heading", level=1).inner_text() == "Account added: e2e-new-nurse"
    one_time = page.locator(".secret-value code").inner_text().strip()
    assert len(one_time) >= 12
    assert one_time not in page.url
    look(page, "user-one-time-password")

    # The list shows the new account waiting for its first sign-in.
    with page.expect_navigation():
        page.get_by_role("link", name="Back to the users").click()
    row = page.locator("table.accounts tbody tr", has=page.get_by_role("link", name="e2e-new-nurse"))
    assert row.locator("td").nth(0).inner_text() == "Clinic staff"
    assert row.locator("td").nth(1).inner_text() == CLINIC_NAME
    assert row.locator(".badge").inner_text() == "One-time password"

    # The new person signs in with it and must choose their own password before anything else.
    newcomer = open_page(server)
    login(newcomer, "e2e-new-nurse", one_time)
    assert newcomer.url == server("/password/")
    newcomer.goto("/")
    assert newcomer.url == server("/password/")
    chosen = "the nurse's own long password 7"
    newcomer.get_by_label("Old password").fill(one_time)
    newcomer.get_by_label("New password", exact=True).fill(chosen)
    newcomer.get_by_label("New password confirmation").fill(chosen)
    with newcomer.expect_navigation():
        newcomer.get_by_role("button", name="Save the new password").click()
    assert newcomer.url == server("/")
    assert newcomer.locator(".doc-card").count() > 0             # the library of the clinic given

    # The audit log: the account added by this administrator and the new person's first sign-in; never the
    # password.
    with page.expect_navigation():
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Audit").click()
    assert page.url == server("/audit/")
    assert page.get_by_role("heading", level=1).inner_text() == "Audit log"
    rows = [r.locator("td").all_inner_texts() for r in page.locator("table.audit tbody tr").all()]
    events = [(r[1], r[2]) for r in rows]
    assert ("e2e-cedar-admin", "user-added") in events, events
    assert ("e2e-new-nurse", "login") in events and ("e2e-new-nurse", "password-changed") in events, events
    assert not [r for r in rows if r[1] == "e2e-fennick-nurse"]            # another clinic's user
    assert one_time not in page.content() and chosen not in page.content()
    look(page, "audit")

    page.get_by_label("Event", exact=True).select_option("user-added")
    with page.expect_navigation():
        page.get_by_role("button", name="Filter").click()
    assert {r.locator("td").nth(2).inner_text() for r in page.locator("table.audit tbody tr").all()} == \
        {"user-added"}
    assert re.search(r"matching the filter\.$", page.get_by_role("status").inner_text())


def test_clinic_admin_gets_404_for_the_django_admin_and_another_clinics_account(server, page):
    password = server.add_user("e2e-cedar-admin-2", "clinic-admin", ["cedar-hollow-us"])
    server.add_user("e2e-fennick-only", "staff", ["fennick-street-uk"])
    pk = server.python("from handouts.web.setup import django_ready; django_ready()\n"
                       "from django.contrib.auth import get_user_model\n"
                       "print(get_user_model().objects.get(username='e2e-fennick-only').pk)").strip()
    login(page, "e2e-cedar-admin-2", password)
    answer = page.goto(f"/users/{pk}/")
    assert answer.status == 404
    assert page.get_by_role("heading", level=1).inner_text() == "Page not found"
    # Nor may they reset its password or switch it off (POSTs with this session's CSRF token).
    token = next(c["value"] for c in page.context.cookies() if c["name"] == "handouts_csrf")
    for path in (f"/users/{pk}/password/", f"/users/{pk}/active/"):
        refused = page.request.post(path, form={"active": "no"}, headers={"X-CSRFToken": token,
                                                                          "Referer": server("/users/")})
        assert refused.status == 404, path
    answer = page.goto("/admin/")
    assert answer.status in (302, 200) and page.url.startswith(server("/admin/login/"))    # not the admin's index


def test_django_admin_index(server, page):
    """A global administrator (another than the first, whose one-time password test_account changes) opens the
    Django admin: accounts and a read-only audit log."""
    password = server.add_user("e2e-global-admin", "admin")
    login(page, "e2e-global-admin", password)
    answer = page.goto("/admin/")
    assert answer.status == 200 and page.url == server("/admin/")
    assert page.get_by_role("link", name="Users").first.is_visible()
    assert page.get_by_role("link", name=re.compile("Audit events")).first.is_visible()
    look(page, "admin-index")
