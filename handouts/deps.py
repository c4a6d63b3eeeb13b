"""What each document depends on: every file whose change must rebuild it, and nothing else."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import jinja2
from jinja2 import meta

from . import files
from .problems import BuildError


@lru_cache(maxsize=64)
def _referenced(templates: Path, name: str, source: str) -> tuple[str, ...] | None:
    """Templates that `name` extends, includes or imports; None when a name is only known at render time (or the
    template cannot be parsed)."""
    env = jinja2.Environment()
    try:
        found = list(meta.find_referenced_templates(env.parse(source)))
    except jinja2.TemplateSyntaxError:      # rendering reports it, failing the documents; depend on everything
        return None
    if any(ref is None for ref in found):
        return None
    return tuple(found)


def template_closure(templates: Path, name: str) -> list[Path]:
    """`name` and every template it loads, directly or through others (extends, include, import).
    A template with a dynamic include depends on every template, to be safe."""
    seen: dict[str, Path] = {}
    todo = [name]
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        path = templates / current
        seen[current] = path
        try:
            refs = _referenced(templates, current, files.read_text(path, f"templates/{current}", templates.parent))
        except BuildError:
            continue         # missing, not a file, or not UTF-8: rendering reports it
        if refs is None:
            return sorted(p for p in templates.rglob("*") if p.is_file())
        todo.extend(refs)
    return sorted(seen.values())
