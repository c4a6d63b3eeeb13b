"""`python build.py users ...` and the first start of `python build.py serve`, run as a newcomer runs them: in a
subprocess, with the data folder (and so the SQLite database) in a temporary folder."""

from __future__ import annotations

import http.cookiejar
import os
import re
import signal
import socket
import sqlite3
import stat
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from conftest import ROOT

GOOD = "a long enough passphrase 61"


def environment(data: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HANDOUTS_") and k != "DJANGO_SETTINGS_MODULE"}
    env.update(PYTHONPATH=str(ROOT), HANDOUTS_DATA_DIR=str(data), **extra)
    return env


def users(data: Path, *args: str, password: str | None = None, **extra: str) -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, str(ROOT / "build.py"), "users", *args], input=password or "",
                          env=environment(data, **extra), cwd=data, capture_output=True, text=True, timeout=120)
    assert "Traceback" not in done.stderr + done.stdout, done.stderr
    return done


def refused(done: subprocess.CompletedProcess, *words: str) -> None:
    """Exit status 2 and one line on standard error that says what is wrong."""
    assert done.returncode == 2, (done.stdout, done.stderr)
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("build.py users")
    for word in words:
        assert word in lines[0], lines[0]


def table(data: Path, sql: str) -> list[tuple]:
    with sqlite3.connect(data / "handouts.sqlite3") as db:
        return db.execute(sql).fetchall()


@pytest.fixture
def data(tmp_path: Path) -> Path:
    folder = tmp_path / "var"
    folder.mkdir()
    return folder


def test_add_list_and_remove_an_account(data):
    added = users(data, "add", "sam", "--role", "staff", "--clinic", "cedar-hollow-us", password=GOOD + "\n")
    assert added.returncode == 0, added.stderr
    assert added.stdout.strip() == "added sam (staff: cedar-hollow-us)"
    assert (data / "handouts.sqlite3").is_file()
    [(hashed,)] = table(data, "SELECT password FROM auth_user WHERE username = 'sam'")
    assert hashed.startswith("argon2$")

    listed = users(data, "list")
    assert listed.returncode == 0 and listed.stdout.splitlines() == ["sam\tstaff\tcedar-hollow-us\tactive"]

    removed = users(data, "remove", "sam")
    assert removed.returncode == 0 and removed.stdout.strip() == "removed sam"
    assert users(data, "list").stdout.strip() == "no accounts yet"
    rows = table(data, "SELECT user, event, clinic, detail FROM web_auditevent ORDER BY id")
    assert [(event, clinic, detail) for _, event, clinic, detail in rows] == [
        ("user-added", "cedar-hollow-us", "account=sam role=staff clinics=cedar-hollow-us"),
        ("user-removed", "cedar-hollow-us", "account=sam")]
    assert all(user.startswith("cli") for user, *_ in rows)
    with sqlite3.connect(data / "handouts.sqlite3") as db:
        assert GOOD not in "\n".join(db.iterdump())


def test_an_unknown_clinic_is_refused_in_one_line(data):
    done = users(data, "add", "sam", "--role", "staff", "--clinic", "nowhere-clinic", password=GOOD)
    refused(done, "nowhere-clinic", "cedar-hollow-us")
    assert table(data, "SELECT username FROM auth_user") == []


def test_an_unknown_role_is_refused_in_one_line(data):
    refused(users(data, "add", "sam", "--role", "boss", "--clinic", "cedar-hollow-us", password=GOOD),
            "--role", "boss")


def test_a_clinic_role_without_a_clinic_is_refused(data):
    refused(users(data, "add", "sam", "--role", "staff", password=GOOD), "at least one clinic")


@pytest.mark.parametrize("weak, why", [("short1", "too short"), ("password1234", "too common"),
                                      ("", "too short"), ("31415926535897", "entirely numeric")])
def test_a_weak_password_is_refused(data, weak, why):
    refused(users(data, "add", "sam", "--role", "staff", "--clinic", "cedar-hollow-us", password=weak + "\n"),
            why, "Nothing changed")
    assert table(data, "SELECT username FROM auth_user") == []


def test_names_are_checked(data):
    assert users(data, "add", "sam", "--role", "reviewer", password=GOOD).returncode == 0
    refused(users(data, "add", "SAM", "--role", "reviewer", password=GOOD), "already an account named 'sam'")
    refused(users(data, "add", "sam smith", "--role", "reviewer", password=GOOD), "valid username")
    refused(users(data, "remove", "nobody"), "no account named 'nobody'")
    refused(users(data, "passwd", "nobody", password=GOOD), "no account named 'nobody'")


def test_set_and_passwd_change_an_account(data):
    users(data, "add", "sam", "--role", "staff", "--clinic", "cedar-hollow-us", password=GOOD)
    [(before,)] = table(data, "SELECT password FROM auth_user")
    changed = users(data, "set", "sam", "--role", "clinic-admin", "--clinic", "cedar-hollow-us",
                    "--clinic", "fennick-street-uk", "--active", "no")
    assert changed.returncode == 0, changed.stderr
    assert users(data, "list").stdout.splitlines() == ["sam\tclinic-admin\tcedar-hollow-us,fennick-street-uk\tinactive"]
    refused(users(data, "passwd", "sam", password="tiny"), "too short")
    assert table(data, "SELECT password FROM auth_user") == [(before,)]
    assert users(data, "passwd", "sam", "--one-time", password="another long passphrase 5").returncode == 0
    [(after,)] = table(data, "SELECT password FROM auth_user")
    assert after != before and after.startswith("argon2$")
    assert table(data, "SELECT must_change_password FROM web_account") == [(1,)]
    assert users(data, "set", "sam", "--role", "admin").returncode == 0
    assert table(data, "SELECT is_superuser, is_staff FROM auth_user") == [(1, 1)]
    events = [e for (e,) in table(data, "SELECT event FROM web_auditevent ORDER BY id")]
    assert events == ["user-added", "user-changed", "user-deactivated", "password-set", "user-changed"]


def test_the_database_url_names_another_database(data, tmp_path):
    other = tmp_path / "elsewhere.sqlite3"
    done = users(data, "add", "sam", "--role", "reviewer", password=GOOD,
                 HANDOUTS_DATABASE_URL=f"sqlite:///{other}")
    assert done.returncode == 0, done.stderr
    assert other.is_file() and not (data / "handouts.sqlite3").exists()


# --- the first start ---------------------------------------------------------------------------------------------

def test_the_first_administrator_has_a_one_time_password(db):
    from django.contrib.auth import get_user_model
    from handouts.web.models import ADMIN, AuditEvent
    from handouts.web.setup import first_administrator
    name, password = first_administrator()
    admin = get_user_model().objects.get(username=name)
    assert admin.is_superuser and admin.account.role == ADMIN and admin.account.must_change_password
    assert admin.check_password(password) and admin.password.startswith("argon2$")
    assert re.fullmatch(r"[A-Za-z2-9]{4}(-[A-Za-z2-9]{4}){3}", password)
    assert first_administrator() is None                     # only on the very first start
    assert password not in str(list(AuditEvent.objects.values_list()))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """`build.py serve` in its own process group, its output collected line by line."""

    def __init__(self, data: Path):
        self.port = free_port()
        self.lines: list[str] = []
        self.process = subprocess.Popen(
            [sys.executable, str(ROOT / "build.py"), "serve", "--port", str(self.port), "--workers", "1"],
            env=environment(data), cwd=data, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            start_new_session=True)
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def ready(self, timeout: float = 120) -> None:
        """Wait until the server answers its sign-in page."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            assert self.process.poll() is None, "\n".join(self.lines)
            try:
                with urllib.request.urlopen(self.url + "/login/", timeout=30) as response:
                    if response.status == 200:
                        return
            except OSError:
                time.sleep(0.5)
        raise AssertionError("the server did not answer:\n" + "\n".join(self.lines))

    def stop(self) -> str:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        time.sleep(0.2)
        return "\n".join(self.lines)


def sign_in(url: str, name: str, password: str) -> str:
    """Sign in as a browser would (the form's CSRF token, cookies); the address the app finally shows."""
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
    page = opener.open(url + "/login/", timeout=60).read().decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    body = urllib.parse.urlencode({"username": name, "password": password, "csrfmiddlewaretoken": token})
    with opener.open(url + "/login/", data=body.encode(), timeout=60) as response:
        return response.url


def test_serve_creates_the_database_and_prints_the_first_administrators_password_once(data):
    first = Server(data)
    try:
        first.ready()
        assert (data / "handouts.sqlite3").is_file()
        assert stat.S_IMODE((data / "secret-key").stat().st_mode) == 0o600
        output = "\n".join(first.lines)
        assert f"Handouts staff app: http://127.0.0.1:{first.port}/" in output
        found = re.search(r"sign in as 'admin' with the one-time password (\S+)", output)
        assert found, output
        password = found.group(1)
        assert sign_in(first.url, "admin", password).endswith("/password/")     # must choose its own first
    finally:
        first_output = first.stop()
    assert "Traceback" not in first_output
    assert first_output.count(password) == 1
    assert password not in str(table(data, "SELECT * FROM web_auditevent"))

    again = Server(data)
    try:
        again.ready()
    finally:
        second_output = again.stop()
    assert f"Handouts staff app: http://127.0.0.1:{again.port}/" in second_output
    assert "one-time password" not in second_output and password not in second_output
    assert len(table(data, "SELECT id FROM auth_user")) == 1
