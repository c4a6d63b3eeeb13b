"""Preflight of finished PDFs: what a print shop and an accessibility check look for, read with pikepdf alone.

The checks read the PDF as it is, not how it was made, so they hold for any producer. Every variant must be
unencrypted, free of JavaScript and have every font embedded. A print master must also have its TrimBox and
BleedBox right, a PDF/X output intent with an embedded CMYK profile, no DeviceRGB colour, no RGB or
low-resolution images, and its printer's marks outside the BleedBox (and, where they are wanted, its crop marks
there). A screen or large-print copy must be tagged, with a language, a displayed title, alternative
text on every figure and no crop marks or bleed; in a large-print copy every character must be large enough (the
size it is drawn at: font size times the text matrix and the transformation in force), except the lettering of
the logo's artwork.

Content streams are read with the graphics state tracked through q/Q/cm, into Form XObjects and tiling patterns
(WeasyPrint draws backgrounds as tiling patterns and its crop marks as a Form XObject).

Any file may be hostile: a PDF that acts (JavaScript, launching, submitting, opening other files, links other than
https, mailto: and tel:) or carries files fails, and so does one that is not readable, damaged or malformed. The
limits below make a crafted file end in a `limits` finding within seconds; preflight never raises on a bad file.
"""

from __future__ import annotations

import math
import os
import re
import time
import zlib
from collections import Counter, deque
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import IO, Callable, Iterable, Iterator

import pikepdf
from pikepdf import Array, Dictionary, Matrix, Name, Object, Page, Pdf, Stream

from . import files

# Limits on what one document may make the checks do; past any of them the PDF fails with a `limits` finding.
MAX_PAGES = 1_000               # more pages: one finding, and the page-level checks are skipped
MAX_NESTING = 100               # arrays and dictionaries written inside one another (qpdf itself stops at 500)
MAX_OBJECTS = 250_000           # dictionaries and arrays visited looking for actions and attachments
MAX_FORM_DEPTH = 16             # Form XObjects and tiling patterns drawn inside one another
MAX_FORM_VISITS = 5_000         # Form XObjects and tiling patterns entered in one document, however they nest
MAX_STREAM_BYTES = 1_000_000    # one content stream or metadata stream, decoded
MAX_CONTENT_BYTES = 8_000_000   # all the content read for one document, decoded (a form drawn twice counts twice)
MAX_OPERATORS = 1_000_000       # content stream operators read for one document
TIME_BUDGET = 20.0              # seconds for one document, checked as the checks go
SHOWN = 60                      # characters of a link or a path quoted in a finding
SAMPLES = 40                    # pieces of text kept for each size on a page, to quote the smallest

VARIANTS = ("print", "screen", "large-print")
TOLERANCE = 0.5            # points, for page boxes
MM_PER_INCH = 25.4
POINTS_PER_INCH = 72.0
IDENTITY = (1, 0, 0, 1, 0, 0)

Box = tuple[float, float, float, float]
Issue = tuple[int | None, str, str]             # page (1-based, None for the document), rule, message


@dataclass(frozen=True)
class Expectation:
    """What a PDF of one variant should be."""

    variant: str                 # "print", "screen" or "large-print"
    trim: tuple[float, float]    # finished page size in PDF points (width, height)
    bleed: float = 0.0           # bleed in points on each side
    min_ppi: float = 300.0       # print images
    min_text_pt: float = 0.0     # every character drawn at least this size (0: not checked)
    fonts: frozenset[str] | None = None   # the font names a PDF may use, without subset prefix (None: any)
    crop_marks: bool = False     # print: crop marks must be drawn outside the BleedBox, along the trim's edges
    # The alternative texts of figures whose lettering is artwork, exempt from min_text_pt: the clinic's logo.
    artwork: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        if self.variant not in VARIANTS:
            raise ValueError(f"unknown variant {self.variant!r}: expected one of {', '.join(VARIANTS)}")


@dataclass(frozen=True)
class Finding:
    """One thing wrong with one PDF, on one page or for the whole document."""

    document: str
    page: int | None
    rule: str
    message: str

    def format(self) -> str:
        where = f"page {self.page}: " if self.page is not None else ""
        return f"{self.document}: {where}{self.rule}: {self.message}"


def preflight(pdf: Path | IO[bytes], expect: Expectation, shown_as: str | None = None) -> list[Finding]:
    """Every finding for `pdf` against `expect`, document-level first then by page, each once; [] if it passes.

    Never raises on a bad file: whatever the bytes, the answer is a list (a file that is not a regular file, not a
    PDF, damaged, malformed or past a limit fails with a finding)."""
    document = shown_as if shown_as is not None else str(pdf)
    if not isinstance(pdf, (str, os.PathLike)):
        issues = _open_and_check(pdf, expect)
    else:
        try:
            handle = files.open_regular(pdf)
        except OSError as error:
            issues = [(None, "structure", f"cannot be read: {error.strerror or error}")]
        else:
            with handle:
                issues = _open_and_check(handle, expect)
    issues.sort(key=lambda issue: issue[0] or 0)
    return list(dict.fromkeys(Finding(document, page, rule, message) for page, rule, message in issues))


def _open_and_check(source: IO[bytes], expect: Expectation) -> list[Issue]:
    try:
        opened = pikepdf.open(source)
    except pikepdf.PasswordError:
        return [(None, "encryption", "encrypted with a user password: nothing else could be checked")]
    except (pikepdf.PdfError, OSError, ValueError, RecursionError) as error:
        return [(None, "structure", f"not a readable PDF: {_reason(error)}")]
    with opened:
        try:
            page_count = len(opened.pages)          # qpdf reads the page tree here, and finds loops in it
            if not isinstance(opened.Root, Dictionary):
                raise TypeError("no catalog dictionary")
        except (pikepdf.PdfError, TypeError, ValueError, AttributeError, RecursionError) as error:
            return [(None, "structure", f"no readable page tree: {_reason(error)}")]
        context = _Context(opened, expect, _Budget(time.monotonic() + TIME_BUDGET), page_count)
        issues = _run(context, _checks(expect))
        warnings = opened.get_warnings()
    if warnings:      # qpdf repaired the file as it read it: a print master must not need repairs
        issues.append((None, "structure", f"damaged: the reader repaired it ({len(warnings)} warnings; first: "
                                          f"{_reason(warnings[0])})"))
    return issues


def _run(context: _Context, checks: Iterable[Check]) -> list[Issue]:
    """The checks' issues, then what reading the pages found. A limit ends the checks (the PDF fails for it); a
    check that fails on a malformed object becomes a `structure` finding and the others still run."""
    issues: list[Issue] = []
    for check in checks:
        try:
            issues.extend(check(context))
        except _LimitReached as limit:
            issues.append((limit.page, "limits", str(limit)))
            break
        except Exception as error:     # a hostile file fails the check it broke, never the run; see the tests
            name = check.__name__.strip("_").replace("_", "-")
            issues.append((None, "structure", f"{name} could not be checked: malformed objects "
                                              f"({type(error).__name__}: {_reason(error)})"))
    return issues + context.notes


_DESCRIPTION = re.compile(r"^stream <[^>]*>:? ?")     # how qpdf names the file read: the finding names it already


def _reason(error: Exception | str) -> str:
    """What qpdf said, without the name of the file."""
    return _quoted(_DESCRIPTION.sub("", str(error)), 160)


def _quoted(text: str, limit: int = SHOWN) -> str:
    """Text from the file, shortened for a one-line finding."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 1] + "…"


class _LimitReached(Exception):
    """A limit was passed: the checks stop and the PDF fails with a `limits` finding."""

    def __init__(self, message: str, page: int | None = None) -> None:
        super().__init__(message)
        self.page = page


@dataclass
class _Budget:
    """What one document has used of the limits so far."""

    deadline: float
    forms: int = 0
    content_bytes: int = 0
    operators: int = 0
    sizes: dict[tuple[int, int], int | None] = field(default_factory=dict)   # each stream's, once measured

    def tick(self) -> None:
        if time.monotonic() > self.deadline:
            raise _LimitReached(f"checking took more than {TIME_BUDGET:g} s: stopped")

    def content(self, stream: Stream) -> None:
        """Count a content stream about to be read; refuse one too large to read, or one too many."""
        self.tick()
        if stream.objgen not in self.sizes:
            self.sizes[stream.objgen] = _decoded_size(stream, MAX_STREAM_BYTES)
        size = self.sizes[stream.objgen]
        if size is None:
            raise _LimitReached(f"a content stream is filtered with {_filters(stream)} and too large to read safely")
        if size > MAX_STREAM_BYTES:
            raise _LimitReached(f"a content stream is more than {MAX_STREAM_BYTES:,} bytes decoded")
        self.content_bytes += size
        if self.content_bytes > MAX_CONTENT_BYTES:
            raise _LimitReached(f"more than {MAX_CONTENT_BYTES:,} bytes of content to read")

    def operations(self, count: int) -> None:
        self.operators += count
        if self.operators > MAX_OPERATORS:
            raise _LimitReached(f"more than {MAX_OPERATORS:,} content operators to read")

    def form(self) -> None:
        self.forms += 1
        if self.forms > MAX_FORM_VISITS:
            raise _LimitReached(f"Form XObjects or patterns are drawn more than {MAX_FORM_VISITS:,} times")


# The most a filter can expand its input; a stream whose filters are all /FlateDecode is measured exactly instead.
_EXPANSION = {"/FlateDecode": 1032, "/LZWDecode": 4096, "/RunLengthDecode": 64, "/ASCIIHexDecode": 1,
              "/ASCII85Decode": 1}


def _filters(stream: Stream) -> list[str] | None:
    value = stream.get("/Filter")
    items = [] if value is None else [value] if isinstance(value, Name) else list(value) if isinstance(
        value, Array) else [None]
    return [str(item) for item in items] if all(isinstance(item, Name) for item in items) else None


def _decoded_size(stream: Stream, limit: int) -> int | None:
    """The stream's size decoded, up to just past `limit`, found without decoding more than that; None when the
    filters are unknown or could expand it past the limit."""
    filters = _filters(stream)
    if filters is None:
        return None
    data = stream.read_raw_bytes()
    if filters and all(name == "/FlateDecode" for name in filters):
        try:
            for _ in filters:
                data = zlib.decompressobj().decompress(data, limit + 1)
                if len(data) > limit:
                    break
            return len(data)
        except zlib.error:
            pass                  # qpdf reads what it can of a damaged stream: bound it as below
    expansion = math.prod(_EXPANSION.get(name, 0) for name in filters)
    if not expansion or len(data) * expansion > limit:
        return None if len(data) <= limit else len(data)
    return len(stream.read_bytes())


# --- reading content streams -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Placed:
    """An image as drawn: its pixels, its colour space and the matrix that maps its unit square onto the page."""

    label: str
    width: int
    height: int
    colour: str
    ctm: Matrix

    def size_mm(self) -> tuple[float, float]:
        a, b, c, d, _, _ = self.ctm.shorthand
        return (math.hypot(a, b) / POINTS_PER_INCH * MM_PER_INCH, math.hypot(c, d) / POINTS_PER_INCH * MM_PER_INCH)

    def ppi(self) -> float:
        """Effective resolution: the lower of the horizontal and vertical pixels per inch at the placed size."""
        width_mm, height_mm = self.size_mm()
        if width_mm == 0 or height_mm == 0:
            return math.inf
        return min(self.width / (width_mm / MM_PER_INCH), self.height / (height_mm / MM_PER_INCH))


@dataclass
class _Scan:
    """What one page draws: colour spaces set for vector painting, images, and characters by the size they are
    drawn at (outside the exempt artwork), with the first text shown at each size and its font."""

    colours: set[str] = field(default_factory=set)
    images: list[_Placed] = field(default_factory=list)
    text: Counter[float] = field(default_factory=Counter)
    samples: dict[float, list[tuple[Object, Dictionary | None]]] = field(default_factory=dict)
    malformed: set[str] = field(default_factory=set)     # operators whose operands or resources were unusable


@dataclass
class _Graphics:
    """The parts of the graphics state the checks need."""

    ctm: Matrix
    font: Dictionary | None = None
    size: float = 0.0


@dataclass
class _Frame:
    """One content stream being read: its resources, its default space, the graphics state and its stack."""

    resources: Dictionary
    base: Matrix
    state: _Graphics
    saved: list[_Graphics] = field(default_factory=list)
    text_matrix: Matrix = field(default_factory=Matrix)


DEVICE_COLOURS = {"rg": "DeviceRGB", "RG": "DeviceRGB", "k": "DeviceCMYK", "K": "DeviceCMYK",
                  "g": "DeviceGray", "G": "DeviceGray"}
ICC_COMPONENTS = {1: "Gray", 3: "RGB", 4: "CMYK"}


class _Scanner:
    """Reads one page's content, following Form XObjects and tiling patterns, into a `_Scan`."""

    def __init__(self, count_text: bool, budget: _Budget, artwork: frozenset[int] = frozenset()) -> None:
        self.scan = _Scan()
        self.budget = budget
        self.active: set[tuple[int, int]] = set()     # forms and patterns being read, against cycles
        self.artwork = artwork           # the marked-content ids (MCIDs) of this page's exempt artwork
        self.marked: list[bool] = []     # the open marked-content sequences: is each exempt artwork?
        self.handlers: dict[str, Callable[[_Frame, list], None]] = {
            "q": self._save, "Q": self._restore, "cm": self._concat, "BT": self._begin_text,
            "Tm": self._text_matrix, "Tf": self._font, "Tj": self._show, "'": self._show, '"': self._show,
            "TJ": self._show_array, "cs": self._colour_space, "CS": self._colour_space, "scn": self._pattern,
            "SCN": self._pattern, "sh": self._shading, "Do": self._draw, "BDC": self._begin_marked,
            "BMC": self._begin_marked, "EMC": self._end_marked,
            **{op: self._device_colour(name) for op, name in DEVICE_COLOURS.items()},
        }
        if not count_text:                 # counting characters by size is the costly part; only some need it
            for operator in ("Tj", "'", '"', "TJ", "BDC", "BMC", "EMC"):
                del self.handlers[operator]
        self.operators = " ".join([*self.handlers, "BI", "ID", "EI"])   # the rest is skipped while parsing

    def read(self, content: Stream | Page, resources: Dictionary, ctm: Matrix) -> None:
        streams = content.obj.get("/Contents") if isinstance(content, Page) else content
        for stream in [streams] if isinstance(streams, Stream) else streams if isinstance(streams, Array) else ():
            if isinstance(stream, Stream):
                self.budget.content(stream)
        instructions = pikepdf.parse_content_stream(content, self.operators)
        self.budget.operations(len(instructions))
        frame, handlers = _Frame(resources, ctm, _Graphics(ctm)), self.handlers
        for index, instruction in enumerate(instructions):
            if index & 4095 == 4095:
                self.budget.tick()
            inline = isinstance(instruction, pikepdf.ContentStreamInlineImage)
            try:
                if inline:
                    self._place("inline image", instruction.iimage.obj, frame)
                    continue
                handler = handlers.get(str(instruction.operator))
                if handler:
                    handler(frame, list(instruction.operands))
            except (ValueError, TypeError, AttributeError, IndexError, KeyError, OverflowError, pikepdf.PdfError):
                # operands or resources of the wrong type: noted, and the operator is not followed
                self.scan.malformed.add("BI" if inline else str(instruction.operator))

    def _save(self, frame: _Frame, operands: list) -> None:
        frame.saved.append(replace(frame.state))

    def _restore(self, frame: _Frame, operands: list) -> None:
        if frame.saved:
            frame.state = frame.saved.pop()

    def _concat(self, frame: _Frame, operands: list) -> None:
        frame.state.ctm = _matrix(operands) @ frame.state.ctm

    def _begin_text(self, frame: _Frame, operands: list) -> None:
        frame.text_matrix = Matrix()

    def _text_matrix(self, frame: _Frame, operands: list) -> None:
        frame.text_matrix = _matrix(operands)

    def _font(self, frame: _Frame, operands: list) -> None:
        name, size = operands
        frame.state.font = _resource(frame.resources, "/Font", name)
        frame.state.size = float(size)

    def _show(self, frame: _Frame, operands: list) -> None:
        if not isinstance(operands[-1], pikepdf.String):   # bytes(n) of a number would be n zero bytes
            raise TypeError("text to show is not a string")
        self._count(frame, len(bytes(operands[-1])), operands[-1])

    def _show_array(self, frame: _Frame, operands: list) -> None:
        if not isinstance(operands[0], Array):
            raise TypeError("TJ takes an array")
        self._count(frame, _shown_bytes(operands[0]), operands[0])

    def _count(self, frame: _Frame, shown: int, text: Object) -> None:
        """Add the characters of shown bytes at their size on the page (font size times text and CTM scale),
        unless they are the lettering of exempt artwork."""
        if any(self.marked):
            return
        _, _, c, d, _, _ = (frame.text_matrix @ frame.state.ctm).shorthand
        size = round(abs(frame.state.size) * math.hypot(c, d), 1)
        font = frame.state.font
        per_character = 2 if font is not None and font.get("/Subtype") == "/Type0" else 1
        self.scan.text[size] += shown // per_character
        shown_here = self.scan.samples.setdefault(size, [])
        if len(shown_here) < SAMPLES:
            shown_here.append((text, font))

    def _begin_marked(self, frame: _Frame, operands: list) -> None:
        """A marked-content sequence: exempt when its MCID is one of the artwork figures' on this page."""
        self.marked.append(False)        # first, so that malformed operands still open a sequence for EMC
        if len(operands) == 2 and not self.active:      # MCIDs number the page's own content, not a form's
            properties = operands[1]
            if isinstance(properties, Name):
                properties = _resource(frame.resources, "/Properties", properties)
            mcid = properties.get("/MCID") if isinstance(properties, Dictionary) else None
            self.marked[-1] = isinstance(mcid, int) and int(mcid) in self.artwork

    def _end_marked(self, frame: _Frame, operands: list) -> None:
        if self.marked:
            self.marked.pop()

    def _device_colour(self, name: str) -> Callable[[_Frame, list], None]:
        def handler(frame: _Frame, operands: list) -> None:
            self.scan.colours.add(name)
        return handler

    def _colour_space(self, frame: _Frame, operands: list) -> None:
        self.scan.colours.add(_colour_name(operands[0], frame.resources))

    def _pattern(self, frame: _Frame, operands: list) -> None:
        if not operands or not isinstance(operands[-1], Name):
            return
        pattern = _resource(frame.resources, "/Pattern", operands[-1])
        if isinstance(pattern, Stream):          # tiling: its own content, in the stream's default space
            ctm = _matrix(pattern.get("/Matrix", IDENTITY)) @ frame.base
            self._enter(pattern, pattern.get("/Resources", Dictionary()), ctm)
        elif isinstance(pattern, Dictionary) and "/Shading" in pattern:
            self.scan.colours.add(_colour_name(pattern.Shading.get("/ColorSpace"), frame.resources))

    def _shading(self, frame: _Frame, operands: list) -> None:
        shading = _resource(frame.resources, "/Shading", operands[0])
        if shading is not None:
            self.scan.colours.add(_colour_name(shading.get("/ColorSpace"), frame.resources))

    def _draw(self, frame: _Frame, operands: list) -> None:
        xobject = _resource(frame.resources, "/XObject", operands[0])
        if not isinstance(xobject, Stream):
            return
        if xobject.get("/Subtype") == "/Image":
            self._place(str(operands[0]), xobject.stream_dict, frame)
        elif xobject.get("/Subtype") == "/Form":
            ctm = _matrix(xobject.get("/Matrix", IDENTITY)) @ frame.state.ctm
            self._enter(xobject, xobject.get("/Resources", frame.resources), ctm)

    def _enter(self, stream: Stream, resources: Dictionary, ctm: Matrix) -> None:
        """Read a form or a tiling pattern, once at a time (a form that draws itself is not followed)."""
        key = stream.objgen
        if key in self.active:
            return
        if len(self.active) >= MAX_FORM_DEPTH:
            raise _LimitReached(f"Form XObjects or patterns are nested more than {MAX_FORM_DEPTH} deep")
        self.budget.form()
        self.active.add(key)
        depth = len(self.marked)
        try:
            self.read(stream, resources, ctm)
        finally:
            self.active.discard(key)
            del self.marked[depth:]       # a sequence the form left open ends with it

    def _place(self, label: str, image: Dictionary, frame: _Frame) -> None:
        colour = "stencil mask" if image.get("/ImageMask") else _colour_name(image.get("/ColorSpace"), frame.resources)
        self.scan.images.append(_Placed(label, int(image.Width), int(image.Height), colour, frame.state.ctm))


_HEX_STRING = re.compile(rb"<([0-9A-Fa-f]*)>")


def _shown_bytes(array: Array) -> int:
    """The bytes of the strings in a TJ array. Producers often show one glyph per string: rather than visit each
    element, read the array as qpdf writes it, where binary strings are hex; any literal string, and the slow way."""
    serialised = array.unparse()
    if b"(" not in serialised:
        return sum(map(len, _HEX_STRING.findall(serialised))) // 2
    return sum(len(bytes(item)) for item in array if isinstance(item, pikepdf.String))


def _matrix(values: Iterable) -> Matrix:
    return Matrix(*(float(v) for v in values))


def _resource(resources: Dictionary, kind: str, name: Object) -> Object | None:
    group = resources.get(kind)
    return group.get(name) if isinstance(group, Dictionary) else None


def _colour_name(space: Object | None, resources: Dictionary, depth: int = 0) -> str:
    """A readable name for a colour space: DeviceRGB, ICCBased CMYK, Indexed DeviceRGB, Separation..."""
    if depth > 4:                        # an indexed space of an indexed space... or one naming itself
        raise ValueError("colour space nested too deep")
    if isinstance(space, Name):
        named = _resource(resources, "/ColorSpace", space)
        if isinstance(named, Array):
            return _colour_name(named, resources, depth + 1)
        return str(named if isinstance(named, Name) else space)[1:]
    if isinstance(space, Array) and len(space) > 0:
        family = str(space[0])[1:]
        if family == "ICCBased":
            components = int(space[1].get("/N", 0))
            return f"ICCBased {ICC_COMPONENTS.get(components, f'{components}-component')}"
        if family == "Indexed":
            return f"Indexed {_colour_name(space[1], resources, depth + 1)}"
        return family
    return "unknown"


def _inherited(page: Dictionary, key: str) -> Object | None:
    """A page attribute that may be set on the page or on an ancestor in the page tree."""
    node: Object | None = page
    for _ in range(64):
        if not isinstance(node, Dictionary):
            return None
        if key in node:
            return node[key]
        node = node.get("/Parent")
    return None


def _page_resources(page: Page) -> Dictionary:
    resources = _inherited(page.obj, "/Resources")
    return resources if isinstance(resources, Dictionary) else Dictionary()


# --- context shared by the checks ----------------------------------------------------------------------------


@dataclass
class _Context:
    pdf: Pdf
    expect: Expectation
    budget: _Budget
    page_count: int
    notes: list[Issue] = field(default_factory=list)     # found while reading the pages, reported after the checks

    @cached_property
    def scans(self) -> list[_Scan]:
        """Each page's content, read once and shared by the checks that need it."""
        count_text = _text_size in _checks(self.expect)
        artwork = self._artwork() if count_text and self.expect.artwork else {}
        scans = []
        for number, page in self.pages():
            scanner = _Scanner(count_text, self.budget, artwork.get(page.obj.objgen, frozenset()))
            try:
                scanner.read(page, _page_resources(page), Matrix())
            except _LimitReached as limit:
                limit.page = number
                raise
            except pikepdf.PdfError as error:
                self.notes.append((number, "structure", f"the content cannot be read: {_reason(error)}"))
            if scanner.scan.malformed:
                self.notes.append((number, "structure", "operands or resources of the wrong type for "
                                                        f"{', '.join(sorted(scanner.scan.malformed))}"))
            scans.append(scanner.scan)
        return scans

    def _artwork(self) -> dict[tuple[int, int], frozenset[int]]:
        """For each page, the marked-content ids of the figures whose alternative text is one of the expected
        artwork's (the logo): their lettering is exempt from the minimum text size."""
        tree = self.pdf.Root.get("/StructTreeRoot")
        if not isinstance(tree, Dictionary):
            return {}
        found: dict[tuple[int, int], set[int]] = {}
        role_map = tree.get("/RoleMap", Dictionary())
        for element, page in _elements(tree, self.budget):
            if _role(element, role_map) != "/Figure" or str(element.get("/Alt", "")) not in self.expect.artwork:
                continue
            kids = element.get("/K")
            for kid in kids if isinstance(kids, Array) else [kids]:
                if isinstance(kid, Dictionary) and kid.get("/Type") == "/MCR":
                    mcid, where = kid.get("/MCID"), kid.get("/Pg", page)
                else:
                    mcid, where = kid, page
                if isinstance(mcid, int) and isinstance(where, Dictionary) and where.is_indirect:
                    found.setdefault(where.objgen, set()).add(int(mcid))
        return {page: frozenset(ids) for page, ids in found.items()}

    def pages(self) -> Iterator[tuple[int, Page]]:
        """Each page with its number; none past the page limit (`_page_limit` says so)."""
        if self.page_count > MAX_PAGES:
            return
        for number, page in enumerate(self.pdf.pages, 1):
            self.budget.tick()
            yield number, page


Check = Callable[[_Context], Iterable[Issue]]


# --- every variant ------------------------------------------------------------------------------------------


def _encryption(context: _Context) -> Iterator[Issue]:
    if context.pdf.is_encrypted:
        info = context.pdf.encryption
        yield None, "encryption", f"encrypted (revision {info.R}, {info.bits}-bit key): it must be an open file"


def _page_limit(context: _Context) -> Iterator[Issue]:
    if context.page_count > MAX_PAGES:
        yield None, "limits", (f"{context.page_count:,} pages, more than {MAX_PAGES:,}: the pages themselves "
                               "were not checked")


# What makes a PDF act or carry files: keys, action types (/S) and annotation types (/Subtype).
SCRIPTS = {"/JS": "JavaScript", "/AA": "additional actions (/AA)", "/XFA": "an XFA form, which can hold scripts"}
ACTIONS = {"/Launch": "starts a program or opens a file", "/SubmitForm": "sends form data away",
           "/ImportData": "reads data from a file", "/GoToR": "opens another PDF file",
           "/GoToE": "opens an embedded or another PDF file", "/RichMediaExecute": "runs rich media",
           "/Rendition": "plays media", "/Movie": "plays a movie", "/Sound": "plays a sound"}
ATTACHMENTS = {"/EF": "an embedded file", "/EmbeddedFiles": "embedded files (/EmbeddedFiles)",
               "/AF": "associated files (/AF)"}
ANNOTATIONS = {"/FileAttachment": "a file attachment annotation", "/RichMedia": "a rich media annotation",
               "/Movie": "a movie annotation", "/Sound": "a sound annotation",
               "/Screen": "a screen annotation, which plays media", "/3D": "a 3D annotation, which can hold scripts"}
# Links may open a web page over https, write an e-mail or call a number (as content links may: see checks.links);
# http is readable and changeable on the way, and file:, javascript:, data: or a relative link reach the reader's
# own machine.
ALLOWED_LINK = re.compile(rb"(?i)(?:https://|mailto:|tel:)")

# Any of those names in an object's serialisation. qpdf writes every name in one spelling (/J#61vaScript is written
# /JavaScript), so matching the serialised objects is a sure first pass: the walk below, which says where, runs only
# when one matches (a match inside a string only costs that walk). Links are common: one whose /URI is written as
# an allowed address or a name (/S /URI) needs no closer look; any other /URI is looked at in its object.
_ACTIVE = re.compile(rb"/(?:" + b"|".join(re.escape(name[1:].encode()) for name in (
    "/JavaScript", *SCRIPTS, *ACTIONS, *ATTACHMENTS, *ANNOTATIONS)) + rb")(?=[\s()<>\[\]{}/%]|$)")
_PLAIN_LINK = re.compile(rb"/URI(?= /| >>| \((?i:https://|mailto:|tel:))")


def _may_act(pdf: Pdf, budget: _Budget) -> bool:
    """Whether any object of the file may make it act or carry a file: one pass over the serialised objects."""
    for index, obj in enumerate([pdf.trailer, *pdf.objects]):
        if index % 1024 == 1023:
            budget.tick()
        if isinstance(obj, Stream):
            obj = obj.stream_dict
        if not isinstance(obj, Object):
            continue
        serialised = obj.unparse(resolved=True)
        if _ACTIVE.search(serialised):
            return True
        links = serialised.count(b"/URI")
        if links and links != len(_PLAIN_LINK.findall(serialised)) and not _links_allowed(obj):
            return True
    return False


def _links_allowed(obj: Object) -> bool:
    """Whether every /URI in the object itself (not in the objects it refers to) is an allowed link."""
    pending = [obj]
    while pending:
        item = pending.pop()
        if isinstance(item, Dictionary):
            if "/URI" in item and not _allowed_link(item.get("/URI")):
                return False
            pending.extend(value for value in item.values() if _container(value) and not value.is_indirect)
        elif isinstance(item, Array):
            pending.extend(value for value in item if _container(value) and not value.is_indirect)
    return True


def _allowed_link(value: Object | None) -> bool:
    """An allowed link address, or no address at all: only a string is one (a dictionary is the catalog's base for
    relative links, a name the type of a link action)."""
    return not isinstance(value, pikepdf.String) or ALLOWED_LINK.match(bytes(value)) is not None


def _active_content(context: _Context) -> Iterator[Issue]:
    if not _may_act(context.pdf, context.budget):
        return
    names = context.pdf.Root.get("/Names")
    if isinstance(names, Dictionary) and "/JavaScript" in names:
        yield None, "javascript", "document-level scripts (/Names /JavaScript)"
    for number, where, dictionary in _dictionaries(context):
        yield from _acts(number, where, dictionary)


def _acts(number: int | None, where: str, dictionary: Dictionary) -> Iterator[Issue]:
    """What one dictionary makes the PDF do or carry."""
    kind = dictionary.get("/S")
    if kind == "/JavaScript" or "/JS" in dictionary:
        yield number, "javascript", f"JavaScript action at {where}"
    for key in ("/AA", "/XFA"):
        if key in dictionary:
            yield number, "javascript", f"{SCRIPTS[key]} at {where}"
    if isinstance(kind, Name) and str(kind) in ACTIONS:
        yield number, "actions", f"{kind} action ({ACTIONS[str(kind)]}) at {where}"
    if "/URI" in dictionary and not _allowed_link(dictionary.get("/URI")):
        shown = _quoted(bytes(dictionary.get("/URI")).decode("latin-1"))
        yield number, "actions", f"link to '{shown}' at {where}: only https, mailto: and tel: links are allowed"
    for key in ("/EF", "/EmbeddedFiles", "/AF"):
        if key in dictionary:
            yield number, "attachments", f"{ATTACHMENTS[key]} at {where}"
    subtype = dictionary.get("/Subtype")
    if isinstance(subtype, Name) and str(subtype) in ANNOTATIONS and dictionary.get("/Type", Name.Annot) == "/Annot":
        yield number, "attachments", f"{ANNOTATIONS[str(subtype)]} at {where}"


def _dictionaries(context: _Context) -> Iterator[tuple[int | None, str, Dictionary]]:
    """Every dictionary reachable from the pages and the trailer (stream dictionaries included), each object once.

    Breadth first, pages first, so each comes with its page (if reached through one) and a short path. Past the page
    limit the pages are reached from the trailer alone. Objects nested too deep, or too many, end the walk."""
    seen: set[tuple[int, int]] = set()
    pages = [(number, "page", page.obj, 0) for number, page in context.pages()]
    pending: deque[tuple[int | None, str, Object, int]] = deque([*pages, (None, "trailer", context.pdf.trailer, 0)])
    visited = 0
    while pending:
        number, where, obj, depth = pending.popleft()
        if obj.is_indirect:
            if obj.objgen in seen:
                continue
            seen.add(obj.objgen)
            depth = 0                        # nesting is counted within one object
        visited += 1
        if visited > MAX_OBJECTS:
            raise _LimitReached(f"more than {MAX_OBJECTS:,} dictionaries and arrays to look through")
        if visited % 1024 == 0:
            context.budget.tick()
        if depth > MAX_NESTING:
            raise _LimitReached(f"arrays or dictionaries nested more than {MAX_NESTING} deep at {where}", number)
        if isinstance(obj, Stream):
            obj = obj.stream_dict
        if isinstance(obj, Dictionary):
            yield number, where, obj
            pending.extend((number, _step(where, str(key)), value, depth + 1) for key, value in obj.items()
                           if _container(value))
        elif isinstance(obj, Array):
            pending.extend((number, _step(where, f"[{index}]"), value, depth + 1) for index, value in enumerate(obj)
                           if _container(value))


def _step(where: str, step: str) -> str:
    """A path one step further, kept short: a long one ends in an ellipsis."""
    if len(where) < SHOWN:
        return where + step
    return where if where.endswith("…") else where + "…"


def _container(value: object) -> bool:
    return isinstance(value, (Dictionary, Array, Stream))


# What a page's resources hold: each kind's entries must be of these types.
RESOURCE_TYPES: dict[str, tuple[type, ...]] = {
    "/Font": (Dictionary,), "/XObject": (Stream,), "/ExtGState": (Dictionary,), "/Pattern": (Dictionary, Stream),
    "/Shading": (Dictionary, Stream), "/ColorSpace": (Name, Array), "/Properties": (Dictionary,)}


def _structure(context: _Context) -> Iterator[Issue]:
    """Page objects of the types the checks and any viewer rely on: a malformed page fails rather than being
    read as if it were empty."""
    for number, page in context.pages():
        obj = page.obj
        if _box(_inherited(obj, "/MediaBox")) is None:
            yield number, "structure", "/MediaBox is missing or not four numbers"
        for key in ("/CropBox", "/BleedBox", "/TrimBox", "/ArtBox"):
            value = _inherited(obj, key) if key == "/CropBox" else obj.get(key)
            if value is not None and _box(value) is None:
                yield number, "structure", f"{key} is not four numbers"
        contents = obj.get("/Contents")
        if contents is not None and not isinstance(contents, Stream) and not (
                isinstance(contents, Array) and all(isinstance(item, Stream) for item in contents)):
            yield number, "structure", "/Contents is not a stream or an array of streams"
        resources = _inherited(obj, "/Resources")
        if resources is not None and not isinstance(resources, Dictionary):
            yield number, "structure", "/Resources is not a dictionary"
            continue
        for kind, types in RESOURCE_TYPES.items():
            group = resources.get(kind) if resources is not None else None
            if group is None:
                continue
            if not isinstance(group, Dictionary):
                yield number, "structure", f"/Resources {kind} is not a dictionary"
                continue
            wrong = [str(name) for name, item in group.items() if not isinstance(item, types)]
            if wrong:
                yield number, "structure", f"/Resources {kind} {_quoted(' '.join(wrong))} of the wrong type"


def _fonts(context: _Context) -> Iterator[Issue]:
    for number, page in context.pages():
        for font in _font_dicts(_page_resources(page), set()):
            if not _embedded(font):
                yield number, "fonts-embedded", f"font {font.get('/BaseFont', '(unnamed)')} is not embedded"


def _font_dicts(resources: Dictionary, seen: set[tuple[int, int]]) -> Iterator[Dictionary]:
    """Fonts in a resource dictionary and in the Form XObjects and tiling patterns it holds, each once."""
    for kind in ("/Font", "/XObject", "/Pattern"):
        group = resources.get(kind)
        for item in group.values() if isinstance(group, Dictionary) else ():
            if not isinstance(item, (Dictionary, Stream)) or (item.is_indirect and item.objgen in seen):
                continue
            if item.is_indirect:
                seen.add(item.objgen)
            if kind == "/Font":
                yield item
            elif isinstance(item, Stream) and isinstance(item.get("/Resources"), Dictionary):
                yield from _font_dicts(item.Resources, seen)


def _embedded(font: Dictionary) -> bool:
    """True when the font program is in the file (Type 3 fonts are drawn by the PDF itself, so they count)."""
    if font.get("/Subtype") == "/Type3":
        return True
    if font.get("/Subtype") == "/Type0":
        descendants = font.get("/DescendantFonts")
        font = descendants[0] if isinstance(descendants, Array) and len(descendants) else Dictionary()
    descriptor = font.get("/FontDescriptor")
    return isinstance(descriptor, Dictionary) and any(
        key in descriptor for key in ("/FontFile", "/FontFile2", "/FontFile3"))


# A font's name in a PDF: a subset prefix, then its PostScript name, or (WeasyPrint) its family and style words.
_SUBSET = re.compile(r"^[A-Z]{6}\+")
_STYLE_WORDS = frozenset(
    "Thin Ultra Extra Semi Demi Light Book Regular Normal Medium Bold Heavy Black Italic Oblique Small All Petite "
    "Caps Unicase Title Condensed Expanded".split())


def _fonts_bundled(context: _Context) -> Iterator[Issue]:
    """Every font is one of the expected (bundled) fonts: a name that is not means a font came from elsewhere."""
    allowed = context.expect.fonts
    if allowed is None:
        return
    for number, page in context.pages():
        for font in _font_dicts(_page_resources(page), set()):
            if font.get("/Subtype") == "/Type3":
                continue            # drawn by the PDF itself
            if font.get("/Subtype") == "/Type0":
                descendants = font.get("/DescendantFonts")
                font = descendants[0] if isinstance(descendants, Array) and len(descendants) else font
            name = _SUBSET.sub("", str(font.get("/BaseFont", "")).lstrip("/"))
            if not _allowed_font(name, allowed):
                yield number, "fonts-bundled", f"font {name or '(unnamed)'} is not one of the bundled fonts"


def _allowed_font(name: str, allowed: frozenset[str]) -> bool:
    if name in allowed:
        return True
    parts = name.split("-")
    return any("-".join(parts[:i]) in allowed and _STYLE_WORDS.issuperset(parts[i:]) for i in range(1, len(parts)))


# --- print ----------------------------------------------------------------------------------------------------


def _box(value: Object | None) -> Box | None:
    """A rectangle as (left, bottom, right, top), whichever corners the file gives."""
    if not isinstance(value, Array) or len(value) != 4:
        return None
    try:
        x1, y1, x2, y2 = (float(v) for v in value)
    except (TypeError, ValueError):          # a rectangle with a string or a name in it is no rectangle
        return None
    return min(x1, x2), min(y1, y2), max(x1, x2), max(y1, y2)


def _show_box(box: Box) -> str:
    return "[" + " ".join(f"{v:.2f}" for v in box) + "]"


def _same(a: Box, b: Box) -> bool:
    return all(abs(x - y) <= TOLERANCE for x, y in zip(a, b))


def _contains(outer: Box, inner: Box) -> bool:
    return (outer[0] <= inner[0] + TOLERANCE and outer[1] <= inner[1] + TOLERANCE
            and outer[2] >= inner[2] - TOLERANCE and outer[3] >= inner[3] - TOLERANCE)


def _page_boxes(page: Page) -> tuple[Box, Box, Box | None]:
    """MediaBox, effective BleedBox (defaults to the CropBox, then the MediaBox) and TrimBox as written."""
    media = _box(_inherited(page.obj, "/MediaBox")) or (0.0, 0.0, 0.0, 0.0)    # no MediaBox: no area at all
    crop = _box(_inherited(page.obj, "/CropBox")) or media
    return media, _box(page.obj.get("/BleedBox")) or crop, _box(page.obj.get("/TrimBox"))


def _boxes(context: _Context) -> Iterator[Issue]:
    expect = context.expect
    for number, page in context.pages():
        media, bleed, trim = _page_boxes(page)
        if trim is None:
            yield number, "boxes", "no TrimBox: the finished size is not marked"
            continue
        width, height = trim[2] - trim[0], trim[3] - trim[1]
        if abs(width - expect.trim[0]) > TOLERANCE or abs(height - expect.trim[1]) > TOLERANCE:
            yield number, "boxes", (f"TrimBox is {width:.2f} x {height:.2f} pt; the finished size should be "
                                    f"{expect.trim[0]:.2f} x {expect.trim[1]:.2f} pt")
        wanted = (trim[0] - expect.bleed, trim[1] - expect.bleed, trim[2] + expect.bleed, trim[3] + expect.bleed)
        if not _same(bleed, wanted):
            yield number, "bleed", (f"BleedBox {_show_box(bleed)} should be the TrimBox grown by {expect.bleed:.2f} pt "
                                    f"on every side, {_show_box(wanted)}")
        if not _contains(media, bleed):
            yield number, "boxes", f"MediaBox {_show_box(media)} does not contain BleedBox {_show_box(bleed)}"


def _output_intent(context: _Context) -> Iterator[Issue]:
    intents = context.pdf.Root.get("/OutputIntents")
    pdfx = [i for i in intents if isinstance(i, Dictionary) and i.get("/S") == "/GTS_PDFX"] if isinstance(
        intents, Array) else []
    if not pdfx:
        yield None, "output-intent", "no /OutputIntents entry with /S /GTS_PDFX (PDF/X needs one naming the press)"
        return
    profiles = [i.get("/DestOutputProfile") for i in pdfx]
    if not any(isinstance(p, Stream) and p.get("/N") == 4 for p in profiles):
        found = ", ".join(f"/N {p.get('/N')}" if isinstance(p, Stream) else "none" for p in profiles)
        yield None, "output-intent", f"the PDF/X output intent has no embedded CMYK ICC profile (found: {found})"


def _colour(context: _Context) -> Iterator[Issue]:
    for number, scan in enumerate(context.scans, 1):
        if "DeviceRGB" in scan.colours:
            yield number, "colour-space", (f"DeviceRGB is used for drawing or text; colour spaces on this page: "
                                           f"{', '.join(sorted(scan.colours))}")


def _images(context: _Context) -> Iterator[Issue]:
    for number, scan in enumerate(context.scans, 1):
        for image in scan.images:
            yield from _image_issues(number, image, context.expect.min_ppi)


def _image_issues(number: int, image: _Placed, min_ppi: float) -> Iterator[Issue]:
    size = f"image {image.label} ({image.width} x {image.height} px)"
    if "RGB" in image.colour:
        yield number, "image-rgb", f"{size} is {image.colour}; a print master needs CMYK images"
    if image.ppi() < min_ppi:
        width_mm, height_mm = image.size_mm()
        yield number, "image-resolution", (f"{size} placed at {width_mm:.1f} x {height_mm:.1f} mm is "
                                           f"{image.ppi():.0f} ppi; print needs at least {min_ppi:.0f} ppi")


# Printer's marks: what a page's own content paints inside a marked-content sequence of production aids,
# /Artifact with /Type /Page (PDF 1.7, 14.8.2.2: "cut marks and colour bars"). Crop marks are such marks.
MARK_OPERATORS = "q Q cm w BDC BMC EMC m l c v y h re S s f F f* B B* b b* n"
STROKES = frozenset({"S", "s", "B", "B*", "b", "b*"})
FILLS = frozenset({"f", "F", "f*"})
MARK_EPSILON = 0.01        # points: a mark that merely touches the BleedBox does not enter it
MARK_THICKNESS = 2.0       # points: at most this thick across its length, a line can be a crop mark


def _marks_drawn(page: Page, budget: _Budget) -> list[Box]:
    """Each subpath the page's own content paints as a printer's mark, as the box it covers on the page (half the
    line width included for a stroke). Forms are not entered: marks are drawn by the page itself."""
    instructions = pikepdf.parse_content_stream(page, MARK_OPERATORS)
    budget.operations(len(instructions))
    ctm, width = Matrix(), 1.0
    saved: list[tuple[Matrix, float]] = []
    sequences: list[bool] = []              # for each open marked-content sequence: is it (within) a mark?
    subpaths: list[list[tuple[float, float]]] = []
    drawn: list[Box] = []
    for index, instruction in enumerate(instructions):
        if index & 4095 == 4095:
            budget.tick()
        operator, operands = str(instruction.operator), list(instruction.operands)
        try:
            if operator == "q":
                saved.append((ctm, width))
            elif operator == "Q":
                ctm, width = saved.pop() if saved else (ctm, width)
            elif operator == "cm":
                ctm = _matrix(operands) @ ctm
            elif operator == "w":
                width = abs(float(operands[0]))
            elif operator in ("BDC", "BMC"):
                sequences.append(bool(sequences and sequences[-1]) or _is_mark(operands, _page_resources(page)))
            elif operator == "EMC":
                if sequences:
                    sequences.pop()
            elif operator in ("m", "re"):
                x, y = float(operands[0]), float(operands[1])
                if operator == "m":
                    subpaths.append([ctm.transform((x, y))])
                else:
                    w, h = float(operands[2]), float(operands[3])
                    corners = ((x, y), (x + w, y), (x, y + h), (x + w, y + h))
                    subpaths.append([ctm.transform(corner) for corner in corners])
            elif operator in ("l", "c", "v", "y"):
                values = [float(v) for v in operands]
                if not subpaths or len(values) not in (2, 4, 6):
                    continue
                subpaths[-1].extend(ctm.transform((values[i], values[i + 1])) for i in range(0, len(values), 2))
            elif operator in STROKES or operator in FILLS or operator == "n":
                if operator != "n" and sequences and sequences[-1]:
                    a, b, c, d, _, _ = ctm.shorthand
                    half = width * max(math.hypot(a, b), math.hypot(c, d)) / 2 if operator in STROKES else 0.0
                    for points in subpaths:
                        xs, ys = [p[0] for p in points], [p[1] for p in points]
                        drawn.append((min(xs) - half, min(ys) - half, max(xs) + half, max(ys) + half))
                subpaths = []
        except (ValueError, TypeError, AttributeError, IndexError, KeyError, OverflowError):
            continue      # operands of the wrong type: the scanner reports them (`structure`); nothing is drawn
    return drawn


def _is_mark(operands: list, resources: Dictionary) -> bool:
    """Whether BDC's operands open a production-aid artifact: /Artifact with a property list of /Type /Page."""
    if len(operands) != 2 or operands[0] != Name.Artifact:
        return False
    properties = operands[1]
    if isinstance(properties, Name):
        properties = _resource(resources, "/Properties", properties)
    return isinstance(properties, Dictionary) and properties.get("/Type") == Name.Page


def _enters(mark: Box, box: Box) -> bool:
    return (mark[0] < box[2] - MARK_EPSILON and mark[2] > box[0] + MARK_EPSILON
            and mark[1] < box[3] - MARK_EPSILON and mark[3] > box[1] + MARK_EPSILON)


def _crop_marks_missing(drawn: list[Box], trim: Box) -> list[str]:
    """Which of the eight crop marks are not drawn: a thin line on the line of each trim edge, beyond each end."""
    left, bottom, right, top = trim
    wanted = {  # where: (along x or y, the trim line it lies on, which side of the trim it must be on)
        "left of the bottom edge": ("x", bottom, lambda m: m[2] <= left + TOLERANCE),
        "left of the top edge": ("x", top, lambda m: m[2] <= left + TOLERANCE),
        "right of the bottom edge": ("x", bottom, lambda m: m[0] >= right - TOLERANCE),
        "right of the top edge": ("x", top, lambda m: m[0] >= right - TOLERANCE),
        "below the left edge": ("y", left, lambda m: m[3] <= bottom + TOLERANCE),
        "below the right edge": ("y", right, lambda m: m[3] <= bottom + TOLERANCE),
        "above the left edge": ("y", left, lambda m: m[1] >= top - TOLERANCE),
        "above the right edge": ("y", right, lambda m: m[1] >= top - TOLERANCE),
    }
    missing = []
    for where, (along, line, beyond) in wanted.items():
        low, high = (1, 3) if along == "x" else (0, 2)         # the mark's extent across its length
        if not any(m[high] - m[low] <= MARK_THICKNESS and abs((m[low] + m[high]) / 2 - line) <= TOLERANCE
                   and beyond(m) for m in drawn):
            missing.append(where)
    return missing


def _printer_marks(context: _Context) -> Iterator[Issue]:
    context.scans            # the pages' content read first: a stream too large or unreadable ends it there
    for number, page in context.pages():
        media, bleed, trim = _page_boxes(page)
        try:
            drawn = _marks_drawn(page, context.budget)
        except _LimitReached as limit:
            limit.page = number
            raise
        except pikepdf.PdfError:
            continue                  # reading the content already failed with a `structure` finding
        entering = [mark for mark in drawn if _enters(mark, bleed)]
        if entering:
            yield number, "printer-marks", (f"{len(entering)} of {len(drawn)} printer's marks enter the BleedBox "
                                            f"{_show_box(bleed)}, the first at {_show_box(entering[0])}: marks "
                                            "must stay outside the bleed")
        beyond = [mark for mark in drawn if not _contains(media, mark)]
        if beyond:
            yield number, "printer-marks", (f"{len(beyond)} of {len(drawn)} printer's marks reach beyond the MediaBox "
                                            f"{_show_box(media)}, the first at {_show_box(beyond[0])}")
        if context.expect.crop_marks and trim is not None:
            missing = _crop_marks_missing(drawn, trim)
            if missing:
                yield number, "printer-marks", (f"{len(missing)} of the 8 crop marks are not drawn: "
                                                f"{', '.join(missing)} (each a line along a trim edge, beyond the "
                                                "trim, drawn in an /Artifact sequence of /Type /Page)")


# --- screen and large print -----------------------------------------------------------------------------------


def _tagged(context: _Context) -> Iterator[Issue]:
    root = context.pdf.Root
    mark_info = root.get("/MarkInfo")
    marked = isinstance(mark_info, Dictionary) and mark_info.get("/Marked") is True
    missing = ([] if marked else ["/MarkInfo /Marked true"]) + (
        [] if isinstance(root.get("/StructTreeRoot"), Dictionary) else ["/StructTreeRoot"])
    if missing:
        yield None, "tagged", f"not a tagged PDF: no {' and no '.join(missing)}"


def _language(context: _Context) -> Iterator[Issue]:
    if not str(context.pdf.Root.get("/Lang", "")).strip():
        yield None, "language", "no document language (/Lang in the catalog is missing or empty)"


def _title(context: _Context) -> Iterator[Issue]:
    pdf = context.pdf
    if not (str(pdf.docinfo.get("/Title", "")).strip() or str(_xmp(pdf).get("dc:title") or "").strip()):
        yield None, "title", "no document title (neither Info /Title nor XMP dc:title)"
    preferences = pdf.Root.get("/ViewerPreferences")
    if not (isinstance(preferences, Dictionary) and preferences.get("/DisplayDocTitle") is True):
        yield None, "title", "/ViewerPreferences /DisplayDocTitle is not true: viewers show the file name instead"


def _xmp(pdf: Pdf) -> pikepdf.models.PdfMetadata:
    """The XMP metadata, read only when it is of a sane size."""
    stream = pdf.Root.get("/Metadata")
    if isinstance(stream, Stream) and (_decoded_size(stream, MAX_STREAM_BYTES) or math.inf) > MAX_STREAM_BYTES:
        raise _LimitReached(f"the XMP metadata is more than {MAX_STREAM_BYTES:,} bytes decoded or cannot be measured")
    return pdf.open_metadata()


def _alt_text(context: _Context) -> Iterator[Issue]:
    tree = context.pdf.Root.get("/StructTreeRoot")
    if not isinstance(tree, Dictionary):
        return
    pages = {page.obj.objgen: number for number, page in context.pages()}
    role_map = tree.get("/RoleMap", Dictionary())
    figures = [(element, page) for element, page in _elements(tree, context.budget)
               if _role(element, role_map) == "/Figure"]
    for index, (element, page) in enumerate(figures, 1):
        if not str(element.get("/Alt", "")).strip():
            number = pages.get(page.objgen) if page is not None else None
            yield number, "alt-text", f"figure {index} of {len(figures)} has no alternative text (/Alt)"


def _elements(tree: Dictionary, budget: _Budget) -> Iterator[tuple[Dictionary, Object | None]]:
    """Structure elements in document order, each with its page (/Pg, inherited from the nearest ancestor)."""
    seen: set[tuple[int, int]] = set()
    pending: list[tuple[Object, Object | None]] = [(tree.get("/K"), None)]
    visited = 0
    while pending:
        visited += 1
        if visited > MAX_OBJECTS:
            raise _LimitReached(f"more than {MAX_OBJECTS:,} structure elements to look through")
        if visited % 1024 == 0:
            budget.tick()
        node, page = pending.pop()
        if isinstance(node, Array):
            pending.extend((kid, page) for kid in reversed(list(node)))
        elif isinstance(node, Dictionary) and "/S" in node and not (node.is_indirect and node.objgen in seen):
            if node.is_indirect:
                seen.add(node.objgen)
            page = node.get("/Pg", page)
            yield node, page
            pending.append((node.get("/K"), page))


def _role(element: Dictionary, role_map: Dictionary) -> str:
    """The standard structure type of an element, following the role map."""
    role = str(element.S)
    for _ in range(16):
        mapped = role_map.get(role)
        if not isinstance(mapped, Name):
            break
        role = str(mapped)
    return role


def _crop_marks(context: _Context) -> Iterator[Issue]:
    for number, page in context.pages():
        media, _, trim = _page_boxes(page)
        if trim is not None and not _same(media, trim):
            yield number, "crop-marks", (f"MediaBox {_show_box(media)} is not the TrimBox {_show_box(trim)}: "
                                         "crop marks or bleed in a copy for reading")


# --- large print: the size of every character -----------------------------------------------------------------

# A /ToUnicode CMap's mappings, read only to quote the text of a finding.
_CMAP_SECTION = re.compile(rb"begin(bfchar|bfrange)(.*?)end\1", re.S)
_BFCHAR = re.compile(rb"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>")
_BFRANGE = re.compile(rb"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>")   # the form with one target


def _decode(text: Object, font: Dictionary | None, fonts: dict, budget: _Budget) -> str:
    """What shown text says, as far as its font's /ToUnicode map tells (a simple font without one: as ASCII);
    "" when it cannot be told. Only for quoting in a finding: never raises on a bad file."""
    try:
        data = (b"".join(bytes(item) for item in text if isinstance(item, pikepdf.String))
                if isinstance(text, Array) else bytes(text))
        wide = isinstance(font, Dictionary) and font.get("/Subtype") == "/Type0"
        key = font.objgen if isinstance(font, Dictionary) and font.is_indirect else (0, 0)
        if key not in fonts:
            fonts[key] = _to_unicode(font.get("/ToUnicode") if isinstance(font, Dictionary) else None, budget)
        table = fonts[key]
        if table is None:
            return "" if wide else "".join(chr(b) if 32 <= b < 127 else " " for b in data)
        codes = [data[i:i + 2] for i in range(0, len(data) - 1, 2)] if wide else [bytes([b]) for b in data]
        return "".join(table.get(code, "") for code in codes)
    except Exception:       # a hostile font or string: the finding stands without its quote
        return ""


def _to_unicode(stream: Object | None, budget: _Budget) -> dict[bytes, str] | None:
    """A /ToUnicode CMap's bfchar and bfrange entries as code -> text; None when there is none to read."""
    if not isinstance(stream, Stream) or (_decoded_size(stream, MAX_STREAM_BYTES) or math.inf) > MAX_STREAM_BYTES:
        return None
    budget.content(stream)
    table: dict[bytes, str] = {}
    for kind, body in _CMAP_SECTION.findall(stream.read_bytes()):
        if kind == b"bfchar":
            for code, target in _BFCHAR.findall(body):
                table[bytes.fromhex(code.decode())] = bytes.fromhex(target.decode()).decode("utf-16-be", "replace")
            continue
        for low, high, first in _BFRANGE.findall(body):
            start, target = int(low, 16), bytes.fromhex(first.decode())
            for offset in range(min(int(high, 16) - start + 1, 256)):      # the last byte counts up
                text = target[:-1] + bytes([(target[-1] + offset) % 256])
                table[(start + offset).to_bytes(len(low) // 2, "big")] = text.decode("utf-16-be", "replace")
    return table


def _text_size(context: _Context) -> Iterator[Issue]:
    """Every character at the minimum size or more, whatever draws it (headers, footers, labels, notes), except
    the lettering of the expected artwork (the logo)."""
    minimum = context.expect.min_text_pt
    fonts: dict[tuple[int, int], dict[bytes, str] | None] = {}
    for number, scan in enumerate(context.scans, 1):
        small = {size: count for size, count in scan.text.items() if size < minimum and count}
        if not small:
            continue
        smallest = min(small)
        pieces = [_decode(text, font, fonts, context.budget) for text, font in scan.samples[smallest]]
        # one piece a line of text, or (SVG lettering) one a glyph
        shown = _quoted(("" if all(len(piece) <= 1 for piece in pieces) else " ").join(pieces), 40)
        sample = f" (\"{shown}\")" if shown.strip() else ""
        total = sum(small.values())
        yield number, "text-size", (f"{total} character{'s' if total != 1 else ''} under {minimum:g} pt, the "
                                    f"smallest {smallest:g} pt{sample}: every character needs {minimum:g} pt or "
                                    "more")


COMMON: tuple[Check, ...] = (_page_limit, _encryption, _active_content, _structure, _fonts, _fonts_bundled)
PRINT: tuple[Check, ...] = (_output_intent, _boxes, _colour, _images, _printer_marks)
ACCESSIBLE: tuple[Check, ...] = (_tagged, _language, _title, _alt_text, _crop_marks)


def _checks(expect: Expectation) -> tuple[Check, ...]:
    sizes = (_text_size,) if expect.min_text_pt > 0 else ()
    if expect.variant == "print":
        return COMMON + PRINT + sizes
    return COMMON + ACCESSIBLE + sizes
