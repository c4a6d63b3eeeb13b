"""Publish stage: atomic writes inside the output folder, and the manifest that lists every document."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path


FILE_MODE = 0o644


class UnsafePath(ValueError):
    pass


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


class Manifest:
    """output/manifest.json: one entry per document, keyed by its path."""

    NAME = "manifest.json"

    def __init__(self, output_dir: Path, entries: dict[str, Entry]):
        self.output_dir = output_dir
        self.entries = entries

    @classmethod
    def load(cls, output_dir: Path) -> "Manifest":
        file = output_dir / cls.NAME
        entries: dict[str, Entry] = {}
        if file.is_file():
            try:
                raw = json.loads(file.read_text(encoding="utf-8"))
                for item in raw.get("documents", []):
                    entries[item["path"]] = Entry(**item)
            except (ValueError, TypeError, KeyError):
                entries = {}      # an unreadable manifest is rebuilt from scratch
        return cls(output_dir, entries)

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
        (self.output_dir / path).unlink(missing_ok=True)

    def sweep(self) -> None:
        """Forget entries whose PDF is gone or differs, and delete temporary files a killed run left."""
        for stale in self.output_dir.rglob(".*.tmp"):
            stale.unlink(missing_ok=True)
        self.keep_existing()

    def keep_existing(self) -> None:
        """Drop entries whose PDF is gone or differs from what the entry says."""
        for path, entry in list(self.entries.items()):
            file = self.output_dir / path
            if not file.is_file() or sha256(file.read_bytes()) != entry.sha256:
                del self.entries[path]

    def save(self) -> None:
        documents = [vars(self.entries[k]) for k in sorted(self.entries)]     # entries are frozen: no copy needed
        text = json.dumps({"documents": documents}, indent=2, ensure_ascii=False) + "\n"
        write_atomic(self.output_dir, self.NAME, text.encode("utf-8"))
