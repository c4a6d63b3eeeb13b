"""Load stage: read every content file, validate its shape, and gather it into one immutable Library.

Nothing is rendered here. Problems are collected, not raised, so that one bad file is reported together with
all the others, and so that the plan can fail exactly the documents that use it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel

from . import files, fill, fonts, yamlio
from .models import BlockMeta, Catalogue, Clinic, Condition, Kind, Profile, Strings, Variant, validate
from .problems import BuildError, Problem, relpath

FRONT_MATTER = re.compile(r"\A---[ \t]*\n(.*?\n)?---[ \t]*\n", re.S)
SHARED = "shared"
# The placeholders each string of strings.yaml may use (besides a kind's title, which takes {condition}).
PLACEHOLDERS = {"leaflet_given_text": frozenset({"title", "version"}),
                "leaflet_title": frozenset({"condition"}),          # the consent sheet names the leaflet
                "online_newer_text": frozenset({"old", "new"}),     # the public page: the paper copy's version
                "online_other_documents": frozenset({"condition"})}


@dataclass(frozen=True)
class Block:
    meta: BlockMeta
    body: str
    path: str            # as shown to the user, relative to the project
    file: Path
    body_line: int       # line of the file where the body starts
    language: str
    folder: str          # a condition id, or "shared"
    key_lines: dict[str, int] = field(default_factory=dict, compare=False)   # front-matter key -> line

    def line_of(self, key: str) -> int:
        return self.key_lines.get(key, 2)


@dataclass(frozen=True)
class BrokenFile:
    """A content file that could not be loaded; documents that may use it fail."""

    path: str
    language: str
    folder: str
    role: str | None     # None when even the role could not be read


@dataclass(frozen=True)
class ClinicConfig:
    id: str
    clinic: Clinic
    folder: Path
    path: str
    profile: Path          # the ICC file of the clinic's print profile

    def files(self, cmyk: bool) -> list[Path]:
        """The clinic's files a document depends on: on screen the RGB logo; in print the CMYK logo and the
        output profile."""
        if cmyk:
            return [self.folder / "clinic.yaml", self.folder / self.clinic.print.logo, self.profile]
        return [self.folder / "clinic.yaml", self.folder / self.clinic.logo]


@dataclass(frozen=True)
class Language:
    code: str
    strings: Strings | None
    strings_path: str
    conditions: dict[str, Condition]
    condition_paths: dict[str, str]
    blocks: tuple[Block, ...]
    broken: tuple[BrokenFile, ...]


@dataclass(frozen=True)
class Library:
    root: Path
    catalogue: Catalogue
    kinds: dict[str, Kind]
    kind_paths: dict[str, str]
    variants: dict[str, Variant]
    profiles: dict[str, Profile]
    clinics: dict[str, ClinicConfig]
    languages: dict[str, Language]
    problems: tuple[Problem, ...] = field(default=())
    # Clinics whose clinic.yaml has errors: id -> the file as shown. Their documents fail (and keep their last
    # good PDFs); they are never taken for clinics removed on purpose.
    broken_clinics: dict[str, str] = field(default_factory=dict)
    # translation.State once the checks have run: the source language, each translation by its source, and the
    # stale ones, which the plan holds back.
    translation: Any = None
    # A broken clinic's languages, where its clinic.yaml still says them plainly: only those documents fail.
    broken_languages: dict[str, tuple[str, ...]] = field(default_factory=dict)


M = TypeVar("M", bound=BaseModel)


class _Loader:
    def __init__(self, root: Path):
        self.root = root
        self.content = root / "content"
        self.problems: list[Problem] = []
        self.broken_clinics: dict[str, str] = {}
        self.broken_languages: dict[str, tuple[str, ...]] = {}

    def show(self, file: Path) -> str:
        """The file as the user should see it; a symbolic link by its own name, not its target's."""
        try:
            return str(file.relative_to(self.root))
        except ValueError:
            return relpath(file, self.root)

    def yaml_file(self, file: Path) -> Any:
        try:
            return yamlio.load(file, self.show(file), self.root)
        except BuildError as exc:
            self.problems.extend(exc.problems)
            return None
        except OSError as exc:
            self.problems.append(Problem(self.show(file), 1, f"cannot read: {exc.strerror}", "io"))
            return None

    def model_file(self, model: type[M], file: Path, what: str) -> M | None:
        data = self.yaml_file(file)
        if data is None and not file.exists():
            return None
        if data is None:
            if not any(p.path == self.show(file) for p in self.problems):
                self.problems.append(Problem(self.show(file), 1, f"{what}: the file is empty", "schema"))
            return None
        value, problems = validate(model, data, self.show(file), 1, what)
        self.problems.extend(problems)
        return value

    def listed(self, model: type[M], files: dict[str, Path], what: str) -> tuple[dict[str, M], dict[str, str]]:
        """The files of the things the catalogue lists, validated, by id; and each one's path as shown. A listed
        file that does not exist is a problem of the catalogue."""
        loaded: dict[str, M] = {}
        for key, file in files.items():
            if not file.exists():
                self.problems.append(Problem(self.show(self.content / "catalogue.yaml"), 1,
                                             f"{what} '{key}' has no {self.show(file)}", "catalogue"))
                continue
            item = self.model_file(model, file, what)
            if item:
                loaded[key] = item
        return loaded, {key: self.show(file) for key, file in files.items()}

    def block(self, file: Path, language: str, folder: str) -> Block | BrokenFile:
        shown = self.show(file)
        try:
            text = files.read_text(file, shown, self.root)
        except BuildError as exc:
            self.problems.extend(exc.problems)
            return BrokenFile(shown, language, folder, None)
        match = FRONT_MATTER.match(text)
        if not match:
            self.problems.append(Problem(shown, 1, "front matter: a block must start with '---', "
                                         "YAML keys, and a closing '---'", "schema"))
            return BrokenFile(shown, language, folder, None)
        try:
            data = yamlio.parse(match.group(1) or "", shown, first_line=2)
        except BuildError as exc:
            self.problems.extend(exc.problems)
            return BrokenFile(shown, language, folder, None)
        meta, problems = validate(BlockMeta, data, shown, 1, "front matter")
        if meta is None:
            self.problems.extend(problems)
            role = data.get("role") if isinstance(data, dict) and isinstance(data.get("role"), str) else None
            return BrokenFile(shown, language, folder, role)
        body_line = text[: match.end()].count("\n") + 1
        return Block(meta, text[match.end():], shown, file, body_line, language, folder, dict(data.lines))

    def strings(self, file: Path, kinds: dict[str, Kind]) -> Strings | None:
        """A language's strings; None (and a problem on the line) when a placeholder is unknown or a brace stray,
        so that the documents using them fail. Kind titles take {condition}; see PLACEHOLDERS for the others."""
        strings = self.model_file(Strings, file, "strings")
        if strings is None:
            return None
        titles = {kind.title for kind in kinds.values()}
        found = []
        data = self.yaml_file(file)
        for key, value in data.items():
            allowed = PLACEHOLDERS.get(key, frozenset({"condition"}) if key in titles else frozenset())
            items = (value.items() if isinstance(value, yamlio.Located) else enumerate(value)
                     if isinstance(value, yamlio.LocatedList) else [(None, value)])
            for sub, text in items:
                error = fill.problem(text, allowed) if isinstance(text, str) else None
                if error:
                    line = data.lines[key] if sub is None else value.lines[sub]
                    name = key if sub is None else f"{key}.{sub}"
                    found.append(Problem(self.show(file), line, f"'{name}': {error}", "strings"))
        self.problems += found
        for kid, kind in kinds.items():
            if not isinstance(data.get(kind.title), str):
                kind_file = self.content / "kinds" / f"{kid}.yaml"
                line = yamlio.line_of(self.yaml_file(kind_file), ("title",), 1)
                self.problems.append(Problem(self.show(kind_file), line, f"kind: 'title' {kind.title!r} is not a "
                                             f"string in {self.show(file)}", "schema"))
        return None if found else strings

    def language(self, code: str, catalogue: Catalogue, kinds: dict[str, Kind]) -> Language:
        folder = self.content / code
        strings_file = folder / "strings.yaml"
        if not strings_file.exists():
            self.problems.append(Problem(self.show(folder), 1, f"language '{code}' has no strings.yaml", "catalogue"))
        strings = self.strings(strings_file, kinds)
        conditions, condition_paths = self.listed(Condition, {cid: folder / cid / "condition.yaml"
                                                              for cid in catalogue.conditions}, "condition")
        blocks: list[Block] = []
        broken: list[BrokenFile] = []
        for sub in [SHARED, *catalogue.conditions]:
            for file in sorted((folder / sub).glob("*.md")):
                loaded = self.block(file, code, sub)
                (blocks if isinstance(loaded, Block) else broken).append(loaded)
        self._unique_ids(blocks)
        return Language(code, strings, self.show(strings_file), conditions, condition_paths,
                        tuple(blocks), tuple(broken))

    def _unique_ids(self, blocks: list[Block]) -> None:
        seen: dict[tuple[str, str | None], Block] = {}
        for block in blocks:
            key = (block.meta.id, block.meta.jurisdiction)
            if key in seen:
                self.problems.append(Problem(block.path, block.line_of("id"), f"front matter: id '{block.meta.id}' is already "
                                             f"used by {seen[key].path}", "schema"))
            else:
                seen[key] = block

    def mapping(self, model: type[M], file: Path, what: str) -> dict[str, M]:
        """A YAML file whose top level maps names to `model` entries."""
        data = self.yaml_file(file)
        if not isinstance(data, dict):
            self.problems.append(Problem(self.show(file), 1, f"{what}: expected a mapping of names", "schema"))
            return {}
        found: dict[str, M] = {}
        for name, item in data.items():
            value, problems = validate(model, item, self.show(file), data.lines[name], f"{what} '{name}'")
            self.problems.extend(problems)
            if value is not None:
                found[name] = value
        return found

    def _languages_of_broken(self, file: Path) -> None:
        """The languages a clinic.yaml with errors lists, if it still lists them as a list of codes."""
        try:
            data = yamlio.load(file, self.show(file), self.root)
        except (BuildError, OSError):
            return
        languages = data.get("languages") if isinstance(data, dict) else None
        if isinstance(languages, list) and languages and all(isinstance(code, str) for code in languages):
            self.broken_languages[file.parent.name] = tuple(languages)

    def clinics(self, profiles: dict[str, Profile]) -> dict[str, ClinicConfig]:
        clinics: dict[str, ClinicConfig] = {}
        for file in sorted((self.content / "clinics").glob("*/clinic.yaml")):
            if not re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", file.parent.name):    # it names the clinic's PDFs
                self.problems.append(Problem(self.show(file), 1, f"clinic: the folder name {file.parent.name!r} is "
                                             "the clinic's id: lower-case letters, digits and hyphens only", "schema"))
                continue
            clinic = self.model_file(Clinic, file, "clinic")
            if clinic is None:
                self.broken_clinics[file.parent.name] = self.show(file)
                self._languages_of_broken(file)
                continue
            data = self.yaml_file(file)
            before = len(self.problems)
            for key, name in (("logo", clinic.logo), ("print.logo", clinic.print.logo)):
                path = file.parent / name
                if not path.is_file() or path.parent != file.parent:
                    self.problems.append(Problem(self.show(file), yamlio.line_of(data, tuple(key.split(".")), 1),
                                                 f"clinic: '{key}' {name!r} is not a file in "
                                                 f"{self.show(file.parent)}", "schema"))
            for key in ("body", "headings"):
                family = getattr(clinic.fonts, key)
                if family not in fonts.installed():
                    self.problems.append(Problem(self.show(file), yamlio.line_of(data, ("fonts", key), 1),
                                                 f"clinic: font family {family!r} is not bundled (bundled: "
                                                 f"{', '.join(sorted(fonts.installed()))})", "schema"))
            for loc, text in _printed_text(clinic):
                self.problems += [Problem(self.show(file), yamlio.line_of(data, loc, 1),
                                          f"clinic: {'.'.join(k for k in loc if isinstance(k, str))}: {message}",
                                          "fonts") for message in fonts.problems_in(text)]
            profile = profiles.get(clinic.print.profile)
            if profile is None:
                self.problems.append(Problem(self.show(file), yamlio.line_of(data, ("print", "profile"), 1),
                                             f"clinic: print profile {clinic.print.profile!r} is not one of "
                                             f"{', '.join(sorted(profiles))} (content/profiles/profiles.yaml)",
                                             "schema"))
            if len(self.problems) > before or profile is None:
                self.broken_clinics[file.parent.name] = self.show(file)
                self.broken_languages[file.parent.name] = tuple(clinic.languages)
                continue
            clinics[file.parent.name] = ClinicConfig(file.parent.name, clinic, file.parent, self.show(file),
                                                     self.content / "profiles" / profile.file)
        if not clinics and not self.problems:
            self.problems.append(Problem(self.show(self.content / "clinics"), 1, "no clinic is configured", "catalogue"))
        return clinics


def _printed_text(clinic: Clinic) -> list[tuple[tuple, str]]:
    """The clinic's words that its documents print, by location in clinic.yaml."""
    return [(("name",), clinic.name), (("footer",), clinic.footer), (("contact", "phone"), clinic.contact.phone),
            *((("contact", "address", i), line) for i, line in enumerate(clinic.contact.address)),
            *(((("translations", language, key), value) for language, words in clinic.translations.items()
               for key, value in words.model_dump().items() if value))]


def load(root: Path) -> Library:
    """Read and validate everything under `root`/content. Raises BuildError only if the catalogue itself is unusable."""
    loader = _Loader(root)
    catalogue = loader.model_file(Catalogue, loader.content / "catalogue.yaml", "catalogue")
    if catalogue is None:
        if not (loader.content / "catalogue.yaml").exists():
            loader.problems.append(Problem("content/catalogue.yaml", 1, "missing catalogue", "catalogue"))
        raise BuildError(loader.problems)
    kinds, kind_paths = loader.listed(Kind, {kid: loader.content / "kinds" / f"{kid}.yaml"
                                             for kid in catalogue.kinds}, "kind")
    variants = loader.mapping(Variant, root / "templates" / "variants.yaml", "variant")
    for name in catalogue.variants:
        if name not in variants:
            loader.problems.append(Problem("content/catalogue.yaml", 1, f"variant '{name}' is not defined in "
                                           "templates/variants.yaml", "catalogue"))
    profiles = loader.mapping(Profile, loader.content / "profiles" / "profiles.yaml", "profile")
    for name, profile in profiles.items():
        if not (loader.content / "profiles" / profile.file).is_file():
            loader.problems.append(Problem("content/profiles/profiles.yaml", 1,
                                           f"profile '{name}': no file content/profiles/{profile.file}", "schema"))
    clinics = loader.clinics(profiles)
    languages = {code: loader.language(code, catalogue, kinds) for code in catalogue.languages}
    _check_roles(loader, kinds, languages)
    return Library(root, catalogue, kinds, kind_paths, variants, profiles, clinics, languages,
                   tuple(loader.problems), loader.broken_clinics, broken_languages=loader.broken_languages)


def _check_roles(loader: _Loader, kinds: dict[str, Kind], languages: dict[str, Language]) -> None:
    """A block whose role no kind uses is almost certainly a typo in its front matter."""
    known = {section.role for kind in kinds.values() for section in kind.sections}
    for language in languages.values():
        for block in language.blocks:
            if known and block.meta.role not in known:
                loader.problems.append(Problem(block.path, block.line_of("role"), f"front matter: role '{block.meta.role}' is not "
                                               f"used by any kind ({', '.join(sorted(known))})", "schema"))



def with_problems(library: Library, problems: list[Problem], translation: Any = None) -> Library:
    return replace(library, problems=tuple(problems), translation=translation or library.translation)
