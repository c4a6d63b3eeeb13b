"""Reading a content file or template safely: only a regular file inside the project, of a sane size, in UTF-8.

A FIFO, a device or a directory is refused without being opened for reading (opening a FIFO would wait for a
writer forever, reading a device may never end), as is a symbolic link that leads outside the project. A UTF-8
byte order mark and CRLF line ends are accepted; a byte that is not UTF-8 is reported with its line.
"""

from __future__ import annotations

import codecs
import os
import stat
from pathlib import Path
from typing import IO

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


def guard(file: Path, shown: str, root: Path | None, limit: int = MAX_BYTES) -> None:
    """Raise BuildError unless `file` is a regular file of at most `limit` bytes, inside `root` (after following
    links) when a root is given. Nothing is opened."""
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
    between is still refused) and never read past the limit."""
    guard(file, shown, root, limit)
    try:
        with open_regular(file) as handle:
            data = handle.read(limit + 1)
    except NotRegular as exc:
        raise _refuse(shown, exc.strerror) from None
    except OSError as exc:
        raise _refuse(shown, f"cannot read: {exc.strerror}") from None
    if len(data) > limit:
        raise _refuse(shown, f"over the limit of {limit:,} bytes: not read")
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
