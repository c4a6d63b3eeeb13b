"""Preflight on hostile PDFs: whatever the file, a list of findings, fast, never an exception.

Active content (actions, scripts, links, attachments) fails a PDF wherever it is written; crafted files (many pages,
forms drawing forms, content bombs, deep nesting) end in a `limits` finding within seconds; a file that is not a
PDF, damaged or malformed is a `structure` finding. The PDFs are made here: one small WeasyPrint copy that passes,
changed with pikepdf, or raw PDF bytes for what pikepdf would not write.
"""

from __future__ import annotations

import io
import json
import os
import random
import re
import subprocess
import sys
import time
import zlib
from pathlib import Path
from typing import Callable

import pikepdf
import pytest
import weasyprint
from filelock import FileLock
from pikepdf import Array, Dictionary, Name, Pdf, String

from conftest import ROOT
from handouts import preflight as module
from handouts.preflight import Expectation, Finding, preflight

A4 = (595.276, 841.89)
PRINT = Expectation("print", A4)
SCREEN = Expectation("screen", A4)
LARGE = Expectation("large-print", A4, min_text_pt=16)
ACTIVE = {"javascript", "actions", "attachments"}
HANG_GUARD = 15.0        # seconds: only against a hang; the limits make these end in well under a second or two
LINKS = ("<p>See <a href='https://www.nhs.uk/conditions/acne/'>the NHS</a>, write to "
         "<a href='mailto:clinic@example.org'>the clinic</a> or call <a href='tel:+441234567890'>us</a>.</p>")


@pytest.fixture(scope="module")
def copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tagged screen copy with an https, a mailto: and a tel: link: it passes."""
    target = tmp_path_factory.mktemp("hostile") / "copy.pdf"
    html = (f"<!doctype html><html lang='en'><head><title>After your treatment</title></head>"
            f"<body><h1>After your treatment</h1>{LINKS}</body></html>")
    weasyprint.HTML(string=html).write_pdf(target, pdf_variant="pdf/ua-1")
    return target


def edit(pdf: Path, tmp_path: Path, change: Callable[[Pdf], None]) -> Path:
    target = tmp_path / "edited.pdf"
    with pikepdf.open(pdf) as document:
        change(document)
        document.save(target)
    return target


def raw_pdf(path: Path, *objects: bytes, trailer: bytes = b"/Root 1 0 R") -> Path:
    """A PDF written byte by byte: object n is objects[n - 1]; a correct cross-reference table."""
    out, offsets = bytearray(b"%PDF-1.7\n"), []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d %s >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, trailer, xref)
    path.write_bytes(bytes(out))
    return path


def one_page(path: Path, content: bytes, resources: bytes = b"<< >>", *extra: bytes, page: bytes = b"",
             filters: bytes = b"") -> Path:
    """A one-page PDF drawing `content` (encoded with `filters`) with `resources`; `page` entries replace the
    default MediaBox; `extra` objects are numbered from 5."""
    return raw_pdf(path, b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
                   b"<< /Type /Page /Parent 2 0 R %s /Resources %s /Contents 4 0 R >>"
                   % (page or b"/MediaBox [0 0 595 842]", resources), stream(content, filters), *extra)


def stream(data: bytes, dictionary: bytes = b"") -> bytes:
    return b"<< /Length %d %s >>\nstream\n%s\nendstream" % (len(data), dictionary, data)


def timed(pdf: Path | io.BytesIO, expect: Expectation) -> list[Finding]:
    start = time.monotonic()
    findings = preflight(pdf, expect)
    assert time.monotonic() - start < HANG_GUARD
    return findings


def rules(findings: list[Finding]) -> list[str]:
    return [finding.rule for finding in findings]


def active(findings: list[Finding]) -> list[tuple[int | None, str, str]]:
    return [(f.page, f.rule, f.message) for f in findings if f.rule in ACTIVE]


# --- actions, scripts, links and attachments -----------------------------------------------------------------


def action(kind: str, **entries: object) -> Dictionary:
    return Dictionary(S=Name("/" + kind), **entries)


def annotation(document: Pdf, annot: Dictionary) -> None:
    page = document.pages[0].obj
    annots = page.get("/Annots", Array())
    annots.append(document.make_indirect(annot))
    page.Annots = annots


def link_to(document: Pdf, uri: object) -> None:
    annotation(document, Dictionary(Type=Name.Annot, Subtype=Name.Link, Rect=[0, 0, 9, 9], A=action("URI", URI=uri)))


def outline_item(document: Pdf, item_action: Dictionary) -> None:
    outlines = document.make_indirect(Dictionary(Type=Name.Outlines, Count=1))
    item = document.make_indirect(Dictionary(Title=String("Read me"), Parent=outlines, A=item_action))
    outlines.First = outlines.Last = item
    document.Root.Outlines = outlines


def form_field(document: Pdf, **entries: object) -> None:
    """A text field whose widget is on page 1, with `entries` on the field."""
    field = document.make_indirect(Dictionary(FT=Name.Tx, T=String("name"), Type=Name.Annot, Subtype=Name.Widget,
                                              Rect=[0, 0, 99, 20], **entries))
    annotation(document, field)
    document.Root.AcroForm = Dictionary(Fields=Array([field]))


def file_spec(document: Pdf) -> Dictionary:
    data = document.make_stream(b"MZ not really a program", Type=Name.EmbeddedFile)
    return Dictionary(Type=Name.Filespec, F=String("run.exe"), UF=String("run.exe"), EF=Dictionary(F=data))


def names_tree_javascript(document: Pdf) -> None:
    """Document-level scripts in a name tree whose root has only /Kids (the scripts are a level down)."""
    leaf = document.make_indirect(Dictionary(Limits=Array([String("a"), String("a")]), Names=Array(
        [String("a"), document.make_indirect(action("JavaScript", JS=String("app.alert(1)")))])))
    document.Root.Names = Dictionary(JavaScript=Dictionary(Kids=Array([leaf])))


def embedded_files_tree(document: Pdf) -> None:
    document.Root.Names = Dictionary(EmbeddedFiles=Dictionary(Names=Array([String("run.exe"), file_spec(document)])))


CASES: list[tuple[str, Callable[[Pdf], None], tuple[int | None, str, str]]] = [
    ("launch on opening", lambda d: setattr(d.Root, "OpenAction", action("Launch", F=String("calc.exe"))),
     (None, "actions", "/Launch action (starts a program or opens a file) at trailer/Root/OpenAction")),
    ("submit from a field", lambda d: form_field(d, A=action("SubmitForm", F=String("https://example.org/"))),
     (1, "actions", "/SubmitForm action (sends form data away) at page/Annots[3]/A")),
    ("import from an outline item", lambda d: outline_item(d, action("ImportData", F=String("data.fdf"))),
     (None, "actions", "/ImportData action (reads data from a file) at trailer/Root/Outlines/First/A")),
    ("another file", lambda d: link_to(d, None) or setattr(
        d.pages[0].obj.Annots[-1], "A", action("GoToR", F=String("other.pdf"), D=Array([0, Name.Fit]))),
     (1, "actions", "/GoToR action (opens another PDF file) at page/Annots[3]/A")),
    ("an embedded file's page", lambda d: setattr(d.Root, "OpenAction", action("GoToE", D=Array([0, Name.Fit]))),
     (None, "actions", "/GoToE action (opens an embedded or another PDF file) at trailer/Root/OpenAction")),
    ("scripts in a name tree's kids", names_tree_javascript,
     (None, "javascript", "JavaScript action at trailer/Root/Names/JavaScript/Kids[0]/Names[1]")),
    ("script on a field", lambda d: form_field(d, AA=Dictionary(K=action("JavaScript", JS=String("1")))),
     (1, "javascript", "additional actions (/AA) at page/Annots[3]")),
    ("script in an outline item", lambda d: outline_item(d, action("JavaScript", JS=String("app.alert(1)"))),
     (None, "javascript", "JavaScript action at trailer/Root/Outlines/First/A")),
    ("XFA form", lambda d: setattr(d.Root, "AcroForm", Dictionary(Fields=Array(), XFA=d.make_stream(b"<xdp/>"))),
     (None, "javascript", "an XFA form, which can hold scripts at trailer/Root/AcroForm")),
    ("http link", lambda d: link_to(d, String("http://example.org/")),
     (1, "actions", "link to 'http://example.org/' at page/Annots[3]/A: only https, mailto: and tel: links are "
                    "allowed")),
    ("file link", lambda d: link_to(d, String("file:///etc/passwd")),
     (1, "actions", "link to 'file:///etc/passwd' at page/Annots[3]/A: only https, mailto: and tel: links are "
                    "allowed")),
    ("javascript: link", lambda d: link_to(d, String("javascript:app.alert(1)")),
     (1, "actions", "link to 'javascript:app.alert(1)' at page/Annots[3]/A: only https, mailto: and tel: links "
                    "are allowed")),
    ("relative link", lambda d: link_to(d, String("../secret.pdf")),
     (1, "actions", "link to '../secret.pdf' at page/Annots[3]/A: only https, mailto: and tel: links are allowed")),
    ("link written as an indirect string", lambda d: link_to(d, d.make_indirect(String("data:text/html,x"))),
     (1, "actions", "link to 'data:text/html,x' at page/Annots[3]/A: only https, mailto: and tel: links are "
                    "allowed")),
    ("link with a leading space", lambda d: link_to(d, String(" https://example.org/")),
     (1, "actions", "link to 'https://example.org/' at page/Annots[3]/A: only https, mailto: and tel: links are "
                    "allowed")),
    ("embedded files", embedded_files_tree,
     (None, "attachments", "embedded files (/EmbeddedFiles) at trailer/Root/Names")),
    ("embedded file in a file specification", lambda d: setattr(d.Root, "OpenAction", action(
        "GoToE", F=file_spec(d), D=Array([0, Name.Fit]))),
     (None, "attachments", "an embedded file at trailer/Root/OpenAction/F")),
    ("associated files", lambda d: setattr(d.Root, "AF", Array([d.make_indirect(file_spec(d))])),
     (None, "attachments", "associated files (/AF) at trailer/Root")),
    ("screen annotation", lambda d: annotation(d, Dictionary(Subtype=Name.Screen, Rect=[0, 0, 9, 9])),
     (1, "attachments", "a screen annotation, which plays media at page/Annots[3]")),
    ("media on opening", lambda d: setattr(d.Root, "OpenAction", action("Rendition", OP=0)),
     (None, "actions", "/Rendition action (plays media) at trailer/Root/OpenAction")),
    ("file attachment annotation", lambda d: annotation(d, Dictionary(
        Type=Name.Annot, Subtype=Name.FileAttachment, Rect=[0, 0, 9, 9], FS=file_spec(d))),
     (1, "attachments", "a file attachment annotation at page/Annots[3]")),
]


def test_the_copy_with_https_mailto_and_tel_links_passes(copy: Path) -> None:
    assert preflight(copy, SCREEN) == []
    with pikepdf.open(copy) as document:        # the links are there, as URI actions
        uris = sorted(str(a.A.URI) for a in document.pages[0].obj.Annots)
    assert uris == ["https://www.nhs.uk/conditions/acne/", "mailto:clinic@example.org", "tel:+441234567890"]


@pytest.mark.parametrize("change, expected", [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_active_content_fails(copy: Path, tmp_path: Path, change: Callable[[Pdf], None],
                              expected: tuple[int | None, str, str]) -> None:
    findings = timed(edit(copy, tmp_path, change), SCREEN)
    assert expected in active(findings)
    assert not [f for f in findings if f.rule not in ACTIVE]          # nothing else is wrong with it


def test_links_in_any_case_are_allowed(copy: Path, tmp_path: Path) -> None:
    pdf = edit(copy, tmp_path, lambda d: [link_to(d, String(uri)) for uri in ("HTTPS://EXAMPLE.ORG/", "MailTo:a@b.c")])
    assert preflight(pdf, SCREEN) == []


def test_a_link_serialised_in_hex_is_still_read(copy: Path, tmp_path: Path) -> None:
    """A string with a byte qpdf cannot write literally is written in hex: the first pass cannot read it, so it
    looks at the object itself, both ways."""
    good = edit(copy, tmp_path, lambda d: link_to(d, String(b"https://example.org/\x01")))
    assert preflight(good, SCREEN) == []
    bad = edit(copy, tmp_path, lambda d: link_to(d, String(b"http://example.org/\x01")))
    assert rules(preflight(bad, SCREEN)) == ["actions"]


@pytest.mark.parametrize("written", [b"/J#61vaScript", b"/#4A#61#76#61#53#63#72#69#70#74"])
def test_names_written_with_escapes_are_the_same_names(tmp_path: Path, written: bytes) -> None:
    pdf = raw_pdf(tmp_path / "escaped.pdf", b"<< /Type /Catalog /Pages 2 0 R /OpenAction 4 0 R >>",
                  b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
                  b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << >> >>",
                  b"<< /S " + written + b" /J#53 (app.alert\\(1\\)) >>")
    # qpdf reads the escapes and writes each name in one spelling: what the first pass of the check relies on
    with pikepdf.open(pdf) as document:
        serialised = document.get_object(4, 0).unparse(resolved=True)
    assert serialised == b"<< /JS (app.alert\\(1\\)) /S /JavaScript >>"
    assert active(timed(pdf, SCREEN)) == [(None, "javascript", "JavaScript action at trailer/Root/OpenAction")]


def test_a_script_name_inside_a_string_is_not_a_script(copy: Path, tmp_path: Path) -> None:
    pdf = edit(copy, tmp_path, lambda d: setattr(d.docinfo, "Subject", String("/JavaScript /Launch /URI (file:)")))
    assert preflight(pdf, SCREEN) == []


def test_every_name_the_walk_looks_for_makes_the_first_pass_walk() -> None:
    """The first pass may never skip what the walk would find: each name, as a key and as a value."""
    names = ["/JavaScript", *module.SCRIPTS, *module.ACTIONS, *module.ATTACHMENTS, *module.ANNOTATIONS]
    with pikepdf.new() as document:
        for name in names:
            for obj in (Dictionary({name: 1}), Dictionary(S=Name(name)), Array([Name(name)])):
                document.Root.Probe = document.make_indirect(obj)
                assert module._may_act(document, module._Budget(time.monotonic() + 60)), (name, obj)


# --- limits ------------------------------------------------------------------------------------------------------


def test_fifty_thousand_pages_sharing_one_content_stream(tmp_path: Path) -> None:
    pdf = raw_pdf(tmp_path / "pages.pdf", b"<< /Type /Catalog /Pages 2 0 R >>",
                  b"<< /Type /Pages /Kids [" + b"3 0 R " * 50_000 + b"] /Count 50000 >>",
                  b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << >> /Contents 4 0 R >>",
                  stream(b"0 0 10 10 re f"))
    assert pdf.stat().st_size < 400_000
    findings = timed(pdf, PRINT)
    assert (None, "limits", "50,000 pages, more than 1,000: the pages themselves were not checked") in [
        (f.page, f.rule, f.message) for f in findings]
    assert not [f for f in findings if f.page is not None]             # no page was looked at


def forms_drawing_forms(levels: int, draws: int) -> list[bytes]:
    """Form n draws form n + 1 `draws` times: draws ** levels forms in all. Objects from 5."""
    forms = []
    for level in range(levels):
        number = 5 + level
        if level + 1 < levels:
            content = b"/F Do " * draws
            resources = b"<< /XObject << /F %d 0 R >> >>" % (number + 1)
        else:
            content, resources = b"0 0 1 1 re f", b"<< >>"
        forms.append(stream(content, b"/Type /XObject /Subtype /Form /BBox [0 0 1 1] /Resources %s" % resources))
    return forms


def test_billion_laughs_of_form_xobjects(tmp_path: Path) -> None:
    pdf = one_page(tmp_path / "laughs.pdf", b"/F Do", b"<< /XObject << /F 5 0 R >> >>", *forms_drawing_forms(40, 2))
    findings = timed(pdf, PRINT)
    assert (1, "limits", "Form XObjects or patterns are nested more than 16 deep") in [
        (f.page, f.rule, f.message) for f in findings]


def test_shallow_forms_drawing_each_other_many_times(tmp_path: Path) -> None:
    """Three levels, each drawing the next 100 times: never deep, but a million forms."""
    pdf = one_page(tmp_path / "fan-out.pdf", b"/F Do", b"<< /XObject << /F 5 0 R >> >>",
                   *forms_drawing_forms(4, 100))
    findings = timed(pdf, LARGE)
    assert (1, "limits", "Form XObjects or patterns are drawn more than 5,000 times") in [
        (f.page, f.rule, f.message) for f in findings]


def test_one_form_drawn_ten_thousand_times(tmp_path: Path) -> None:
    pdf = one_page(tmp_path / "ten-thousand.pdf", b"/F Do " * 10_000, b"<< /XObject << /F 5 0 R >> >>",
                   *forms_drawing_forms(1, 0))
    assert "limits" in rules(timed(pdf, PRINT))


def test_a_form_that_draws_itself_is_followed_once(tmp_path: Path) -> None:
    pdf = one_page(tmp_path / "self.pdf", b"/F Do", b"<< /XObject << /F 5 0 R >> >>",
                   stream(b"/F Do", b"/Type /XObject /Subtype /Form /BBox [0 0 1 1] "
                                    b"/Resources << /XObject << /F 5 0 R >> >>"))
    assert "limits" not in rules(timed(pdf, PRINT))


def test_content_stream_bomb(tmp_path: Path) -> None:
    """50 KB of deflated spaces that would be 50 MB of content."""
    bomb = zlib.compress(b" " * 50_000_000, 9)
    assert len(bomb) < 60_000
    pdf = one_page(tmp_path / "bomb.pdf", bomb, filters=b"/Filter /FlateDecode")
    assert (1, "limits", "a content stream is more than 1,000,000 bytes decoded") in [
        (f.page, f.rule, f.message) for f in timed(pdf, PRINT)]


def test_metadata_bomb(tmp_path: Path) -> None:
    """No /Title in the document information: the title is looked for in the XMP metadata, 20 MB of it."""
    bomb = zlib.compress(b" " * 20_000_000, 9)
    pdf = raw_pdf(tmp_path / "xmp.pdf", b"<< /Type /Catalog /Pages 2 0 R /Metadata 4 0 R >>",
                  b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
                  b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << >> >>",
                  stream(bomb, b"/Type /Metadata /Subtype /XML /Filter /FlateDecode"))
    assert (None, "limits", "the XMP metadata is more than 1,000,000 bytes decoded or cannot be measured") in [
        (f.page, f.rule, f.message) for f in timed(pdf, SCREEN)]


def test_content_stream_in_a_filter_that_cannot_be_measured(tmp_path: Path) -> None:
    pdf = one_page(tmp_path / "lzw.pdf", b"\x80" * 2_000, filters=b"/Filter [/ASCIIHexDecode /LZWDecode]")
    assert (1, "limits", "a content stream is filtered with ['/ASCIIHexDecode', '/LZWDecode'] and too large to "
                         "read safely") in [(f.page, f.rule, f.message) for f in timed(pdf, PRINT)]


def test_operators_are_counted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(module, "MAX_OPERATORS", 1_000)
    pdf = one_page(tmp_path / "operators.pdf", b"q Q " * 600)
    assert (1, "limits", "more than 1,000 content operators to read") in [
        (f.page, f.rule, f.message) for f in timed(pdf, PRINT)]


def test_time_budget(copy: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(module, "TIME_BUDGET", 0.0)
    findings = preflight(copy, LARGE)
    assert [(f.page, f.rule, f.message) for f in findings] == [(None, "limits", "checking took more than 0 s: stopped")]


def test_deeply_nested_arrays_in_the_walk(tmp_path: Path) -> None:
    deep = b"[" * 300 + b"]" * 300
    pdf = raw_pdf(tmp_path / "deep.pdf", b"<< /Type /Catalog /Pages 2 0 R /OpenAction 4 0 R /Deep " + deep + b" >>",
                  b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
                  b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << >> >>",
                  b"<< /S /JavaScript /JS (1) >>")
    findings = [(f.page, f.rule, f.message) for f in timed(pdf, SCREEN)]
    assert (None, "javascript", "JavaScript action at trailer/Root/OpenAction") in findings
    assert (None, "limits", "arrays or dictionaries nested more than 100 deep at trailer/Root/Deep[0][0][0][0][0]"
                            "[0][0][0][0][0][0][0][0][0][0]…") in findings


def test_deeply_nested_dictionaries_alone_are_not_walked(tmp_path: Path) -> None:
    deep = b"<< /A " * 300 + b"1" + b" >>" * 300
    pdf = raw_pdf(tmp_path / "deep.pdf", b"<< /Type /Catalog /Pages 2 0 R /Deep " + deep + b" >>",
                  b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
                  b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << >> >>")
    assert not ACTIVE & set(rules(timed(pdf, SCREEN)))


def test_objects_walked_are_counted(copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(module, "MAX_OBJECTS", 10)
    pdf = edit(copy, tmp_path, lambda d: link_to(d, String("http://example.org/")))
    assert "limits" in rules(timed(pdf, SCREEN))


# --- files that are not PDFs, damaged or malformed ---------------------------------------------------------------


def test_not_a_regular_file(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo.pdf"
    os.mkfifo(fifo)                          # opened for reading, a FIFO would wait for a writer for ever
    for path in (fifo, tmp_path, tmp_path / "missing.pdf"):
        findings = timed(path, SCREEN)
        assert rules(findings) == ["structure"] and findings[0].message.startswith("cannot be read: ")
    assert "a FIFO, not a file: not read" in preflight(fifo, SCREEN)[0].message


@pytest.mark.parametrize("data", [b"", b"this is not a PDF", b"%PDF-1.7\n", b"%PDF-1.7\n1 0 obj << /Type /Catalog"])
def test_not_a_pdf(tmp_path: Path, data: bytes) -> None:
    (tmp_path / "junk.pdf").write_bytes(data)
    assert rules(timed(tmp_path / "junk.pdf", SCREEN)) == ["structure"]


def test_truncated(copy: Path, tmp_path: Path) -> None:
    data = copy.read_bytes()
    (tmp_path / "half.pdf").write_bytes(data[:len(data) // 2])
    assert "structure" in rules(timed(tmp_path / "half.pdf", SCREEN))


def test_broken_cross_reference_table_is_damaged(copy: Path, tmp_path: Path) -> None:
    data = re.sub(rb"startxref\s+\d+", b"startxref\n12", copy.read_bytes())
    (tmp_path / "xref.pdf").write_bytes(data)
    findings = timed(tmp_path / "xref.pdf", SCREEN)
    assert [(f.rule, f.message.split(" (")[0]) for f in findings] == [("structure", "damaged: the reader repaired it")]


def test_page_tree_that_loops(tmp_path: Path) -> None:
    pdf = raw_pdf(tmp_path / "loop.pdf", b"<< /Type /Catalog /Pages 2 0 R >>",
                  b"<< /Type /Pages /Kids [3 0 R 2 0 R] /Count 2 >>",
                  b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>")
    findings = timed(pdf, PRINT)
    assert rules(findings) == ["structure"] and "Loop detected in /Pages" in findings[0].message


def test_encrypted_from_memory(copy: Path, tmp_path: Path) -> None:
    target = tmp_path / "locked.pdf"
    with pikepdf.open(copy) as document:
        document.save(target, encryption=pikepdf.Encryption(owner="o", user="u"))
    assert rules(timed(io.BytesIO(target.read_bytes()), SCREEN)) == ["encryption"]


MALFORMED = [
    ("media box with a string", b"", b"<< >>", b"/MediaBox [1 2 (x) 4]", "MediaBox is undefined"),  # qpdf repairs
    ("trim box of names", b"", b"<< >>", b"/MediaBox [0 0 9 9] /TrimBox [/a /b /c /d]", "/TrimBox is not four numbers"),
    ("resources that are a number", b"", b"5", b"", "Resources is missing or invalid; repairing"),  # qpdf repairs
    ("font entries that are numbers", b"BT /F1 12 Tf (Hi) Tj ET", b"<< /Font << /F1 5 >> >>", b"",
     "/Resources /Font /F1 of the wrong type"),
    ("a font that is a number, drawn", b"BT /F1 12 Tf (Hi) Tj ET", b"<< /Font << /F1 5 >> >>", b"",
     "operands or resources of the wrong type for Tj"),
    ("a number to show", b"BT 5000000000 Tj 5 TJ ET", b"<< >>", b"", "operands or resources of the wrong type for "
                                                                   "TJ, Tj"),
    ("a font without its size", b"BT /F1 Tf ET", b"<< >>", b"", "operands or resources of the wrong type for Tf"),
    ("a matrix of names", b"/a /b /c /d /e /f cm", b"<< >>", b"", "operands or resources of the wrong type for cm"),
    ("a colour space naming itself", b"/CS0 cs", b"<< /ColorSpace << /CS0 [/Indexed /CS0 1 <00>] >> >>", b"",
     "operands or resources of the wrong type for cs"),
    ("an x-object that is a dictionary", b"/X Do", b"<< /XObject << /X << /Subtype /Form >> >> >>", b"",
     "/Resources /XObject /X of the wrong type"),
    ("contents that are a number", None, b"<< >>", b"", "/Contents is not a stream or an array of streams"),
]


@pytest.mark.parametrize("content, resources, page, message", [case[1:] for case in MALFORMED],
                         ids=[case[0] for case in MALFORMED])
def test_malformed_objects_are_a_finding_each(tmp_path: Path, content: bytes | None, resources: bytes,
                                              page: bytes, message: str) -> None:
    pdf = one_page(tmp_path / "malformed.pdf", content or b"", resources, page=page)
    if content is None:
        pdf.write_bytes(pdf.read_bytes().replace(b"/Contents 4 0 R", b"/Contents 7     "))
    # the content is read for print (colours, images) and large print (text too), not for a screen copy
    for expect in (LARGE,) if "operands" in message else (PRINT, SCREEN, LARGE):
        findings = timed(pdf, expect)
        assert message in " ".join(f.message for f in findings if f.rule == "structure"), (expect.variant, findings)


def test_a_check_that_meets_a_malformed_object_fails_alone(copy: Path, tmp_path: Path) -> None:
    """The role map is a number: the alternative text cannot be checked, which fails the PDF; the rest is checked."""
    def break_role_map(document: Pdf) -> None:
        document.Root.StructTreeRoot.RoleMap = 5
        document.Root.Lang = String("")

    findings = timed(edit(copy, tmp_path, break_role_map), SCREEN)
    assert [(f.rule, f.message.split(" (")[0]) for f in findings] == [
        ("language", "no document language"), ("structure", "alt-text could not be checked: malformed objects")]
    assert "AttributeError" in findings[1].message


def test_tj_arrays_of_numbers_only_show_nothing(tmp_path: Path) -> None:
    pdf = one_page(tmp_path / "numbers.pdf", b"BT /F1 20 Tf [1 2 3] TJ ET",
                   b"<< /Font << /F1 << /Type /Font /Subtype /Type3 >> >> >>")
    assert "structure" not in rules(timed(pdf, LARGE))


@pytest.fixture(scope="module")
def uncompressed(copy: Path, tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """The copy with its objects and streams written out plainly, so that mutated bytes land in PDF syntax."""
    target = tmp_path_factory.mktemp("plain") / "plain.pdf"
    with pikepdf.open(copy) as document:
        document.save(target, compress_streams=False, object_stream_mode=pikepdf.ObjectStreamMode.disable)
    return target.read_bytes()


def test_fuzzed_bytes_always_give_a_list(uncompressed: bytes) -> None:
    """Mutated copies (bytes changed, runs deleted or repeated, cut short): each gives a list, never an error."""
    chance = random.Random(10)
    tokens = [b"<<", b">>", b"[", b"]", b"(", b")", b"/", b" R", b"0", b"-1", b"99999999999", b"obj", b"endobj",
              b"stream", b"/Type /Page", b"/Kids", b"/Parent", b"/Length 0", b"\\", b"#", b"%", b"\x00", b"\xff"]
    started, outcomes = time.monotonic(), set()
    for round_ in range(300):
        data = bytearray(uncompressed)
        for _ in range(chance.randint(1, 8)):
            at = chance.randrange(len(data))
            how = chance.randrange(4)
            if how == 0:
                data[at] = chance.randrange(256)
            elif how == 1:
                data[at:at + chance.randint(1, 40)] = chance.choice(tokens)
            elif how == 2:
                del data[at:at + chance.randint(1, 400)]
            else:
                data[at:at] = data[at:at + chance.randint(1, 200)] * chance.randint(1, 20)
        if round_ % 10 == 9:
            del data[chance.randrange(len(data)):]
        findings = preflight(io.BytesIO(bytes(data)), (PRINT, SCREEN, LARGE)[round_ % 3], shown_as="fuzz.pdf")
        assert isinstance(findings, list) and all(isinstance(f, Finding) for f in findings)
        outcomes.update(f.rule for f in findings)
    assert time.monotonic() - started < 60
    assert "structure" in outcomes                          # the mutations did break things


# --- build.py preflight FILE... ----------------------------------------------------------------------------------


def run(project: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "build.py"), "--root", str(project), "--today", "2026-11-24",
                           *args], capture_output=True, text=True, cwd=project, timeout=120)


ONE = ["--clinic", "fennick-street-uk", "--condition", "acne-scars", "--kind", "leaflet", "--variant", "screen"]
LEAFLET = "output/fennick-street-uk/en/acne-scars-leaflet-screen.pdf"


def test_named_files_are_checked_without_the_output_folders_lock(project: Path) -> None:
    assert run(project, *ONE).returncode == 0
    report = project / "output/preflight.json"
    report.unlink(missing_ok=True)
    with FileLock(project / "output/.lock", timeout=0):       # a build is running
        result = run(project, "preflight", LEAFLET)
        assert result.returncode == 0, result.stderr
        assert result.stdout == (f"preflight: 1 passed, 0 failed ({project / 'output/preflight.json'} not written: "
                                 f"another run is using {project / 'output'})\n")
        assert not report.exists()
    result = run(project, "preflight", LEAFLET)
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"preflight: 1 passed, 0 failed (details in {report})\n"
    assert [d["path"] for d in json.loads(report.read_text())["documents"]] == [LEAFLET.removeprefix("output/")]


@pytest.mark.parametrize("name, message", [
    ("fifo", "is not a regular file (a directory, FIFO or device)"),
    ("folder", "is not a regular file (a directory, FIFO or device)"),
    ("missing.pdf", "No such file or directory"),
    ("outside.pdf", "is not a document of the catalogue in"),
])
def test_named_file_that_is_not_a_pdf_of_the_catalogue(project: Path, name: str, message: str) -> None:
    (project / "output").mkdir()
    os.mkfifo(project / "fifo")
    (project / "folder").mkdir()
    (project / "outside.pdf").write_bytes(b"%PDF-1.7\n")
    result = run(project, "preflight", name)
    assert result.returncode == 2
    assert message in result.stderr and "Traceback" not in result.stderr
    assert result.stderr.startswith("usage: build.py")                      # usage, then one line
    assert [line for line in result.stderr.splitlines() if "error" in line] == [result.stderr.splitlines()[-1]]
    assert result.stderr.splitlines()[-1].startswith(f"build.py: error: {name}")
    assert not (project / "output/preflight.json").exists()
