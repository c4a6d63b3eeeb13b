"""A build stopped part-way by SIGTERM, SIGINT or SIGHUP: exit 128 + the signal, one line and no traceback, no
process of the build left (workers, fork server, resource tracker), no temporary file, a manifest (its store, and
the manifest.json exported from it on the way out) that agrees with the files, the lock released, and a rerun
that builds the rest."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import ROOT
from handouts.publish import Manifest

SELECTION = ["--clinic", "fennick-street-uk", "--kind", "leaflet", "--variant", "screen"]    # five documents
DOCUMENTS = 5
MESSAGE = re.compile(r"build\.py: interrupted by (SIG[A-Z]+); (\d+) documents? (?:was|were) published, "
                     r"the rest will be built by the next run")


def command(project: Path) -> list[str]:
    return [sys.executable, str(ROOT / "build.py"), "--root", str(project), "--today", "2026-11-24", "--jobs", "2",
            *SELECTION]


def manifest(output: Path) -> list[dict]:
    """The documents of manifest.json, which a build exports from its store when it ends."""
    try:
        return json.loads((output / "manifest.json").read_text())["documents"]
    except (OSError, ValueError):
        return []


def published(output: Path) -> list[dict]:
    """The documents of the manifest's store, the truth while a build runs (one entry written per PDF), read
    while the build writes it."""
    manifest = Manifest.load(output)
    assert manifest.problems == []
    return [vars(entry) for _, entry in sorted(manifest.entries.items())]


def session(sid: int) -> list[str]:
    """Every process of a session (zombies too), as 'pid state command'."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()[:120]
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()          # state, ppid, pgrp, session, ...
        if fields[3] == str(sid):
            found.append(f"{pid} {fields[0]} {cmdline}")
    return found


def interrupt(project: Path, tmp_path: Path, send) -> tuple[subprocess.CompletedProcess, Path]:
    """Start a build in its own session, wait for its first published PDF (its entry in the store), call
    send(pid), wait for the end.
    Standard output and error go to files: a process left behind holding a pipe would hang the test."""
    output, scratch = project / "output", tmp_path / "tmpdir"
    scratch.mkdir()
    err_file = tmp_path / "stderr.txt"
    with open(err_file, "w") as err:
        build = subprocess.Popen(command(project), stdout=subprocess.DEVNULL, stderr=err, cwd=project,
                                 start_new_session=True, env={**os.environ, "TMPDIR": str(scratch)})
    try:
        deadline = time.monotonic() + 120
        while not published(output) and build.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        assert build.poll() is None, "the build ended before it could be interrupted"
        assert published(output), "no PDF was published within two minutes"
        send(build.pid)
        build.wait(timeout=30)
        deadline = time.monotonic() + 5         # the resource tracker leaves when the building process has
        while session(build.pid) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert session(build.pid) == []
        with pytest.raises(ProcessLookupError):
            os.killpg(build.pid, 0)
    finally:
        if build.poll() is None or session(build.pid):
            os.killpg(build.pid, signal.SIGKILL)
            build.wait()
    assert list(scratch.iterdir()) == []       # multiprocessing's own temporary folder (the fork server's socket)
    return subprocess.CompletedProcess(build.args, build.returncode, "", err_file.read_text()), output


def assert_clean(result: subprocess.CompletedProcess, output: Path, signum: int) -> int:
    """Everything a stopped build must leave; returns how many documents were in the manifest."""
    assert result.returncode == 128 + signum, result.stderr
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if "interrupted" in line]
    assert len(lines) == 1 and result.stderr.splitlines()[-1] == lines[0], result.stderr
    found = MESSAGE.fullmatch(lines[0])
    assert found and found[1] == signal.Signals(signum).name, lines[0]
    assert not list(output.rglob(".*.tmp"))
    entries = manifest(output)
    for entry in entries:
        assert hashlib.sha256((output / entry["path"]).read_bytes()).hexdigest() == entry["sha256"], entry["path"]
    assert entries == published(output)           # exported on the way out: manifest.json is the store's
    # A document is counted once its entry is written; the signal may fall between the two.
    assert len(entries) - 1 <= int(found[2]) <= len(entries) < DOCUMENTS
    return len(entries)


def assert_rerun_builds_the_rest(project: Path, output: Path, done: int) -> None:
    rerun = subprocess.run(command(project), capture_output=True, text=True, cwd=project, timeout=300)
    assert rerun.returncode == 0, rerun.stderr        # the lock was released (else exit 3)
    assert f"{DOCUMENTS - done} added, 0 changed, 0 removed, {done} unchanged, 0 failed" in rerun.stderr
    entries = manifest(output)
    assert len(entries) == DOCUMENTS and entries == published(output)
    for entry in entries:
        assert hashlib.sha256((output / entry["path"]).read_bytes()).hexdigest() == entry["sha256"], entry["path"]


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP], ids=lambda s: s.name)
def test_a_signal_to_the_build_stops_it_cleanly(project: Path, tmp_path: Path, signum: signal.Signals) -> None:
    result, output = interrupt(project, tmp_path, lambda pid: os.kill(pid, signum))
    assert_rerun_builds_the_rest(project, output, assert_clean(result, output, signum))


def test_ctrl_c_reaches_the_whole_process_group(project: Path, tmp_path: Path) -> None:
    """A Ctrl-C on a terminal sends SIGINT to every process of the group: the workers ignore it, the building
    process ends them."""
    result, output = interrupt(project, tmp_path, lambda pid: os.killpg(pid, signal.SIGINT))
    assert_clean(result, output, signal.SIGINT)


def test_a_second_signal_during_the_cleanup_changes_nothing(project: Path, tmp_path: Path) -> None:
    def twice(pid: int) -> None:
        os.kill(pid, signal.SIGTERM)
        time.sleep(0.2)                      # ending the workers and the fork server takes about a second
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGINT)
            os.kill(pid, signal.SIGHUP)
    result, output = interrupt(project, tmp_path, twice)
    assert_clean(result, output, signal.SIGTERM)


def test_signals_until_the_very_end_change_nothing(project: Path, tmp_path: Path) -> None:
    """SIGINT after SIGTERM, again and again until the building process has ended: one landing while the
    interpreter shuts down (when Python has put the default handlers back) must not change the exit code."""
    def ended(pid: int) -> bool:
        try:
            return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
        except OSError:
            return True

    def hammer(pid: int) -> None:
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 30        # until its one line is written: the rest is the way out
        while "interrupted by" not in (tmp_path / "stderr.txt").read_text() and not ended(pid):
            assert time.monotonic() < deadline
            time.sleep(0.005)
        while time.monotonic() < deadline:
            if ended(pid):
                return
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGINT)
            time.sleep(0.001)
    result, output = interrupt(project, tmp_path, hammer)
    assert_clean(result, output, signal.SIGTERM)


def test_a_build_killed_outright_leaves_no_process(project: Path, tmp_path: Path) -> None:
    """SIGKILL (or the OOM killer) gives the building process no chance to clean up: its workers notice that it
    has gone and end, and with them the fork server and the resource tracker. The next run repairs the rest."""
    output = project / "output"
    build = subprocess.Popen(command(project), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=project,
                             start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while not published(output) and build.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert build.poll() is None and published(output), "the build ended, or published nothing in two minutes"
        assert len(session(build.pid)) > 2                  # workers, the fork server, the resource tracker
        os.kill(build.pid, signal.SIGKILL)
        build.wait(timeout=30)
        deadline = time.monotonic() + 15
        while session(build.pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert session(build.pid) == []
    finally:
        if session(build.pid):
            os.killpg(build.pid, signal.SIGKILL)
    # No way out ran: the store is the truth (manifest.json is exported again by the next run).
    for entry in published(output):
        assert hashlib.sha256((output / entry["path"]).read_bytes()).hexdigest() == entry["sha256"], entry["path"]
    assert_rerun_builds_the_rest(project, output, len(published(output)))
    assert not list(output.rglob(".*.tmp"))
