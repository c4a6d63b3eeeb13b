"""The users pages and the audit log in the browser (Django's test client): what a clinic administrator and a
global administrator may see and change, the one-time passwords, and the audit rows each change leaves."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model

from handouts.web.models import ADMIN, CLINIC_ADMIN, PRINT_SHOP, REVIEWER, STAFF, AuditEvent

from conftest import PASSWORD

CEDAR, FENNICK = "cedar-hollow-us", "fennick-street-uk"
User = get_user_model()


@pytest.fixture
def cedar_admin(make_user, client):
    user = make_user("cora", CLINIC_ADMIN, [CEDAR])
    client.force_login(user)
    return user


@pytest.fixture
def people(make_user):
    """Accounts of both clinics, one shared between them, a print shop serving Cedar, a reviewer, an admin."""
    return {
        "sam": make_user("sam", STAFF, [CEDAR]),
        "fern": make_user("fern", STAFF, [FENNICK]),
        "finn": make_user("finn", CLINIC_ADMIN, [FENNICK]),
        "both": make_user("both", STAFF, [CEDAR, FENNICK]),
        "press": make_user("press", PRINT_SHOP, [CEDAR, FENNICK]),
        "rita": make_user("rita", REVIEWER),
        "root": make_user("root", ADMIN),
    }


def one_time_password(response) -> str:
    found = re.search(r'<p class="secret-value"[^>]*><code>([^<]+)</code>', response.content.decode())
    assert found, "the one-time password is on the page"
    return found.group(1)


def rows_of(response) -> list[str]:
    """The account names in the users table, in order."""
    return re.findall(r'<th scope="row"><a href="/users/\d+/">([^<]+)</a>', response.content.decode())


# --- the list ----------------------------------------------------------------------------------------------------

def test_a_clinic_admin_lists_only_the_accounts_of_their_clinic(client, cedar_admin, people):
    response = client.get("/users/")
    assert response.status_code == 200
    assert rows_of(response) == ["both", "cora", "press", "sam"]
    text = response.content.decode()
    assert "Cedar Hollow Dermatology" in text
    assert "Fennick Street Skin Clinic" not in text          # the shared account's other clinic is not named
    assert "and other clinics" in text
    assert "Never" in text                                    # last sign-in of accounts that never signed in


def test_a_global_admin_lists_every_account(client, people):
    client.force_login(people["root"])
    assert rows_of(client.get("/users/")) == ["both", "fern", "finn", "press", "rita", "root", "sam"]


def test_the_list_shows_role_state_and_last_sign_in(client, cedar_admin, people):
    from django.test import Client
    assert Client().post("/login/", {"username": "sam", "password": PASSWORD}).status_code == 302
    User.objects.filter(username="both").update(is_active=False)
    text = client.get("/users/").content.decode()
    sam = text[text.index(">sam</a>"):text.index("</tr>", text.index(">sam</a>"))]
    assert "Clinic staff" in sam and "Active" in sam and "<time datetime=" in sam
    both = text[text.index(">both</a>"):text.index("</tr>", text.index(">both</a>"))]
    assert "Deactivated" in both


# --- adding an account -------------------------------------------------------------------------------------------

def test_a_clinic_admin_adds_a_staff_account_with_a_one_time_password(client, cedar_admin):
    page = client.get("/users/add/")
    assert page.status_code == 200
    text = page.content.decode()
    assert '<label for="id_username">Username</label>' in text
    assert 'value="admin"' not in text and 'value="reviewer"' not in text and 'value="print-shop"' not in text
    assert 'value="staff"' in text and 'value="clinic-admin"' in text
    assert 'value="fennick-street-uk"' not in text

    response = client.post("/users/add/", {"username": "nell", "role": STAFF, "clinics": [CEDAR]})
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    password = one_time_password(response)
    nell = User.objects.get(username="nell")
    assert nell.check_password(password)
    assert nell.password.startswith("argon2")
    assert nell.account.role == STAFF and nell.account.must_change_password
    assert list(nell.account.clinics.values_list("clinic", flat=True)) == [CEDAR]
    row = AuditEvent.objects.get(event="user-added")
    assert (row.user, row.clinic) == ("cora", CEDAR)
    assert "account=nell" in row.detail and "role=staff" in row.detail
    assert password not in str(list(AuditEvent.objects.values_list()))


@pytest.mark.parametrize("role", [ADMIN, REVIEWER, PRINT_SHOP])
def test_a_clinic_admin_cannot_give_a_higher_role(client, cedar_admin, role):
    response = client.post("/users/add/", {"username": "nell", "role": role, "clinics": [CEDAR]})
    assert response.status_code == 200
    assert 'id="id_role-error"' in response.content.decode()
    assert not User.objects.filter(username="nell").exists()


def test_a_clinic_admin_cannot_give_another_clinic(client, cedar_admin):
    response = client.post("/users/add/", {"username": "nell", "role": STAFF, "clinics": [FENNICK]})
    assert 'id="id_clinics-error"' in response.content.decode()
    assert not User.objects.filter(username="nell").exists()


def test_field_errors_stand_beside_their_fields(client, cedar_admin, people):
    response = client.post("/users/add/", {"username": "Sam", "role": STAFF})
    text = response.content.decode()
    assert "The account was not added" in text
    username = re.search(r"<input[^>]*name=\"username\"[^>]*>", text).group(0)
    assert 'aria-invalid="true"' in username and 'aria-describedby="id_username-error"' in username
    assert re.search(r'<p class="error" id="id_username-error">There is already an account named &#x27;sam&#x27;', text)
    assert 'id="id_clinics-error">Tick at least one clinic' in text
    response = client.post("/users/add/", {"username": "no spaces please", "role": STAFF, "clinics": [CEDAR]})
    assert 'id="id_username-error">Enter a valid username' in response.content.decode()
    assert User.objects.count() == len(people) + 1


def test_a_global_admin_adds_any_role_for_any_clinic(client, people):
    client.force_login(people["root"])
    response = client.post("/users/add/", {"username": "pressa", "role": PRINT_SHOP, "clinics": [FENNICK]})
    assert response.status_code == 200
    assert User.objects.get(username="pressa").account.role == PRINT_SHOP
    client.post("/users/add/", {"username": "boss", "role": ADMIN, "clinics": [CEDAR]})
    boss = User.objects.get(username="boss")
    assert boss.is_superuser and boss.is_staff
    assert not boss.account.clinics.exists()          # an administrator sees every clinic: none are stored


# --- changing an account -----------------------------------------------------------------------------------------

def test_a_clinic_admin_raises_staff_to_clinic_admin(client, cedar_admin, people):
    sam = people["sam"]
    response = client.post(f"/users/{sam.pk}/", {"role": CLINIC_ADMIN, "clinics": [CEDAR]})
    assert response.status_code == 302 and response["Location"] == "/users/"
    sam.account.refresh_from_db()
    assert sam.account.role == CLINIC_ADMIN
    row = AuditEvent.objects.get(event="user-changed")
    assert row.user == "cora" and row.clinic == CEDAR and "account=sam role=staff->clinic-admin" in row.detail


def test_a_clinic_admin_cannot_raise_anyone_to_admin(client, cedar_admin, people):
    sam = people["sam"]
    response = client.post(f"/users/{sam.pk}/", {"role": ADMIN, "clinics": [CEDAR]})
    assert response.status_code == 200 and 'id="id_role-error"' in response.content.decode()
    sam.refresh_from_db()
    assert sam.account.role == STAFF and not sam.is_superuser
    assert not AuditEvent.objects.filter(event="user-changed").exists()


@pytest.mark.parametrize("who", ["fern", "finn", "rita", "root"])
def test_a_clinic_admin_gets_404_for_accounts_outside_their_clinics(client, cedar_admin, people, who):
    pk = people[who].pk
    assert client.get(f"/users/{pk}/").status_code == 404
    assert client.post(f"/users/{pk}/", {"role": STAFF, "clinics": [CEDAR]}).status_code == 404
    assert client.post(f"/users/{pk}/password/").status_code == 404
    assert client.post(f"/users/{pk}/active/", {"active": "no"}).status_code == 404
    people[who].refresh_from_db()
    assert people[who].is_active and people[who].check_password(PASSWORD)


@pytest.mark.parametrize("who", ["both", "press"])
def test_accounts_shared_with_another_clinic_are_read_only_for_a_clinic_admin(client, cedar_admin, people, who):
    pk = people[who].pk
    page = client.get(f"/users/{pk}/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "a global administrator changes it" in text or "Only a global administrator" in text
    assert "<form method=\"post\" novalidate>" not in text and "Reset the password" not in text
    assert client.post(f"/users/{pk}/", {"role": STAFF, "clinics": [CEDAR]}).status_code == 404
    assert client.post(f"/users/{pk}/password/").status_code == 404
    assert client.post(f"/users/{pk}/active/", {"active": "no"}).status_code == 404


def test_nobody_changes_their_own_account_here(client, cedar_admin):
    page = client.get(f"/users/{cedar_admin.pk}/")
    assert "This is your own account" in page.content.decode()
    assert client.post(f"/users/{cedar_admin.pk}/active/", {"active": "no"}).status_code == 404
    assert client.post(f"/users/{cedar_admin.pk}/", {"role": STAFF, "clinics": [CEDAR]}).status_code == 404
    cedar_admin.refresh_from_db()
    assert cedar_admin.is_active and cedar_admin.account.role == CLINIC_ADMIN


def test_a_global_admin_cannot_be_edited_by_a_clinic_admin_even_with_a_clinic(client, cedar_admin, make_user):
    boss = make_user("boss", ADMIN, [CEDAR])
    assert "boss" not in rows_of(client.get("/users/"))
    assert client.post(f"/users/{boss.pk}/password/").status_code == 404


def test_a_password_reset_gives_a_new_one_time_password(client, cedar_admin, people):
    sam = people["sam"]
    response = client.post(f"/users/{sam.pk}/password/")
    assert response.status_code == 200 and "no-store" in response["Cache-Control"]
    password = one_time_password(response)
    sam.refresh_from_db()
    assert sam.check_password(password) and not sam.check_password(PASSWORD)
    assert sam.account.must_change_password
    row = AuditEvent.objects.get(event="password-reset")
    assert row.user == "cora" and row.detail == "account=sam" and row.clinic == CEDAR
    assert client.get(f"/users/{sam.pk}/password/").status_code == 405      # a GET changes nothing


def test_deactivating_ends_the_accounts_sessions_and_reactivating_restores_sign_in(client, cedar_admin, people):
    from django.test import Client
    sam, other = people["sam"], Client()
    assert other.post("/login/", {"username": "sam", "password": PASSWORD}).status_code == 302
    assert other.get("/password/").status_code == 200
    response = client.post(f"/users/{sam.pk}/active/", {"active": "no"})
    assert response.status_code == 302
    sam.refresh_from_db()
    assert not sam.is_active
    assert other.get("/password/")["Location"].startswith("/login/")
    assert other.post("/login/", {"username": "sam", "password": PASSWORD}).status_code == 200  # refused
    client.post(f"/users/{sam.pk}/active/", {"active": "yes"})
    assert other.post("/login/", {"username": "sam", "password": PASSWORD}).status_code == 302
    assert list(AuditEvent.objects.filter(detail="account=sam").order_by("at", "pk").values_list("event", flat=True)) \
        == ["user-deactivated", "user-reactivated"]


# --- the audit log -----------------------------------------------------------------------------------------------

def test_the_audit_log_of_a_clinic_admin_holds_their_clinics_and_their_users_only(client, cedar_admin, people):
    from handouts.web import audit
    audit.record(people["sam"], "download", clinic=CEDAR, document="cedar/en/acne-scars-leaflet.pdf")
    audit.record(people["fern"], "download", clinic=FENNICK, document="fennick/en/acne-scars-leaflet.pdf")
    audit.record(people["sam"], "login")
    audit.record(people["fern"], "login")
    audit.record(people["both"], "preview", clinic=FENNICK, document="fennick/en/x.pdf")
    audit.record("cli:root", "user-changed", clinic=f"{CEDAR},{FENNICK}", detail="account=both")
    audit.record("cli:root", "user-changed", clinic=FENNICK, detail="account=fern")
    text = client.get("/audit/").content.decode()
    assert "cedar/en/acne-scars-leaflet.pdf" in text and "account=both" in text
    assert "fennick/en/" not in text and "account=fern" not in text
    assert re.findall(r"<td>(\w+)</td>\s*<td><span class=\"event\">login", text) == ["sam", "cora"]

    client.force_login(people["root"])
    text = client.get("/audit/").content.decode()
    assert "fennick/en/acne-scars-leaflet.pdf" in text and "account=fern" in text


def test_the_audit_log_is_newest_first_paginated_and_filtered(client, people):
    from handouts.web import audit
    for n in range(60):
        audit.record(people["sam"] if n % 2 else people["fern"], "download", clinic=CEDAR, detail=f"n={n}")
    audit.record(people["sam"], "login")
    client.force_login(people["root"])
    first = client.get("/audit/").content.decode()
    details = re.findall(r"<td>(n=\d+)</td>", first)
    # 50 rows a page: root's and sam's sign-ins are the newest two
    assert len(details) == 48 and details[0] == "n=59" and details[-1] == "n=12"
    assert "Page 1 of 2" in first and 'href="?page=2"' in first
    second = client.get("/audit/?page=2").content.decode()
    assert re.findall(r"<td>(n=\d+)</td>", second)[-1] == "n=0"

    only = client.get("/audit/?event=download&user=fern").content.decode()
    found = re.findall(r"<td>(n=\d+)</td>", only)
    assert len(found) == 30 and all(int(n[2:]) % 2 == 0 for n in found)
    assert "of 30 events matching the filter" in only
    assert '<option value="download" selected>' in only
    logins = client.get("/audit/?event=login").content.decode()
    assert re.findall(r'<span class="event">(\S+)</span>', logins) == ["login", "login"]


# --- the Django admin --------------------------------------------------------------------------------------------

def test_the_django_admin_shows_accounts_and_a_read_only_audit_log(client, people):
    from handouts.web import audit
    audit.record(people["sam"], "login")
    client.force_login(people["root"])
    index = client.get("/admin/").content.decode()
    for model in ("account", "clinicaccess", "auditevent", "user"):
        assert f"/admin/web/{model}/" in index or f"/admin/auth/{model}/" in index
    user_page = client.get(f"/admin/auth/user/{people['sam'].pk}/change/").content.decode()
    assert 'id="account-group"' in user_page and 'name="account-0-role"' in user_page
    row = AuditEvent.objects.get(user="sam")
    assert client.get("/admin/web/auditevent/").status_code == 200
    assert client.get("/admin/web/auditevent/add/").status_code == 403
    detail = client.get(f"/admin/web/auditevent/{row.pk}/change/").content.decode()
    assert 'name="_save"' not in detail and 'name="event"' not in detail
    assert client.post(f"/admin/web/auditevent/{row.pk}/delete/", {"post": "yes"}).status_code == 403
    assert AuditEvent.objects.filter(pk=row.pk).exists()


def test_changes_in_the_django_admin_reach_the_audit_log_and_the_role_sets_the_admin_flags(client, people):
    sam = people["sam"]
    client.force_login(people["root"])
    response = client.post(f"/admin/web/account/{sam.account.pk}/change/", {
        "user": sam.pk, "role": ADMIN, "clinics-TOTAL_FORMS": 1, "clinics-INITIAL_FORMS": 1,
        "clinics-MIN_NUM_FORMS": 0, "clinics-MAX_NUM_FORMS": 1000,
        "clinics-0-id": sam.account.clinics.get().pk, "clinics-0-account": sam.account.pk,
        "clinics-0-clinic": CEDAR})
    assert response.status_code == 302, response.content.decode()[:2000]
    sam.refresh_from_db()
    assert sam.is_superuser and sam.is_staff
    row = AuditEvent.objects.get(event="user-changed")
    assert row.user == "root" and row.detail == "account=sam via admin site: role"


def test_the_django_admin_is_for_global_admins_only(client, cedar_admin):
    response = client.get("/admin/")
    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")


def test_the_django_admin_pages_open(client, people):
    client.force_login(people["root"])
    for url in ("/admin/web/account/", f"/admin/web/account/{people['sam'].account.pk}/change/",
                "/admin/web/clinicaccess/", "/admin/web/clinicaccess/add/", "/admin/auth/user/",
                "/admin/auth/user/add/", "/admin/auth/user/?account__role__exact=staff"):
        assert client.get(url).status_code == 200, url
    listing = client.get("/admin/auth/user/").content.decode()
    assert "Clinic staff" in listing and "cedar-hollow-us, fennick-street-uk" in listing
