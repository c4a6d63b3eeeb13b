"""Publish stage: atomic writes inside the output folder, and the manifest that lists every document."""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Iterable

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


def _well_typed(item: dict) -> bool:
    texts = [v for k, v in item.items() if k not in ("pages", "inputs")]
    inputs = item["inputs"]
    return (all(isinstance(v, str) for v in texts) and type(item["pages"]) is int and isinstance(inputs, dict)
            and all(isinstance(k, str) and isinstance(v, str) for k, v in inputs.items()))


class Manifest:
    """output/manifest.json: one entry per document, keyed by its path."""

    NAME = "manifest.json"

    def __init__(self, output_dir: Path, entries: dict[str, Entry]):
        self.output_dir = output_dir
        self.entries = entries
        self.problems: list[Problem] = []       # warnings about what was read
        # Translated documents held back because a block translates an older version of its source: path -> why
        # (each stale block, the source it is behind and the day it became an error). Their PDFs are the last good.
        self.behind: dict[str, list[dict[str, str]]] = {}

    @classmethod
    def load(cls, output_dir: Path) -> "Manifest":
        """The manifest as data: an entry whose path is not a document of the catalogue's shape, or does not
        agree with its fields, is left out with a warning (never deleted); an unreadable manifest is rebuilt
        from what is built, with a warning."""
        file = output_dir / cls.NAME
        shown = f"{output_dir / cls.NAME}"
        entries: dict[str, Entry] = {}
        problems: list[Problem] = []
        raw: object = None
        if file.is_file():
            try:
                raw = json.loads(file.read_text(encoding="utf-8"))
                items = raw["documents"]
                if not isinstance(items, list):
                    raise TypeError("'documents' is not a list")
            except (OSError, ValueError, TypeError, KeyError) as exc:
                problems.append(Problem(shown, 1, f"unreadable ({type(exc).__name__}: {str(exc)[:80]}); it is "
                                        "rebuilt from what is built, and no file is deleted", "manifest", "warning"))
                items = []
            names = {f.name for f in fields(Entry)}
            for number, item in enumerate(items, 1):
                entry = None
                if isinstance(item, dict) and set(item) == names and _well_typed(item):
                    entry = Entry(**item)
                if entry is None or not document_path(entry.path, entry.clinic, entry.language, entry.condition,
                                                      entry.kind, entry.variant):
                    path = item.get("path") if isinstance(item, dict) else None
                    problems.append(Problem(shown, 1, f"document {number} ({str(path)[:80]!r}) is not a document "
                                            "of the catalogue's shape, or does not match its fields; ignored",
                                            "manifest", "warning"))
                    continue
                entries[entry.path] = entry
        manifest = cls(output_dir, entries)
        manifest.problems = problems
        if isinstance(raw, dict):
            behind = raw.get("behind", {})
            if isinstance(behind, dict):
                manifest.behind = {path: why for path, why in behind.items()
                                   if isinstance(why, list) and all(isinstance(w, dict) for w in why)}
        return manifest

    def record(self, entry: Entry) -> None:
        self.entries[entry.path] = entry

    def publish(self, entry: Entry, pdf: bytes) -> None:
        """Put a new PDF in place so that, wherever a run is killed, every entry matches its file: the old
        entry goes first, then the file is replaced atomically, then the new entry is written."""
        if entry.path in self.entries:
            del self.entries[entry.path]
            self.save()
        write_atomic(self.output_dir, entry.path, pdf)
        self.record(entry)
        self.save()

    def remove(self, path: str) -> None:
        """Withdraw a document whose source is gone: entry first, then the file."""
        self.entries.pop(path, None)
        self.save()
        if document_path(path) and inside(self.output_dir, path):
            (self.output_dir / path).unlink()

    def sweep(self, folders: Iterable[str]) -> None:
        """Forget entries whose PDF is gone or differs, and delete temporary files a killed run left in the
        tool's own folders (relative to the output folder), never recursively."""
        for folder in folders:
            sweep_temporary(self.output_dir / folder)
        self.keep_existing()

    def keep_existing(self) -> None:
        """Drop entries whose PDF is gone or differs from what the entry says."""
        for path, entry in list(self.entries.items()):
            if not inside(self.output_dir, path) or sha256((self.output_dir / path).read_bytes()) != entry.sha256:
                del self.entries[path]

    def save(self) -> None:
        documents = [vars(self.entries[k]) for k in sorted(self.entries)]     # entries are frozen: no copy needed
        data: dict = {"documents": documents}
        if self.behind:
            data["behind"] = {path: self.behind[path] for path in sorted(self.behind)}
        text = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
        write_atomic(self.output_dir, self.NAME, text.encode("utf-8"))
