"""Bundled fonts: font families installed as pinned Python packages (fontpkg), never the system's fonts."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import fontpkg


@lru_cache(maxsize=1)
def installed() -> frozenset[str]:
    return frozenset(family.name for family in fontpkg.families().values())


def font_faces(families: list[str]) -> str:
    """@font-face rules for the given bundled families."""
    rules = []
    for name in dict.fromkeys(families):
        family = fontpkg.family(name)
        for file in family.files:
            # A variable font is declared once per weight the design uses (regular and bold).
            for weight in ([400, 700] if file.variable else [file.weight]):
                rules.append(f'@font-face {{ font-family: "{family.name}"; src: url("{file.path.as_uri()}"); '
                             f"font-style: {file.style}; font-weight: {weight}; }}")
    return "\n".join(rules)


def files(families: list[str]) -> list[Path]:
    return [file.path for name in dict.fromkeys(families) for file in fontpkg.family(name).files]


def folders(families: list[str]) -> list[Path]:
    return sorted({file.parent for file in files(families)})
