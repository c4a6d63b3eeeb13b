"""Nothing lost, nothing leaked (issue 10, points 1, 6, 7 and 8): a broken input never removes output; the output
folder is the tool's own; manifest.json and ledger.json are data, not instructions; deliver never misleads the
print shop. Every case starts from one baseline build (three documents) copied into the test's own folder."""

from __future__ import annotations

import errno
import hashlib
import json
import shutil
import sqlite3
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from conftest import ROOT, TODAY, copy_project
from handouts import builder, cli, publish
from handouts.plan import Selection

UK = "fennick-street-uk"
CLINIC_YAML = f"content/clinics/{UK}/clinic.yaml"
SCREEN = f"{UK}/en/acne-scars-leaflet-screen.pdf"
PRINT = f"{UK}/en/acne-scars-leaflet-print.pdf"
US_SCREEN = "cedar-hollow-us/en/acne-scars-leaflet-screen.pdf"
ONE = ["--clinic", UK, "--condition", "acne-scars", "--kind", "leaflet", "--variant", "screen"]


def run(project: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "build.py"), "--root", str(project), "--today",
                           TODAY.isoformat(), *args], capture_output=True, text=True, cwd=project)


STORE_FILES = (".manifest.sqlite", ".manifest.sqlite-wal", ".manifest.sqlite-shm")


def files(folder: Path) -> dict[str, bytes]:
    """Every file under `folder` and its bytes; the lock file aside, and the manifest's store, which records the
    PDFs' sizes, times and inodes (new in a copied folder): its entries are compared through manifest.json, which
    every build exports from it."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and p.name != ".lock" and p.name not in STORE_FILES}


def forget_store(output: Path) -> None:
    """Leave only manifest.json, as an older release did."""
    for name in STORE_FILES:
        (output / name).unlink(missing_ok=True)


def store_rows(output: Path) -> dict[str, dict]:
    with sqlite3.connect(output / publish.Manifest.STORE) as db:
        return {path: json.loads(entry) for path, entry in db.execute("SELECT path, entry FROM documents")}


def manifest_paths(output: Path) -> list[str]:
    return [d["path"] for d in json.loads((output / "manifest.json").read_text())["documents"]]


def edit(file: Path, old: str, new: str) -> None:
    text = file.read_text()
    assert old in text, old
    file.write_text(text.replace(old, new, 1))


@pytest.fixture(scope="module")
def baseline(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project with three documents built into its output/: the UK leaflet on screen and in print, and the US
    leaflet on screen."""
    project = copy_project(tmp_path_factory.mktemp("baseline"))
    for selection in (Selection(clinic=UK, condition="acne-scars", kind="leaflet", variant="screen"),
                      Selection(clinic=UK, condition="acne-scars", kind="leaflet", variant="print"),
                      Selection(clinic="cedar-hollow-us", language="en", condition="acne-scars", kind="leaflet",
                                variant="screen")):
        assert builder.build(project, project / "output", selection, TODAY, jobs=1).ok
    assert sorted(manifest_paths(project / "output")) == sorted([SCREEN, PRINT, US_SCREEN])
    return project


@pytest.fixture
def project(baseline: Path, tmp_path: Path) -> Path:
    target = tmp_path / "project"
    shutil.copytree(baseline, target)
    return target


# --- 1. a broken input never removes output --------------------------------------------------------------------

BROKEN_CLINIC = [
    ("yaml", "name: Fennick Street Skin Clinic\n", "name: [Fennick Street Skin Clinic\n",
     f"{CLINIC_YAML}:4: yaml: YAML: did not find expected ',' or ']'"),
    ("colour", 'primary: "#1d5c63"', 'primary: "#1d5c6"',
     f"{CLINIC_YAML}:9: schema: clinic: 'colours.primary': must be a colour like '#1f5f7a', got '#1d5c6'"),
    ("font", "headings: Lexend", "headings: Comic Sans MS",
     f"{CLINIC_YAML}:15: schema: clinic: font family 'Comic Sans MS' is not bundled"),
    ("logo", "logo: logo.svg", "logo: ../x.svg",
     f"{CLINIC_YAML}:7: schema: clinic: 'logo' '../x.svg' is not a file in content/clinics/{UK}"),
    ("footer", "footer: Fennick Street Skin Clinic (fictional sample) · 0117 496 0123", "footer: Call: 01632",
     f"{CLINIC_YAML}:21: yaml: YAML: mapping values are not allowed in this context; a value containing ': ' "
     "must be in quotes"),
]


@pytest.mark.parametrize("old, new, message", [case[1:] for case in BROKEN_CLINIC],
                         ids=[case[0] for case in BROKEN_CLINIC])
def test_broken_clinic_fails_its_documents_and_keeps_their_pdfs(project: Path, old: str, new: str,
                                                                message: str) -> None:
    (project / "content/clinics/x.svg").write_text("<svg xmlns='http://www.w3.org/2000/svg'/>")
    before = files(project / "output")
    edit(project / CLINIC_YAML, old, new)
    result = run(project, *ONE)
    assert result.returncode == 1
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.rstrip().endswith("0 added, 0 changed, 0 removed, 0 unchanged, 1 failed")
    assert f"failed: {SCREEN}" in result.stderr
    assert files(project / "output") == {**before, ".handouts-output": files(project / "output")[".handouts-output"]}
    assert SCREEN in manifest_paths(project / "output")


def test_broken_clinic_keeps_every_variant_of_it_in_a_wider_build(project: Path) -> None:
    """Every document of the broken clinic the manifest has counts as failed, whatever its variant."""
    before = files(project / "output")
    edit(project / CLINIC_YAML, 'primary: "#1d5c63"', 'primary: "#1d5c6"')
    outcome = builder.build(project, project / "output", Selection(clinic=UK), TODAY, jobs=1)
    assert not outcome.ok and outcome.removed == []
    # 5 conditions x (3 kinds x 3 variants + the online research document)
    assert {SCREEN, PRINT} <= set(outcome.failed) and len(outcome.failed) == 50
    assert files(project / "output") == before


BROKEN_SHARED = [
    ("kind", "content/kinds/leaflet.yaml", "sections:", "sections: [",
     "content/kinds/leaflet.yaml:7: yaml: YAML: did not find expected node content"),
    ("strings", "content/en/strings.yaml", "html_lang:", "html_lang: [",
     "content/en/strings.yaml:4: yaml: YAML: did not find expected ',' or ']'"),
    ("variants", "templates/variants.yaml", "screen:", "screen: [",
     "templates/variants.yaml:5: yaml: YAML: did not find expected ',' or ']'"),
    ("template", "templates/leaflet.html", "{% block", "{% blok",
     "templates/leaflet.html:2: template: template: Encountered unknown tag 'blok'."),
]


@pytest.mark.parametrize("file, old, new, where", [case[1:] for case in BROKEN_SHARED],
                         ids=[case[0] for case in BROKEN_SHARED])
def test_broken_shared_file_fails_documents_and_keeps_their_pdfs(project: Path, file: str, old: str, new: str,
                                                                 where: str) -> None:
    before = files(project / "output")
    edit(project / file, old, new)
    result = run(project, *ONE)
    assert result.returncode == 1
    assert where in result.stderr and "Traceback" not in result.stderr
    assert result.stderr.rstrip().endswith("0 removed, 0 unchanged, 1 failed")
    assert {k: v for k, v in files(project / "output").items() if k.endswith(".pdf")} == {
        k: v for k, v in before.items() if k.endswith(".pdf")}
    assert sorted(manifest_paths(project / "output")) == sorted([SCREEN, PRINT, US_SCREEN])


@pytest.mark.parametrize("old, new, message", [
    ("languages: [en, es]", "languages: [en, es", "content/catalogue.yaml:3: yaml: YAML: did not find expected ',' or ']'"),
    ("variants: [print, screen, large-print]", "variants: [print, screen, poster]",
     "content/catalogue.yaml:10: schema: catalogue: 'variants.2': Input should be 'screen', 'print' or "
     "'large-print', got 'poster'"),
], ids=["yaml", "schema"])
def test_broken_catalogue_removes_nothing(project: Path, old: str, new: str, message: str) -> None:
    before = files(project / "output")
    edit(project / "content/catalogue.yaml", old, new)
    result = run(project, "--clinic", UK)
    assert result.returncode == 1
    assert message in result.stderr and "Traceback" not in result.stderr
    assert result.stderr.rstrip().endswith("0 added, 0 changed, 0 removed, 0 unchanged, 2 failed")
    after = files(project / "output")
    assert {k: after[k] for k in before} == before


def test_clinic_removed_on_purpose_removes_its_pdfs(project: Path) -> None:
    us = (project / "output" / US_SCREEN).read_bytes()
    shutil.rmtree(project / f"content/clinics/{UK}")
    result = run(project, "--language", "en", "--condition", "acne-scars", "--kind", "leaflet", "--variant", "screen")
    assert result.returncode == 0, result.stderr
    assert f"removed: {SCREEN}" in result.stderr
    assert result.stderr.rstrip().endswith("0 added, 0 changed, 1 removed, 1 unchanged, 0 failed")
    assert not (project / "output" / SCREEN).exists()
    assert (project / "output" / US_SCREEN).read_bytes() == us
    assert (project / "output" / PRINT).is_file()         # not selected: left alone
    assert SCREEN not in manifest_paths(project / "output")


# --- 6. the output folder is the tool's own --------------------------------------------------------------------

def test_default_output_with_a_manifest_is_adopted(project: Path) -> None:
    """An install from before the marker: output/ holds this tool's manifest.json and no marker."""
    (project / "output/.handouts-output").unlink()          # the baseline's build wrote one
    assert (project / "output/manifest.json").is_file()
    result = run(project, *ONE)
    assert result.returncode == 0, result.stderr
    assert (project / "output/.handouts-output").is_file()


def test_foreign_folder_is_refused(project: Path, tmp_path: Path) -> None:
    foreign = tmp_path / "photos"
    (foreign / "2024").mkdir(parents=True)
    (foreign / "notes.txt").write_text("mine")
    (foreign / "2024/.x.tmp").write_text("mine too")
    before = files(foreign)
    result = run(project, *ONE, "--output", str(foreign))
    assert result.returncode == 2
    assert result.stderr.splitlines()[-1] == (
        f"build.py: error: --output {foreign}: the folder is not empty and was not made by build.py "
        "(no .handouts-output file); give a new or empty folder")
    assert files(foreign) == before and sorted(p.name for p in foreign.iterdir()) == ["2024", "notes.txt"]
    for command in ("deliver", "preflight"):
        assert run(project, command, "--output", str(foreign)).returncode == 2
    assert files(foreign) == before and not (foreign / ".lock").exists()


def test_output_that_is_a_file_is_refused(project: Path, tmp_path: Path) -> None:
    file = tmp_path / "a-file"
    file.write_text("mine")
    result = run(project, *ONE, "--output", str(file))
    assert result.returncode == 2
    assert result.stderr.splitlines()[-1] == f"build.py: error: --output {file}: not a folder"
    assert file.read_text() == "mine"


def test_new_folder_is_made_and_marked_then_used_again(project: Path, tmp_path: Path) -> None:
    fresh = tmp_path / "fresh/out"
    assert run(project, *ONE, "--output", str(fresh)).returncode == 0
    assert (fresh / ".handouts-output").is_file() and (fresh / SCREEN).is_file()
    again = run(project, *ONE, "--output", str(fresh))
    assert again.returncode == 0 and again.stderr.rstrip().endswith("1 unchanged, 0 failed")


def test_read_only_folder_is_one_line(project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                      capsys) -> None:
    """A folder the tool may not write into. The tests run as root, whom permissions do not stop, so the refusal
    the kernel gives a user is made here at the one place the tool creates files."""
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o555)

    def refused(*args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(publish.tempfile, "mkstemp", refused)
    with pytest.raises(SystemExit) as exit_:
        cli.main(["--root", str(project), "--today", TODAY.isoformat(), *ONE, "--output", str(locked)])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and list(locked.iterdir()) == []
    assert err.splitlines()[-1] == f"build.py: error: --output {locked}: cannot write: Permission denied"


def test_full_disk_is_one_line(project: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    target = project / "output" / SCREEN

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device", str(target))

    monkeypatch.setattr(builder, "build", full)
    code = cli.main(["--root", str(project), "--today", TODAY.isoformat(), "-q", *ONE])
    assert code == 1
    assert capsys.readouterr().err == f"build.py: {target}: No space left on device\n"


def test_sweep_removes_only_the_tools_own_temporary_files(project: Path) -> None:
    output = project / "output"
    foreign = {".notes.tmp": b"a", "notes/.x.tmp": b"b", "notes/deep/.y.pdf.abcd1234.tmp": b"c",
               "elsewhere/en/.acne-scars-leaflet-screen.pdf.abcd1234.tmp": b"d", f"{UK}/en/.notes.tmp": b"e",
               f"{UK}/.x.pdf.abcd1234.tmp": b"f"}
    stale = [".manifest.json.abcd1234.tmp", "..manifest.sqlite.0dd_ab12.tmp", f"{UK}/en/.acne-scars-leaflet-screen.pdf.k2_9x0qz.tmp",
             "deliveries/.delivery-0001-2026-11-24.zip.abcdefgh.tmp"]
    for name, data in foreign.items():
        (output / name).parent.mkdir(parents=True, exist_ok=True)
        (output / name).write_bytes(data)
    for name in stale:
        (output / name).parent.mkdir(parents=True, exist_ok=True)
        (output / name).write_bytes(b"partial")
    result = run(project, *ONE)
    assert result.returncode == 0, result.stderr
    assert {name: (output / name).read_bytes() for name in foreign} == foreign
    assert not any((output / name).exists() for name in stale)
    assert sorted(store_rows(output)) == sorted([SCREEN, PRINT, US_SCREEN])        # the store is no leftover


# --- 7. manifest and ledger are data, not instructions ---------------------------------------------------------

def _forge(output: Path, where: str, *paths: str) -> None:
    """Add entries copied from a real one, with other paths, to the manifest: to its store (the truth), or to the
    manifest.json of an older release's folder (no store)."""
    victim = output.parent.parent / "victim.pdf"
    real = json.loads((output / "manifest.json").read_text())
    forged = [{**next(d for d in real["documents"] if d["path"] == PRINT), "path": path,
               "sha256": hashlib.sha256(victim.read_bytes()).hexdigest()} for path in paths]
    if where == "store":
        with sqlite3.connect(output / publish.Manifest.STORE) as db:
            db.executemany("INSERT INTO documents (path, entry) VALUES (?, ?)",
                           [(entry["path"], json.dumps(entry)) for entry in forged])
    else:
        forget_store(output)
        real["documents"] += forged
        (output / "manifest.json").write_text(json.dumps(real))


@pytest.mark.parametrize("where", ["store", "json"])
def test_manifest_paths_outside_the_folder_delete_and_pack_nothing(project: Path, where: str) -> None:
    output = project / "output"
    victim = project.parent / "victim.pdf"
    victim.write_bytes(b"%PDF-1.7 someone else's")
    _forge(output, where, "../../victim.pdf", "/etc/passwd", str(victim), f"{UK}/en/../../../victim.pdf")
    shown = output / (publish.Manifest.STORE if where == "store" else "manifest.json")
    result = run(project, *ONE)
    assert result.returncode == 0, result.stderr
    assert (f"{shown}:1: warning: manifest: document 4 ('../../victim.pdf') is not a document of the catalogue's "
            "shape, or does not match its fields; ignored") in result.stderr
    assert f"{shown}:1: warning: manifest: document 5 ('/etc/passwd') is not a document" in result.stderr
    assert "0 removed" in result.stderr
    assert victim.read_bytes() == b"%PDF-1.7 someone else's"
    assert sorted(store_rows(output)) == sorted([SCREEN, PRINT, US_SCREEN])       # the forged rows are gone
    assert sorted(manifest_paths(output)) == sorted([SCREEN, PRINT, US_SCREEN])
    _forge(output, where, "../../victim.pdf", "/etc/passwd")
    delivered = run(project, "deliver")
    assert delivered.returncode == 0, delivered.stderr
    with zipfile.ZipFile(output / "deliveries/delivery-0001-2026-11-24.zip") as bundle:
        assert sorted(bundle.namelist()) == sorted(["CHANGES.txt", "manifest.json", PRINT])
    assert victim.read_bytes() == b"%PDF-1.7 someone else's"


def test_master_replaced_by_a_symlink_is_not_packed(project: Path) -> None:
    output = project / "output"
    victim = project.parent / "victim.pdf"
    victim.write_bytes(b"%PDF-1.7 someone else's")
    entry = {**store_rows(output)[PRINT], "sha256": hashlib.sha256(victim.read_bytes()).hexdigest()}
    with sqlite3.connect(output / publish.Manifest.STORE) as db:
        db.execute("UPDATE documents SET entry = ? WHERE path = ?", (json.dumps(entry), PRINT))
    (output / PRINT).unlink()
    (output / PRINT).symlink_to(victim)
    result = run(project, "deliver")
    assert result.returncode == 1
    assert f"output/{PRINT}:1: deliver: the print master listed in manifest.json is missing" in result.stderr
    assert not (output / "deliveries").exists()


@pytest.mark.parametrize("damaged", ["manifest.json, no store", "store", "store and manifest.json"])
def test_corrupt_manifest_is_rebuilt_and_deletes_nothing(project: Path, damaged: str) -> None:
    """An unreadable store is made again from manifest.json; an unreadable manifest.json (with no store to read,
    or an unreadable one) from what is built: the selected document, built again."""
    output = project / "output"
    before = files(output)
    forget_store(output)
    if "store" in damaged:
        (output / publish.Manifest.STORE).write_bytes(b"SQLite format 3\0 and then nothing of the kind" * 100)
    if "manifest.json" in damaged:
        (output / "manifest.json").write_text("{not json")
    result = run(project, *ONE)
    assert result.returncode == 0, result.stderr
    store_warning = (f"{output / publish.Manifest.STORE}:1: warning: manifest: unreadable (DatabaseError: file is not "
                     "a database); it is rebuilt from manifest.json and what is built, and no file is deleted")
    assert (store_warning in result.stderr) == ("store" in damaged)
    assert (f"{output / 'manifest.json'}:1: warning: manifest: unreadable (JSONDecodeError" in result.stderr) == (
        "manifest.json" in damaged)
    after = files(output)
    assert {k: after[k] for k in before if k.endswith(".pdf")} == {k: v for k, v in before.items()
                                                                    if k.endswith(".pdf")}
    expected = [SCREEN] if "manifest.json" in damaged else sorted([SCREEN, PRINT, US_SCREEN])
    assert sorted(manifest_paths(output)) == expected and sorted(store_rows(output)) == expected
    again = run(project, *ONE)
    assert again.returncode == 0 and "warning" not in again.stderr, again.stderr


def test_store_swapped_for_a_link_is_not_followed(project: Path) -> None:
    """A link in place of the store (or of its log) would send SQLite's writes anywhere: it is reported, and the
    store made again in its place; the file it pointed to is left as it was."""
    output = project / "output"
    victim = project.parent / "victim.db"
    shutil.copy(output / publish.Manifest.STORE, victim)
    kept = victim.read_bytes()
    forget_store(output)
    (output / publish.Manifest.STORE).symlink_to(victim)
    result = run(project, *ONE)
    assert result.returncode == 0, result.stderr
    assert (f"{output / publish.Manifest.STORE}:1: warning: manifest: unreadable (UnsafeStore: .manifest.sqlite is "
            "not a regular file)") in result.stderr
    assert victim.read_bytes() == kept
    assert not (output / publish.Manifest.STORE).is_symlink()
    assert sorted(store_rows(output)) == sorted([SCREEN, PRINT, US_SCREEN])


@pytest.mark.parametrize("damage", ["delete", "corrupt"])
def test_lost_ledger_keeps_earlier_zips_and_is_rebuilt_from_them(project: Path, damage: str) -> None:
    output = project / "output"
    assert run(project, "deliver").returncode == 0
    first = output / "deliveries/delivery-0001-2026-11-24.zip"
    kept = first.read_bytes()
    ledger = output / "deliveries/ledger.json"
    ledger.unlink() if damage == "delete" else ledger.write_text("[1, 2")
    result = run(project, "deliver")
    assert result.returncode == 0, result.stderr
    assert first.read_bytes() == kept
    assert "delivery 2: nothing changed since the last delivery" in result.stdout
    assert f"{first}:1: warning: ledger: was not in the ledger; recorded from its manifest.json" in result.stderr
    recorded = json.loads(ledger.read_text())
    assert [d["number"] for d in recorded["deliveries"]] == [1, 2] and list(recorded["delivered"]) == [PRINT]


def test_foreign_zip_in_deliveries_is_kept_and_numbers_go_on(project: Path) -> None:
    output = project / "output"
    foreign = output / "deliveries/delivery-0007-2020-01-01.zip"
    foreign.parent.mkdir()
    foreign.write_bytes(b"not a zip")
    result = run(project, "deliver")
    assert result.returncode == 0, result.stderr
    assert f"{foreign}:1: warning: ledger: not a delivery this tool can read (BadZipFile); kept" in result.stderr
    assert foreign.read_bytes() == b"not a zip"
    assert (output / "deliveries/delivery-0008-2026-11-24.zip").is_file()


# --- 8. deliver never misleads the print shop ------------------------------------------------------------------

@pytest.mark.parametrize("change, message", [
    ("modify", "the print master was changed after the build (its sha256 differs from manifest.json); build "
               "again before delivering"),
    ("delete", "the print master listed in manifest.json is missing (deleted after the build?); build again "
               "before delivering"),
])
def test_master_changed_after_the_build_stops_the_delivery(project: Path, change: str, message: str) -> None:
    output = project / "output"
    assert run(project, "deliver").returncode == 0
    deliveries = files(output / "deliveries")
    master = output / PRINT
    if change == "modify":
        master.write_bytes(master.read_bytes() + b"\n% edited by hand\n")
    else:
        master.unlink()
    result = run(project, "deliver")
    assert result.returncode == 1
    assert f"output/{PRINT}:1: deliver: {message}" in result.stderr
    assert "withdrawn" not in result.stdout + result.stderr
    assert files(output / "deliveries") == deliveries        # nothing written, the ledger untouched


def test_withdrawn_only_when_the_catalogue_no_longer_lists_it_and_says_why(project: Path) -> None:
    output = project / "output"
    assert run(project, "deliver").returncode == 0
    (output / "manifest.json").unlink()                      # lost, but the catalogue still lists the master
    forget_store(output)
    kept = run(project, "deliver")
    assert kept.returncode == 0 and "nothing changed since the last delivery" in kept.stdout
    edit(project / "content/catalogue.yaml", "  - acne-scars\n", "")      # taken out on purpose
    gone = run(project, "deliver")
    assert gone.returncode == 0, gone.stderr
    assert "0 new, 0 changed, 1 withdrawn" in gone.stdout
    with zipfile.ZipFile(output / "deliveries/delivery-0003-2026-11-24.zip") as bundle:
        assert (f"{PRINT}\n  withdrawn: condition acne-scars is no longer in content/catalogue.yaml; please "
                "destroy stock of it") in bundle.read("CHANGES.txt").decode()
        assert all(not name.startswith(("/", "..")) for name in bundle.namelist())


def test_a_folder_the_pipeline_built_into_is_taken_by_the_command_line(project: Path, tmp_path: Path) -> None:
    """builder.build (the benchmark, the staff app) marks its folder too: the command line accepts it after."""
    output = tmp_path / "built-by-the-library"
    outcome = builder.build(project, output, Selection("fennick-street-uk", "en", "acne-scars", "leaflet", "screen"),
                            TODAY)
    assert outcome.ok and (output / ".handouts-output").is_file()
    again = run(project, *ONE, "--output", str(output))
    assert again.returncode == 0, again.stderr
