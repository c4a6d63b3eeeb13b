"""Where the printer's files come from: the stylesheets, logos, images and colour profiles a document's HTML and
stylesheets name by `file:` URL.

One interface, two sources. `ProjectFiles` reads them from the project folder on disk (the local pool, the staff
app). `SentFiles` serves them from a table made in the building process and sent with the document: a worker on
another machine has the package but never the project folder, and never reads a path under the project's root
from its own disk. Either way the printer's fonts come from the installed font packages.

`Shipment` makes those tables: it finds every file a document's printer will ask for (`references`), reads each
distinct file once per build and names it by its SHA-256, so that a file is sent to a cluster once however many
documents use it.
"""

from __future__ import annotations

import hashlib
import html
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Protocol, Sequence
from urllib.parse import unquote, urljoin, urlsplit

from . import fonts
from .printjob import PrintJob


class FetchRefused(ValueError):
    """A file the printer may not read (outside the project's content, templates and fonts, or not sent)."""


@dataclass(frozen=True)
class Found:
    """A file's bytes, and its path with links resolved (what its URL becomes for what it refers to)."""

    resolved: Path
    data: bytes


class FileSource(Protocol):
    """The files of one project as the printer may read them."""

    root: Path

    def read(self, path: Path) -> Found:
        """The file at `path` (as its URL names it). Raises FetchRefused for a file the printer may not read,
        FileNotFoundError for one that is not there."""

    def digest(self, path: Path) -> str:
        """What the file's content is (its SHA-256), or why there is none: the key of what is parsed from it."""


def key_of(path: Path | str) -> str:
    """A path as both sides name it: made absolute and without `.` or `..` by its letters alone (no disk)."""
    return os.path.normpath(str(path))


def templates_url(root: Path) -> str:
    """The URL that the HTML's relative references are resolved against."""
    return root.joinpath("templates").as_uri() + "/"


def _digest(source: FileSource, path: Path) -> str:
    try:
        return hashlib.sha256(source.read(path).data).hexdigest()
    except FetchRefused as exc:
        return f"refused: {exc}"
    except OSError as exc:
        return f"unreadable: {exc}"


class ProjectFiles:
    """The project folder on this machine: files inside its content and templates folders, and the fonts of
    `families` from their packages."""

    def __init__(self, root: Path, families: Sequence[str]):
        self.root = root
        folders = (root / "content", root / "templates", *fonts.folders(list(families)))
        self.allowed = tuple(folder.resolve() for folder in folders)

    def read(self, path: Path) -> Found:
        resolved = path.resolve()
        if not any(resolved.is_relative_to(folder) for folder in self.allowed):
            raise FetchRefused("outside the project's content, templates and fonts")
        if not resolved.is_file():
            raise FileNotFoundError(f"no such file: {resolved}")
        return Found(resolved, resolved.read_bytes())

    def digest(self, path: Path) -> str:
        return _digest(self, path)


@dataclass(frozen=True)
class Sent:
    """What the building process found at a path a document refers to: a file's resolved path and SHA-256, or
    why it cannot be read ("refused" or "missing", and the message the printer gives locally)."""

    resolved: str
    sha256: str | None = None
    error: tuple[str, str] | None = None


class SentFiles:
    """The files the building process sent with a document: `table` maps each path the document refers to (by
    `key_of`) to what was found there, `blobs` each SHA-256 to the bytes. A path under the building machine's
    project root is served from the table or refused, never read from this machine's disk; the fonts of
    `families` come from this machine's font packages."""

    def __init__(self, root: Path, table: dict[str, Sent], blobs: dict[str, bytes], families: Sequence[str]):
        self.root = root
        self.table = table
        self.blobs = blobs
        self.fonts = tuple(p.resolve() for p in fonts.folders(list(families)))

    def read(self, path: Path) -> Found:
        sent = self.table.get(key_of(path))
        if sent is not None:
            if sent.error is not None:
                kind, message = sent.error
                raise FetchRefused(message) if kind == "refused" else FileNotFoundError(message)
            assert sent.sha256 is not None
            return Found(Path(sent.resolved), self.blobs[sent.sha256])
        resolved = path.resolve()
        if any(resolved.is_relative_to(folder) for folder in self.fonts):
            if not resolved.is_file():
                raise FileNotFoundError(f"no such file: {resolved}")
            return Found(resolved, resolved.read_bytes())
        raise FetchRefused("not one of the project's files sent with the document")

    def digest(self, path: Path) -> str:
        sent = self.table.get(key_of(path))
        return sent.sha256 if sent is not None and sent.sha256 else _digest(self, path)


# --- what a document's printer will read ----------------------------------------------------------------------

# A reference in HTML or CSS: an attribute's URL (src, href) or a CSS url(...) or @import "...".
_ATTRIBUTE = re.compile(r"""\b(?:src|href)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))""", re.I)
_CSS_URL = re.compile(r"""url\(\s*(?:"([^"]*)"|'([^']*)'|([^)\s]*))\s*\)|@import\s+(?:"([^"]*)"|'([^']*)')""", re.I)


def _targets(text: str, base: str, pattern: re.Pattern) -> list[Path]:
    """The local files (by path) that the references in `text` name, relative ones resolved against `base`."""
    found = []
    for groups in pattern.findall(text):
        target = html.unescape(next((g for g in groups if g), "")).strip()
        if not target or target.startswith("#"):
            continue
        parts = urlsplit(urljoin(base, target))
        if parts.scheme == "file" and parts.netloc in ("", "localhost"):
            found.append(Path(unquote(parts.path)))
    return found


def stylesheets(job: PrintJob, root: Path) -> list[Path]:
    """The project's stylesheets a document is printed with, over its HTML."""
    templates = root / "templates"
    return [templates / "print.css", *([templates / job.variant.stylesheet] if job.variant.stylesheet else [])]


def profile(job: PrintJob) -> Path | None:
    """The colour profile a document is printed in (a print master's), or None."""
    return job.profile_file if job.variant.colour == "cmyk" else None


class Shipment:
    """The files of one build's documents, each read once (from `source`, the project on this machine) and kept
    by SHA-256 until it has been sent."""

    def __init__(self, source: ProjectFiles):
        self.source = source
        self.root = source.root
        self._sent: dict[str, Sent] = {}
        self._blobs: dict[str, bytes] = {}
        self._css: dict[str, list[Path]] = {}

    def table(self, job: PrintJob) -> dict[str, Sent]:
        """What the printer of `job` will find at every path it may ask for (see `references`)."""
        return {key: self._look(key) for key in dict.fromkeys(key_of(p) for p in self.references(job))}

    def blob(self, sha256: str) -> bytes:
        return self._blobs[sha256]

    def references(self, job: PrintJob) -> list[Path]:
        """Every file the printer of `job` will read: the stylesheets and what they import or refer to, the
        colour profile, and each file the HTML refers to (logos, images)."""
        found = _targets(job.html, templates_url(self.root), _ATTRIBUTE)
        found += _targets(job.html, templates_url(self.root), _CSS_URL)
        found += self._stylesheet_files(stylesheets(job, self.root))
        colour = profile(job)
        if colour is not None:
            found.append(colour.absolute())
        return found

    def _stylesheet_files(self, sheets: Iterable[Path]) -> list[Path]:
        """The stylesheets and everything they refer to, the stylesheets they import too (each read once per
        build)."""
        found: list[Path] = []
        todo = list(sheets)
        seen: set[str] = set()
        while todo:
            sheet = todo.pop()
            key = key_of(sheet)
            if key in seen:
                continue
            seen.add(key)
            if key not in self._css:
                sent = self._look(key)
                text = self._blobs[sent.sha256].decode("utf-8", "replace") if sent.sha256 else ""
                self._css[key] = _targets(text, Path(sent.resolved).as_uri(), _CSS_URL)
            found += [sheet, *self._css[key]]
            todo += [target for target in self._css[key] if target.suffix.lower() == ".css"]
        return found

    def _look(self, key: str) -> Sent:
        if key not in self._sent:
            try:
                found = self.source.read(Path(key))
            except FetchRefused as exc:
                self._sent[key] = Sent(key, error=("refused", str(exc)))
            except OSError as exc:
                self._sent[key] = Sent(key, error=("missing", str(exc)))
            else:
                sha = hashlib.sha256(found.data).hexdigest()
                self._blobs.setdefault(sha, found.data)
                self._sent[key] = Sent(str(found.resolved), sha256=sha)
        return self._sent[key]
