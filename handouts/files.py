"""Reading a content file or template safely: only a regular file inside the project, of a sane size, in UTF-8.

A FIFO, a device or a directory is refused without being opened for reading (opening a FIFO would wait for a
writer forever, reading a device may never end), as is a symbolic link that leads outside the project. A UTF-8
byte order mark and CRLF line ends are accepted; a byte that is not UTF-8 is reported with its line.

Inside `one_read_per_file()` (a build) each file is opened once: its bytes are kept, by resolved path, for the
rest of the run, so that loading, checking, planning and the digests recorded in the manifest all see the same
bytes. Outside it (the staff app's long-lived process) every read goes to the disk.
"""

from __future__ import annotations

import codecs
import hashlib
import os
import stat
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import IO, Iterator

from .problems import BuildError, Problem, shorten

# The largest file read as content (a block, a YAML file, a template). The biggest shipped block is about 2 KB
# and the biggest template about 5 KB: anything over 256 KB is a mistake (a pasted image, a log), not a text.
MAX_BYTES = 256 * 1024


def _refuse(shown: str, message: str) -> BuildError:
    return BuildError([Problem(shown, 1, message, "file")])


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


class Reads:
    """The files read during one run: the bytes of each (by resolved path), and the sha256 of those only hashed."""

    def __init__(self) -> None:
        self.data: dict[Path, bytes] = {}
        self.digests: dict[Path, str] = {}


_RUN: ContextVar[Reads | None] = ContextVar("handouts_reads", default=None)


@contextmanager
def one_read_per_file() -> Iterator[Reads]:
    """Within the block, a file read again gives the bytes read the first time, unopened."""
    reads = Reads()
    token = _RUN.set(reads)
    try:
        yield reads
    finally:
        _RUN.reset(token)


def contents(file: Path) -> bytes:
    """The bytes of a regular file, whatever its size (a policy file, a block checked), read once per run."""
    reads = _RUN.get()
    key = file.resolve()
    if reads is not None and key in reads.data:
        return reads.data[key]
    with open_regular(file) as handle:
        data = handle.read()
    if reads is not None:
        reads.data[key] = data
    return data


def sha256(file: Path) -> str:
    """The sha256 of a regular file's bytes: of those already read in this run, or read to be hashed (a font or
    an image, whose bytes are not kept)."""
    reads = _RUN.get()
    key = file.resolve()
    if reads is not None and key in reads.digests:
        return reads.digests[key]
    if reads is not None and key in reads.data:
        digest = hashlib.sha256(reads.data[key]).hexdigest()
    else:
        with open_regular(file) as handle:
            digest = hashlib.file_digest(handle, "sha256").hexdigest()
    if reads is not None:
        reads.digests[key] = digest
    return digest


def guard(file: Path, shown: str, root: Path | None, limit: int = MAX_BYTES) -> Path:
    """Raise BuildError unless `file` is a regular file of at most `limit` bytes, inside `root` (after following
    links) when a root is given. Nothing is opened. Returns the file's resolved path."""
    try:
        target = file.resolve()        # a link, or a linked folder on the way, may lead anywhere
        if root is not None and not target.is_relative_to(root.resolve()):
            raise _refuse(shown, f"a symbolic link to {shorten(str(target))}, outside the project: not read")
        info = file.stat()
    except OSError as exc:
        raise _refuse(shown, f"cannot read: {exc.strerror}") from None
    if not stat.S_ISREG(info.st_mode):
        raise _refuse(shown, f"{_kind(info.st_mode)}, not a file: not read")
    if info.st_size > limit:
        raise _refuse(shown, f"{info.st_size:,} bytes, over the limit of {limit:,} bytes: not read")
    return target


class NotRegular(OSError):
    """What `open_regular` found instead of a regular file."""


def open_regular(file: str | os.PathLike) -> IO[bytes]:
    """The file opened for reading, if it is a regular file: opened without waiting (a FIFO would wait for a
    writer for ever) and looked at before anything is read, so a FIFO or a device is never read from."""
    handle = open(file, "rb", opener=lambda name, flags: os.open(name, flags | os.O_NONBLOCK))
    mode = os.fstat(handle.fileno()).st_mode
    if not stat.S_ISREG(mode):
        handle.close()
        raise NotRegular(0, f"{_kind(mode)}, not a file: not read")
    os.set_blocking(handle.fileno(), True)
    return handle


def read_bytes(file: Path, shown: str, root: Path | None, limit: int = MAX_BYTES) -> bytes:
    """The bytes of a file that passes `guard`, checked again once open (one swapped for a FIFO or a device in
    between is still refused) and never read past the limit. Read once per run (see `one_read_per_file`)."""
    target = guard(file, shown, root, limit)
    reads = _RUN.get()
    if reads is not None and target in reads.data:
        data = reads.data[target]
        if len(data) > limit:
            raise _refuse(shown, f"over the limit of {limit:,} bytes: not read")
        return data
    try:
        with open_regular(file) as handle:
            data = handle.read(limit + 1)
    except NotRegular as exc:
        raise _refuse(shown, exc.strerror) from None
    except OSError as exc:
        raise _refuse(shown, f"cannot read: {exc.strerror}") from None
    if len(data) > limit:
        raise _refuse(shown, f"over the limit of {limit:,} bytes: not read")
    if reads is not None:
        reads.data[target] = data
    return data


def decode(data: bytes, shown: str, first_line: int = 1) -> str:
    """UTF-8 text with a byte order mark dropped and line ends made '\\n'; a bad byte is an error on its line."""
    data = data.removeprefix(codecs.BOM_UTF8)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + first_line
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise BuildError([Problem(shown, line, f"not UTF-8: byte 0x{data[exc.start]:02x} at column {column}; "
                                               "save the file as UTF-8", "encoding")]) from None
    return text.replace("\r\n", "\n").replace("\r", "\n")


def read_text(file: Path, shown: str, root: Path) -> str:
    return decode(read_bytes(file, shown, root), shown)
