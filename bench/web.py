"""The benchmark's web section: the staff app under gunicorn on 127.0.0.1, measured against the warm printer.

- warm print: one consent form filled in by the pipeline's Personaliser in this process, already warm (content
  loaded, WeasyPrint imported, fonts and stylesheets parsed): the median of several;
- one member of staff: the median time from sending the form to the last byte of the PDF, one request at a time,
  against the app started by `build.py serve` (a scratch data folder; one account made by `build.py users add`);
- 16 members of staff for 60 seconds, each signed in with their own session, each sending the form again as soon
  as a PDF arrives: errors and PDFs per second, against the floor (cores / warm print time).

The load stays on loopback: it never leaves 127.0.0.1.
"""

from __future__ import annotations

import datetime as dt
import http.cookiejar
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from handouts import builder  # noqa: E402
from handouts.models import validate_patient  # noqa: E402
from handouts.plan import Selection  # noqa: E402

# Targets, from the issue that asked for the web section.
REQUEST_OVER_PRINT = 1.25
THROUGHPUT_OVER_FLOOR = 0.8
STAFF = 16
LOAD_SECONDS = 60.0

CLINIC, LANGUAGE, CONDITION, KIND, VARIANT = "cedar-hollow-us", "en", "acne-scars", "consent", "print"
DETAILS = {"name": "Rosalind Fictional-Sample", "date_of_birth": "1970-04-12",
           "procedure": "MSC injections into acne scars on both cheeks, within a clinical trial",
           "procedure_date": "2026-12-14", "clinician": "Dr Example Clinician",
           "first_consultation": "2026-11-02", "leaflet_given": "2026-11-02"}
PASSWORD = "bench password that is long enough 7"
TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def warm_print(today: dt.date, rounds: int) -> float:
    """Median seconds of one filled-in consent form from a warm Personaliser, in this process."""
    personaliser = builder.Personaliser(ROOT)
    personaliser.warm(today)
    patient, problems = validate_patient(DETAILS, "bench/web.py", today)     # as the app reads its form
    if patient is None:
        raise SystemExit(f"the benchmark's details are refused: {[p.format() for p in problems]}")
    selection = Selection(CLINIC, LANGUAGE, CONDITION, KIND, VARIANT)
    times = []
    for _ in range(rounds + 1):
        start = time.perf_counter()
        pdf, problems = personaliser.personalise(selection, today, patient)
        times.append(time.perf_counter() - start)
        if pdf is None:
            raise SystemExit(f"the warm print failed: {[p.format() for p in problems]}")
    return statistics.median(times[1:])


class Staff:
    """One member of staff in a browser: their own cookies, signed in once."""

    def __init__(self, base: str, name: str):
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))
        page = self._get("/login/")
        self._post("/login/", {"username": name, "password": PASSWORD, "next": "/",
                               "csrfmiddlewaretoken": TOKEN.search(page).group(1)})
        self.url = f"/personalise/{CLINIC}/{LANGUAGE}/{CONDITION}/{KIND}/{VARIANT}/"
        form = self._get(self.url)
        found = TOKEN.search(form)
        if found is None:
            raise SystemExit(f"the personalise form did not open for {name}")
        self.token = found.group(1)

    def _get(self, path: str) -> str:
        with self.opener.open(self.base + path, timeout=300) as response:
            return response.read().decode()

    def _post(self, path: str, fields: dict) -> tuple[int, str, bytes]:
        data = urllib.parse.urlencode(fields).encode()
        request = urllib.request.Request(self.base + path, data=data, headers={"Referer": self.base + path})
        try:
            with self.opener.open(request, timeout=300) as response:
                return response.status, response.headers.get("Content-Type", ""), response.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.headers.get("Content-Type", ""), exc.read()

    def consent_form(self) -> float:
        """Seconds from sending the form to the PDF's last byte; raises when no PDF came back."""
        start = time.perf_counter()
        status, kind, body = self._post(self.url, {**DETAILS, "action": "download",
                                                   "csrfmiddlewaretoken": self.token})
        seconds = time.perf_counter() - start
        if status != 200 or kind != "application/pdf" or not body.startswith(b"%PDF-"):
            raise RuntimeError(f"HTTP {status} {kind}")
        return seconds


def _server(scratch: Path, workers: int, today: dt.date) -> tuple[subprocess.Popen, str, dict]:
    env = {**os.environ, "HANDOUTS_DATA_DIR": str(scratch / "data"), "HANDOUTS_OUTPUT": str(scratch / "output"),
           "HANDOUTS_TODAY": today.isoformat()}
    env.pop("HANDOUTS_DATABASE_URL", None)
    port = _free_port()
    log = open(scratch / "server.log", "w")
    server = subprocess.Popen([sys.executable, str(ROOT / "build.py"), "serve", "--host", "127.0.0.1",
                               "--port", str(port), "--workers", str(workers)], env=env, stdout=log,
                              stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        try:
            urllib.request.urlopen(base + "/login/", timeout=5).read()
            break
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"the app did not start: see {scratch / 'server.log'}")
            time.sleep(0.3)
    return server, base, env


def run(row, cores: int, today: dt.date, rounds: int = 5) -> None:
    """Measure, printing each figure through `row(name, figure, target, ok)`."""
    print_s = warm_print(today, rounds * 2)
    row("warm print of a consent form", f"{print_s * 1000:.0f} ms")
    floor = cores / print_s
    with tempfile.TemporaryDirectory(prefix="handouts-bench-web-") as scratch_name:
        scratch = Path(scratch_name)
        server, base, env = _server(scratch, cores, today)
        try:
            for number in range(STAFF):
                subprocess.run([sys.executable, str(ROOT / "build.py"), "users", "add", f"staff{number:02d}",
                                "--role", "staff", "--clinic", CLINIC], input=PASSWORD + "\n", text=True,
                               env=env, check=True, stdout=subprocess.DEVNULL)
            one = Staff(base, "staff00")
            for _ in range(cores * 2):          # every server process has printed once
                one.consent_form()
            times = [one.consent_form() for _ in range(rounds * 2)]
            request_s = statistics.median(times)
            row("one request, send to last byte", f"{request_s * 1000:.0f} ms (median of {len(times)})")
            row("  request / warm print", f"{request_s / print_s:.2f} x", f"<= {REQUEST_OVER_PRINT} x",
                request_s / print_s <= REQUEST_OVER_PRINT)

            staff = [one] + [Staff(base, f"staff{number:02d}") for number in range(1, STAFF)]
            done: list[float] = []
            errors: list[str] = []
            lock = threading.Lock()
            start = time.perf_counter()
            deadline = start + LOAD_SECONDS

            def work(member: Staff) -> None:
                while time.perf_counter() < deadline:
                    try:
                        member.consent_form()
                    except Exception as exc:      # counted and reported: the target is no error at all
                        with lock:
                            errors.append(f"{type(exc).__name__}: {exc}")
                        continue
                    with lock:
                        done.append(time.perf_counter())

            threads = [threading.Thread(target=work, args=(member,)) for member in staff]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            in_window = [t for t in done if t <= deadline]
            throughput = len(in_window) / LOAD_SECONDS
            row(f"{STAFF} staff for {LOAD_SECONDS:.0f} s", f"{len(done)} PDFs, {len(errors)} errors",
                "no error", not errors)
            if errors:
                print("   first error:", errors[0], flush=True)
            row("  PDFs per second (in the minute)", f"{throughput:.2f}/s")
            row("  floor: cores / warm print", f"{floor:.2f}/s")
            row("  throughput / floor", f"{throughput / floor:.2f} x", f">= {THROUGHPUT_OVER_FLOOR} x",
                throughput / floor >= THROUGHPUT_OVER_FLOOR)
        finally:
            server.terminate()
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
