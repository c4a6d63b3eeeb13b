"""Problems found while loading, checking or building: each names a file and a line."""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Iterable, Literal

Severity = Literal["error", "warning"]


@dataclass(frozen=True, order=True)
class Problem:
    path: str
    line: int
    message: str
    rule: str = ""
    severity: Severity = "error"

    def format(self) -> str:
        rule = f"{self.rule}: " if self.rule else ""
        kind = "" if self.severity == "error" else "warning: "
        message = " ".join(self.message.splitlines())      # one problem, one line
        return f"{self.path}:{self.line}: {kind}{rule}{message}"

    def as_dict(self) -> dict:
        return asdict(self)


def relpath(path: Path, root: Path) -> str:
    """The path as the user should see it: relative to the project root where possible."""
    try:
        return str(path.resolve().relative_to(root.resolve()))
    except ValueError:
        return str(path)


def shorten(text: str, limit: int = 80) -> str:
    """A value quoted in a message, cut in the middle to about `limit` characters (the start says what it is, the
    end names the file): a 20 MB data: URI is never echoed whole."""
    return text if len(text) <= limit else f"{text[:limit - 25]}…{text[-20:]}"


def shorten_words(message: str, limit: int = 80) -> str:
    """`message` with every run of more than `limit` non-space characters (a URL, a path) shortened."""
    return re.sub(rf"\S{{{limit + 1},}}", lambda match: shorten(match.group(), limit), message)


class BuildError(Exception):
    """Raised by a stage when it cannot go on; carries the problems that stopped it."""

    def __init__(self, problems: Iterable[Problem]):
        self.problems = sorted(problems)
        super().__init__("\n".join(p.format() for p in self.problems))


def errors(problems: Iterable[Problem]) -> list[Problem]:
    return [p for p in problems if p.severity == "error"]


def to_json(problems: Iterable[Problem]) -> str:
    return json.dumps([p.as_dict() for p in sorted(problems)], indent=2)
