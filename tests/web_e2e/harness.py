"""The end-to-end harness: the real server (`build.py serve`, gunicorn) in a subprocess, and helpers for pages in
Debian's Chromium driven by Playwright. Fixtures are in conftest.py; how to add a page test is in its docstring."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path

import pytest

from conftest import PASSWORD

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "test-results" / "screenshots"
CHROMIUM = "/usr/bin/chromium"          # Debian's package (Makefile SYSTEM_PACKAGES); Playwright downloads nothing
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
BLOCKING = ("serious", "critical")      # axe impacts that fail a page
IDLE_SECONDS = 4        # the idle server's session lifetime: long enough to sign in, short enough to wait out


@dataclass(frozen=True)
class Account:
    name: str
    password: str


# --- the server ----------------------------------------------------------------------------------------------------

@dataclass
class Server:
    """One running `build.py serve` with its own data folder (SQLite database, secret key) and its logs."""
    url: str
    env: dict[str, str]
    data_dir: Path
    stdout: Path
    stderr: Path
    admin_password: str                 # the first start's one-time password, as printed
    process: subprocess.Popen = field(repr=False)

    def __call__(self, path: str) -> str:
        """The absolute URL of `path` on this server."""
        return self.url + path

    def logs(self) -> str:
        """Everything the server has written so far (access log, errors, audit lines)."""
        return "\n".join(p.read_text(encoding="utf-8", errors="replace") for p in (self.stdout, self.stderr))

    def manage(self, *args: str, password: str | None = None) -> str:
        """`python build.py ARGS` against this server's database; its output, or a failure naming it."""
        done = subprocess.run([sys.executable, str(ROOT / "build.py"), *args], cwd=ROOT, env=self.env,
                              input="" if password is None else password + "\n", capture_output=True, text=True,
                              timeout=120)
        if done.returncode != 0:
            pytest.fail(f"build.py {' '.join(args)} exited {done.returncode}:\n{done.stdout}{done.stderr}")
        return done.stdout

    def add_user(self, name: str, role: str, clinics: tuple[str, ...] | list[str] = (),
                 password: str | None = None) -> str:
        """An account made with `build.py users add` (the password on standard input); returns the password."""
        password = password or PASSWORD
        self.manage("users", "add", name, "--role", role, *[a for c in clinics for a in ("--clinic", c)],
                    password=password)
        return password

    def python(self, code: str) -> str:
        """Run Python `code` in the server's environment (its settings, database); what it printed."""
        done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=self.env, capture_output=True, text=True,
                              timeout=120)
        if done.returncode != 0:
            pytest.fail(f"python in the server's environment exited {done.returncode}:\n{done.stdout}{done.stderr}")
        return done.stdout

    def reset_lockouts(self) -> None:
        """Forget every failed sign-in (django-axes). All tests share the address 127.0.0.1, which is throttled
        too: a test that fails sign-ins on purpose calls this so that later tests can still sign in."""
        self.python(_AXES_RESET)

    def stop(self) -> None:
        """Terminate (gunicorn stops its workers), then kill whatever of its process group is still there."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                pass
        _kill(self.process)


def _kill(process: subprocess.Popen) -> None:
    """SIGKILL to the server's own process group (gunicorn and its workers; start_new_session made it)."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait(timeout=20)


_AXES_RESET = ("from handouts.web.setup import django_ready; django_ready(); "
               "from axes.utils import reset; reset()")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def server_env(data_dir: Path, output: Path, today: str, idle_seconds: int | None) -> dict[str, str]:
    """The environment of the server and of `build.py users`: nothing from the caller's HANDOUTS_* settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HANDOUTS_")}
    env.update(HANDOUTS_DATA_DIR=str(data_dir), HANDOUTS_OUTPUT=str(output), HANDOUTS_TODAY=today,
               DJANGO_SETTINGS_MODULE="handouts.web.settings", PYTHONUNBUFFERED="1")
    if idle_seconds is not None:
        env["HANDOUTS_IDLE_SECONDS"] = str(idle_seconds)
    return env


def start_server(data_dir: Path, output: Path, today: str, *, workers: int = 2,
                 idle_seconds: int | None = None, timeout: float = 120) -> Server:
    """`build.py serve` on a free loopback port; returns once the login page answers 200."""
    data_dir.mkdir(parents=True, exist_ok=True)
    env = server_env(data_dir, output, today, idle_seconds)
    port = _free_port()
    stdout, stderr = data_dir / "server.stdout.log", data_dir / "server.stderr.log"
    with stdout.open("wb") as out, stderr.open("wb") as err:
        process = subprocess.Popen([sys.executable, str(ROOT / "build.py"), "serve", "--host", "127.0.0.1",
                                    "--port", str(port), "--workers", str(workers)],
                                   cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                   start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            pytest.fail(f"build.py serve exited {process.returncode} before answering:\n"
                        f"{stdout.read_text()}{stderr.read_text()}")
        try:
            with urllib.request.urlopen(url + "/login/", timeout=5) as answer:
                if answer.status == 200:
                    break
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        if time.monotonic() > deadline:
            _kill(process)
            pytest.fail(f"build.py serve did not answer within {timeout:.0f} s:\n"
                        f"{stdout.read_text()}{stderr.read_text()}")
        time.sleep(0.2)
    printed = re.search(r"one-time password (\S+)", stdout.read_text())
    if printed is None:
        _kill(process)
        pytest.fail(f"the first start printed no one-time password:\n{stdout.read_text()}")
    return Server(url=url, env=env, data_dir=data_dir, stdout=stdout, stderr=stderr,
                  admin_password=printed.group(1), process=process)


# --- the browser ---------------------------------------------------------------------------------------------------

def chromium_version() -> str:
    """What Debian's chromium says it is, e.g. 'Chromium 156.0.8078.108 built on Debian ...'."""
    if not Path(CHROMIUM).exists():
        return "no browser"
    done = subprocess.run([CHROMIUM, "--version"], capture_output=True, text=True, timeout=60)
    return done.stdout.strip() or f"unknown ({done.stderr.strip()[:200]})"


def playwright_version() -> str:
    """'playwright 1.x.y (built for Chromium N)', from the package's own browsers.json."""
    import json
    import playwright
    listed = Path(playwright.__file__).parent / "driver" / "package" / "browsers.json"
    built_for = "?"
    if listed.exists():
        built_for = next((b["browserVersion"] for b in json.loads(listed.read_text())["browsers"]
                          if b["name"] == "chromium"), "?")
    return f"playwright {version('playwright')} (built for Chromium {built_for})"


def mismatch(exc: BaseException) -> str:
    """The loud message when Playwright cannot drive Debian's Chromium."""
    return (f"Playwright cannot drive this Chromium: {playwright_version()} against {CHROMIUM}: "
            f"{chromium_version()}.\nPin pyproject.toml's playwright to a release whose protocol this Chromium "
            f"speaks (or update the Debian package).\nThe error: {type(exc).__name__}: {exc}")


def launch(playwright):
    """Debian's Chromium, headless, with a fresh temporary profile (Playwright makes an empty --user-data-dir)."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium package (`make setup` does)")
    try:
        return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
    except Exception as exc:        # noqa: BLE001 - any failure here is the mismatch the message explains
        pytest.fail(mismatch(exc))


# --- helpers for tests ---------------------------------------------------------------------------------------------

def login(page, name: str, password: str):
    """Sign in through the login form as a person would; returns the response of the page it lands on. Does not
    assert success: a test of a wrong password uses it too."""
    page.goto("/login/")
    page.get_by_label("Username").fill(name)
    page.get_by_label("Password").fill(password)
    with page.expect_navigation() as landed:
        page.get_by_role("button", name="Sign in").click()
    return landed.value


def signed_in_as(page) -> str | None:
    """The user name the page's header shows, or None when no one is signed in."""
    who = page.locator("header .who span")
    return who.inner_text().split(" · ")[0].strip() if who.count() else None


def shot(page, name: str) -> Path:
    """A full-page PNG of what the browser shows, as test-results/screenshots/<name>.png (the tests' output)."""
    if not re.fullmatch(r"[a-z0-9][a-z0-9-]*", name):
        raise ValueError(f"screenshot name {name!r}: use lower-case letters, digits and hyphens")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def axe_check(page) -> dict:
    """Run axe-core in the page; fail listing every serious or critical violation. Returns axe's whole result."""
    from axe_playwright_python.sync_playwright import Axe
    results = Axe().run(page).response
    blocking = [v for v in results["violations"] if v.get("impact") in BLOCKING]
    if blocking:
        lines = [f"axe: {len(blocking)} serious or critical violation(s) on {page.url}:"]
        for v in blocking:
            lines.append(f"- {v['id']} ({v['impact']}): {v['help']} <{v['helpUrl']}>")
            for node in v["nodes"][:5]:
                why = " ".join(node.get("failureSummary", "").split())
                lines.append(f"    {', '.join(map(str, node['target']))}: {why}")
        pytest.fail("\n".join(lines))
    return results


def look(page, name: str) -> dict:
    """What every page of the app gets: a screenshot and the accessibility check."""
    shot(page, name)
    return axe_check(page)


def look_with_pdf(page, name: str, *, draw_ms: int = 2500) -> dict:
    """look() at a page that shows a PDF in a frame. Chromium's PDF viewer draws only part of its page when a
    full-page screenshot resizes the window, so the window is made as tall as the page first, and the viewer is
    given time to draw; then the window is as it was."""
    size = page.viewport_size
    page.set_viewport_size({"width": size["width"],
                            "height": max(size["height"], page.evaluate("document.documentElement.scrollHeight"))})
    page.wait_for_timeout(draw_ms)
    try:
        return look(page, name)
    finally:
        page.set_viewport_size(size)


def focus_ring(page) -> dict:
    """The focused element (tag, id, name, href, text) with its computed outline and whether :focus-visible and
    :focus match (a date field is the active element, not :focus, while its calendar button has the focus)."""
    return page.evaluate("""() => {
        const e = document.activeElement, s = getComputedStyle(e);
        return {tag: e.tagName.toLowerCase(), id: e.id, name: e.getAttribute('name') || '',
                href: e.getAttribute('href') || '', focus: e.matches(':focus'),
                text: (e.innerText || '').trim(), visible: e.matches(':focus-visible'),
                style: s.outlineStyle, width: parseFloat(s.outlineWidth) || 0, color: s.outlineColor};
    }""")


def tab_until(page, done, limit: int = 60) -> list[dict]:
    """Press Tab until `done(focus_ring(page))` is true; every stop's focus_ring, the last one the stop that was
    done. Fails naming the stops when `limit` presses do not get there."""
    stops = []
    for _ in range(limit):
        page.keyboard.press("Tab")
        stops.append(focus_ring(page))
        if done(stops[-1]):
            return stops
    pytest.fail(f"{limit} presses of Tab did not get there; the stops were: "
                + ", ".join(s["id"] or s["href"] or s["text"][:40] or s["tag"] for s in stops))


def ring_shown(stop: dict) -> bool:
    """A focus_ring stop has a visible focus indicator: :focus-visible matches and a solid outline 2 px or wider."""
    return stop["visible"] and stop["style"] not in ("none", "hidden") and stop["width"] >= 2


def follow(page, link) -> None:
    """Click `link` and wait for the page it opens to load. For links to a page with a PDF in a frame (a document's
    page): Chromium's PDF viewer navigates a frame of its own, which Playwright's click can wait on for ever, so the
    click does not wait and expect_navigation() does."""
    with page.expect_navigation():
        link.click(no_wait_after=True)
