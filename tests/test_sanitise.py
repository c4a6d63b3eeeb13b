"""Raw HTML and CSS in a block are cut down to an allowlist before the content rules run and before anything is
printed; what was removed is reported at its line. The overclaim rule reads text as a reader sees it (entities
decoded, soft hyphens and zero-width characters dropped), and attachments are refused in any spelling."""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import pytest

from conftest import ROOT, TODAY
from handouts import builder, content, markdown_ext
from handouts.pdf import Printer
from handouts.plan import Selection, plan
from handouts.printjob import clinic_families, print_job
from handouts.problems import BuildError
from handouts.render import Renderer
from helpers import text
from test_cli import run

BLOCK = "content/en/acne-scars/condition-risks.md"
DOCUMENT = "output/fennick-street-uk/en/acne-scars-leaflet-screen.pdf"
ONE = ["--clinic", "fennick-street-uk", "--condition", "acne-scars", "--kind", "leaflet", "--variant", "screen"]
SELECTION = Selection("fennick-street-uk", "en", "acne-scars", "leaflet", "screen")


def insert(project: Path, snippet: str) -> int:
    """Put the snippet at the top of the block's body, as its own paragraph; return the line of the snippet's
    line marked `<<` (the marker is removed), or of its first line."""
    block = project / BLOCK
    head, rest = block.read_text().split("\n---\n", 1)
    lines = snippet.splitlines()
    marked = next((i for i, line in enumerate(lines) if line.endswith(" <<")), 0)
    lines[marked] = lines[marked].removesuffix(" <<")
    block.write_text(head + "\n---\n" + "\n".join(lines) + "\n\n" + rest)
    return head.count("\n") + 3 + marked          # the front matter's lines, its closing ---, then the snippet


def rendered(project: Path) -> str:
    """The document's HTML as the build prints it, whatever the checks say."""
    library = content.load(project)
    jobs = plan(content.with_problems(library, []), SELECTION).jobs
    assert len(jobs) == 1
    return Renderer(project).render(library, jobs[0])


# Each: the snippet, what must not reach the document (case-insensitive), and what must (the prose around it).
DANGEROUS = {
    "style-hides-draft": ("<style>.draft-mark, .draft-notice { display: none }</style>\n\nStyled text.",
                          ["display: none", "draft-mark, .draft-notice"], "Styled text."),
    "style-system-font": ('<style>@font-face { font-family: "Atkinson Hyperlegible"; src: local("DejaVu Sans") }'
                          "</style>\n\nFont text.", ["local(", "dejavu"], "Font text."),
    "script": ("<script>document.title = 'owned'</script>Script text.", ["<script", "owned"], "Script text."),
    "link-stylesheet": ('<link rel="stylesheet" href="https://example.com/evil.css">Linked text.',
                        ["<link", "evil.css"], "Linked text."),
    "iframe": ('<iframe src="file:///etc/passwd"></iframe>Framed text.', ["<iframe", "/etc/passwd"], "Framed text."),
    "object": ('<object data="file:///etc/passwd"></object>Object text.', ["<object", "/etc/passwd"],
               "Object text."),
    "embed": ('<embed src="file:///etc/passwd">Embedded text.', ["<embed", "/etc/passwd"], "Embedded text."),
    "style-attribute": ('<p style="display:none">Hidden text.</p>', ["display:none", "style="], "Hidden text."),
    "attr-list-style": ('A covering paragraph.\n{: style="position: fixed; top: 0; background: white" } <<',
                        ["position: fixed", "style="], "A covering paragraph."),
    "attachment": ('<a REL="Attachment" href="https://www.nhs.uk/">Attached notes</a>', ["attachment", "rel="],
                   "Attached notes"),
    "attachment-among-others": ('<a rel="nofollow ATTACHMENT" href="https://www.nhs.uk/">More notes</a>',
                                ["attachment", "rel="], "More notes"),
    "data-image": ("![A red dot](data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42"
                   "mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==)\n\nImage text.", ["data:", "base64"], "Image text."),
    "javascript-link": ("[Call us](javascript:alert(1)) today.", ["javascript", "alert("], "Call us today."),
    "javascript-link-entities": ('<a href="java&#115;cript&colon;alert(2)">Click here</a> now.',
                                 ["javascript", "java&#115;", "alert("], "Click here now."),
    "svg-script": ("<svg><script>alert(3)</script><text>Drawn words</text></svg>Vector text.",
                   ["<svg", "alert(", "drawn words"], "Vector text."),
    "font-element": ('<font face="DejaVu Serif">Font element text.</font>', ["<font", "dejavu"],
                     "Font element text."),
    "base": ('<base href="file:///etc/">Base text.', ["<base", "file:///etc/"], "Base text."),
}

# Markup that styles nothing dangerous: removed, and the author is warned; the document still builds.
HARMLESS = {
    "attr-list-class": ("Hidden when a draft, says the author.\n{: .draft-hidden } <<", ["draft-hidden"],
                        "Hidden when a draft, says the author."),
    "div-with-id": ('<div id="title-band" class="draft-mark">Fake draft words.</div>',
                    ["title-band", "draft-mark", "<div"], "Fake draft words."),
}


def _assert_gone(html: str, gone: list[str], kept: str) -> None:
    """Look in the block's own section of the page (the page's <head> has its own <style>, the leaflet its QR
    code <svg>): nothing of `gone` is left, the prose `kept` is."""
    section = re.search(r'<section class="block role-condition-risks".*?</section>', html, re.S)
    assert section, html
    for needle in gone:
        assert needle.lower() not in section[0].lower(), needle
    assert kept in " ".join(re.sub(r"<[^>]+>", "", section[0]).split())


@pytest.mark.parametrize("snippet, gone, kept", DANGEROUS.values(), ids=DANGEROUS.keys())
def test_dangerous_html_is_removed_and_fails_the_document_at_its_line(project: Path, snippet: str,
                                                                       gone: list[str], kept: str) -> None:
    line = insert(project, snippet)
    result = run(project, *ONE)
    assert result.returncode == 1, result.stderr
    rule = "link" if "javascript" in gone else "raw-html"      # a removed link is the link rule's to report
    assert f"{BLOCK}:{line}: {rule}: " in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
    assert not (project / DOCUMENT).exists()
    _assert_gone(rendered(project), gone, kept)


@pytest.mark.parametrize("snippet, gone, kept", HARMLESS.values(), ids=HARMLESS.keys())
def test_harmless_markup_is_removed_with_a_warning(project: Path, snippet: str, gone: list[str],
                                                   kept: str) -> None:
    line = insert(project, snippet)
    result = run(project, *ONE)
    assert result.returncode == 0, result.stderr
    assert f"{BLOCK}:{line}: warning: raw-html: " in result.stderr, result.stderr
    _assert_gone(rendered(project), gone, kept)
    words = " ".join(text(project / DOCUMENT).split())
    assert kept in words and "DRAFT" not in words


def test_the_shipped_content_passes_the_sanitiser_unchanged() -> None:
    md = markdown_ext.make_markdown(ROOT / "content")
    for file in sorted((ROOT / "content").glob("*/**/*.md")):
        body = file.read_text(encoding="utf-8").split("\n---\n", 1)[1]
        md.reset()
        md.block_folder = file.parent  # type: ignore[attr-defined]
        raw = md.convert(body)
        assert markdown_ext.to_html(md, body, file.parent) == (raw, []), file


def test_the_sanitiser_keeps_fill_ins_tables_and_web_links() -> None:
    md = markdown_ext.make_markdown(ROOT / "content")
    body = ("| Week | Visit |\n|:--|--:|\n| 1 | Check |\n\n[[fill: Signature]]\n\n"
            "See [the NHS](https://www.nhs.uk/) or call [01632 960000](tel:01632960000).\n")
    html, removed = markdown_ext.to_html(md, body, ROOT / "content/en/acne-scars")
    assert removed == []
    assert '<td align="right">' in html and '<span aria-hidden="true" class="fill-line">' in html
    assert '<a href="https://www.nhs.uk/">' in html and '<a href="tel:01632960000">' in html


@pytest.mark.parametrize("snippet", ['<a REL="Attachment" href="https://www.nhs.uk/">x</a>',
                                     '<a rel="nofollow attachment" href="https://www.nhs.uk/">x</a>',
                                     '<link rel="ATTACHMENT" href="https://www.nhs.uk/">',
                                     "[x](https://www.nhs.uk/)\n{: rel=attachment }"])
def test_the_sanitiser_strips_attachment_links(snippet: str) -> None:
    md = markdown_ext.make_markdown(ROOT / "content")
    html, removed = markdown_ext.to_html(md, snippet, ROOT / "content/en/acne-scars")
    assert "attachment" not in html.lower() and "rel=" not in html
    assert any(piece.dangerous for piece in removed)


def test_an_image_outside_the_content_folder_is_removed() -> None:
    md = markdown_ext.make_markdown(ROOT / "content")
    inside = ROOT / "content/clinics/fennick-street-uk/logo.svg"
    html, removed = markdown_ext.to_html(md, "![Logo](../../clinics/fennick-street-uk/logo.svg)\n\n"
                                             "![Secrets](../../../../etc/passwd)", ROOT / "content/en/acne-scars")
    assert f'src="{inside.as_uri()}"' in html and "passwd" not in html
    assert [(p.tag, p.attribute, p.dangerous) for p in removed] == [("img", "src", True)]


@pytest.fixture(scope="module")
def printer_job():
    """A printer, and the real leaflet's HTML and plan, in this process."""
    library, the_plan, _ = builder.prepare(ROOT, SELECTION, TODAY, strict=False)
    job = the_plan.jobs[0]
    return Printer(ROOT, clinic_families(job.clinic.clinic)), library, job, Renderer(ROOT).render(library, job)


@pytest.mark.parametrize("link", ['<a REL="Attachment" href="https://www.nhs.uk/">notes</a>',
                                  '<a rel="nofollow  ATTACHMENT" href="https://www.nhs.uk/">notes</a>',
                                  '<link rel="Attachment" href="https://www.nhs.uk/">',
                                  '<a rel="alternate" href="https://www.nhs.uk/">notes</a>'])
def test_the_printer_refuses_an_attachment_in_any_spelling(printer_job, link: str) -> None:
    """The printer's own guard, given raw HTML that never went through the sanitiser."""
    printer, library, job, html = printer_job
    html = html.replace("</main>", link + "</main>", 1)
    if "alternate" in link:             # an ordinary link prints: the attachment is what fails the others
        pdf, pages = printer.write(print_job(library, job, html, "test"))
        assert pdf.startswith(b"%PDF") and pages > 0
        return
    with pytest.raises(BuildError) as caught:
        printer.write(print_job(library, job, html, "test"))
    assert "attachments are not allowed" in str(caught.value)


OVERCLAIMS = {
    "entities": ("Results are guarant&#101;ed, a c&#117;re for scars.", ["guaranteed", "cure"]),
    "soft-hyphen-entity": ("The results are perm&shy;anent res&shy;ults, we say.", ["permanent results"]),
    "soft-hyphen": ("This is guaran\u00adteed to work.", ["guaranteed"]),
    "zero-width": ("A mir\u200bacle for the skin, and clinic\u200dally pro\u2060ven.",
                   ["miracle", "clinically proven"]),
    "second-line-of-paragraph": ("The first line is fine.\nThe second is risk&#8203;\u00ad free. <<", ["risk free"]),
    "inline-tags": ("A <b>break</b>through, <span>pain</span>less.", ["breakthrough", "painless"]),
    "nbsp-and-named": ("It is clinically&nbsp;proven, and FDA&nbsp;appr&oacute;ved too.",
                       ["clinically proven", "FDA approved"]),      # an accent disguises nothing: matched folded
    "accents": ("A guáranteed result, 100% SáFE and cúrEd.", ["guaranteed", "100%", "cured"]),
}


@pytest.mark.parametrize("snippet, words", OVERCLAIMS.values(), ids=OVERCLAIMS.keys())
def test_overclaims_are_found_through_entities_and_invisible_characters(project: Path, snippet: str,
                                                                        words: list[str]) -> None:
    line = insert(project, snippet)
    result = run(project, "check")
    assert result.returncode == 1, result.stderr
    found = [row for row in result.stderr.splitlines() if ": overclaim: " in row]
    assert [row.split(": overclaim: ")[0] for row in found] == [f"{BLOCK}:{line}"] * len(words), found
    def folded(text: str) -> str:         # as the reader's eye folds them: the message quotes the text as written
        return "".join(c for c in unicodedata.normalize("NFD", text.lower()) if not unicodedata.combining(c))
    assert sorted(folded(row.split("'")[1]) for row in found) == sorted(folded(w) for w in words)
