"""The staff app's security, tested through real requests (Django's test client): password hashing, sign-in
throttling, sessions that end after idle time, cookies, CSRF, security headers, 404 for what a role or a clinic
may not see, the one-time password change, and an audit log without passwords."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import subprocess
import sys
import time

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser
from django.contrib.sessions.models import Session
from django.http import Http404, HttpResponse
from django.test import Client
from django.utils import timezone

from handouts.web import access, pipeline
from handouts.web.models import ADMIN, CLINIC_ADMIN, PRINT_SHOP, REVIEWER, STAFF, AuditEvent

from conftest import PASSWORD, ROOT

CEDAR, FENNICK = "cedar-hollow-us", "fennick-street-uk"
WRONG = "not the right password 17"
User = get_user_model()


def login(client: Client, name: str, password: str = PASSWORD, address: str = "127.0.0.1"):
    return client.post("/login/", {"username": name, "password": password}, REMOTE_ADDR=address)


def signed_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


# --- passwords ---------------------------------------------------------------------------------------------------

def test_passwords_are_stored_with_argon2(client, make_user):
    root = make_user("root", ADMIN)
    assert root.password.startswith("argon2$argon2id$")
    client.force_login(root)
    client.post("/users/add/", {"username": "nell", "role": STAFF, "clinics": [CEDAR]})
    assert User.objects.get(username="nell").password.startswith("argon2$argon2id$")


# --- sign-in throttling ------------------------------------------------------------------------------------------

def test_five_wrong_passwords_for_an_account_pause_its_sign_in(client, make_user):
    make_user("sam", STAFF, [CEDAR])
    for attempt in range(4):                       # from four different addresses: the account counts
        response = login(client, "sam", WRONG, f"10.0.0.{attempt + 1}")
        assert response.status_code == 200
        assert "The username or password is not right" in response.content.decode()
    fifth = login(client, "sam", WRONG, "10.0.0.5")
    assert fifth.status_code == 429 and "Signing in is paused" in fifth.content.decode()
    sixth = login(client, "sam", PASSWORD, "10.0.0.6")       # the right password, a new address
    assert sixth.status_code == 429
    text = sixth.content.decode()
    assert "<h1>Signing in is paused</h1>" in text and "15 minutes" in text
    assert not signed_in(client)
    assert login(Client(), "someone-else", WRONG, "10.0.0.6").status_code == 200   # others are not paused


def test_five_wrong_passwords_from_an_address_pause_sign_in_from_it(client, make_user):
    make_user("sam", STAFF, [CEDAR])
    for n in range(5):
        login(client, f"guess{n}", WRONG, "192.0.2.7")
    refused = login(client, "sam", PASSWORD, "192.0.2.7")
    assert refused.status_code == 429 and "Signing in is paused" in refused.content.decode()
    assert not signed_in(client)
    elsewhere = Client()
    assert login(elsewhere, "sam", PASSWORD, "192.0.2.8").status_code == 302
    assert signed_in(elsewhere)


def test_a_right_password_before_the_fifth_failure_still_signs_in(client, make_user):
    make_user("sam", STAFF, [CEDAR])
    for _ in range(4):
        login(client, "sam", WRONG)
    response = login(client, "sam", PASSWORD)
    assert response.status_code == 302 and signed_in(client)


# --- sessions and cookies ----------------------------------------------------------------------------------------

def test_the_session_cookie_is_httponly_samesite_and_ends_with_the_browser(client, make_user):
    make_user("sam", STAFF, [CEDAR])
    page = client.get("/login/")
    csrf = page.cookies["handouts_csrf"]
    assert csrf["httponly"] and csrf["samesite"] == "Strict"
    response = login(client, "sam")
    cookie = response.cookies["handouts_session"]
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"
    assert cookie["expires"] == "" and cookie["max-age"] == ""       # gone when the browser closes
    assert not cookie["secure"]                                     # plain HTTP: see the HTTPS test


def test_the_session_expiry_is_renewed_by_each_request_and_ends_it_when_idle(client, make_user, settings):
    assert settings.SESSION_SAVE_EVERY_REQUEST and settings.SESSION_EXPIRE_AT_BROWSER_CLOSE
    pipeline.loaded()                                                # content loaded before the clock matters
    client.force_login(make_user("cora", CLINIC_ADMIN, [CEDAR]))
    key = client.session.session_key

    def left() -> float:
        return (Session.objects.get(session_key=key).expire_date - timezone.now()).total_seconds()

    assert client.get("/users/").status_code == 200
    assert settings.SESSION_COOKIE_AGE - 60 < left() <= settings.SESSION_COOKIE_AGE
    # 29 minutes and 55 seconds idle: the next request is in time, and gives a whole idle period again.
    Session.objects.filter(session_key=key).update(expire_date=timezone.now() + dt.timedelta(seconds=5))
    assert client.get("/users/").status_code == 200
    assert left() > settings.SESSION_COOKIE_AGE - 60
    # Idle past the limit: the server has ended the session.
    Session.objects.filter(session_key=key).update(expire_date=timezone.now() - dt.timedelta(seconds=1))
    response = client.get("/users/")
    assert response.status_code == 302 and response["Location"] == "/login/?next=/users/"


def test_an_idle_session_expires_in_real_time(client, make_user, settings):
    settings.SESSION_COOKIE_AGE = 3
    pipeline.loaded()
    client.force_login(make_user("cora", CLINIC_ADMIN, [CEDAR]))
    for _ in range(3):                   # 3.6 seconds of use, longer than the idle limit: still signed in
        time.sleep(1.2)
        assert client.get("/users/").status_code == 200
    time.sleep(3.5)
    response = client.get("/users/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")


SETTINGS_PROBE = """
import json, django
django.setup()
from django.conf import settings
from django.core.management import call_command
call_command("migrate", interactive=False, verbosity=0)
from django.contrib.auth import get_user_model
from django.test import Client
get_user_model().objects.create_user("sam", password="correct horse battery staple 42")
client = Client()
plain = client.get("/login/")
signin = client.post("/login/", {"username": "sam", "password": "correct horse battery staple 42"},
                     HTTP_X_FORWARDED_PROTO="https")
print(json.dumps({
    "session_secure": settings.SESSION_COOKIE_SECURE, "csrf_secure": settings.CSRF_COOKIE_SECURE,
    "idle": settings.SESSION_COOKIE_AGE, "every_request": settings.SESSION_SAVE_EVERY_REQUEST,
    "plain_status": plain.status_code, "plain_location": plain.get("Location", ""),
    "signin_status": signin.status_code,
    "cookie_secure": bool(signin.cookies["handouts_session"]["secure"]) if "handouts_session" in signin.cookies
                     else None,
    "hsts": signin.get("Strict-Transport-Security", ""),
}))
"""


def _probe(tmp_path, https: bool) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HANDOUTS_")}
    env.update(PYTHONPATH=str(ROOT), DJANGO_SETTINGS_MODULE="handouts.web.settings",
               HANDOUTS_DATA_DIR=str(tmp_path), HANDOUTS_ALLOWED_HOSTS="testserver")
    if https:
        env["HANDOUTS_HTTPS"] = "1"
    done = subprocess.run([sys.executable, "-c", SETTINGS_PROBE], env=env, cwd=tmp_path, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_cookies_are_secure_behind_https(tmp_path):
    found = _probe(tmp_path, https=True)
    assert found["session_secure"] and found["csrf_secure"]
    assert found["plain_status"] == 301 and found["plain_location"].startswith("https://")
    assert found["signin_status"] == 302 and found["cookie_secure"] is True
    assert found["hsts"].startswith("max-age=")
    assert found["idle"] == 30 * 60 and found["every_request"]


def test_cookies_are_not_secure_on_plain_http(tmp_path):
    found = _probe(tmp_path, https=False)
    assert not found["session_secure"] and not found["csrf_secure"]
    assert found["plain_status"] == 200 and found["cookie_secure"] is False and found["hsts"] == ""


# --- CSRF --------------------------------------------------------------------------------------------------------

def test_a_post_without_the_csrf_token_is_refused_everywhere(make_user):
    cora = make_user("cora", CLINIC_ADMIN, [CEDAR])
    sam = make_user("sam", STAFF, [CEDAR])
    guarded = Client(enforce_csrf_checks=True)
    refused = login(guarded, "cora")
    assert refused.status_code == 403 and "The form could not be sent" in refused.content.decode()
    assert not signed_in(guarded)

    guarded.force_login(cora)
    posts = {
        "/logout/": {},
        "/password/": {"old_password": PASSWORD, "new_password1": "a new long passphrase 8",
                       "new_password2": "a new long passphrase 8"},
        "/users/add/": {"username": "nell", "role": STAFF, "clinics": [CEDAR]},
        f"/users/{sam.pk}/": {"role": CLINIC_ADMIN, "clinics": [CEDAR]},
        f"/users/{sam.pk}/password/": {},
        f"/users/{sam.pk}/active/": {"active": "no"},
        f"/personalise/{CEDAR}/en/acne-scars/consent/print/": {"patient_name": "Test Person"},
    }
    for url, data in posts.items():
        assert guarded.post(url, data).status_code == 403, url
    assert signed_in(guarded)                                          # the logout was refused too
    sam.refresh_from_db()
    cora.refresh_from_db()
    assert sam.is_active and sam.check_password(PASSWORD) and sam.account.role == STAFF
    assert cora.check_password(PASSWORD) and not User.objects.filter(username="nell").exists()


def test_a_post_with_the_csrf_token_is_accepted(make_user):
    make_user("cora", CLINIC_ADMIN, [CEDAR])
    guarded = Client(enforce_csrf_checks=True)
    page = guarded.get("/login/").content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    response = guarded.post("/login/", {"username": "cora", "password": PASSWORD, "csrfmiddlewaretoken": token})
    assert response.status_code == 302 and signed_in(guarded)


# --- security headers --------------------------------------------------------------------------------------------

def _assert_headers(response, what: str) -> None:
    csp = response.get("Content-Security-Policy", "")
    directives = {part.split()[0]: part.split()[1:] for part in csp.split(";") if part.strip()}
    assert directives, f"{what}: no Content-Security-Policy"
    assert "'unsafe-inline'" not in directives.get("script-src", directives.get("default-src", [])), what
    assert "'unsafe-eval'" not in directives.get("script-src", []), what
    assert directives.get("script-src") == ["'self'"], what
    assert "frame-ancestors" in directives and "*" not in directives["frame-ancestors"], what
    assert response.get("X-Content-Type-Options") == "nosniff", what
    assert response.get("Referrer-Policy") == "same-origin", what
    assert response.get("X-Frame-Options") == "DENY", what


def test_every_kind_of_page_carries_the_security_headers(make_user):
    cora = make_user("cora", CLINIC_ADMIN, [CEDAR])
    root = make_user("root", ADMIN)
    sam = make_user("sam", STAFF, [CEDAR])
    anonymous = Client()
    pages = {
        "sign-in page": anonymous.get("/login/"),
        "redirect to sign in": anonymous.get("/users/"),
        "not found": anonymous.get("/no/such/page/at/all/here/"),
        "refused sign-in": login(anonymous, "sam", WRONG),
        "csrf refusal": Client(enforce_csrf_checks=True).post("/login/", {}),
    }
    for _ in range(5):
        paused = login(anonymous, "sam", WRONG, "10.9.9.9")
    pages["paused sign-in"] = paused
    staff = Client()
    staff.force_login(sam)
    pages["404 for a role"] = staff.get("/users/")
    pages["password page"] = staff.get("/password/")
    admin = Client()
    admin.force_login(cora)
    pages["users"] = admin.get("/users/")
    pages["add a user"] = admin.get("/users/add/")
    pages["account"] = admin.get(f"/users/{sam.pk}/")
    pages["one-time password"] = admin.post(f"/users/{sam.pk}/password/")
    pages["audit log"] = admin.get("/audit/?event=login")
    root_client = Client()
    root_client.force_login(root)
    pages["django admin"] = root_client.get("/admin/")
    statuses = {what: r.status_code for what, r in pages.items()}
    assert statuses == {"sign-in page": 200, "redirect to sign in": 302, "not found": 404, "refused sign-in": 200,
                        "csrf refusal": 403, "paused sign-in": 429, "404 for a role": 404, "password page": 200,
                        "users": 200, "add a user": 200, "account": 200, "one-time password": 200,
                        "audit log": 200, "django admin": 200}
    for what, response in pages.items():
        _assert_headers(response, what)


def test_pages_carry_no_inline_script_or_style(make_user):
    cora = make_user("cora", CLINIC_ADMIN, [CEDAR])
    sam = make_user("sam", STAFF, [CEDAR])
    client = Client()
    client.force_login(cora)
    for url in ("/users/", "/users/add/", f"/users/{sam.pk}/", "/audit/", "/password/"):
        text = client.get(url).content.decode()
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", text), url
        assert " style=" not in text and "<style" not in text, url
        assert not re.search(r"\son[a-z]+=", text), url               # no onclick= and the like
    text = Client().get("/login/").content.decode()
    assert "<script>" not in text and " style=" not in text


# --- who may see what --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("url", ["/users/", "/users/add/", "/audit/", "/audit/?event=login", "/password/"])
def test_no_sign_in_redirects_to_the_login_page(client, url):
    response = client.get(url)
    assert response.status_code == 302
    from urllib.parse import quote
    assert response["Location"] == f"/login/?next={quote(url, safe='/')}"


@pytest.mark.parametrize("role", [STAFF, REVIEWER, PRINT_SHOP])
def test_roles_without_user_management_get_404_on_its_pages(client, make_user, role):
    sam = make_user("sam", STAFF, [CEDAR])
    client.force_login(make_user("someone", role, [CEDAR]))
    for url in ("/users/", "/users/add/", "/audit/", f"/users/{sam.pk}/"):
        assert client.get(url).status_code == 404, url
    for url in ("/users/add/", f"/users/{sam.pk}/password/", f"/users/{sam.pk}/active/"):
        assert client.post(url, {"username": "x", "role": STAFF, "active": "no"}).status_code == 404, url
    sam.refresh_from_db()
    assert sam.is_active and sam.check_password(PASSWORD)


def test_a_staff_user_gets_404_on_the_review_and_delivery_pages(client, make_user):
    client.force_login(make_user("sam", STAFF, [CEDAR]))
    assert client.get("/review/").status_code == 404
    assert client.get("/deliveries/").status_code == 404


def test_a_clinic_admin_gets_404_for_another_clinics_users(client, make_user):
    fern = make_user("fern", STAFF, [FENNICK])
    client.force_login(make_user("cora", CLINIC_ADMIN, [CEDAR]))
    assert client.get(f"/users/{fern.pk}/").status_code == 404
    assert client.post(f"/users/{fern.pk}/password/").status_code == 404
    assert client.post(f"/users/{fern.pk}/active/", {"active": "no"}).status_code == 404
    assert "fern" not in client.get("/users/").content.decode()


# The pages of other parts use access.require(...) with these roles (access.py, the navigation): a role outside
# them gets 404, and no sign-in goes to the login page with the address to come back to.
PAGES = {
    "review": (REVIEWER, ADMIN),
    "deliveries": (PRINT_SHOP, ADMIN),
    "personalise": access.PERSONALISE_ROLES,
    "library": access.LIBRARY_ROLES,
}


@pytest.mark.parametrize("page", sorted(PAGES))
@pytest.mark.parametrize("role", [STAFF, REVIEWER, CLINIC_ADMIN, PRINT_SHOP, ADMIN, None])
def test_require_gives_404_to_roles_outside_the_page(rf, make_user, page, role):
    view = access.require(*PAGES[page])(lambda request: HttpResponse("the page"))
    request = rf.get(f"/{page}/?q=1")
    if role is None:             # signed in, but an account with no role (made by hand in the Django admin)
        request.user = User.objects.create(username="plain")
    else:
        request.user = make_user("someone", role, [CEDAR])
    if role in PAGES[page]:
        assert view(request).content == b"the page"
    else:
        with pytest.raises(Http404):
            view(request)


@pytest.mark.parametrize("page", sorted(PAGES))
def test_require_sends_no_sign_in_to_the_login_page(rf, page):
    view = access.require(*PAGES[page])(lambda request: HttpResponse("the page"))
    request = rf.get(f"/{page}/?q=1")
    request.user = AnonymousUser()
    response = view(request)
    assert response.status_code == 302 and response["Location"] == f"/login/?next=/{page}/%3Fq%3D1"


def test_require_gives_a_signed_in_superuser_the_admin_pages(rf, db):
    boss = User.objects.create(username="boss", is_superuser=True, is_staff=True)
    request = rf.get("/review/")
    request.user = boss
    assert access.require(REVIEWER, ADMIN)(lambda r: HttpResponse("ok"))(request).status_code == 200


def test_the_navigation_offers_each_role_only_its_pages(client, make_user):
    offered = {}
    for role in (STAFF, REVIEWER, CLINIC_ADMIN, PRINT_SHOP, ADMIN):
        client.force_login(make_user(f"u-{role}", role, [CEDAR]))
        text = client.get("/password/").content.decode()
        nav = re.search(r'<nav aria-label="Main">(.*?)</nav>', text, re.S).group(1)
        offered[role] = re.findall(r'<a href="([^"]+)"', nav)
    assert offered == {
        STAFF: ["/"],
        REVIEWER: ["/", "/review/"],
        CLINIC_ADMIN: ["/", "/users/", "/audit/"],
        PRINT_SHOP: ["/", "/deliveries/"],
        ADMIN: ["/", "/review/", "/deliveries/", "/users/", "/audit/"],
    }


# --- the one-time password ---------------------------------------------------------------------------------------

def test_a_one_time_password_must_be_changed_before_anything_else(client, make_user):
    client.force_login(make_user("root", ADMIN))
    added = client.post("/users/add/", {"username": "nell", "role": CLINIC_ADMIN, "clinics": [CEDAR]})
    one_time = re.search(r"<code>([^<]+)</code>", added.content.decode()).group(1)

    nell = Client()
    assert login(nell, "nell", one_time).status_code == 302
    for url in ("/", "/users/", "/audit/", "/users/add/", "/review/", f"/library/{CEDAR}/en/x/"):
        response = nell.get(url)
        assert response.status_code == 302 and response["Location"] == "/password/", url
    assert nell.post("/users/add/", {"username": "sneaky", "role": STAFF, "clinics": [CEDAR]})["Location"] \
        == "/password/"
    assert not User.objects.filter(username="sneaky").exists()
    page = nell.get("/password/")
    assert page.status_code == 200 and "Choose a new password" in page.content.decode()

    weak = nell.post("/password/", {"old_password": one_time, "new_password1": "password123",
                                    "new_password2": "password123"})
    assert weak.status_code == 200 and 'class="error"' in weak.content.decode()
    assert User.objects.get(username="nell").account.must_change_password

    chosen = "a long phrase of my own 31"
    done = nell.post("/password/", {"old_password": one_time, "new_password1": chosen, "new_password2": chosen})
    assert done.status_code == 302
    user = User.objects.get(username="nell")
    assert not user.account.must_change_password and user.check_password(chosen)
    assert nell.get("/users/").status_code == 200                  # still signed in, free to work
    assert login(Client(), "nell", one_time).status_code == 200   # the one-time password is spent
    assert AuditEvent.objects.filter(user="nell", event="password-changed").exists()


def test_signing_out_works_while_a_password_change_is_due(client, make_user):
    user = make_user("nell", STAFF, [CEDAR])
    user.account.must_change_password = True
    user.account.save()
    client.force_login(user)
    response = client.post("/logout/")
    assert response.status_code == 302 and response["Location"] == "/login/"
    assert not signed_in(client)


# --- the audit log -----------------------------------------------------------------------------------------------

def test_the_audit_log_records_sign_ins_and_user_changes_and_never_a_password(client, make_user, caplog):
    caplog.set_level("INFO", logger="handouts.audit")
    make_user("cora", CLINIC_ADMIN, [CEDAR])
    sam = make_user("sam", STAFF, [CEDAR])
    login(client, "cora", WRONG)
    login(client, "cora")
    added = client.post("/users/add/", {"username": "nell", "role": STAFF, "clinics": [CEDAR]})
    first = re.search(r"<code>([^<]+)</code>", added.content.decode()).group(1)
    reset = client.post(f"/users/{sam.pk}/password/")
    second = re.search(r"<code>([^<]+)</code>", reset.content.decode()).group(1)
    client.post(f"/users/{sam.pk}/", {"role": CLINIC_ADMIN, "clinics": [CEDAR]})
    client.post(f"/users/{sam.pk}/active/", {"active": "no"})
    client.post("/logout/")

    rows = list(AuditEvent.objects.order_by("at", "pk").values_list("user", "event", "detail"))
    assert rows == [
        ("cora", "login-failed", ""),
        ("cora", "login", ""),
        ("cora", "user-added", "account=nell role=staff clinics=cedar-hollow-us"),
        ("cora", "password-reset", "account=sam"),
        ("cora", "user-changed", "account=sam role=staff->clinic-admin"),
        ("cora", "user-deactivated", "account=sam"),
        ("cora", "logout", ""),
    ]
    secrets = [PASSWORD, WRONG, first, second]
    from django.db import connection
    with connection.cursor() as cursor:                 # every table of the database, every column
        for table in connection.introspection.table_names():
            cursor.execute(f'SELECT * FROM "{table}"')
            dump = repr(cursor.fetchall())
            for secret in secrets:
                assert secret not in dump, f"a password in table {table}"
    log = caplog.text
    assert "event=login-failed" in log and "event=user-added" in log
    for secret in secrets:
        assert secret not in log


def test_a_password_typed_as_the_username_stays_out_of_the_audit_log(client, make_user, caplog):
    caplog.set_level("INFO", logger="handouts.audit")
    make_user("sam", STAFF, [CEDAR])
    login(client, PASSWORD, PASSWORD)
    login(client, "sam", WRONG)
    assert list(AuditEvent.objects.order_by("pk").values_list("user", "event")) == [
        ("(unknown name)", "login-failed"), ("sam", "login-failed")]
    assert PASSWORD not in caplog.text
