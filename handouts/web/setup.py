"""Django set up from the command line: settings, the database's tables, the first administrator."""

from __future__ import annotations

import os


def django_ready() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "handouts.web.settings")
    import django
    django.setup()


def migrate() -> None:
    from django.core.management import call_command
    call_command("migrate", interactive=False, verbosity=0)


def first_administrator() -> tuple[str, str] | None:
    """On the first start (no account at all), a global administrator with a one-time password, which must be
    changed at the first sign-in. Returns (name, password) then, else None."""
    from django.contrib.auth import get_user_model
    from . import audit
    from .accounts import one_time_password
    from .models import ADMIN, Account
    User = get_user_model()
    if User.objects.exists():
        return None
    password = one_time_password()
    user = User.objects.create_superuser("admin", email="", password=password)
    Account.objects.create(user=user, role=ADMIN, must_change_password=True)
    audit.record("serve", "user-added", detail="account=admin role=admin (first start)")
    return "admin", password
