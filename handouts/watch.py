"""Watch mode for content authors: rebuild the affected documents whenever a file is saved."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Callable, Iterable

LOGGER = logging.getLogger(__name__)


def watch(root: Path, rebuild: Callable[[], None], changes: Iterable[set] | None = None) -> None:
    """Run `rebuild` once, then again after every batch of changes under content/ and templates/.
    `changes` defaults to watchfiles' stream of file-system events (it stops on Ctrl-C). An empty batch means
    "no change yet": watchfiles yields one when it is up, which is when watching is announced."""
    rebuild()
    if changes is None:
        from watchfiles import watch as file_changes
        changes = file_changes(root / "content", root / "templates", debounce=300, yield_on_timeout=True,
                               rust_timeout=1000)
    else:
        LOGGER.info("watching %s and %s for changes (Ctrl-C to stop)", root / "content", root / "templates")
    announced = False
    for batch in changes:
        if not batch:
            if not announced:
                LOGGER.info("watching %s and %s for changes (Ctrl-C to stop)", root / "content", root / "templates")
                announced = True
            continue
        names = sorted({str(Path(path).relative_to(root)) for _, path in batch if Path(path).is_relative_to(root)})
        LOGGER.info("changed: %s", ", ".join(names) or "(files)")
        rebuild()
