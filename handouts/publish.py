"""Publish stage: atomic writes inside the output folder, and the manifest that lists every document.

The manifest's truth is a SQLite database in the output folder, `.manifest.sqlite` (write-ahead log,
synchronous=FULL: a commit is on disk when it returns). It holds one row per document (the entry as JSON, and
the size, st_mtime_ns and st_ino its PDF had once in place) and one per document held behind its source. Each
change is one small transaction: publishing a document deletes its old row (committed), replaces the PDF
atomically, then inserts the new row, so a run killed at any moment leaves every row agreeing with its file, and
the cost of publishing does not grow with the catalogue. A PDF whose size, modification time and inode are as
recorded is taken as unchanged without being read; one that differs is hashed (every one, with `verify`).

`manifest.json`, in the same folder, is exported from the store at the end of every build (atomically, and only
when its content changed) for the print shop and other readers: after a run killed outright (SIGKILL, power
loss) it may be behind the store until the next run. An output folder from an older release has only
manifest.json: it is read, and the store is made from it at the first change (its PDFs are hashed once). A store
that cannot be read is reported in one line and made again from manifest.json and the PDFs; no PDF is deleted.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sqlite3
import stat
import tempfile
from contextlib import closing, contextmanager
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Iterable, Iterator

from .files import open_regular
from .problems import Problem


FILE_MODE = 0o644


class UnsafePath(ValueError):
    pass


SLUG = r"[a-z0-9]+(?:-[a-z0-9]+)*"
VARIANTS = ("print", "screen", "large-print")
DOCUMENT = re.compile(rf"(?P<clinic>{SLUG})/(?P<language>[a-z]{{2}})/(?P<name>{SLUG})\.pdf")
# write_atomic's temporary files: "." + the target's name + "." + mkstemp's 8 random characters + ".tmp"
TEMPORARY = re.compile(r"\.(?P<target>[^/]+)\.[a-z0-9_]{8}\.tmp")
MARKER = ".handouts-output"      # written into an output folder this tool made or adopted


def mark(output_dir: Path) -> None:
    """Mark `output_dir` as this tool's own: the command line then takes it as --output again."""
    if not (output_dir / MARKER).is_file():
        write_atomic(output_dir, MARKER, b"This folder is written by build.py (patient handouts): it adds, replaces "
                                         b"and removes files here.\n")


def document_path(path: object, clinic: object = None, language: object = None, condition: object = None,
                  kind: object = None, variant: object = None) -> bool:
    """Whether `path` (read from manifest.json, ledger.json or a delivery) is a document path of the catalogue's
    shape, `<clinic>/<language>/<condition>-<kind>-<variant>.pdf`, relative and inside the output folder; and,
    when the entry's fields are given, whether it is exactly the path they make."""
    if not isinstance(path, str) or not DOCUMENT.fullmatch(path):
        return False
    match = DOCUMENT.fullmatch(path)
    if not any(match["name"].endswith(f"-{v}") for v in VARIANTS):
        return False
    if clinic is None:
        return True
    parts = (clinic, language, condition, kind, variant)
    return (all(isinstance(p, str) and re.fullmatch(SLUG, p) for p in parts) and variant in VARIANTS
            and path == f"{clinic}/{language}/{condition}-{kind}-{variant}.pdf")


def inside(output_dir: Path, relative: str) -> bool:
    """The file is a regular file inside the output folder, reached through no symbolic link."""
    file = output_dir / relative
    return (file.is_file() and not any(p.is_symlink() for p in [file, *file.parents][: relative.count("/") + 1])
            and file.resolve().is_relative_to(output_dir.resolve()))


def sweep_temporary(folder: Path) -> None:
    """Delete the temporary files a killed run of write_atomic left in `folder` (not below it): only names of
    exactly that pattern, nothing else."""
    try:
        names = [p for p in folder.iterdir() if TEMPORARY.fullmatch(p.name) and p.is_file() and not p.is_symlink()]
    except (FileNotFoundError, NotADirectoryError):
        return
    for stale in names:
        stale.unlink(missing_ok=True)


def write_atomic(output_dir: Path, relative: str, data: bytes) -> Path:
    """Write `data` to output_dir/relative via a temporary file and a rename: readers see the old complete
    file or the new complete file, never a partial one. Refuses any path outside `output_dir`."""
    root = output_dir.resolve()
    target = (root / relative).resolve()
    if not target.is_relative_to(root) or target == root:
        raise UnsafePath(f"refusing to write outside {output_dir}: {relative}")
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, FILE_MODE)          # mkstemp makes the file private; outputs are for others to read
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class Entry:
    path: str            # relative to the output folder
    clinic: str
    language: str
    condition: str
    kind: str
    variant: str
    version: str
    review_due: str
    pages: int
    sha256: str
    inputs_digest: str
    inputs: dict[str, str]   # each input (file, version or option) and the start of its sha256


Stat = tuple[int, int, int]       # a PDF's st_size, st_mtime_ns and st_ino, once in place
Row = tuple[str, str, int | None, int | None, int | None]      # path, entry as JSON, its file's Stat (or NULLs)

SCHEMA_VERSION = 1
SCHEMA = """
CREATE TABLE documents (path TEXT PRIMARY KEY, entry TEXT NOT NULL, size INTEGER, mtime_ns INTEGER, inode INTEGER);
CREATE TABLE behind (path TEXT PRIMARY KEY, why TEXT NOT NULL);
"""
INSERT = "INSERT OR REPLACE INTO documents (path, entry, size, mtime_ns, inode) VALUES (?, ?, ?, ?, ?)"


def _well_typed(item: dict) -> bool:
    texts = [v for k, v in item.items() if k not in ("pages", "inputs")]
    inputs = item["inputs"]
    return (all(isinstance(v, str) for v in texts) and type(item["pages"]) is int and isinstance(inputs, dict)
            and all(isinstance(k, str) and isinstance(v, str) for k, v in inputs.items()))


def _entry(item: object) -> Entry | None:
    """An entry read from the store or manifest.json, if it is one of the catalogue's shape."""
    names = {f.name for f in fields(Entry)}
    if not (isinstance(item, dict) and set(item) == names and _well_typed(item)):
        return None
    entry = Entry(**item)
    return entry if document_path(entry.path, entry.clinic, entry.language, entry.condition, entry.kind,
                                  entry.variant) else None


def _ignored(shown: str, number: int, item: object) -> Problem:
    path = item.get("path") if isinstance(item, dict) else None
    return Problem(shown, 1, f"document {number} ({str(path)[:80]!r}) is not a document of the catalogue's shape, "
                             "or does not match its fields; ignored", "manifest", "warning")


def _unreadable(shown: str, exc: Exception, rebuilt_from: str) -> Problem:
    return Problem(shown, 1, f"unreadable ({type(exc).__name__}: {str(exc)[:80]}); it is rebuilt from "
                             f"{rebuilt_from}, and no file is deleted", "manifest", "warning")


def _stat_of(info: os.stat_result) -> Stat:
    return (info.st_size, info.st_mtime_ns, info.st_ino)


def _as_json(entry: Entry) -> str:
    return json.dumps(vars(entry), ensure_ascii=False)       # entries are frozen: no copy needed


class UnsafeStore(sqlite3.DatabaseError):
    """The store, or its log, is not a regular file (a symbolic link could send the writes anywhere)."""


class Store:
    """The SQLite file behind the manifest: read whole once per run, then changed one small transaction at a time."""

    def __init__(self, file: Path):
        self.file = file
        self._db: sqlite3.Connection | None = None

    def names(self) -> list[Path]:
        return [self.file, *(self.file.with_name(self.file.name + end) for end in ("-wal", "-shm", "-journal"))]

    def check(self) -> None:
        """Refuse a store, or a file of its log, that is a link, a folder or a device: SQLite would follow it."""
        for name in self.names():
            try:
                mode = name.lstat().st_mode
            except FileNotFoundError:
                continue
            if not stat.S_ISREG(mode):
                raise UnsafeStore(f"{name.name} is not a regular file")

    def read(self) -> tuple[list[Row], list[tuple[str, str]]]:
        """Every document row (in the order they were written) and every row of 'behind'; nothing is changed."""
        self.check()
        with closing(sqlite3.connect(f"{self.file.resolve().as_uri()}?mode=ro", uri=True, timeout=30)) as db:
            found = db.execute("PRAGMA user_version").fetchone()[0]
            if found != SCHEMA_VERSION:
                raise sqlite3.DatabaseError(f"version {found}, not {SCHEMA_VERSION}")
            rows = db.execute("SELECT path, entry, size, mtime_ns, inode FROM documents ORDER BY rowid").fetchall()
            behind = db.execute("SELECT path, why FROM behind").fetchall()
        return rows, behind

    def create(self, rows: list[Row], behind: list[tuple[str, str]]) -> None:
        """Make the store afresh with these rows, atomically: written under a temporary name (which the sweep of a
        killed run removes), then renamed over whatever was there (its old log first removed)."""
        fd, tmp = tempfile.mkstemp(dir=self.file.parent, prefix=f".{self.file.name}.", suffix=".tmp")
        try:
            os.fchmod(fd, FILE_MODE)
            os.close(fd)
            with closing(sqlite3.connect(tmp, isolation_level=None)) as db:
                db.execute("PRAGMA journal_mode=OFF")         # a file nobody reads until it is complete
                db.executescript(f"BEGIN; {SCHEMA} PRAGMA user_version={SCHEMA_VERSION};")
                db.executemany(INSERT, rows)
                db.executemany("INSERT INTO behind (path, why) VALUES (?, ?)", behind)
                db.execute("COMMIT")
            with open(tmp, "rb") as written:
                os.fsync(written.fileno())
            for name in self.names()[1:]:
                name.unlink(missing_ok=True)      # a log of the store replaced would be applied to the new one
            os.replace(tmp, self.file)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def connection(self) -> sqlite3.Connection:
        if self._db is None:
            self.check()
            db = sqlite3.connect(self.file, isolation_level=None, timeout=30)
            db.execute("PRAGMA journal_mode=WAL")
            # FULL: each commit is on disk before the PDF it allows is put in place (or the one it drops is gone),
            # power loss included; NORMAL would be safe against a killed process only.
            db.execute("PRAGMA synchronous=FULL")
            self._db = db
        return self._db

    @contextmanager
    def change(self) -> Iterator[sqlite3.Connection]:
        """One transaction: committed when the block ends, rolled back if anything (a signal too) stops it."""
        db = self.connection()
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None


class Manifest:
    """The documents of the output folder, one entry each keyed by its path, kept in `.manifest.sqlite` and
    exported as `manifest.json` (see the module's docstring)."""

    NAME = "manifest.json"
    STORE = ".manifest.sqlite"

    def __init__(self, output_dir: Path, entries: dict[str, Entry], stats: dict[str, Stat] | None = None):
        self.output_dir = output_dir
        self.entries = entries
        self.stats: dict[str, Stat] = stats or {}    # path -> its PDF's size, mtime and inode, when known
        self.problems: list[Problem] = []       # warnings about what was read
        # Translated documents held back because a block translates an older version of its source: path -> why
        # (each stale block, the source it is behind and the day it became an error). Their PDFs are the last good.
        self.behind: dict[str, list[dict[str, str]]] = {}
        self.store = Store(output_dir / self.STORE)
        self._stored_behind: dict[str, list[dict[str, str]]] = {}      # as the store has it
        self._in_store = False        # the store on disk holds what was read (else it is made at the first change)
        self._ignored: list[str] = []          # rows of the store left out as not of the catalogue's shape

    @classmethod
    def exists(cls, output_dir: Path) -> bool:
        """Whether the folder has a manifest (a store, or an older release's manifest.json)."""
        return (output_dir / cls.STORE).is_file() or (output_dir / cls.NAME).is_file()

    @classmethod
    def load(cls, output_dir: Path) -> "Manifest":
        """The manifest as data, from the store, or from manifest.json when there is no store: an entry whose path
        is not a document of the catalogue's shape, or does not agree with its fields, is left out with a warning
        (never deleted); an unreadable store or manifest is rebuilt from what is built, with a warning. Nothing is
        changed (reading the store may leave SQLite's -wal and -shm files beside it)."""
        store = output_dir / cls.STORE
        if store.exists() or store.is_symlink():
            try:
                return cls._from_store(output_dir)
            except (sqlite3.Error, OSError, ValueError) as exc:
                manifest = cls._from_json(output_dir)
                manifest.problems.insert(0, _unreadable(str(store), exc, f"{cls.NAME} and what is built"))
                return manifest
        return cls._from_json(output_dir)

    @classmethod
    def _from_store(cls, output_dir: Path) -> "Manifest":
        manifest = cls(output_dir, {})
        rows, behind = manifest.store.read()
        shown = str(manifest.store.file)
        for number, (path, text, *recorded) in enumerate(rows, 1):
            try:
                item = json.loads(text)
            except (TypeError, ValueError):
                item = None
            entry = _entry(item)
            if entry is None or entry.path != path:
                manifest.problems.append(_ignored(shown, number, item))
                manifest._ignored.append(path)
                continue
            manifest.entries[path] = entry
            if all(type(value) is int for value in recorded):
                manifest.stats[path] = tuple(recorded)
        for path, why in behind:
            try:
                value = json.loads(why)
            except (TypeError, ValueError):
                continue
            if isinstance(value, list) and all(isinstance(w, dict) for w in value):
                manifest.behind[path] = value
        manifest._stored_behind = dict(manifest.behind)
        manifest._in_store = True
        return manifest

    @classmethod
    def _from_json(cls, output_dir: Path) -> "Manifest":
        """An older release's manifest.json (or one that outlived its store): no sizes or times are known."""
        file = output_dir / cls.NAME
        shown = str(file)
        manifest = cls(output_dir, {})
        raw: object = None
        if file.is_file():
            try:
                raw = json.loads(file.read_text(encoding="utf-8"))
                items = raw["documents"]
                if not isinstance(items, list):
                    raise TypeError("'documents' is not a list")
            except (OSError, ValueError, TypeError, KeyError) as exc:
                manifest.problems.append(_unreadable(shown, exc, "what is built"))
                items = []
            for number, item in enumerate(items, 1):
                entry = _entry(item)
                if entry is None:
                    manifest.problems.append(_ignored(shown, number, item))
                else:
                    manifest.entries[entry.path] = entry
        if isinstance(raw, dict):
            behind = raw.get("behind", {})
            if isinstance(behind, dict):
                manifest.behind = {path: why for path, why in behind.items()
                                   if isinstance(why, list) and all(isinstance(w, dict) for w in why)}
        return manifest

    def _store(self) -> Store:
        """The store, ready for changes: made from what was read when there was none, or it could not be read."""
        if not self._in_store:
            rows = [(path, _as_json(entry), *self.stats.get(path, (None, None, None)))
                    for path, entry in sorted(self.entries.items())]
            self.store.create(rows, [(path, json.dumps(why, ensure_ascii=False))
                                     for path, why in sorted(self.behind.items())])
            self._stored_behind = dict(self.behind)
            self._in_store = True
        if self._ignored:
            with self.store.change() as db:
                db.executemany("DELETE FROM documents WHERE path IS ?", [(path,) for path in self._ignored])
            self._ignored = []
        return self.store

    def publish(self, entry: Entry, pdf: bytes) -> None:
        """Put a new PDF in place so that, wherever a run is killed, every entry matches its file: the old
        entry goes first, then the file is replaced atomically, then the new entry is written."""
        store = self._store()
        if entry.path in self.entries:
            with store.change() as db:
                db.execute("DELETE FROM documents WHERE path = ?", (entry.path,))
            del self.entries[entry.path]
            self.stats.pop(entry.path, None)
        target = write_atomic(self.output_dir, entry.path, pdf)
        recorded = _stat_of(os.stat(target))
        with store.change() as db:
            db.execute(INSERT, (entry.path, _as_json(entry), *recorded))
        self.entries[entry.path] = entry
        self.stats[entry.path] = recorded

    def remove(self, path: str) -> None:
        """Withdraw a document whose source is gone: entry first, then the file."""
        if path in self.entries:
            with self._store().change() as db:
                db.execute("DELETE FROM documents WHERE path = ?", (path,))
            del self.entries[path]
            self.stats.pop(path, None)
        if document_path(path) and inside(self.output_dir, path):
            (self.output_dir / path).unlink()

    def sweep(self, folders: Iterable[str], verify: bool = False) -> None:
        """Forget entries whose PDF is gone or differs, and delete temporary files a killed run left in the
        tool's own folders (relative to the output folder), never recursively."""
        for folder in folders:
            sweep_temporary(self.output_dir / folder)
        self.keep_existing(verify)

    def keep_existing(self, verify: bool = False) -> None:
        """Drop entries whose PDF is gone or differs from what the entry says. A PDF whose size, modification
        time and inode are those recorded is taken as unchanged unread; any other is hashed (every one, with
        `verify`), and its new size, time and inode recorded when its bytes are still the entry's. One
        transaction for all the changes, none when there are none."""
        dropped: list[str] = []
        seen: dict[str, Stat] = {}
        folders: dict[str, bool] = {}
        for path, entry in self.entries.items():
            found = self._unchanged(path, entry, verify, folders)
            if found is None:
                dropped.append(path)
            elif found != self.stats.get(path):
                seen[path] = found
        if dropped or seen:
            with self._store().change() as db:
                db.executemany("DELETE FROM documents WHERE path = ?", [(path,) for path in dropped])
                db.executemany("UPDATE documents SET size = ?, mtime_ns = ?, inode = ? WHERE path = ?",
                               [(*found, path) for path, found in seen.items()])
        for path in dropped:
            del self.entries[path]
            self.stats.pop(path, None)
        self.stats.update(seen)

    def _unchanged(self, path: str, entry: Entry, verify: bool, folders: dict[str, bool]) -> Stat | None:
        """The PDF's size, time and inode when it is still the entry's; None when it is gone or differs, or is not
        a regular file reached through no link (as `inside`, with each folder looked at once)."""
        folder = path.rpartition("/")[0]
        if folder not in folders:
            folders[folder] = self._plain_folder(folder)
        file = self.output_dir / path
        try:
            info = os.lstat(file)
            if not folders[folder] or not stat.S_ISREG(info.st_mode):
                return None
            if not verify and _stat_of(info) == self.stats.get(path):
                return self.stats[path]
            with open_regular(file) as handle:
                found = _stat_of(os.fstat(handle.fileno()))
                digest = hashlib.file_digest(handle, "sha256").hexdigest()
        except OSError:
            return None
        return found if digest == entry.sha256 else None

    def _plain_folder(self, folder: str) -> bool:
        """A document's folder (`<clinic>/<language>`: entries are of the catalogue's shape, with no '..') is a
        folder of the output folder, each step a real folder and not a link."""
        try:
            parts = folder.split("/")
            return all(stat.S_ISDIR(os.lstat(self.output_dir.joinpath(*parts[:n])).st_mode)
                       for n in range(1, len(parts) + 1))
        except OSError:
            return False

    def save_behind(self) -> None:
        """Store the documents held behind their source, when they changed since the store was read: one
        transaction for the run, not one per document."""
        if self._in_store and self.behind == self._stored_behind:
            return
        store = self._store()        # made from what is in memory, 'behind' included, when there was none
        if self.behind != self._stored_behind:
            with store.change() as db:
                db.execute("DELETE FROM behind")
                db.executemany("INSERT INTO behind (path, why) VALUES (?, ?)",
                               [(path, json.dumps(why, ensure_ascii=False)) for path, why in sorted(self.behind.items())])
            self._stored_behind = dict(self.behind)

    def export(self) -> bool:
        """Write manifest.json from the store (made first if there is none), atomically, when its content
        changed. Returns whether it was written."""
        db = self._store().connection()
        documents = [json.loads(text) for (text,) in db.execute("SELECT entry FROM documents ORDER BY path")]
        data: dict = {"documents": documents}
        behind = db.execute("SELECT path, why FROM behind ORDER BY path").fetchall()
        if behind:
            data["behind"] = {path: json.loads(why) for path, why in behind}
        text = (json.dumps(data, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
        if self._exported() == text:
            return False
        write_atomic(self.output_dir, self.NAME, text)
        return True

    def _exported(self) -> bytes | None:
        try:
            with open_regular(self.output_dir / self.NAME) as handle:
                return handle.read()
        except OSError:
            return None

    def close(self) -> None:
        self.store.close()
