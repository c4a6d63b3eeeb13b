"""Rebuilds for a scheduled job: only what changed, removals, the lock, kills at any moment, delivery, watch."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pikepdf
import pytest
from filelock import FileLock

from conftest import ROOT, TODAY
from handouts import builder
from handouts.deliver import deliver
from handouts.plan import Selection
from handouts.publish import Manifest, sha256, write_atomic
from handouts.watch import watch

UK_SCREEN = Selection(clinic="fennick-street-uk", variant="screen")


def build(project: Path, selection: Selection = UK_SCREEN, jobs: int = 1) -> builder.Outcome:
    return builder.build(project, project / "output", selection, TODAY, jobs=jobs)


def cli(project: Path, *args: str, **kwargs) -> subprocess.Popen | subprocess.CompletedProcess:
    command = [sys.executable, str(ROOT / "build.py"), "--root", str(project), "--today", TODAY.isoformat(), *args]
    return subprocess.run(command, capture_output=True, text=True, **kwargs)


def consistent(output: Path, exported: bool = True) -> dict[str, str]:
    """Every manifest entry (in the store, the truth) matches its file, and every PDF in place is complete; when
    the last run ended by its own way out (not killed outright), manifest.json is what the store holds. Returns
    path -> sha256."""
    stored = [vars(entry) for _, entry in sorted(Manifest.load(output).entries.items())]
    for doc in stored:
        assert sha256((output / doc["path"]).read_bytes()) == doc["sha256"], doc["path"]
    if exported:
        assert json.loads((output / "manifest.json").read_text())["documents"] == stored
    found = {}
    for pdf in output.rglob("*.pdf"):
        with pikepdf.open(pdf) as opened:           # raises on a truncated file
            assert len(opened.pages) >= 1
        found[str(pdf.relative_to(output))] = sha256(pdf.read_bytes())
    return found


def append(file: Path, text: str) -> None:
    file.write_text(file.read_text() + text)


# --- what gets rebuilt --------------------------------------------------------------------------------------

def test_second_build_renders_nothing(project: Path) -> None:
    first = build(project)
    assert len(first.added) == 20 and first.ok
    second = build(project)
    assert second.built == [] and len(second.unchanged) == 20 and second.ok


def test_changed_block_rebuilds_exactly_its_users(project: Path) -> None:
    build(project)
    append(project / "content/en/shared/trial-eligibility.md", "\nAsk us about trials.\n")   # online research only
    outcome = build(project)
    assert sorted(outcome.changed) == sorted(f"fennick-street-uk/en/{c}-evidence-screen.pdf" for c in (
        "acne-scars", "wrinkles-ageing-skin", "burns-wounds", "inflammatory-conditions", "pigmentation-disorders"))
    append(project / "content/en/acne-scars/condition-risks.md", "\nAsk us what to expect.\n")  # one leaflet
    assert sorted(build(project).changed) == ["fennick-street-uk/en/acne-scars-evidence-screen.pdf",  # its sources
                                              "fennick-street-uk/en/acne-scars-leaflet-screen.pdf"]


def test_changed_template_rebuilds_exactly_its_users(project: Path) -> None:
    build(project, Selection(clinic="fennick-street-uk"))
    append(project / "templates/leaflet.html", "{# a note #}\n")
    outcome = build(project, Selection(clinic="fennick-street-uk"))
    assert len(outcome.changed) == 15 and all("-leaflet-" in p for p in outcome.changed)
    append(project / "templates/large-print.css", "/* a note */\n")
    outcome = build(project, Selection(clinic="fennick-street-uk"))
    assert len(outcome.changed) == 15 and all(p.endswith("-large-print.pdf") for p in outcome.changed)


def test_removed_source_removes_its_outputs(project: Path) -> None:
    build(project)
    catalogue = project / "content/catalogue.yaml"
    catalogue.write_text(catalogue.read_text().replace("  - burns-wounds\n", ""))
    outcome = build(project)
    assert sorted(outcome.removed) == [f"fennick-street-uk/en/burns-wounds-{kind}-screen.pdf"
                                       for kind in ("consent", "evidence", "leaflet", "summary")]
    assert not list((project / "output").rglob("burns-wounds-*"))
    assert "burns-wounds" not in (project / "output/manifest.json").read_text()


def test_parallel_build_gives_the_same_bytes(project: Path) -> None:
    serial = build(project, jobs=1)
    files = consistent(project / "output")
    for name in (Manifest.NAME, Manifest.STORE):
        (project / "output" / name).unlink()            # every document is built again
    parallel = build(project, jobs=2)
    assert sorted(parallel.added) == sorted(serial.added)
    assert consistent(project / "output") == files
    assert 0 < parallel.peak_worker_mb < 1000


# --- under a scheduler --------------------------------------------------------------------------------------

def test_second_run_is_refused_while_the_lock_is_held(project: Path) -> None:
    output = project / "output"
    output.mkdir()
    with FileLock(output / ".lock"):
        started = time.monotonic()
        result = cli(project, "--variant", "screen", "--clinic", "fennick-street-uk", "--wait", "1")
        assert result.returncode == 3
        assert time.monotonic() - started >= 1
        assert "another run is using" in result.stderr
    result = cli(project, "--variant", "screen", "--clinic", "fennick-street-uk", "--condition", "acne-scars")
    assert result.returncode == 0, result.stderr


def test_log_lines_are_timestamped_when_not_on_a_terminal(project: Path) -> None:
    result = cli(project, "--variant", "screen", "--clinic", "fennick-street-uk", "--condition", "acne-scars")
    lines = result.stderr.strip().splitlines()
    assert lines and all(re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (INFO|WARNING|ERROR) ", l) for l in lines)
    assert lines[-1].endswith("4 added, 0 changed, 0 removed, 0 unchanged, 0 failed")
    report = json.loads(cli(project, "--variant", "screen", "--clinic", "fennick-street-uk", "--condition",
                            "acne-scars", "--report", "json").stdout)
    assert report["ok"] and report["unchanged"] == 4 and report["added"] == []


@pytest.mark.parametrize("delay", [0.8, 2.0, 3.5])
def test_killed_build_leaves_old_or_new_files_and_a_true_manifest(project: Path, tmp_path: Path,
                                                                  delay: float) -> None:
    args = ["--clinic", "fennick-street-uk", "--variant", "screen", "--jobs", "2"]
    assert cli(project, *args).returncode == 0
    old = consistent(project / "output")
    append(project / "templates/print.css", "/* new */\n")          # every document changes
    reference = tmp_path / "reference"
    assert builder.build(project, reference, UK_SCREEN, TODAY).ok
    new = {path: sha256((reference / path).read_bytes()) for path in old}
    assert all(new[p] != old[p] for p in old)

    command = [sys.executable, str(ROOT / "build.py"), "--root", str(project), "--today", TODAY.isoformat(), *args]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               start_new_session=True)
    time.sleep(delay)
    os.killpg(process.pid, signal.SIGKILL)                          # the build and its workers
    process.wait()

    after = consistent(project / "output", exported=False)      # killed outright: no way out ran
    assert set(after) == set(old)
    assert all(after[p] in (old[p], new[p]) for p in after)
    repaired = cli(project, *args)
    assert repaired.returncode == 0, repaired.stderr
    assert consistent(project / "output") == new
    assert not list((project / "output").rglob(".*.tmp"))


# --- delivery -----------------------------------------------------------------------------------------------

def test_delivery_carries_only_changed_print_masters(project: Path) -> None:
    output = project / "output"
    build(project, Selection(clinic="cedar-hollow-us", language="en", condition="acne-scars"))
    first = deliver(output, TODAY, project)
    assert first.new == [f"cedar-hollow-us/en/acne-scars-{kind}-print.pdf" for kind in ("consent", "leaflet", "summary")]
    with zipfile.ZipFile(first.zip_path) as bundle:
        assert sorted(bundle.namelist()) == sorted(["manifest.json", "CHANGES.txt", *first.new])
        assert "new print master" in bundle.read("CHANGES.txt").decode()

    second = deliver(output, TODAY, project)
    assert second.empty and second.number == 2
    with zipfile.ZipFile(second.zip_path) as bundle:
        assert sorted(bundle.namelist()) == ["CHANGES.txt", "manifest.json"]
        assert "Nothing has changed" in bundle.read("CHANGES.txt").decode()

    append(project / "content/en/acne-scars/consent-diagnosis.md", "\nWe will tell you about new studies.\n")
    build(project, Selection(clinic="cedar-hollow-us", language="en", condition="acne-scars"))
    third = deliver(output, TODAY, project)
    assert third.changed == ["cedar-hollow-us/en/acne-scars-consent-print.pdf"] and third.new == []
    with zipfile.ZipFile(third.zip_path) as bundle:
        assert "changed: content/en/acne-scars/consent-diagnosis.md" in bundle.read("CHANGES.txt").decode()


def test_deliver_twice_from_the_command_line_says_nothing_changed(project: Path) -> None:
    assert cli(project, "--clinic", "cedar-hollow-us", "--language", "en", "--condition", "burns-wounds",
               "--variant", "print").returncode == 0
    assert "3 new" in cli(project, "deliver").stdout          # summary, leaflet and consent form
    result = cli(project, "deliver")
    assert result.returncode == 0 and "nothing changed since the last delivery" in result.stdout


def test_interrupted_delivery_leaves_no_temporary_file_and_keeps_every_zip(project: Path) -> None:
    output = project / "output"
    build(project, Selection(clinic="cedar-hollow-us", condition="acne-scars", variant="print"))
    orphan = output / "deliveries/delivery-0001-2026-11-24.zip"   # not a delivery this tool can read
    orphan.parent.mkdir(parents=True)
    orphan.write_bytes(b"PK")
    partial = output / "deliveries/.delivery-0001-2026-11-24.zip.abcd_123.tmp"   # as write_atomic names them
    partial.write_bytes(b"PK")
    delivery = deliver(output, dt.date(2026, 11, 25), project)
    assert orphan.read_bytes() == b"PK" and delivery.number == 2        # kept, never deleted; numbers go on
    assert any(str(orphan) in p.format() for p in delivery.problems)
    assert sorted(p.name for p in (output / "deliveries").glob("*.zip")) == [
        "delivery-0001-2026-11-24.zip", "delivery-0002-2026-11-25.zip"]
    assert not partial.exists()


# --- watch --------------------------------------------------------------------------------------------------

def test_watch_rebuilds_after_each_change(project: Path) -> None:
    calls: list[int] = []
    block = project / "content/en/acne-scars/evidence.md"

    def changes():
        append(block, "\nIt is a miracle.\n")
        yield {(2, str(block))}

    def rebuild() -> None:
        outcome = builder.check(project, Selection(), TODAY, strict=False)
        calls.append(sum(p.rule == "overclaim" for p in outcome.problems))

    watch(project, rebuild, changes())
    assert calls == [0, 1]


def test_watch_command_reports_content_errors_as_they_happen(project: Path) -> None:
    command = [sys.executable, str(ROOT / "build.py"), "watch", "--root", str(project), "--today", TODAY.isoformat(),
               "--clinic", "fennick-street-uk", "--condition", "acne-scars", "--variant", "screen", "--jobs", "1"]
    process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True, start_new_session=True)
    seen: list[str] = []
    try:
        for line in _lines(process, seconds=90):
            seen.append(line)
            if "watching" in line:
                append(project / "content/en/acne-scars/evidence.md", "\nIt is a miracle.\n")
            if "overclaim" in line:
                break
        assert any("content/en/acne-scars/evidence.md" in l and "overclaim" in l for l in seen), seen
    finally:
        os.killpg(process.pid, signal.SIGINT)
        process.wait(timeout=20)


def _lines(process: subprocess.Popen, seconds: float):
    """The process's standard-error lines, until it ends or the time is up."""
    import selectors
    deadline = time.monotonic() + seconds
    with selectors.DefaultSelector() as selector:
        selector.register(process.stderr, selectors.EVENT_READ)
        while time.monotonic() < deadline:
            if selector.select(timeout=max(0.0, deadline - time.monotonic())):
                line = process.stderr.readline()
                if not line:
                    return
                yield line


def test_outputs_are_readable_by_others_and_leave_no_temporary_file(tmp_path: Path) -> None:
    written = write_atomic(tmp_path, "clinic/en/leaflet.pdf", b"%PDF-1.7")
    assert written.read_bytes() == b"%PDF-1.7"
    assert written.stat().st_mode & 0o777 == 0o644           # a print shop's or web server's account reads them
    assert [p.name for p in written.parent.iterdir()] == ["leaflet.pdf"]
