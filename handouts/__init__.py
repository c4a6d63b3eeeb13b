"""Branded, print-ready patient handouts built from reviewed Markdown content."""

__version__ = "0.1.0"
