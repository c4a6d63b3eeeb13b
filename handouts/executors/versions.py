"""The software a PDF's bytes depend on, as one machine has it: every worker of a cluster must have what the
building process has, or the same inputs would give other PDFs there."""

from __future__ import annotations

import ctypes
import ctypes.util
import platform
from functools import lru_cache
from importlib.metadata import PackageNotFoundError, version

from .. import __version__, code_digest, fonts

# Dask's own release (the building process and the workers speak its protocol); what prints and checks a PDF
# and WeasyPrint's own requirements (pydyf writes the PDF, fontTools subsets the fonts, Pyphen hyphenates, tinycss2
# and cssselect2 read the CSS, tinyhtml5 the HTML, Pillow the images); Babel and nh3 make the HTML in the building
# process, listed so that the two sides name the same releases.
PACKAGES = ("distributed", "weasyprint", "pydyf", "fonttools", "pyphen", "tinycss2", "cssselect2", "tinyhtml5",
            "pillow", "pikepdf", "babel", "nh3", "fontpkg")
# The native libraries WeasyPrint lays text out with: another Pango or HarfBuzz breaks lines elsewhere.
LIBRARIES = {"pango": ("pango-1.0", "pango_version_string"), "harfbuzz": ("harfbuzz", "hb_version_string")}


@lru_cache(maxsize=1)
def software() -> dict[str, str]:
    """Item -> version: the package's own version and code, Python, the packages above, every installed font
    family (a clinic may use any) and the fallback fonts' packages, and Pango and HarfBuzz."""
    python = ".".join(platform.python_version_tuple()[:2])
    found = {"handouts": __version__, "handouts code": code_digest(), "python": python}
    found.update((name, _package(name)) for name in PACKAGES)
    found.update((f"font {family}", number) for family, number in _font_families().items())
    found.update(fonts.fallback_versions())
    found.update((name, _library(*where)) for name, where in LIBRARIES.items())
    return found


def _package(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "not installed"


def _font_families() -> dict[str, str]:
    import fontpkg
    return {family.name: family.version for family in fontpkg.families().values()}


def _library(name: str, function: str) -> str:
    found = ctypes.util.find_library(name)
    if found is None:
        return "not found"
    call = getattr(ctypes.CDLL(found), function)
    call.restype = ctypes.c_char_p
    return call().decode()


def differences(theirs: dict[str, str], ours: dict[str, str]) -> list[str]:
    """Each item whose version differs, as "ITEM THEIRS (here OURS)"."""
    return [f"{item} {theirs.get(item, 'missing')} (here {ours.get(item, 'missing')})"
            for item in sorted(ours.keys() | theirs.keys()) if theirs.get(item) != ours.get(item)]
