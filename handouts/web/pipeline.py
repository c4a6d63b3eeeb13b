"""The app's one way into the pipeline: a warm Personaliser per server process (content loaded and checked once
per change, one printer kept), and the build's manifest as the library's list of finished documents."""

from __future__ import annotations

import atexit
import datetime as dt
import threading
from pathlib import Path

from django.conf import settings

from .. import builder
from ..content import Library
from ..checks import Review
from ..publish import Entry, Manifest

_LOCK = threading.Lock()
_PERSONALISER: builder.Personaliser | None = None


def personaliser() -> builder.Personaliser:
    global _PERSONALISER
    with _LOCK:
        if _PERSONALISER is None:
            _PERSONALISER = builder.Personaliser(settings.CONTENT_ROOT)
        return _PERSONALISER


@atexit.register
def _drop() -> None:
    """Let the printer go before the interpreter tears its modules down (WeasyPrint's font configuration
    otherwise complains while being collected at exit)."""
    global _PERSONALISER
    _PERSONALISER = None


def today() -> dt.date:
    fixed = getattr(settings, "HANDOUTS_TODAY", None)
    return dt.date.fromisoformat(fixed) if fixed else dt.date.today()


def loaded() -> tuple[Library, Review]:
    """The content as of today (reloaded only when a file changed)."""
    return personaliser().loaded(today())


def clinic_ids() -> list[str]:
    library, _ = loaded()
    return sorted(library.clinics)


def output_dir() -> Path:
    return settings.OUTPUT_DIR


def manifest() -> Manifest:
    """The last build's manifest: its finished documents, and those held back behind their source (empty before
    the first build)."""
    return Manifest.load(output_dir())


def entries() -> list[Entry]:
    """The finished documents, as the last build recorded them (none before the first build)."""
    return sorted(manifest().entries.values(), key=lambda e: e.path)


def warm() -> None:
    """Load the content and start the printer (called once per server process, before its first request)."""
    personaliser().warm(today())
