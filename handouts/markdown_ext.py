"""Python-Markdown extension for handout content.

- `[[fill: Label]]` becomes a labelled blank line to complete by hand.
- Relative image sources are resolved against the block's own folder, so a block can sit next to its images.
"""

from __future__ import annotations

import xml.etree.ElementTree as etree
from pathlib import Path

from markdown import Extension, Markdown
from markdown.inlinepatterns import InlineProcessor
from markdown.treeprocessors import Treeprocessor

FILL_PATTERN = r"\[\[fill:\s*([^\]]+?)\s*\]\]"


class FillProcessor(InlineProcessor):
    def handleMatch(self, m, data):  # noqa: N802 (Python-Markdown's API)
        span = etree.Element("span", {"class": "fill"})
        label = etree.SubElement(span, "span", {"class": "fill-label"})
        label.text = m.group(1)
        etree.SubElement(span, "span", {"class": "fill-line", "aria-hidden": "true"})
        return span, m.start(0), m.end(0)


class ImageSources(Treeprocessor):
    """Resolve relative image sources against the folder of the block being converted."""

    def run(self, root: etree.Element) -> None:
        folder: Path | None = getattr(self.md, "block_folder", None)
        for img in root.iter("img"):
            src = img.get("src", "")
            if folder is not None and src and ":" not in src and not src.startswith("/"):
                img.set("src", (folder / src).resolve().as_uri())


class HandoutExtension(Extension):
    def extendMarkdown(self, md: Markdown) -> None:  # noqa: N802
        # Above links (160) so that the brackets are not taken for a link reference.
        md.inlinePatterns.register(FillProcessor(FILL_PATTERN, md), "handout-fill", 175)
        md.treeprocessors.register(ImageSources(md), "handout-images", 5)


def make_markdown(typography: bool = True) -> Markdown:
    """The Markdown converter for blocks; `typography` adds curly quotes and dashes (not needed for checks)."""
    extensions = ["tables", "attr_list", "sane_lists", HandoutExtension()] + (["smarty"] if typography else [])
    return Markdown(extensions=extensions, output_format="html")


def convert(md: Markdown, text: str, folder: Path) -> str:
    md.reset()
    md.block_folder = folder  # type: ignore[attr-defined]
    return md.convert(text)
