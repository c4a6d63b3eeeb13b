"""The validated shapes of everything the build reads: blocks, conditions, kinds, clinics, strings.

Each model is frozen and forbids unknown keys; `validate()` turns pydantic's errors into problems that name
the file and the line of the offending key.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from typing import Annotated, Any, Literal, TypeVar

from pydantic import (AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, HttpUrl, StringConstraints,
                      UrlConstraints, ValidationError, ValidationInfo, field_validator, model_validator)

from . import fonts, yamlio
from .problems import Problem

Slug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$")]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
Version = Annotated[str, StringConstraints(pattern=r"^\d+\.\d+$")]
Country = Literal["US", "UK"]


def _colour(value: str) -> str:
    if not re.fullmatch(r"#[0-9a-fA-F]{6}", value):
        raise ValueError(f"must be a colour like '#1f5f7a', got {value!r}")
    return value.lower()


Colour = Annotated[str, AfterValidator(_colour)]


# Finished page sizes and bleeds, in PDF points.
PAPER_PT = {"A4": (595.276, 841.89), "letter": (612.0, 792.0)}
BLEED_PT = {"3mm": 3 * 72 / 25.4, "0.125in": 0.125 * 72}


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# A web address a PDF links to: https only, as the print shop's preflight (and ours) refuses any other link.
HttpsUrl = Annotated[HttpUrl, UrlConstraints(allowed_schemes=["https"])]


# What a source is. The evidence roles need at least one of the study-level kinds (content/policy/checks.yaml).
SourceType = Literal["study", "review", "guideline", "label", "registry", "regulator", "law", "consumer",
                     "professional"]
Doi = Annotated[str, StringConstraints(pattern=r"^10\.\d{4,9}/\S+$")]
Pmid = Annotated[str, StringConstraints(pattern=r"^[1-9][0-9]{0,8}$")]
RegistryId = Annotated[str, StringConstraints(pattern=r"^(NCT[0-9]{8}|ISRCTN[0-9]{8}|EUCTR[0-9A-Z-]+|KCT[0-9]{7}|"
                                                     r"ChiCTR[0-9A-Za-z-]+|CTRI/[0-9/]+)$")]


class Source(Model):
    title: Text
    url: HttpsUrl
    publisher: Text | None = None
    type: SourceType | None = None
    doi: Doi | None = None          # a study or review is found by its DOI or PubMed number
    pmid: Pmid | None = None
    registry: RegistryId | None = None   # a trial registry number
    language: Annotated[str, StringConstraints(pattern=r"^[a-z]{2}$")] = "en"   # the language the work is in

    @model_validator(mode="after")
    def _identified(self) -> "Source":
        if self.type in ("study", "review") and not (self.doi or self.pmid):
            raise ValueError(f"a source of type '{self.type}' needs its 'doi' or 'pmid'")
        if self.type == "registry" and not self.registry:
            raise ValueError("a source of type 'registry' needs its 'registry' number (e.g. NCT01234567)")
        return self


class Translation(Model):
    """A translated block's governance: the block it translates and the version it translates, when, and the roles
    (never names) of who translated and who reviewed it."""

    source: Annotated[str, StringConstraints(pattern=r"^[a-z]{2}/[a-z0-9-]+/[a-z0-9.-]+\.md$")]   # en/shared/risks.md
    source_version: Version
    date: dt.date
    translator: Text
    reviewer: Text


class BlockMeta(Model):
    """Front matter of a content block."""

    id: Slug
    title: Text
    role: Slug
    version: Version
    last_reviewed: dt.date
    review_due: dt.date
    reviewer: Text
    sources: list[Source]
    jurisdiction: Country | None = None
    draft: bool = False
    translation: Translation | None = None      # required in every language but the source language

    @model_validator(mode="after")
    def _dates_in_order(self) -> "BlockMeta":
        if self.review_due <= self.last_reviewed:
            raise ValueError("'review_due' must come after 'last_reviewed'")
        return self


def version_key(version: str) -> tuple[int, int]:
    """A `MAJOR.MINOR` version as numbers, for ordering: 1.10 comes after 1.9."""
    major, minor = version.split(".")
    return int(major), int(minor)


def _quoted_versions(value: Any) -> Any:
    """The keys of `changes` are versions as text: YAML reads an unquoted 2.0 as a number (and 1.10 as 1.1)."""
    if isinstance(value, dict):
        for key in value:
            if not isinstance(key, str):
                raise ValueError(f"the version {key!r} must be written in quotes, e.g. \"2.0\"")
    return value


ChangeNote = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]


class DocumentVersion(Model):
    version: Version
    # What each version changed, in plain words for a patient holding an older copy (the public page shows them).
    changes: Annotated[dict[Version, ChangeNote] | None, BeforeValidator(_quoted_versions)] = None

    @field_validator("changes")
    @classmethod
    def _history(cls, changes: dict[str, str] | None, info: ValidationInfo) -> dict[str, str] | None:
        current = info.data.get("version")
        if changes is None or current is None:
            return changes
        newer = sorted((v for v in changes if version_key(v) > version_key(current)), key=version_key)
        if newer:
            raise ValueError(f"names version {newer[0]}, newer than the document's version {current}")
        if current not in changes:
            raise ValueError(f"says nothing about the current version {current}: add what it changed, "
                             f"e.g. \"{current}\": \"...\"")
        return dict(sorted(changes.items(), key=lambda item: version_key(item[0]), reverse=True))

    def changes_since(self, seen: str) -> list[tuple[str, str]]:
        """What changed after version `seen`, newest first: (version, what changed) for each version recorded."""
        return [(v, text) for v, text in (self.changes or {}).items() if version_key(v) > version_key(seen)]


class Condition(Model):
    name: Text
    procedure: Text
    documents: dict[Slug, DocumentVersion]


class Section(Model):
    role: Slug
    required: bool = True


VariantName = Literal["screen", "print", "large-print"]


class Kind(Model):
    template: Text
    label: Text | None = None      # what staff call it in the app ("Key facts"); the id, capitalised, when not given
    title: Slug | Annotated[str, StringConstraints(pattern=r"^[a-z_]+$")]
    sections: list[Section] = Field(min_length=1)
    variants: list[VariantName] | None = None     # only these of the catalogue's variants (an online-only kind)


class Catalogue(Model):
    languages: list[Annotated[str, StringConstraints(pattern=r"^[a-z]{2}$")]] = Field(min_length=1)
    conditions: list[Slug] = Field(min_length=1)
    kinds: list[Slug] = Field(min_length=1)
    variants: list[VariantName] = Field(min_length=1)


class Colours(Model):
    primary: Colour          # headings, header rule, bands
    accent: Colour           # tinted panels
    text: Colour
    background: Colour


Percent = Annotated[float, Field(ge=0, le=100)]
CMYK = Annotated[tuple[Percent, Percent, Percent, Percent], Field(description="C, M, Y, K in percent")]


class PrintColours(Model):
    """The clinic's colours in CMYK, as its print shop specifies them (never converted by guesswork)."""

    primary: CMYK
    accent: CMYK
    text: CMYK
    background: CMYK


class PrintSettings(Model):
    profile: Slug                                  # a key of content/profiles/profiles.yaml
    bleed: Literal["3mm", "0.125in"]
    logo: Text                                     # the logo drawn in CMYK (device-cmyk fills)
    colours: PrintColours
    crop_marks: bool = True                        # false: no marks, MediaBox = BleedBox (the shop adds its own)


class Fonts(Model):
    body: Text
    headings: Text


class Contact(Model):
    address: list[Text] = Field(min_length=1)
    phone: Text
    email: Text
    web: HttpUrl


# What a clinic's document_url may name: `{clinic}` (the clinic's id, its folder's name) lets it point at the staff
# app's public page, https://<app host>/{clinic}/{language}/{condition}/{kind}.
URL_PLACEHOLDERS = ("clinic", "language", "condition", "kind")


class ClinicWords(Model):
    """The clinic's own printed words in one more of its languages."""

    footer: Text
    legal_route: Text | None = None
    cost_range: Text | None = None


class Clinic(Model):
    sample: bool             # a fictional clinic shipped as an example
    name: Text
    country: Country
    paper: Literal["A4", "letter"]
    languages: list[str] = Field(min_length=1)
    logo: Text
    colours: Colours
    fonts: Fonts
    contact: Contact
    footer: Text
    # Printed in the key facts of every document; a labelled line to fill in by hand when not given.
    legal_route: Text | None = None      # how this clinic supplies the treatment lawfully, in its own words
    cost_range: Text | None = None       # what a course usually costs here, follow-up included
    document_url: Annotated[str, StringConstraints(pattern=r"^https://[^\s{}]+(\{[a-z]+\}[^\s{}]*)*$")]
    print: PrintSettings
    # footer, legal_route and cost_range are in the clinic's first language; here, in each of its other languages.
    translations: dict[str, ClinicWords] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _words_in_every_language(self) -> "Clinic":
        for language in self.languages[1:]:
            words = self.translations.get(language)
            if words is None:
                raise ValueError(f"offers '{language}': give its footer (and legal_route and cost_range, where "
                                 f"given above) in that language under 'translations: {{{language}: ...}}'")
            missing = [key for key in ("legal_route", "cost_range")
                       if getattr(self, key) is not None and getattr(words, key) is None]
            if missing:
                raise ValueError(f"translations: '{language}' has no {' or '.join(missing)}, which the clinic gives "
                                 f"in {self.languages[0]}")
        extra = sorted(set(self.translations) - set(self.languages[1:]))
        if extra:
            raise ValueError(f"translations: '{extra[0]}' is not one of the clinic's other languages "
                             f"({', '.join(self.languages[1:]) or 'none'})")
        return self

    def in_language(self, language: str) -> "Clinic":
        """The clinic with its own words (footer, legal route, cost range) in `language`."""
        words = self.translations.get(language)
        return self if words is None else self.model_copy(update=words.model_dump())

    @model_validator(mode="after")
    def _url_fields(self) -> "Clinic":
        unknown = set(re.findall(r"\{([a-z]+)\}", self.document_url)) - set(URL_PLACEHOLDERS)
        if unknown:
            raise ValueError(f"'document_url' may use {{clinic}}, {{language}}, {{condition}} and {{kind}}, not "
                             f"{', '.join(sorted(unknown))}")
        return self


class Profile(Model):
    file: Text
    description: Text
    condition: Text          # the output condition identifier a print shop expects, e.g. FOGRA39
    registry: HttpUrl


class CropMarks(Model):
    """Where a print master's crop marks go: outside the BleedBox, in lines along the trim edges."""

    gap_mm: float = Field(gt=0)         # from the BleedBox to where each mark begins: no mark touches the bleed
    length_mm: float = Field(gt=0)
    margin_mm: float = Field(ge=0)      # from the end of each mark to the edge of the MediaBox
    weight_pt: float = Field(gt=0)      # line width; the lines are 100 % K


class Variant(Model):
    pdf_variant: Literal["pdf/ua-1", "pdf/x-4"]
    stylesheet: Text | None
    colour: Literal["rgb", "cmyk"]
    page_margin_mm: float = Field(gt=0)     # left and right page margins, which the edge band spans
    min_text_pt: float = Field(default=0, ge=0)   # every character at least this size (0: no minimum)
    crop_marks: CropMarks | None = None     # drawn on the PDF after WeasyPrint, for clinics that want them

    @model_validator(mode="after")
    def _marks_need_a_print_master(self) -> "Variant":
        if self.crop_marks is not None and self.colour != "cmyk":
            raise ValueError("'crop_marks' are for a CMYK print master (colour: cmyk) only")
        return self


class Strings(Model):
    """Every label a template prints, for one language."""

    model_config = ConfigDict(extra="allow", frozen=True)
    # The language tag of each country's documents (BCP 47, e.g. en-GB), and 'default' for any other country:
    # the PDF's and the page's lang, and the locale whose data (Babel's CLDR) writes dates.
    html_lang: dict[str, Text]

    @field_validator("html_lang")
    @classmethod
    def _known_locales(cls, value: dict[str, str]) -> dict[str, str]:
        from babel import Locale, UnknownLocaleError
        if "default" not in value:
            raise ValueError("needs a 'default' entry")
        for country, tag in value.items():
            try:
                Locale.parse(tag, sep="-")
            except (UnknownLocaleError, ValueError):
                raise ValueError(f"'{tag}' (for {country}) is not a language tag with locale data, e.g. en-GB") from None
        return value


M = TypeVar("M", bound=BaseModel)


def _describe(error: Any) -> str:
    loc = ".".join(str(p) for p in error["loc"])
    kind = error["type"]
    if kind == "missing":
        return f"missing key '{loc}'"
    if kind == "extra_forbidden":
        return f"unknown key '{loc}'"
    message = error["msg"].removeprefix("Value error, ")
    got = error.get("input")
    shown = f", got {got!r}" if got is not None and not isinstance(got, (dict, list)) else ""
    return f"'{loc}': {message}{shown}" if loc else f"{message}"


def validate(model: type[M], data: Any, path: str, line: int, what: str) -> tuple[M | None, list[Problem]]:
    """Validate located YAML data against `model`; problems name `path` and the line of each bad key."""
    if not isinstance(data, dict):
        got = "a list" if isinstance(data, list) else "nothing" if data is None else repr(data)[:40]
        return None, [Problem(path, line, f"{what}: expected a mapping of keys, got {got}", "schema")]
    try:
        return model.model_validate(data), []
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            loc = error["loc"]
            if error["type"] == "missing":
                at = getattr(data, "line", line)
            elif not loc:   # a rule across keys: point at the first key its message names
                named = sorted((k for k in data if f"'{k}'" in error["msg"]), key=lambda k: error["msg"].find(f"'{k}'"))
                at = yamlio.line_of(data, (named[0],), line) if named else getattr(data, "line", line)
            else:
                at = yamlio.line_of(data, loc, line)
            problems.append(Problem(path, at, f"{what}: {_describe(error)}", "schema"))
        return None, problems


# --- one patient's details, printed on a consent sheet filled in for them ---------------------------------------
# Messages about them name the key and the line, never the value: a message may end up in a log.

def _kind(value: Any) -> str:
    for kind, shown in ((type(None), "empty (null)"), (bool, "true/false"), ((int, float), "a number"),
                        (list, "a list"), (dict, "keys and values"), (str, "text")):
        if isinstance(value, kind):
            return shown
    return "a value of another kind"


def _patient_text(limit: int) -> BeforeValidator:
    def check(value: Any) -> str:
        if not isinstance(value, str):
            raise ValueError(f"must be text, not {_kind(value)}")
        value = value.strip()
        if not value:
            raise ValueError("is empty or blank: leave the key out to print a blank line")
        if len(value) > limit:
            raise ValueError(f"is {len(value):,} characters long; at most {limit} are allowed")
        if any(unicodedata.category(ch) in ("Cc", "Zl", "Zp") for ch in value):
            raise ValueError("holds a line break, a tab or another control character: write it on one line")
        return value
    return BeforeValidator(check)


def _patient_date(value: Any) -> dt.date:
    """A date written YYYY-MM-DD (the sheet writes it the clinic's way), or a date object from a caller."""
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    if not isinstance(value, str) or not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value.strip()):
        raise ValueError("must be a date written YYYY-MM-DD, e.g. 1980-02-03"
                         + ("" if isinstance(value, str) else f", not {_kind(value)}"))
    try:
        return dt.date.fromisoformat(value.strip())
    except ValueError as exc:
        raise ValueError(f"is not a date in the calendar ({exc})") from None


# The checks come before `| None`, so that a key given with no value (null) is refused, not taken as absent.
ShortText = Annotated[str | None, _patient_text(200)]       # a name
LongText = Annotated[str | None, _patient_text(500)]        # a procedure
PatientDate = Annotated[dt.date | None, BeforeValidator(_patient_date)]
OLDEST_YEARS = 150


class Patient(Model):
    """Optional details printed on a consent sheet; blank labelled lines where absent. Validate with
    `validate_patient` (which knows today's date); Patient() is the blank sheet."""

    name: ShortText = None
    date_of_birth: PatientDate = None
    procedure: LongText = None
    procedure_date: PatientDate = None
    clinician: ShortText = None
    first_consultation: PatientDate = None     # so that the time to reflect before treatment can be seen
    leaflet_given: PatientDate = None          # the date the leaflet named on the form was given

    @field_validator("date_of_birth")
    @classmethod
    def _born(cls, value: dt.date | None, info: ValidationInfo) -> dt.date | None:
        today = (info.context or {}).get("today") or dt.date.today()
        if value is not None and value > today:
            raise ValueError(f"is in the future (today is {today.isoformat()})")
        if value is not None and value.year < today.year - OLDEST_YEARS:
            raise ValueError(f"is more than {OLDEST_YEARS} years ago: check the year")
        return value

    @field_validator("procedure_date", "first_consultation", "leaflet_given")
    @classmethod
    def _after_birth(cls, value: dt.date | None, info: ValidationInfo) -> dt.date | None:
        born = info.data.get("date_of_birth")
        if value is not None and born is not None and value < born:
            raise ValueError("is before 'date_of_birth'")
        return value

    @model_validator(mode="after")
    def _consulted_first(self) -> "Patient":
        if self.first_consultation and self.procedure_date and self.first_consultation > self.procedure_date:
            raise ValueError("'first_consultation' is after 'procedure_date'")
        return self


def validate_patient(data: Any, path: str, today: dt.date) -> tuple[Patient | None, list[Problem]]:
    """A patient's details from located YAML data (or a plain dict); each problem names `path`, the line of the
    key and the key, never the value."""
    keys = ", ".join(Patient.model_fields)
    if data is None:
        return None, [Problem(path, 1, f"the file is empty: give the patient's details ({keys})", "patient")]
    line = getattr(data, "line", 1)
    if not isinstance(data, dict):
        return None, [Problem(path, line, f"expected keys and values ({keys}), not {_kind(data)}", "patient")]
    if not data:
        return None, [Problem(path, line, f"no details are given: give at least one of {keys}", "patient")]
    try:
        patient = Patient.model_validate(data, context={"today": today})
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            key = ".".join(str(part) for part in error["loc"])
            if not error["loc"]:      # a rule across keys: its message names them; point at the first
                message = error["msg"].removeprefix("Value error, ")
                named = re.search(r"'([a-z_]+)'", message)
                at = yamlio.line_of(data, (named.group(1),), line) if named else line
                problems.append(Problem(path, at, message, "patient"))
                continue
            if error["type"] == "extra_forbidden" or error["loc"][:1] not in [(k,) for k in Patient.model_fields]:
                named = f"'{key}'" if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_-]{0,39}", key) else "(not shown)"
                message = f"unknown key {named}: the keys are {keys}"
            else:
                message = f"'{key}' {error['msg'].removeprefix('Value error, ')}"
            problems.append(Problem(path, yamlio.line_of(data, error["loc"], line), message, "patient"))
        return None, problems
    # A character no bundled font has would print as a box, or from a font the PDF must not name.
    uncovered = [Problem(path, yamlio.line_of(data, (key,), line), f"'{key}': {message}", "patient")
                 for key, value in patient.model_dump().items() if isinstance(value, str)
                 for message in fonts.problems_in(value)]
    return (None, uncovered) if uncovered else (patient, [])
