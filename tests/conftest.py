"""Shared fixtures: a scratch copy of the project, and one full build of the real content per test session."""

from __future__ import annotations

import datetime as dt
import functools
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from handouts import builder
from handouts.plan import Selection

ROOT = Path(__file__).resolve().parent.parent
TODAY = dt.date(2026, 11, 24)      # review dates are checked against a fixed day, so tests do not age


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--update-golden", action="store_true",
                     help="rewrite tests/golden/*.html from the current templates and content")
    parser.addoption("--update-visual", action="store_true",
                     help="rewrite tests/visual/*.png from the current build")


def copy_project(target: Path) -> Path:
    """A private copy of the project's content and templates, safe to break."""
    for name in ("content", "templates"):
        shutil.copytree(ROOT / name, target / name)
    return target


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return copy_project(tmp_path / "project")


@dataclass(frozen=True)
class Built:
    root: Path
    output: Path
    outcome: builder.Outcome


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    """The real project, built once into a temporary output folder."""
    output = tmp_path_factory.mktemp("output")
    outcome = builder.build(ROOT, output, Selection(), TODAY)
    return Built(ROOT, output, outcome)


# An English block used by the consent form and the research document (of acne scars), whose Spanish translation
# the `behind` fixture leaves behind its source.
STALE_SOURCE = "content/en/acne-scars/consent-diagnosis.md"


def bump_version(block: Path) -> tuple[str, int]:
    """Give a block a newer version ("2.1" -> "2.2"), as its author does after changing it: a translation of it
    then translates an older version (it is stale). Returns the new version and the line of `version:`."""
    lines = block.read_text(encoding="utf-8").splitlines(keepends=True)
    number = next(i for i, line in enumerate(lines) if line.startswith("version:"))
    major, minor = re.fullmatch(r'version: "?(\d+)\.(\d+)"?\n', lines[number]).groups()
    new = f"{major}.{int(minor) + 1}"
    lines[number] = f'version: "{new}"\n'
    block.write_text("".join(lines), encoding="utf-8")
    return new, number + 1


@pytest.fixture
def behind(built: Built, project: Path, tmp_path: Path) -> Built:
    """A scratch copy of the project whose English STALE_SOURCE has a newer version than its Spanish translation
    translates, built (the Spanish documents) over a copy of the session's build: the Spanish documents using it
    are held back, keep their last good PDFs and are listed under "behind" in the copy's manifest.json."""
    output = tmp_path / "output"
    shutil.copytree(built.output, output)
    bump_version(project / STALE_SOURCE)
    outcome = builder.build(project, output, Selection(language="es"), TODAY)
    assert outcome.behind and not outcome.built, outcome.summary()
    return Built(project, output, outcome)


# --- the staff web app (pytest-django) ---------------------------------------------------------------------------

PASSWORD = "correct horse battery staple 42"      # every test account's password


@pytest.fixture
def web(settings, built: Built, db):
    """The app reading the session's build, with review dates checked against TODAY."""
    settings.OUTPUT_DIR = built.output
    settings.CONTENT_ROOT = ROOT
    settings.HANDOUTS_TODAY = TODAY.isoformat()
    return built


@functools.cache
def _password_hash() -> str:
    """PASSWORD hashed once (Argon2, as in production; each hash takes a good part of a second)."""
    from django.contrib.auth.hashers import make_password
    return make_password(PASSWORD)


@pytest.fixture
def make_user(db):
    """make_user(name, role, clinics=()) -> a user with PASSWORD, its account and its clinics."""
    from django.contrib.auth import get_user_model
    from handouts.web.models import ADMIN, Account, ClinicAccess

    def make(name: str, role: str, clinics: tuple[str, ...] | list[str] = ()):
        user = get_user_model().objects.create(username=name, password=_password_hash(), is_staff=role == ADMIN,
                                               is_superuser=role == ADMIN)
        account = Account.objects.create(user=user, role=role)
        for clinic in clinics:
            ClinicAccess.objects.create(account=account, clinic=clinic)
        return user
    return make


@pytest.fixture
def web_behind(settings, behind: Built, db, monkeypatch: pytest.MonkeyPatch) -> Built:
    """The app reading `behind`: its content (a Personaliser of its own, dropped afterwards) and its build."""
    from handouts.web import pipeline
    settings.OUTPUT_DIR = behind.output
    settings.CONTENT_ROOT = behind.root
    settings.HANDOUTS_TODAY = TODAY.isoformat()
    monkeypatch.setattr(pipeline, "_PERSONALISER", None)
    return behind
