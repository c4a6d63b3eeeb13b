"""The manifest's store and flat costs (issue 14, points 4 and 6): publishing a document costs the same writes
whatever the catalogue's size, and never rewrites manifest.json; a rebuild with nothing to do opens no PDF; a PDF
changed behind the tool's back is caught by its size, time or inode, and one forged to look unchanged by --verify;
manifest.json is exported from the store when a build ends, however it ends; planning opens each input file once."""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import sys
from collections import Counter
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import pytest

from conftest import ROOT, TODAY, copy_project
from handouts import builder, cli, publish
from handouts.plan import Selection
from handouts.publish import Entry, Manifest

# --- every file the process opens, through Python's audit hook (open(), io.open, os.open, Path.read_bytes) ------

_OPENED: list[str] | None = None
_BY_OPEN: list[str] = []         # the last file open() was called for: its opener's os.open is the same opening


def _audit(event: str, args: tuple) -> None:
    if event != "open" or _OPENED is None or not isinstance(args[0], (str, bytes, os.PathLike)):
        return
    path, mode = os.path.realpath(os.fsdecode(args[0])), args[1]
    if mode is None and _BY_OPEN == [path]:        # os.open called by open()'s opener (files.open_regular)
        _BY_OPEN.clear()
        return
    _BY_OPEN[:] = [path] if mode is not None else []
    _OPENED.append(path)


sys.addaudithook(_audit)        # for the life of the process: it does nothing outside `opened()`


@contextmanager
def opened() -> Iterator[list[str]]:
    """The resolved paths of the files opened inside the block, once per opening."""
    global _OPENED
    _OPENED = []
    try:
        yield _OPENED
    finally:
        _OPENED = None


# --- publishing costs the same whatever the catalogue's size ----------------------------------------------------

INPUTS = {f"content/en/block-{n}.md": "0123456789abcdef" for n in range(30)}     # a real entry's size, about


def dummy(number: int, pdf: bytes) -> Entry:
    clinic = f"clinic-{number % 50}"
    return Entry(path=f"{clinic}/en/condition-{number}-leaflet-screen.pdf", clinic=clinic, language="en",
                 condition=f"condition-{number}", kind="leaflet", variant="screen", version="1.0",
                 review_due="2027-11-24", pages=1, sha256=hashlib.sha256(pdf).hexdigest(), inputs_digest="0" * 64,
                 inputs=INPUTS)


def catalogue(output: Path, size: int) -> None:
    """`size` documents with small PDFs, as an older release left them (manifest.json only), taken into the
    store by the manifest: each PDF hashed once, its size, time and inode recorded."""
    documents = []
    for number in range(size):
        pdf = b"%%PDF-1.7 dummy %d" % number
        entry = dummy(number, pdf)
        (output / entry.path).parent.mkdir(parents=True, exist_ok=True)
        (output / entry.path).write_bytes(pdf)
        documents.append(vars(entry))
    (output / Manifest.NAME).write_text(json.dumps({"documents": documents}))
    manifest = Manifest.load(output)
    manifest.sweep(["."])
    assert manifest.export()
    manifest.close()


def wchar() -> int:
    """Bytes this process has written so far (to any file), from the kernel."""
    with open("/proc/self/io") as io:
        return int(next(line for line in io if line.startswith("wchar:")).split()[1])


def publishing_costs(output: Path, size: int, monkeypatch: pytest.MonkeyPatch) -> tuple[list[tuple], int]:
    """Per document published into a catalogue of `size`: the store's changing statements, its commits and the
    files written whole; five new documents, then five published again. And the bytes written for all ten."""
    catalogue(output, size)
    exported = (output / Manifest.NAME).read_bytes()
    manifest = Manifest.load(output)
    assert len(manifest.entries) == size and not manifest.problems
    statements: list[str] = []
    manifest.store.connection().set_trace_callback(statements.append)
    written: list[str] = []
    real = publish.write_atomic
    monkeypatch.setattr(publish, "write_atomic", lambda out, relative, data: written.append(relative)
                        or real(out, relative, data))
    costs, before = [], wchar()
    for number in (*range(100_000, 100_005), *range(5)):
        pdf = b"%%PDF-1.7 published %d" % number
        statements.clear()
        written.clear()
        manifest.publish(dummy(number, pdf), pdf)
        changes = [s for s in statements if s.split()[0].upper() in ("INSERT", "UPDATE", "DELETE", "REPLACE")]
        costs.append((len(changes), statements.count("COMMIT"), tuple(written)))
    spent = wchar() - before
    manifest.close()
    monkeypatch.setattr(publish, "write_atomic", real)
    assert (output / Manifest.NAME).read_bytes() == exported            # never rewritten while publishing
    assert Manifest.load(output).entries.keys() == manifest.entries.keys() and len(manifest.entries) == size + 5
    return costs, spent


def test_publishing_costs_the_same_writes_at_20_and_at_2000_documents(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    small, small_bytes = publishing_costs(tmp_path / "small", 20, monkeypatch)
    large, large_bytes = publishing_costs(tmp_path / "large", 2000, monkeypatch)
    assert small == large
    new = [f"clinic-{n % 50}/en/condition-{n}-leaflet-screen.pdf" for n in range(100_000, 100_005)]
    again = [f"clinic-{n % 50}/en/condition-{n}-leaflet-screen.pdf" for n in range(5)]
    # A new document: its row inserted, one commit. One published again: its old row deleted (committed before
    # the PDF is replaced), then the new one inserted. The PDF is the only file written.
    assert large == [(1, 1, (path,)) for path in new] + [(2, 2, (path,)) for path in again]
    # Pages of the store's log and the PDFs: a B-tree a level deeper at most, not a catalogue rewritten.
    assert large_bytes < 1.5 * small_bytes, (small_bytes, large_bytes)


def test_nothing_to_do_reads_no_pdf_and_writes_nothing(tmp_path: Path) -> None:
    output = tmp_path / "output"
    catalogue(output, 2000)
    manifest = Manifest.load(output)
    statements: list[str] = []
    manifest.store.connection().set_trace_callback(statements.append)
    with opened() as seen:
        manifest.sweep(["."])
    assert len(manifest.entries) == 2000 and statements == []
    assert [path for path in seen if path.endswith(".pdf")] == []
    with opened() as seen:
        manifest.keep_existing(verify=True)
    assert len([path for path in seen if path.endswith(".pdf")]) == 2000 and statements == []
    manifest.close()


# --- a real build: unchanged PDFs recognised unread, changed ones caught ----------------------------------------

UK = "fennick-street-uk"
ONE = Selection(clinic=UK, language="en", condition="acne-scars", kind="leaflet", variant="screen")
ONE_PDF = f"{UK}/en/acne-scars-leaflet-screen.pdf"


def build(project: Path, **options) -> builder.Outcome:
    return builder.build(project, project / "output", ONE, TODAY, jobs=1, **options)


@pytest.fixture(scope="module")
def built_once(tmp_path_factory: pytest.TempPathFactory) -> Path:
    project = copy_project(tmp_path_factory.mktemp("built"))
    assert build(project).added == [ONE_PDF]
    return project


@pytest.fixture
def one(built_once: Path, tmp_path: Path) -> Path:
    """A copy of a project with ONE built, built once more in place (the copy's PDFs have new inodes, so that
    rebuild hashes them once and records them)."""
    project = tmp_path / "project"
    shutil.copytree(built_once, project)
    assert build(project).unchanged == [ONE_PDF]
    return project


def stamp(file: Path) -> tuple[int, int, int]:
    info = file.stat()
    return info.st_size, info.st_mtime_ns, info.st_ino


def tamper(file: Path) -> bytes:
    """Change one byte in the middle of the file, in place: the same size and inode. Returns the old bytes."""
    data = file.read_bytes()
    with open(file, "r+b") as handle:
        handle.seek(len(data) // 2)
        handle.write(bytes([data[len(data) // 2] ^ 0xFF]))
    return data


def test_a_rebuild_with_nothing_to_do_opens_no_pdf_and_verify_opens_each(one: Path) -> None:
    with opened() as seen:
        outcome = build(one)
    assert outcome.unchanged == [ONE_PDF] and outcome.built == []
    assert [path for path in seen if path.endswith(".pdf")] == []
    with opened() as seen:
        outcome = build(one, verify=True)
    assert outcome.unchanged == [ONE_PDF]
    assert [path for path in seen if path.endswith(".pdf")] == [str((one / "output" / ONE_PDF).resolve())]


def test_a_pdf_changed_behind_the_tools_back_is_built_again(one: Path) -> None:
    """Same size and inode, a new modification time: hashed, found different, built again."""
    pdf = one / "output" / ONE_PDF
    size, mtime, inode = stamp(pdf)
    good = tamper(pdf)
    os.utime(pdf, ns=(mtime, mtime + 1_000_000_000))     # a new time even if the write fell in the same tick
    assert stamp(pdf) == (size, mtime + 1_000_000_000, inode) and pdf.read_bytes() != good
    outcome = build(one)
    assert outcome.added == [ONE_PDF] and pdf.read_bytes() == good
    assert json.loads((one / "output" / Manifest.NAME).read_text())["documents"][0]["sha256"] == (
        hashlib.sha256(good).hexdigest())


def test_a_pdf_forged_to_look_unchanged_is_caught_only_by_verify(one: Path, capsys) -> None:
    """Same size, modification time and inode: only --verify, which hashes every PDF, sees it."""
    pdf = one / "output" / ONE_PDF
    before = stamp(pdf)
    good = tamper(pdf)
    os.utime(pdf, ns=(before[1], before[1]))
    assert stamp(pdf) == before and pdf.read_bytes() != good
    assert build(one).unchanged == [ONE_PDF] and pdf.read_bytes() != good
    code = cli.main(["--root", str(one), "--today", TODAY.isoformat(), "--jobs", "1", "--clinic", UK, "--language",
                     "en", "--condition", "acne-scars", "--kind", "leaflet", "--variant", "screen", "--verify",
                     "--format", "json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 0 and report["added"] == [ONE_PDF] and report["unchanged"] == 0
    assert pdf.read_bytes() == good


def test_verify_is_explained_in_the_help() -> None:
    text = " ".join(cli._parser().format_help().split())
    assert "--verify build: read and hash every PDF already in the output folder" in text


def test_an_older_releases_folder_is_taken_into_the_store_hashing_each_pdf_once(one: Path) -> None:
    output = one / "output"
    listed = (output / Manifest.NAME).read_bytes()
    for name in (Manifest.STORE, f"{Manifest.STORE}-wal", f"{Manifest.STORE}-shm"):
        (output / name).unlink(missing_ok=True)
    with opened() as seen:
        assert build(one).unchanged == [ONE_PDF]
    assert [path for path in seen if path.endswith(".pdf")] == [str((output / ONE_PDF).resolve())]
    assert (output / Manifest.STORE).is_file() and (output / Manifest.NAME).read_bytes() == listed
    assert Manifest.load(output).stats[ONE_PDF] == stamp(output / ONE_PDF)
    with opened() as seen:
        assert build(one).unchanged == [ONE_PDF]
    assert [path for path in seen if path.endswith(".pdf")] == []


# --- manifest.json is exported when a build ends, however it ends -----------------------------------------------

def test_a_build_that_fails_part_way_still_exports_what_it_published(project: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """The disk fills up at the second PDF: the error goes on, and manifest.json lists the first, as the store
    does, agreeing with its file."""
    real, pdfs = publish.write_atomic, []

    def filling(output_dir: Path, relative: str, data: bytes) -> Path:
        if relative.endswith(".pdf"):
            pdfs.append(relative)
            if len(pdfs) == 2:
                raise OSError(errno.ENOSPC, "No space left on device")
        return real(output_dir, relative, data)

    monkeypatch.setattr(publish, "write_atomic", filling)
    with pytest.raises(OSError, match="No space left"):
        builder.build(project, project / "output", Selection(clinic=UK, language="en", condition="acne-scars",
                                                             variant="screen"), TODAY, jobs=1)
    listed = json.loads((project / "output" / Manifest.NAME).read_text())["documents"]
    assert [entry["path"] for entry in listed] == pdfs[:1]
    assert listed == [vars(entry) for entry in Manifest.load(project / "output").entries.values()]
    assert hashlib.sha256((project / "output" / pdfs[0]).read_bytes()).hexdigest() == listed[0]["sha256"]


# --- planning opens each input file once ------------------------------------------------------------------------

def test_planning_the_real_project_opens_each_input_file_once(tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """Loading, the checks, the plan (template dependencies) and the digests of every document's inputs: each
    file read once, whoever needs it. Printing is left out (nothing is printed)."""
    _, the_plan, _ = builder.prepare(ROOT, Selection(), TODAY, False)
    inputs = {str(file.resolve()) for job in the_plan.jobs for file in job.input_files}
    monkeypatch.setattr(builder, "_print_all", lambda library, tasks, jobs: iter(()))
    with opened() as seen:
        outcome = builder.build(ROOT, tmp_path / "output", Selection(), TODAY, jobs=1)
    assert outcome.built == []
    counts = Counter(seen)
    project = [path for path in counts if path.startswith((str(ROOT / "content"), str(ROOT / "templates")))]
    assert len(inputs) > 100 and inputs - set(counts) == set()          # every input was read ...
    assert {path: n for path, n in counts.items() if n > 1 and (path in inputs or path in project)} == {}  # once
