"""Python-Markdown extension for handout content, and the sanitiser its HTML goes through.

- `[[fill: Label]]` becomes a labelled blank line to complete by hand.
- Relative image sources are resolved against the block's own folder, so a block can sit next to its images.
- Raw HTML and attribute lists in a block are cut down to an allowlist (nh3, i.e. Ammonia): the elements
  Markdown writes, the fill-in spans, and nothing that could style, script, embed, attach or fetch. The
  documents and the content checks both see this sanitised HTML; what it removed is reported (`raw-html`).
"""

from __future__ import annotations

import html
import re
import xml.etree.ElementTree as etree
from collections import Counter
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import nh3
from markdown import Extension, Markdown
from markdown.extensions import smarty
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


# What a block may contain: what Markdown (with tables, attr_list and sane_lists) and the fill-in extension
# write, and a few inline elements an author may type. (h1 and h2 are kept for the heading-level rule to report.)
TAGS = {"p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "em", "strong", "b", "i", "sup", "sub", "abbr", "code",
        "pre", "blockquote", "ul", "ol", "li", "table", "thead", "tbody", "tr", "th", "td", "a", "img", "span"}
ATTRIBUTES = {"a": {"href", "title"}, "img": {"src", "alt", "title"}, "abbr": {"title"}, "ol": {"start"}}
VALUES = {"span": {"aria-hidden": {"true"}},
          "th": {"align": {"left", "center", "right"}}, "td": {"align": {"left", "center", "right"}}}
CLASSES = {"span": {"fill", "fill-label", "fill-line"}}     # the only content classes templates/print.css styles
LINK_SCHEMES = {"http", "https", "mailto", "tel"}
# Removed with everything inside them, not only the tags: none of it is prose.
DROP_CONTENT = {"script", "style", "svg", "math", "template", "noscript", "iframe", "object", "title", "textarea",
                "select"}
# Removing these is an error, not a warning: they could style, script, embed, attach, fetch or submit.
DANGEROUS_TAGS = DROP_CONTENT | {"link", "embed", "base", "meta", "form", "input", "button", "frame", "frameset",
                                 "applet", "font", "portal"}
DANGEROUS_ATTRIBUTES = {"style", "rel", "href", "src", "srcset", "action", "formaction", "background"}

# Smarty's quotes and dashes, which the sanitiser writes as characters, are put back as the entities Markdown wrote.
_ENTITIES = str.maketrans({html.unescape(entity): entity for entity in smarty.substitutions.values()})


def _cleaner(content: Path) -> nh3.Cleaner:
    def allowed_url(tag: str, attribute: str, value: str) -> str | None:
        if attribute == "href":
            return value if urlsplit(value).scheme.lower() in LINK_SCHEMES else None
        if attribute == "src":       # only an image file inside the content folder, as ImageSources writes it
            parts = urlsplit(value)
            inside = (parts.scheme == "file" and parts.netloc in ("", "localhost")
                      and Path(unquote(parts.path)).resolve().is_relative_to(content.resolve()))
            return value if inside else None
        return value

    return nh3.Cleaner(tags=TAGS, clean_content_tags=DROP_CONTENT, attributes=ATTRIBUTES, tag_attribute_values=VALUES,
                       allowed_classes=CLASSES, url_schemes=LINK_SCHEMES | {"file"}, url_relative="deny",
                       link_rel=None, attribute_filter=allowed_url)


def make_markdown(content: Path, typography: bool = True) -> Markdown:
    """The Markdown converter for blocks whose images live in the `content` folder; `typography` adds curly
    quotes and dashes (not needed for checks)."""
    extensions = ["tables", "attr_list", "sane_lists", HandoutExtension()] + (["smarty"] if typography else [])
    md = Markdown(extensions=extensions, extension_configs={"tables": {"use_align_attribute": True}},
                  output_format="html")
    md.cleaner = _cleaner(content)  # type: ignore[attr-defined]
    return md


@dataclass(frozen=True)
class Piece:
    """An element, an attribute or a class of a block's HTML; what the sanitiser took out is reported."""

    tag: str
    attribute: str | None = None
    value: str = ""

    @property
    def dangerous(self) -> bool:
        return self.tag in DANGEROUS_TAGS if self.attribute is None else (
            self.attribute in DANGEROUS_ATTRIBUTES or self.attribute.startswith("on"))

    @property
    def rule(self) -> str:
        return "link" if (self.tag, self.attribute) == ("a", "href") else "raw-html"

    def describe(self) -> str:
        shown = " ".join(self.value.split())
        shown = shown if len(shown) <= 40 else shown[:37] + "..."       # a value may be a 20 MB data: URI
        if self.attribute is None:
            return f"<{self.tag}> is not allowed in a block and was removed"
        if (self.tag, self.attribute) == ("a", "href"):
            return f"link '{shown}' is not a well-formed web, mailto: or tel: address"
        if self.attribute == "rel" and "attachment" in self.value.lower():
            return f"attachments are not allowed in a handout: rel=\"{shown}\" on <{self.tag}> was removed"
        if (self.tag, self.attribute) == ("img", "src"):
            return (f"image '{shown}' was removed: write ![what it shows](file) with the image file inside the "
                    "content folder")
        what = f"class '{shown}'" if self.attribute == "class" else f"{self.attribute}=\"{shown}\""
        return f"{what} on <{self.tag}> is not allowed in a block and was removed"

    def needles(self) -> list[re.Pattern]:
        """Patterns for the source line it came from, the most precise first."""
        if self.attribute is None:
            return [re.compile(rf"<\s*{re.escape(self.tag)}\b", re.IGNORECASE)]
        value = re.escape(self.value[:40])
        if self.attribute == "class":        # class="... name ..." or an attribute list's .name
            return [re.compile(rf"(?<![\w-]){value}(?![\w-])"), re.compile(r"\bclass\b|\{:", re.IGNORECASE)]
        name = re.escape(self.attribute)
        # name="value" in HTML or an attribute list, [text](value) in Markdown, an attribute list's #value
        by_value = [re.compile(rf"\b{name}\s*=\s*[\"']?{value}", re.IGNORECASE), re.compile(rf"\]\(\s*<?{value}"),
                    re.compile(rf"\{{[^}}]*#{value}")] if value else []
        if value and self.attribute in ("href", "src"):       # a reference definition, an autolink
            by_value.append(re.compile(value))
        return by_value + [re.compile(rf"\b{name}\s*=", re.IGNORECASE)]


class _Tokens(HTMLParser):
    """Each element, attribute and class of an HTML fragment, as a multiset; inside an element that is removed
    with its content only that element counts."""

    def __init__(self, fragment: str):
        super().__init__()
        self.found: Counter[Piece] = Counter()
        self._dropped = 0           # how deep inside elements of DROP_CONTENT
        self.feed(fragment)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if not self._dropped:
            self.found[Piece(tag)] += 1
            for name, value in attrs:
                for part in (value or "").split() if name == "class" else [value or ""]:
                    self.found[Piece(tag, name, part)] += 1
        self._dropped += tag in DROP_CONTENT

    def handle_endtag(self, tag: str) -> None:
        self._dropped -= tag in DROP_CONTENT and self._dropped > 0


def to_html(md: Markdown, text: str, folder: Path) -> tuple[str, list[Piece]]:
    """A block's Markdown as sanitised HTML, and what the sanitiser removed from it (in order of appearance)."""
    md.reset()
    md.block_folder = folder  # type: ignore[attr-defined]
    raw = md.convert(text)
    clean = md.cleaner.clean(raw).translate(_ENTITIES)  # type: ignore[attr-defined]
    removed = list(_Tokens(raw).found - _Tokens(clean).found)
    gone = {piece.tag for piece in removed if piece.attribute is None}
    # An element removed takes its attributes along: it is reported once.
    return clean, [piece for piece in removed if piece.attribute is None or piece.tag not in gone]


def convert(md: Markdown, text: str, folder: Path) -> str:
    return to_html(md, text, folder)[0]
