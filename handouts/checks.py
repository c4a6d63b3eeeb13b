"""Validate stage: content rules a clinical reviewer relies on. Policy (lists, thresholds) lives in data files."""

from __future__ import annotations

import datetime as dt

from .content import Library
from .problems import Problem


def run(library: Library, today: dt.date) -> list[Problem]:
    return []
