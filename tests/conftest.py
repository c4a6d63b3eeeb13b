"""Shared fixtures: a scratch copy of the project, and one full build of the real content per test session."""

from __future__ import annotations

import datetime as dt
import functools
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
