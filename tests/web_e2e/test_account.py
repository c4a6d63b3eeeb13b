"""Signing in, out and the pages around it, in Chromium against the real server: the login page, wrong passwords and
the pause after five, the first administrator's one-time password, keyboard use, redirects, CSRF, idle sessions,
security headers, the not-found page and the Django admin's login."""

from __future__ import annotations

import re
import time

import pytest

from web_e2e.harness import IDLE_SECONDS, focus_ring, login, look, shot, signed_in_as

WRONG = "not the password at all"


def test_login_page(page):
    answer = page.goto("/login/")
    assert answer.status == 200
    assert page.title() == "Sign in · Handouts"
    assert page.get_by_role("heading", level=1).inner_text() == "Sign in"
    assert page.get_by_label("Username").get_attribute("autocomplete") == "username"
    assert page.get_by_label("Password").get_attribute("type") == "password"
    assert page.get_by_role("button", name="Sign in").is_visible()
    assert signed_in_as(page) is None
    look(page, "login")


def test_wrong_password_shows_the_error(server, staff, page):
    answer = login(page, staff.name, WRONG)
    assert answer.status == 200
    assert page.url == server("/login/")
    alert = page.get_by_role("alert")
    assert "username or password is not right" in alert.inner_text()
    # The name typed stays in its field and the field points at the message; the password is not sent back.
    assert page.get_by_label("Username").input_value() == staff.name
    assert page.get_by_label("Username").get_attribute("aria-describedby") == "login-error"
    assert page.get_by_label("Password").input_value() == ""
    assert signed_in_as(page) is None
    look(page, "login-wrong-password")


def test_first_administrator_chooses_a_new_password(server, page):
    """The first start printed a one-time password; it signs in only to the page that replaces it."""
    answer = login(page, "admin", server.admin_password)
    assert answer.status == 200
    assert page.url == server("/password/")
    assert signed_in_as(page) == "admin"
    look(page, "password-change")
    page.goto("/")                                  # nothing else opens until the password is changed
    assert page.url == server("/password/")

    page.get_by_label("Old password").fill(server.admin_password)
    page.get_by_label("New password", exact=True).fill("short")
    page.get_by_label("New password confirmation").fill("short")
    with page.expect_navigation():
        page.get_by_role("button", name="Save the new password").click()
    assert page.url == server("/password/")
    assert "too short" in page.locator(".field.invalid .error").first.inner_text()
    look(page, "password-change-errors")

    chosen = "a long new password for the first admin"
    page.get_by_label("Old password").fill(server.admin_password)
    page.get_by_label("New password", exact=True).fill(chosen)
    page.get_by_label("New password confirmation").fill(chosen)
    with page.expect_navigation():
        page.get_by_role("button", name="Save the new password").click()
    assert page.url == server("/")
    assert signed_in_as(page) == "admin"

    # Signed out and in again with the new password, the administrator is no longer sent to change it.
    with page.expect_navigation():
        page.get_by_role("button", name="Sign out").click()
    assert signed_in_as(page) is None
    login(page, "admin", chosen)
    assert page.url == server("/")
    assert signed_in_as(page) == "admin"
    server.admin_password = chosen


def test_keyboard_alone_signs_in_with_a_visible_focus(server, staff, page):
    page.goto("/login/")
    page.keyboard.press("Tab")
    first = focus_ring(page)
    assert first["text"] == "Skip to content", first
    assert page.get_by_role("link", name="Skip to content").bounding_box()["x"] >= 0     # shown when focused

    stops = []
    for _ in range(10):                             # the header's few links, then the form
        page.keyboard.press("Tab")
        stops.append(focus_ring(page))
        if stops[-1]["id"] == "id_username":
            break
    assert stops[-1]["id"] == "id_username", [s["id"] or s["text"] for s in stops]
    page.keyboard.type(staff.name)
    page.keyboard.press("Tab")
    stops.append(focus_ring(page))
    assert stops[-1]["id"] == "id_password"
    page.keyboard.type(staff.password)
    page.keyboard.press("Tab")
    stops.append(focus_ring(page))
    assert (stops[-1]["tag"], stops[-1]["text"]) == ("button", "Sign in")
    for stop in [first, *stops[-3:]]:
        assert stop["visible"] and stop["style"] != "none" and stop["width"] >= 2, stop
    shot(page, "login-keyboard-focus")

    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.url == server("/")
    assert signed_in_as(page) == staff.name


@pytest.mark.parametrize("path, login_path", [
    ("/", "/login/"),
    ("/library/cedar-hollow-us/en/acne-scars-consent-print/", "/login/"),
    ("/library/cedar-hollow-us/en/acne-scars-consent-print.pdf", "/login/"),
    ("/personalise/cedar-hollow-us/en/acne-scars/consent/print/", "/login/"),
    ("/review/", "/login/"),
    ("/deliveries/", "/login/"),
    ("/users/", "/login/"),
    ("/audit/", "/login/"),
    ("/password/", "/login/"),
    ("/admin/", "/admin/login/"),
])
def test_no_login_redirects_to_the_login_page(server, page, path, login_path):
    answer = page.goto(path)
    assert answer.status == 200
    assert page.url == server(f"{login_path}?next={path}")
    assert page.get_by_role("button", name=re.compile("Sign in|Log in")).is_visible()


def test_post_without_the_csrf_token_is_refused(server, staff, page):
    page.goto("/login/")                            # the CSRF cookie is set; the token is in the form
    token = page.locator("main input[name=csrfmiddlewaretoken]").input_value()
    form = {"username": staff.name, "password": staff.password, "next": "/"}

    refused = page.request.post("/login/", form=form, max_redirects=0)
    assert refused.status == 403
    assert signed_in_as(page) is None
    # The same POST with the token signs in: it was the token that was missing.
    accepted = page.request.post("/login/", form={**form, "csrfmiddlewaretoken": token}, max_redirects=0)
    assert (accepted.status, accepted.headers["location"]) == (302, "/")

    # Signed in, a form posted by the browser without its token (a stale or forged page) is refused too, with the
    # app's own page.
    page.goto("/password/")
    page.locator("main input[name=csrfmiddlewaretoken]").evaluate("input => input.remove()")
    page.get_by_label("Old password").fill(staff.password)
    page.get_by_label("New password", exact=True).fill("another long password 123")
    page.get_by_label("New password confirmation").fill("another long password 123")
    with page.expect_navigation() as landed:
        page.get_by_role("button", name="Save the new password").click()
    assert landed.value.status == 403
    assert page.get_by_role("heading", level=1).inner_text() == "The form could not be sent"
    look(page, "csrf-refused")


def test_security_headers_and_cookies(staff, page):
    for answer in (page.goto("/login/"), login(page, staff.name, staff.password), page.goto("/password/")):
        headers = answer.headers
        policy = {}
        for directive in filter(str.strip, headers["content-security-policy"].split(";")):
            name, *sources = directive.split()
            policy[name] = sources
        assert "'unsafe-inline'" not in policy["script-src"] and "'unsafe-eval'" not in policy["script-src"]
        assert "'unsafe-inline'" not in policy["style-src"]
        assert policy["frame-ancestors"] in (["'self'"], ["'none'"])
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["referrer-policy"] in ("same-origin", "no-referrer", "strict-origin",
                                              "strict-origin-when-cross-origin")
        assert headers["x-frame-options"] in ("DENY", "SAMEORIGIN")
    assert signed_in_as(page) == staff.name
    cookies = {c["name"]: c for c in page.context.cookies()}
    session, csrf = cookies["handouts_session"], cookies["handouts_csrf"]
    assert session["httpOnly"] and session["sameSite"] in ("Lax", "Strict")
    assert session["expires"] == -1                 # ends with the browser; the server ends it when idle
    assert csrf["httpOnly"] and csrf["sameSite"] == "Strict"


def test_not_found_page(server, page):
    answer = page.goto("/no-such-page/")
    assert answer.status == 404
    assert page.get_by_role("heading", level=1).inner_text() == "Page not found"
    look(page, "not-found")


def test_django_admin_login_page(page):
    answer = page.goto("/admin/login/")
    assert answer.status == 200
    assert page.get_by_label("Username").is_visible() and page.get_by_label("Password").is_visible()
    look(page, "admin-login")


def test_sixth_wrong_password_is_refused(server, staff, page):
    """Five wrong passwords pause signing in for the account and for the address (which every test shares: the
    throttle is reset before and after)."""
    password = server.add_user("lockout-staff", "staff", ["cedar-hollow-us"])
    server.reset_lockouts()
    try:
        for attempt in range(1, 5):
            login(page, "lockout-staff", f"{WRONG} {attempt}")
            assert "not right" in page.get_by_role("alert").inner_text(), attempt
        paused = login(page, "lockout-staff", f"{WRONG} 5")     # the fifth failure: signing in pauses now
        assert page.get_by_role("heading", level=1).inner_text() == "Signing in is paused"
        assert paused.status == 429                # Too Many Requests
        look(page, "login-paused")
        # The sixth wrong password, then the right one, then another account from the same address: all refused.
        for name, attempt in (("lockout-staff", f"{WRONG} 6"), ("lockout-staff", password),
                              (staff.name, staff.password)):
            refused = login(page, name, attempt)
            assert (refused.status, page.get_by_role("heading", level=1).inner_text()) == \
                (paused.status, "Signing in is paused"), name
            assert signed_in_as(page) is None
            assert "handouts_session" not in {c["name"] for c in page.context.cookies()}
    finally:
        server.reset_lockouts()
    login(page, staff.name, staff.password)
    assert signed_in_as(page) == staff.name


def test_idle_session_expires(idle_server, open_page):
    page = open_page(idle_server)
    password = idle_server.add_user("idle-staff", "staff", ["cedar-hollow-us"])
    login(page, "idle-staff", password)
    assert signed_in_as(page) == "idle-staff"
    # Activity keeps the session: requests half the idle time apart, longer in all than the idle time.
    for _ in range(2):
        time.sleep(IDLE_SECONDS / 2)
        page.goto("/password/")
        assert page.url == idle_server("/password/") and signed_in_as(page) == "idle-staff"
    time.sleep(IDLE_SECONDS + 1)
    page.reload()
    assert page.url == idle_server("/login/?next=/password/")
    assert signed_in_as(page) is None
    look(page, "login-after-idle")
