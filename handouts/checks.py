"""Validate stage: content rules a clinical reviewer relies on.

Each rule reports `path:line: rule-id: message`. Lists and thresholds live in content/policy/*.yaml.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import html
import math
import re
import unicodedata
from dataclasses import dataclass, field
from importlib.metadata import version
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

from typing import Annotated, Any, Literal

from pydantic import Field, NonNegativeInt, PositiveInt, StringConstraints, field_validator, model_validator

from . import code_digest, contrast, fonts, markdown_ext, translation, yamlio
from .files import contents as file_bytes, sha256 as file_sha256
from .content import Block, Library
from .models import Model, Slug, SourceType, Text, validate
from .problems import BuildError, Problem, relpath, shorten
from .readability import SHOWN, WORD, WORDS, Score, score


class ReviewPolicy(Model):
    warn_within_days: int = Field(ge=0)


class AboveLimit(Model):
    """A score where higher is harder (a school grade)."""

    warn_above: float
    error_above: float


class BelowLimit(Model):
    """A score where lower is harder (a reading ease)."""

    warn_below: float
    error_below: float


class ReadabilityPolicy(Model):
    """One language's readability rules: each formula given is applied, with its limits."""

    min_words: int = Field(ge=0)
    flesch_kincaid: AboveLimit | None = None      # English: US school grade
    inflesz: BelowLimit | None = None             # Spanish: Szigriszt-Pazos perspicuity on the INFLESZ scale
    fernandez_huerta: BelowLimit | None = None    # Spanish: Fernandez-Huerta reading ease (corrected form)

    @model_validator(mode="after")
    def _some_formula(self) -> "ReadabilityPolicy":
        if not (self.flesch_kincaid or self.inflesz or self.fernandez_huerta):
            raise ValueError("name at least one formula: flesch_kincaid, inflesz or fernandez_huerta")
        return self


class TranslationPolicy(Model):
    source_language: Annotated[str, StringConstraints(pattern=r"^[a-z]{2}$")]
    stale_grace_days: int = Field(ge=0)     # a translation behind its source is a warning this long, then an error


ColourName = Literal["primary", "accent", "text", "background", "white"]


class ContrastPolicy(Model):
    minimum: float = Field(gt=1)
    pairs: list[tuple[ColourName, ColourName]]


class EvidencePolicy(Model):
    roles: list[Text]                 # blocks that say what studies found
    source_types: list[SourceType] = Field(min_length=1)   # at least one of their sources is of these types


Language = Annotated[str, StringConstraints(pattern=r"^[a-z]{2}$")]


class Thresholds(Model):
    review: ReviewPolicy
    readability: dict[Language, ReadabilityPolicy] = Field(min_length=1)
    contrast: ContrastPolicy
    evidence: EvidencePolicy
    translation: TranslationPolicy


class Phrase(Model):
    phrase: Text
    instead: Text


@dataclass(frozen=True)
class Policy:
    thresholds: Thresholds
    phrases: dict[str, tuple[Phrase, ...]]      # by language: content/policy/phrases.<language>.yaml
    phrases_paths: dict[str, str]
    files: tuple[Path, ...]      # the policy files, whose bytes key the memo of findings
    lines: Any = None            # checks.yaml as read, for the line of a setting


class KindLength(Model):
    """How long one kind of document may be: pages per variant, and the words a reader reads in its blocks."""

    pages: dict[Literal["screen", "print"], PositiveInt] = Field(default_factory=dict)
    words: tuple[NonNegativeInt, NonNegativeInt] | None = None

    @field_validator("pages", mode="before")
    @classmethod
    def _no_large_print(cls, value: object) -> object:
        if isinstance(value, dict) and "large-print" in value:
            raise ValueError("large print has no limit of its own: it is 'large_print_factor' times the screen limit")
        return value

    @field_validator("words")
    @classmethod
    def _in_order(cls, value: tuple[int, int] | None) -> tuple[int, int] | None:
        if value is not None and value[0] > value[1]:
            raise ValueError(f"give the fewest words first, then the most: [{value[1]}, {value[0]}]")
        return value


Factor = Annotated[float, Field(ge=0.5, le=2)]


class LanguageLength(Model):
    words_factor: Factor = 1.0
    pages_factor: Factor = 1.0


class LengthPolicy(Model):
    large_print_factor: float = Field(ge=1)
    # A translation says the same facts in more words: its word ranges and page limits are scaled (see the file).
    languages: dict[Annotated[str, StringConstraints(pattern=r"^[a-z]{2}$")], LanguageLength] = Field(
        default_factory=dict)
    kinds: dict[Slug, KindLength] = Field(default_factory=dict)


@dataclass(frozen=True)
class Limit:
    """A page limit and where the policy sets it."""

    pages: int
    where: str          # e.g. "content/policy/length.yaml:9"
    how: str = ""       # how it follows from other limits (large print), for messages


@dataclass(frozen=True)
class Lengths:
    """content/policy/length.yaml, validated, with the line of each value for messages."""

    policy: LengthPolicy
    path: str
    data: yamlio.Located

    def line(self, *loc: str) -> int:
        return yamlio.line_of(self.data, loc, 1)

    def _at(self, *loc: str) -> str:
        return f"{self.path}:{self.line(*loc)}"

    def pages(self, kind: str, variant: str, language: str = "en") -> Limit | None:
        """The most pages a document of `kind` may have in `variant`; None when the policy sets no limit. Large
        print's is the screen limit times the factor, rounded down: known before anything is printed. A language
        with a pages_factor has each limit times it, rounded down."""
        spec = self.policy.kinds.get(kind)
        if spec is None:
            return None
        scale = self.policy.languages.get(language, LanguageLength()).pages_factor
        where_scale = f", {self._at('languages', language, 'pages_factor')}" if scale != 1 else ""
        if variant == "large-print":
            screen = spec.pages.get("screen")
            if screen is None:
                return None
            screen = math.floor(screen * scale + 1e-9)
            factor = self.policy.large_print_factor     # rounded down, after a hair more: 2.3 x 10 is 23
            return Limit(math.floor(factor * screen + 1e-9),
                         f"{self._at('large_print_factor')}, {self._at('kinds', kind, 'pages', 'screen')}{where_scale}",
                         f", {factor:g} x its screen limit of {screen}" + (f" in {language}" if scale != 1 else ""))
        if variant not in spec.pages:
            return None
        return Limit(math.floor(spec.pages[variant] * scale + 1e-9),
                     self._at("kinds", kind, "pages", variant) + where_scale,
                     f" in {language}" if scale != 1 else "")

    def page_problem(self, output: str, kind: str, variant: str, pages: int, language: str = "en") -> Problem | None:
        """An error naming the PDF (at its first page past the limit) when it has more pages than allowed."""
        limit = self.pages(kind, variant, language)
        if limit is None or pages <= limit.pages:
            return None
        where = "in large print" if variant == "large-print" else f"in the {variant} variant"
        return Problem(output, limit.pages + 1, f"{pages} pages; the {kind}'s limit {where} is {limit.pages}"
                                                f"{limit.how} ({limit.where})", "pages")

    def words(self, kind: str, language: str = "en") -> tuple[int, int] | None:
        """The fewest and most words a document of `kind` in `language` should have (see `line` for where)."""
        spec = self.policy.kinds.get(kind)
        if spec is None or spec.words is None:
            return None
        factor = self.policy.languages.get(language, LanguageLength()).words_factor
        return round(spec.words[0] * factor), round(spec.words[1] * factor)


LENGTH_FILE = "content/policy/length.yaml"


def load_lengths(root: Path) -> tuple[Lengths | None, list[Problem]]:
    """The length policy, or None and the problems that stop it. A kind it names that has no content/kinds/ file is
    a warning (a misspelt name would limit nothing), not an error: its limits may come before the kind does."""
    file = root / LENGTH_FILE
    shown = relpath(file, root)
    try:
        data = _policy_file(file, root)
    except BuildError as exc:
        return None, list(exc.problems)
    policy, problems = validate(LengthPolicy, data, shown, 1, "policy")
    if policy is None:
        return None, problems
    assert isinstance(data, yamlio.Located)
    lengths = Lengths(policy, shown, data)
    unknown = [Problem(shown, yamlio.line_of(data, ("kinds", kind), 1), f"kind '{kind}' has no content/kinds/"
                       f"{kind}.yaml: these limits apply to no document", "policy", "warning")
               for kind in policy.kinds if not (root / "content" / "kinds" / f"{kind}.yaml").is_file()]
    return lengths, unknown


def _policy_file(file: Path, root: Path) -> object:
    return yamlio.load(file, relpath(file, root), root)


def load_policy(root: Path) -> Policy:
    """content/policy/checks.yaml, and the overclaim list of each language: phrases.<language>.yaml."""
    folder = root / "content" / "policy"
    problems: list[Problem] = []
    checks_file = folder / "checks.yaml"
    raw_checks = _policy_file(checks_file, root)
    thresholds, found = validate(Thresholds, raw_checks, relpath(checks_file, root), 1, "policy")
    problems += found
    phrases: dict[str, tuple[Phrase, ...]] = {}
    paths: dict[str, str] = {}
    files = [checks_file]
    for phrases_file in sorted(folder.glob("phrases.*.yaml")):
        language = phrases_file.name.split(".")[1]
        shown = relpath(phrases_file, root)
        if not re.fullmatch(r"[a-z]{2}", language):
            problems.append(Problem(shown, 1, "policy: name a list of phrases phrases.<language>.yaml, e.g. "
                                              "phrases.es.yaml", "schema"))
            continue
        files.append(phrases_file)
        raw = _policy_file(phrases_file, root)
        found_here: list[Phrase] = []
        if not isinstance(raw, list):
            problems.append(Problem(shown, 1, "policy: expected a list of phrases", "schema"))
            continue
        for item in raw:
            phrase, found = validate(Phrase, item, shown, getattr(item, "line", 1), "policy")
            problems += found
            if phrase:
                found_here.append(phrase)
        phrases[language], paths[language] = tuple(found_here), shown
    if problems or thresholds is None:
        raise BuildError(problems)
    return Policy(thresholds, phrases, paths, tuple(files), raw_checks)


class _Units(HTMLParser):
    """Text of an HTML fragment split into units (paragraphs, list items, cells); headings are left out,
    and so are fill-in labels, which are not sentences. Also collects links and images."""

    BREAKS = {"p", "li", "td", "th", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "br", "ul", "ol", "tr"}
    SKIP = {"h1", "h2", "h3", "h4", "h5", "h6"}

    def __init__(self) -> None:
        super().__init__()
        self.units: list[str] = []
        self.links: list[str] = []
        self.images: list[tuple[str, str]] = []
        self._current: list[str] = []
        self._stack: list[bool] = []     # for each open element: does it hide its text from scoring?
        self._skip = 0
        self._read: list[str] = []       # every word a reader reads, headings and fill-in labels too

    def _flush(self) -> None:
        text = " ".join("".join(self._current).split())
        if text:
            self.units.append(text)
        self._current = []

    VOID = {"img", "br", "hr", "input", "meta", "link", "wbr"}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag in self.BREAKS:
            self._flush()
            self._read.append(" ")
        if tag == "a" and "href" in values:       # an <a> without one (its link removed) is no link
            self.links.append(values["href"] or "")
        if tag == "img":
            self.images.append((values.get("src") or "", (values.get("alt") or "").strip()))
        if tag not in self.VOID:
            skips = tag in self.SKIP or "fill" in (values.get("class") or "").split()
            self._stack.append(skips)
            self._skip += skips

    def handle_endtag(self, tag: str) -> None:
        if tag not in self.VOID and self._stack:
            self._skip -= self._stack.pop()
        if tag in self.BREAKS:
            self._flush()
            self._read.append(" ")

    def handle_data(self, data: str) -> None:
        self._read.append(data)
        if not self._skip:
            self._current.append(data)

    def words_read(self, word: re.Pattern = WORD) -> int:
        return len(word.findall("".join(self._read)))

    def close(self) -> None:
        super().close()
        self._flush()


def _parse(html: str) -> _Units:
    parser = _Units()
    parser.feed(html)
    parser.close()
    return parser


class Checker:
    def __init__(self, library: Library, policy: Policy, today: dt.date):
        self.library = library
        self.policy = policy
        self.today = today
        self.md = markdown_ext.make_markdown(library.root / "content", typography=False)
        # Each language's overclaims, matched as a reader sees them: by whole word, whatever the case or accents.
        self.patterns = {language: [(p, re.compile(r"(?<![\w])" + r"[\s\-]+".join(
            re.escape(w) for w in _fold(p.phrase)[0].split()) + r"(?![\w])")) for p in phrases]
            for language, phrases in policy.phrases.items()}
        self.scores: dict[str, Score] = {}
        self.words: dict[str, int] = {}      # the words a reader reads in each block, for the length policy
        self.memo: dict[str, list] = {}       # what this run found, by memo key
        self._salt = "\n".join([code_digest(),
                                *(f"{name} {version(name)}" for name in ("markdown", "nh3", "pyphen")),
                                *(f"{name} {value}" for name, value in fonts.fallback_versions().items()),
                                *(file_sha256(Path(file)) for file in policy.files)])

    def block(self, block: Block, memo: dict[str, list] | None = None) -> list[Problem]:
        """Every rule on one block. Only the review dates depend on the day: the other rules' findings are
        taken from `memo` (an earlier run's) when the block's file, the policy and the code are unchanged."""
        key = hashlib.sha256(f"{self._salt}\n{block.path}\n".encode() + file_bytes(block.file)).hexdigest()
        found = (memo or {}).get(key)
        if found is None:
            fragment, removed = markdown_ext.to_html(self.md, block.body, block.file.parent)
            parsed = _parse(fragment)
            result = score(parsed.units, block.language if block.language in WORDS else "en")
            problems = (self.raw_html(block, removed) + self.readability(block, result) + self.phrases(block)
                        + self.sources(block) + self.links(block, parsed) + self.headings(block) + self.glyphs(block))
            # The scores, then the words a reader reads (the block's title, headings and labels too).
            word = WORDS.get(block.language, WORD)
            read = parsed.words_read(word) + len(word.findall(block.meta.title))
            found = [[result.words, result.sentences, result.syllables, read], [p.as_dict() for p in problems]]
        self.memo[key] = found
        self.scores[block.path] = Score(*found[0][:3])
        self.words[block.path] = found[0][3]
        return self.review(block) + [Problem(**problem) for problem in found[1]]

    def review(self, block: Block) -> list[Problem]:
        due = block.meta.review_due
        line = block.line_of("review_due")
        if due < self.today:
            if block.meta.draft:
                return [Problem(block.path, line, f"review was due {due}; built only as a DRAFT (draft: true)",
                                "review-expired", "warning")]
            return [Problem(block.path, line, f"review was due {due}: review the block and update "
                                              f"'last_reviewed' and 'review_due' (or mark it 'draft: true')",
                            "review-expired")]
        days = (due - self.today).days
        if days <= self.policy.thresholds.review.warn_within_days:
            return [Problem(block.path, line, f"review is due in {days} days ({due})", "review-soon", "warning")]
        return []

    def raw_html(self, block: Block, removed: list[markdown_ext.Piece]) -> list[Problem]:
        """What the sanitiser took out of the block's HTML: the author should know their text changed. Anything
        that could style, script, embed, attach or fetch is an error; other markup (a <div>, a class) a warning."""
        found = []
        lines = block.body.splitlines()
        for piece in removed:
            offset = next((i for needle in piece.needles() for i, line in enumerate(lines) if needle.search(line)), 0)
            found.append(Problem(block.path, block.body_line + offset, piece.describe(), piece.rule,
                                 "error" if piece.dangerous else "warning"))
        return found

    def readability(self, block: Block, result: Score) -> list[Problem]:
        limits = self.policy.thresholds.readability.get(block.language)
        if limits is None or block.language not in WORDS:
            return [Problem(block.path, block.body_line, f"no readability formula for language '{block.language}' "
                            f"(content/policy/checks.yaml, under 'readability'; formulas exist for "
                            f"{', '.join(sorted(WORDS))})", "readability")]
        if result.words < limits.min_words:
            return []
        found = []
        advice = "use shorter sentences and everyday words"
        if limits.flesch_kincaid:
            grade, rule = result.grade, limits.flesch_kincaid
            message = f"reading grade {grade:.1f} (Flesch-Kincaid; reading ease {result.ease:.0f}) is above {{}}: {advice}"
            if grade > rule.error_above:
                found.append(Problem(block.path, block.body_line, message.format(rule.error_above), "readability"))
            elif grade > rule.warn_above:
                found.append(Problem(block.path, block.body_line, message.format(rule.warn_above), "readability",
                                     "warning"))
        for name, value, rule in (("INFLESZ", result.inflesz, limits.inflesz),
                                  ("Fernandez-Huerta", result.fernandez_huerta, limits.fernandez_huerta)):
            if rule is None:
                continue
            label = f"{name} {value:.0f}" + (f" ({inflesz_band(value)})" if name == "INFLESZ" else "")
            if value < rule.error_below:
                found.append(Problem(block.path, block.body_line, f"{label} is below {rule.error_below:g}: {advice}",
                                     "readability"))
            elif value < rule.warn_below:
                found.append(Problem(block.path, block.body_line, f"{label} is below {rule.warn_below:g}: {advice}",
                                     "readability", "warning"))
        return found

    def phrases(self, block: Block) -> list[Problem]:
        patterns = self.patterns.get(block.language)
        if patterns is None:
            return [Problem(block.path, block.body_line, f"no list of overclaiming phrases for language "
                            f"'{block.language}': add content/policy/phrases.{block.language}.yaml", "overclaim")]
        text, lines = _plain_text(block.body)
        folded, origin = _fold(text)
        matches = [(m.start(), m.end(), phrase) for phrase, pattern in patterns for m in pattern.finditer(folded)]
        # A phrase inside a longer one that also matched ("proven" in "clinically proven") is reported once.
        kept = [m for m in matches if not any(o[0] <= m[0] and m[1] <= o[1] and o != m for o in matches)]
        return [Problem(block.path, block.body_line + lines[origin[start]],
                        f"'{' '.join(text[origin[start]:origin[end - 1] + 1].split())}' overclaims: {phrase.instead}",
                        "overclaim")
                for start, end, phrase in sorted(kept, key=lambda m: m[0])]

    def patient_text(self, language: str, path: str, line: int, text: str) -> list[Problem]:
        """The overclaims of a line written for patients outside a block (what a document's version changed,
        shown on its public page), at its line."""
        folded, origin = _fold(" ".join(text.split()))
        return [Problem(path, line, f"'{' '.join(folded[m.start():m.end()].split())}' overclaims: {phrase.instead}",
                        "overclaim")
                for phrase, pattern in self.patterns.get(language, []) for m in pattern.finditer(folded)]

    def sources(self, block: Block) -> list[Problem]:
        if not block.meta.sources:
            return [Problem(block.path, block.line_of("sources"), "every block needs at least one source", "sources")]
        wanted = self.policy.thresholds.evidence
        if block.meta.role in wanted.roles and not any(s.type in wanted.source_types for s in block.meta.sources):
            return [Problem(block.path, block.line_of("sources"),
                            f"a block of role '{block.meta.role}' says what studies found: cite at least one source "
                            f"of type {', '.join(wanted.source_types)} (with its doi, pmid or registry number)",
                            "sources")]
        return []

    def links(self, block: Block, parsed: _Units) -> list[Problem]:
        found = []
        for href in parsed.links:
            parts = urlsplit(href)
            good = (parts.scheme == "https" and "." in parts.netloc) or (
                parts.scheme in ("mailto", "tel") and parts.path)
            if parts.scheme == "http" and "." in parts.netloc:
                found.append(Problem(block.path, self._line_of(block, href), f"link '{shorten(href)}' must use "
                                     "https: a PDF may link to no other web address (preflight refuses it)", "link"))
            elif not good:
                found.append(Problem(block.path, self._line_of(block, href), f"link '{shorten(href)}' is not a well-formed "
                                     "web, mailto: or tel: address", "link"))
        for src, alt in parsed.images:
            if not alt:
                shown = src.rsplit("/", 1)[-1]
                found.append(Problem(block.path, self._line_of(block, shown), f"image '{shorten(shown)}' has no alt "
                                     "text: "
                                     "write ![what it shows](file)", "image-alt"))
        return found

    def glyphs(self, block: Block) -> list[Problem]:
        """A character no bundled font has would print as a box (fontconfig sees no other font): say where."""
        lines = [(block.line_of("title"), block.meta.title)] + [
            (block.body_line + offset, line) for offset, line in enumerate(block.body.splitlines())]
        return [Problem(block.path, number, f"{message}: it would print as a box", "fonts")
                for number, text in lines for message in fonts.problems_in(text)]

    def headings(self, block: Block) -> list[Problem]:
        found = []
        for offset, line in enumerate(block.body.splitlines()):
            if re.match(r"#{1,2}\s", line):
                found.append(Problem(block.path, block.body_line + offset, "use '###' or deeper inside a block: "
                                     "the block title is the level-2 heading", "heading-level"))
        return found

    @staticmethod
    def _line_of(block: Block, needle: str) -> int:
        for offset, line in enumerate(block.body.splitlines()):
            if needle and needle in line:
                return block.body_line + offset
        return block.body_line


# Characters that print as nothing but split a word for a regular expression: soft hyphens, zero-width spaces
# and joiners, bidirectional marks (all format characters, Unicode category Cf), and a few invisible letters.
_INVISIBLE = {"\u034f", "\u115f", "\u1160", "\u17b4", "\u17b5", "\u3164", "\uffa0"}


def _plain_text(body: str) -> tuple[str, list[int]]:
    """The body's words as a reader sees them: Markdown emphasis, code marks, link targets and HTML tags removed,
    entities decoded, invisible characters dropped and line breaks made spaces; and for each character the
    (0-based) body line it came from."""
    chars: list[str] = []
    lines: list[int] = []
    for number, line in enumerate(body.splitlines()):
        line = re.sub(r"\]\([^)]*\)", "]", line)           # link and image targets are not prose
        line = re.sub(r"<!--.*?-->|</?[A-Za-z][^<>]*>", "", line)   # nor are tags, which can split a word
        line = re.sub(r"[*_`~\[\]]", "", html.unescape(line))
        for ch in line + " ":
            if ch not in _INVISIBLE and unicodedata.category(ch) != "Cf":
                chars.append(ch)
                lines.append(number)
    return "".join(chars), lines


def _fold(text: str) -> tuple[str, list[int]]:
    """The text without case or accents ("Garantía" -> "garantia"), and for each character of the result the
    index of the character it came from."""
    folded: list[str] = []
    origin: list[int] = []
    for index, ch in enumerate(text):
        for part in unicodedata.normalize("NFD", ch.casefold()):
            if not unicodedata.combining(part):
                folded.append(part)
                origin.append(index)
    return "".join(folded), origin


INFLESZ_BANDS = ((40, "very hard"), (55, "somewhat hard"), (65, "normal"), (80, "fairly easy"))


def inflesz_band(value: float) -> str:
    """The INFLESZ scale's name for a Szigriszt-Pazos score (Barrio-Cantalejo and others 2008): below 40 very
    hard, 40 to 55 somewhat hard, 55 to 65 normal, 65 to 80 fairly easy, 80 and above very easy."""
    return next((name for limit, name in INFLESZ_BANDS if value < limit), "very easy")


def clinic_contrast(library: Library, policy: ContrastPolicy) -> list[Problem]:
    """A clinic's text colours must stand out from what is behind them (WCAG 2 AA: 4.5:1)."""
    found = []
    for clinic in library.clinics.values():
        colours = {**dict(clinic.clinic.colours), "white": "#ffffff"}
        data = yamlio.load(library.root / clinic.path, clinic.path)
        for fore, back in policy.pairs:
            value = contrast.ratio(colours[fore], colours[back])
            if value < policy.minimum:
                key = fore if fore != "white" else back
                found.append(Problem(clinic.path, yamlio.line_of(data, ("colours", key), 1),
                                     f"{fore} {colours[fore]} on {back} {colours[back]} has contrast "
                                     f"{value:.2f}:1, below {policy.minimum}:1 (WCAG 2 AA)", "contrast"))
    return found


@dataclass(frozen=True)
class Review:
    """What the checker found: every problem, each block's readability and words, and the length policy."""

    problems: list[Problem]
    scores: dict[str, Score]
    memo: dict[str, list] = field(default_factory=dict)    # for the next run: see Checker.block
    words: dict[str, int] = field(default_factory=dict)    # the words a reader reads, by block
    lengths: Lengths | None = None                         # None when content/policy/length.yaml has errors
    translations: list = field(default_factory=list)       # translation.Row for each source block and language
    translation: Any = None                                # translation.State, for the plan


def run(library: Library, today: dt.date, memo: dict[str, list] | None = None) -> Review:
    """Apply every content rule to every loaded block, reusing an earlier run's `memo` where it still holds."""
    lengths, problems = load_lengths(library.root)
    try:
        policy = load_policy(library.root)
    except BuildError as exc:
        return Review(problems + list(exc.problems), {}, lengths=lengths)
    checker = Checker(library, policy, today)
    problems += clinic_contrast(library, policy.thresholds.contrast)
    for language in library.languages.values():
        for block in language.blocks:
            problems += checker.block(block, memo)
    for code, language in library.languages.items():
        for condition_id, path in language.condition_paths.items():
            problems += _change_notes(checker, library, code, language.conditions.get(condition_id), path)
    rules = policy.thresholds.translation
    state, rows, found = translation.govern(library, rules.source_language, rules.stale_grace_days, today)
    return Review(problems + found, checker.scores, checker.memo, checker.words, lengths, rows, state)


def _change_notes(checker: Checker, library: Library, language: str, condition, path: str) -> list[Problem]:
    """A condition's notes of what each document version changed are read by patients: no overclaiming there."""
    if condition is None:
        return []
    data = yamlio.load(library.root / path, path, library.root)
    found = []
    for kind, document in condition.documents.items():
        for version, note in (document.changes or {}).items():
            line = yamlio.line_of(data, ("documents", kind, "changes", version), 1)
            found += checker.patient_text(language, path, line, note)
    return found


@dataclass(frozen=True)
class DocumentRow:
    """One line of the reviewer's table: a document as the content defines it (the same for every clinic
    of a country)."""

    language: str
    country: str
    condition: str
    kind: str
    scores: dict[str, float]                # by formula: grade and ease in English, inflesz and fernandez_huerta in
                                            # Spanish (content/policy/checks.yaml names each language's)
    words: int                              # the words a reader reads in its blocks (not the template's)
    word_range: tuple[int, int] | None      # what content/policy/length.yaml allows, if it says
    review_due: str
    warnings: int
    errors: int

    @property
    def name(self) -> str:
        return f"the {self.condition} {self.kind} ({self.language}, {self.country})"

    @property
    def readability(self) -> str:
        """The scores as a reviewer reads them: 'grade 6.8, ease 71' or 'INFLESZ 62 (normal), F-H 67'."""
        if "grade" in self.scores:
            return f"grade {self.scores['grade']:.1f}, ease {self.scores['ease']:.0f}"
        return (f"INFLESZ {self.scores['inflesz']:.0f} ({inflesz_band(self.scores['inflesz'])}), "
                f"F-H {self.scores['fernandez_huerta']:.0f}")


@dataclass(frozen=True)
class DueRow:
    """A block whose clinical review is overdue or due within the policy's window (content/policy/checks.yaml)."""

    path: str
    line: int                   # of its review_due
    title: str
    language: str
    jurisdiction: str | None
    review_due: str
    days: int                   # from today; negative when overdue
    draft: bool


REVIEW_RULES = ("review-expired", "review-soon")


def reviews_due(library: Library, review: Review, today: dt.date) -> list[DueRow]:
    """The blocks the checker found overdue or coming due, soonest first."""
    flagged = {p.path for p in review.problems if p.rule in REVIEW_RULES}
    rows = [DueRow(block.path, block.line_of("review_due"), block.meta.title, block.language,
                   block.meta.jurisdiction, block.meta.review_due.isoformat(), (block.meta.review_due - today).days,
                   block.meta.draft)
            for language in library.languages.values() for block in language.blocks if block.path in flagged]
    return sorted(rows, key=lambda row: (row.review_due, row.path))


def document_rows(jobs: list, review: Review) -> list[DocumentRow]:
    rows: dict[tuple[str, str, str, str], DocumentRow] = {}
    for job in jobs:
        key = (job.language, job.clinic.clinic.country, job.condition_id, job.kind_id)
        if key in rows:
            continue
        paths = {s.block.path for s in job.sections}
        total = Score(0, 0, 0)
        for path in paths:
            total = total + review.scores.get(path, Score(0, 0, 0))
        mine = [p for p in review.problems if p.path in paths]
        scores = {name: round(getattr(total, name), 1) for name in SHOWN.get(job.language, SHOWN["en"])}
        rows[key] = DocumentRow(*key, scores=scores,
                                words=sum(review.words.get(path, 0) for path in paths),
                                word_range=review.lengths.words(job.kind_id, job.language) if review.lengths else None,
                                review_due=job.review_due.isoformat(),
                                warnings=sum(p.severity == "warning" for p in mine),
                                errors=sum(p.severity == "error" for p in mine))
    return [rows[k] for k in sorted(rows)]


def words_problems(rows: list[DocumentRow], lengths: Lengths | None) -> list[Problem]:
    """A warning for each document whose blocks hold fewer or more words than its kind's range: a warning, as the
    template's own words (labels, headings, the contact panel) are not counted."""
    found = []
    for row in rows:
        if lengths is None or row.word_range is None or row.word_range[0] <= row.words <= row.word_range[1]:
            continue
        fewest, most = row.word_range
        side = f"more than {most:,}" if row.words > most else f"fewer than {fewest:,}"
        found.append(Problem(lengths.path, lengths.line("kinds", row.kind, "words"),
                             f"{row.name} has {row.words:,} words in its blocks, {side}: the {row.kind}'s range is "
                             f"{fewest:,} to {most:,}", "words", "warning"))
    return found
