"""End-to-end tests of the staff web app: the real server (gunicorn, `build.py serve`) and Debian's Chromium driven
by Playwright. Every test in this folder is marked `e2e` (`pytest -m e2e` runs only these, `-m "not e2e"` skips
them); nothing here starts unless one of them is selected.

Adding a page test (a new file tests/web_e2e/test_<page>.py):

    from web_e2e.harness import login, look

    def test_library_lists_documents(server, page):
        password = server.add_user("lib-staff", "staff", ["cedar-hollow-us"])     # build.py users add
        login(page, "lib-staff", password)
        page.goto("/")                                                  # page's base_url is the server
        ...assertions on the page...
        look(page, "library")       # test-results/screenshots/library.png, and no serious/critical axe violation

Fixtures:
- `server` (session): one server for the whole run, reading the session build `built`. `server("/x/")` is the
  absolute URL, `server.logs()` its stdout and stderr so far, `server.data_dir` its folder (SQLite database, secret
  key, logs), `server.add_user(name, role, clinics)` runs `build.py users add` and returns the password,
  `server.reset_lockouts()`, `server.python(code)` runs Python in its environment (settings, database) and returns
  what it printed, `server.admin_password`.
- `staff` (session): Account(name, password), a staff account of cedar-hollow-us on `server`, made once.
- `page`: a page in a fresh browser context (no cookies) whose relative URLs go to `server`; `open_page(other)`
  opens one for another server (`open_page(server, viewport=...)`: with other context options). A page fails its test at teardown when the browser reported a
  Content-Security-Policy violation or an uncaught script error on it.
- `idle_server` (session): a second server whose sessions end after harness.IDLE_SECONDS; started only when a test
  asks for it. `delivery_server` (session): a server over a copy of the build with one delivery made in it (the
  print shop's page); started only when a test asks for it. `browser` (session): Debian's Chromium.
Helpers (web_e2e.harness): login(page, name, password), signed_in_as(page), shot(page, name), axe_check(page),
look(page, name) = shot + axe_check, look_with_pdf(page, name) for a page with a PDF in a frame, follow(page, link)
for a click that opens such a page, focus_ring(page), tab_until(page, done) (Tab until done(focus_ring) holds),
ring_shown(stop).

Account names are global to the session's server: give each test its own. Sign-in failures count against the
address 127.0.0.1 that every test shares (5 in 15 minutes pause signing in for everyone): a test that fails
sign-ins on purpose calls `server.reset_lockouts()` when it is done.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from conftest import ROOT, TODAY
from handouts.deliver import deliver
from web_e2e import harness

HERE = Path(__file__).resolve().parent


@pytest.hookimpl(tryfirst=True)          # before `-m` deselects by marker
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in Path(item.path).resolve().parents:
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def server(built, tmp_path_factory: pytest.TempPathFactory):
    """The app as `make serve` runs it (2 workers), over the session's build of every document."""
    running = harness.start_server(tmp_path_factory.mktemp("web-server"), built.output, TODAY.isoformat())
    yield running
    running.stop()


@pytest.fixture(scope="session")
def staff(server) -> harness.Account:
    """A staff account of cedar-hollow-us on `server`, made once (each `build.py users add` costs seconds): for
    tests that need someone signed in and change nothing about the account."""
    return harness.Account("e2e-staff", server.add_user("e2e-staff", "staff", ["cedar-hollow-us"]))


@pytest.fixture(scope="session")
def idle_server(built, tmp_path_factory: pytest.TempPathFactory):
    """A second server whose sessions end after harness.IDLE_SECONDS idle: the main one keeps the real 30 minutes,
    so that a slow step (a PDF, axe) never signs a test out."""
    running = harness.start_server(tmp_path_factory.mktemp("web-idle-server"), built.output, TODAY.isoformat(),
                                   workers=1, idle_seconds=harness.IDLE_SECONDS)
    yield running
    running.stop()


@pytest.fixture(scope="session")
def delivery_server(built, tmp_path_factory: pytest.TempPathFactory):
    """A server over a copy of the session build in which one delivery of print masters has been made (what
    `build.py deliver` does): the print shop's page has something to show, and the session build stays exactly as
    built for every other test of the session. Started only when a test asks for it."""
    output = tmp_path_factory.mktemp("delivered-output")
    shutil.copytree(built.output, output, dirs_exist_ok=True)
    made = deliver(output, TODAY, ROOT)
    assert made.new and not made.problems, made
    running = harness.start_server(tmp_path_factory.mktemp("web-delivery-server"), output, TODAY.isoformat(),
                                   workers=1)
    yield running
    running.stop()


@pytest.fixture(scope="session")
def browser():
    os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
    from playwright.sync_api import sync_playwright
    driver = sync_playwright().start()
    try:
        launched = harness.launch(driver)
        yield launched
        launched.close()
    finally:
        driver.stop()


@pytest.fixture
def open_page(browser):
    """open_page(server, **options) -> a page in a new browser context (no cookies) whose relative URLs go to
    `server`; `options` are Playwright's context options (a phone's viewport, say).
    At teardown, fails on any Content-Security-Policy violation or uncaught script error the page reported."""
    contexts, problems = [], []

    def open_(target: harness.Server, **options):
        context = browser.new_context(**{"base_url": target.url, "viewport": {"width": 1280, "height": 800},
                                         **options})
        contexts.append(context)
        page = context.new_page()
        page.on("console", lambda message: problems.append(f"{page.url}: {message.text}")
                if message.type == "error" and "Content Security Policy" in message.text else None)
        page.on("pageerror", lambda error: problems.append(f"{page.url}: script error: {error}"))
        return page

    yield open_
    for context in contexts:
        context.close()
    if problems:
        pytest.fail("the browser reported:\n" + "\n".join(problems))


@pytest.fixture
def page(open_page, server):
    return open_page(server)

