"""Bundled fonts, never the system's: the clinics' font families and the fallback fonts that carry every script
staff meet (pinned Python packages, fontpkg, and for Gurmukhi and Chinese two pinned Debian packages).

Every process that prints calls `use_bundled_fonts_only()` before WeasyPrint is imported: fontconfig is then
given a configuration that lists the bundled fonts' folders and no system folder, so a character the bundled fonts
lack can never come from a system font. `uncovered()` finds such characters before anything is printed.
"""

from __future__ import annotations

import atexit
import hashlib
import os
import re
import shutil
import tempfile
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from xml.sax.saxutils import escape

import fontpkg


@dataclass(frozen=True)
class Fallback:
    """A font family that follows the clinic's own in every font stack (templates/print.css lists them too)."""

    family: str                     # as CSS and fontconfig name it
    package: str                    # the pinned package that ships it: pyproject.toml, or the Makefile for Debian
    files: tuple[str, ...] = ()     # a Debian package's font files; a fontpkg family's are found by fontpkg


# In this order after the clinic's font: Latin (every diacritic), Greek and Cyrillic, then the other scripts.
# PyPI has no fontpkg family for Gurmukhi nor any OFL CJK font packaged with its licence, so those two come
# from Debian, pinned in the Makefile (FONT_PACKAGES) and read from the paths the packages install.
FALLBACKS = (
    Fallback("Noto Sans", "fontpkg-noto-sans"),
    Fallback("Noto Sans Arabic", "fontpkg-noto-sans-arabic"),           # Arabic, Urdu
    Fallback("Noto Sans Devanagari", "fontpkg-noto-sans-devanagari"),
    Fallback("Hind Siliguri", "fontpkg-hind-siliguri"),                 # Bengali
    Fallback("Lohit Gurmukhi", "fonts-lohit-guru", ("/usr/share/fonts/truetype/lohit-punjabi/Lohit-Gurmukhi.ttf",)),
    Fallback("Noto Sans CJK SC", "fonts-noto-cjk", ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
                                                    "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc")),
)


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


def fallback_files(fallback: Fallback) -> list[Path]:
    return [Path(f) for f in fallback.files] if fallback.files else files([fallback.family])


def bundled_files() -> list[Path]:
    """Every font file a PDF may use: each installed fontpkg family (a clinic may choose any) and the fallbacks."""
    return sorted({*files(sorted(installed())), *(f for fb in FALLBACKS for f in fallback_files(fb))})


# --- fontconfig sees the bundled fonts alone ---------------------------------------------------------------


def fonts_conf() -> str:
    """A fontconfig configuration with the fallback fonts' folders and no system folder. A Debian package's
    folder may hold other packages' fonts too: only the pinned package's files are accepted from it. The clinics'
    fonts arrive through @font-face."""
    debian = [fb for fb in FALLBACKS if fb.files]
    dirs = sorted({str(f.parent) for fb in FALLBACKS for f in fallback_files(fb)})
    generic = "".join(f"<family>{escape(fb.family)}</family>" for fb in FALLBACKS)
    return "\n".join([
        '<?xml version="1.0"?>',
        '<!DOCTYPE fontconfig SYSTEM "urn:fontconfig:fonts.dtd">',
        "<fontconfig>",
        *(f"  <dir>{escape(d)}</dir>" for d in dirs),
        "  <selectfont>",
        "    <rejectfont>" + "".join(f"<glob>{escape(d)}/*</glob>" for d in sorted(
            {str(Path(f).parent) for fb in debian for f in fb.files})) + "</rejectfont>",
        "    <acceptfont>" + "".join(f"<glob>{escape(f)}</glob>" for fb in debian for f in fb.files) + "</acceptfont>",
        "  </selectfont>",
        *(f'  <alias binding="same"><family>{name}</family><prefer>{generic}</prefer></alias>'
          for name in ("sans-serif", "serif", "monospace")),
        "  <cachedir>{cache}</cachedir>",
        "</fontconfig>",
        "",
    ])


def use_bundled_fonts_only() -> Path:
    """Point fontconfig at the bundled fonts alone (FONTCONFIG_FILE); call before WeasyPrint is imported.

    The configuration is written once per set of fonts into the user's cache folder, named by its digest, with
    fontconfig's own cache beside it; where that cannot be written, into a private temporary folder that is
    removed when the process ends.
    """
    text = fonts_conf()
    name = f"fonts-{hashlib.sha256(text.encode()).hexdigest()[:16]}"
    folder = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "handouts"
    conf = folder / f"{name}.conf"
    try:
        if not conf.is_file():
            folder.mkdir(parents=True, exist_ok=True)
            temporary = folder / f".{name}.{os.getpid()}.tmp"
            temporary.write_text(text.replace("{cache}", escape(str(folder / name))), encoding="utf-8")
            os.replace(temporary, conf)
    except OSError:
        folder = Path(tempfile.mkdtemp(prefix="handouts-fonts-"))
        owner = os.getpid()
        atexit.register(lambda: os.getpid() == owner and shutil.rmtree(folder, ignore_errors=True))
        conf = folder / "fonts.conf"
        conf.write_text(text.replace("{cache}", escape(str(folder / "cache"))), encoding="utf-8")
    os.environ["FONTCONFIG_FILE"] = str(conf)
    return conf


# --- which characters the bundled fonts cover --------------------------------------------------------------

# Printable Latin-1 and the common typographic punctuation (dashes, quotes, bullet, ellipsis, euro): Noto Sans has
# every one (tests/test_fonts.py holds it to that), so text made of these alone needs no font read at all.
_COMMON = frozenset(chr(c) for c in (*range(0x20, 0x7F), *range(0xA0, 0x100), *range(0x2010, 0x2023), 0x2026,
                                     0x2030, 0x2039, 0x203A, 0x20AC))


def _ignored(char: str) -> bool:
    """Controls, format characters (joiners, direction marks, soft hyphen) and variation selectors draw nothing."""
    return unicodedata.category(char) in ("Cc", "Cf", "Zl", "Zp") or 0xFE00 <= ord(char) <= 0xFE0F \
        or 0xE0100 <= ord(char) <= 0xE01EF


@lru_cache(maxsize=1)
def coverage() -> frozenset[int]:
    """Every code point some fallback font maps (read once per process). The clinic's own font comes first in the
    stack, but Noto Sans covers everything the clinics' Latin fonts do, so the fallbacks decide."""
    from fontTools.ttLib import TTCollection, TTFont
    points: set[int] = set()
    for fallback in FALLBACKS:
        for path in fallback_files(fallback):
            if not path.is_file():
                continue             # a Debian font package not installed: its scripts are reported uncovered
            if path.suffix.lower() == ".ttc":
                faces = [f for f in TTCollection(path, lazy=True).fonts
                         if f["name"].getDebugName(1) == fallback.family]
            else:
                faces = [TTFont(path, lazy=True)]
            for face in faces:
                points.update(face.getBestCmap() or {})
    return frozenset(points)


def uncovered(text: str) -> list[int]:
    """The code points of `text` that no bundled font can draw, each once, in order of appearance."""
    rare = [c for c in dict.fromkeys(text) if c not in _COMMON and not _ignored(c)]
    if not rare:
        return []
    covered = coverage()
    return [ord(c) for c in rare if ord(c) not in covered]


def describe(code_point: int) -> str:
    """`U+D55C HANGUL SYLLABLE HAN`."""
    name = unicodedata.name(chr(code_point), "")
    return f"U+{code_point:04X}" + (f" {name}" if name else "")


def problems_in(text: str) -> list[str]:
    """One message per character of `text` that no bundled font has, for the caller to put before a field name."""
    return [f"{describe(c)} is not in any bundled font" for c in uncovered(text)]


# --- the names a PDF may give its fonts, and the packages the fallbacks come from -------------------------------


@lru_cache(maxsize=1)
def allowed_names() -> frozenset[str]:
    """The names of every bundled font as a PDF may give them: the PostScript name, and the family name with
    hyphens for spaces (WeasyPrint names a font by its family and style, e.g. Noto-Sans-CJK-SC-Bold)."""
    from fontTools.ttLib import TTCollection, TTFont
    names: set[str] = set()
    for path in bundled_files():
        if not path.is_file():
            continue
        faces = TTCollection(path, lazy=True).fonts if path.suffix.lower() == ".ttc" else [TTFont(path, lazy=True)]
        for face in faces:
            table = face["name"]
            for name_id in (1, 4, 6, 16):
                name = table.getDebugName(name_id)
                if name:
                    names.add(re.sub(r"\s+", "-", name.strip()))
    return frozenset(names)


@lru_cache(maxsize=1)
def fallback_versions() -> dict[str, str]:
    """What a document's inputs record for each fallback font's package instead of a digest of its bytes (the CJK
    files alone are 40 MB, read on every run otherwise): a fontpkg family's version, and for a Debian package the
    size and time of its files, which dpkg sets from the package (the same on every machine, for one version)."""
    versions = {}
    for fallback in FALLBACKS:
        if not fallback.files:
            versions[f"font:{fallback.package}"] = fontpkg.family(fallback.family).version
            continue
        stamps = []
        for file in fallback.files:
            try:
                stat = os.stat(file)
                stamps.append(f"{stat.st_size}:{int(stat.st_mtime)}")
            except OSError:
                stamps.append("missing")
        versions[f"font:{fallback.package}"] = " ".join(stamps)
    return versions
