"""Adding and changing accounts, for both callers: the browser's user pages and `build.py users`. Every change is
one audit row naming the account changed (never a password); its clinic column lists the clinics the change
touched, so a clinic administrator's audit page shows the changes to their clinics' accounts."""

from __future__ import annotations

import secrets

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction

from . import audit
from .models import ADMIN, Account, ClinicAccess

# No 0/O, 1/l/I: a one-time password is read off a screen and typed in again.
_ALPHABET = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def one_time_password() -> str:
    """Four groups of four characters (about 92 bits), e.g. 'kT7q-M2xd-9hWp-aR4n'."""
    return "-".join("".join(secrets.choice(_ALPHABET) for _ in range(4)) for _ in range(4))


def password_problems(password: str, user=None) -> list[str]:
    """The password validators' messages (length, common, numeric, like the username); none when it is fine."""
    try:
        validate_password(password, user)
    except ValidationError as exc:
        return list(exc.messages)
    return []


def name_problems(name: str) -> list[str]:
    """What is wrong with a new account's name: its characters, or an account of that name (in any case)."""
    User = get_user_model()
    try:
        User.username_validator(name)
    except ValidationError as exc:
        return list(exc.messages)
    if not name or len(name) > 150:
        return ["Use 1 to 150 characters."]
    existing = User.objects.filter(username__iexact=name).first()
    if existing is not None:
        return [f"There is already an account named '{existing.username}' (names differing only in capitals "
                "count as the same)." if existing.username != name else
                f"There is already an account named '{name}'."]
    return []


def role_of(user) -> str:
    from .access import role
    return role(user) or "-"


def clinics_of(user) -> list[str]:
    try:
        return list(user.account.clinics.values_list("clinic", flat=True))
    except Account.DoesNotExist:
        return []


def record(by, event: str, name: str, touched: list[str], detail: str = "") -> None:
    """One audit row about the account `name`, listing the clinics the change `touched` ("a,b")."""
    audit.record(by, event, clinic=",".join(sorted(set(touched))), detail=f"account={name}{detail}")


def create(name: str, role: str, clinics: list[str], password: str, *, must_change: bool, by) -> object:
    """A new active account with `role`, `clinics` and `password` (already checked by the caller)."""
    with transaction.atomic():
        user = get_user_model().objects.create_user(name, password=password, is_staff=role == ADMIN,
                                                    is_superuser=role == ADMIN)
        account = Account.objects.create(user=user, role=role, must_change_password=must_change)
        ClinicAccess.objects.bulk_create(ClinicAccess(account=account, clinic=c) for c in dict.fromkeys(clinics))
    record(by, "user-added", name, clinics, f" role={role} clinics={','.join(clinics) or '-'}")
    return user


def change(user, role: str, clinics: list[str], *, by) -> bool:
    """Set the account's role and clinics; False (and no audit row) when nothing changed."""
    before_role, before = role_of(user), clinics_of(user)
    if before_role == role and sorted(before) == sorted(set(clinics)):
        return False
    with transaction.atomic():
        account, _ = Account.objects.get_or_create(user=user)
        account.role = role
        account.save(update_fields=["role"])
        user.is_superuser = user.is_staff = role == ADMIN
        user.save(update_fields=["is_superuser", "is_staff"])
        account.clinics.exclude(clinic__in=clinics).delete()
        ClinicAccess.objects.bulk_create(ClinicAccess(account=account, clinic=c)
                                         for c in dict.fromkeys(clinics) if c not in before)
    detail = ""
    if before_role != role:
        detail += f" role={before_role}->{role}"
    if sorted(before) != sorted(set(clinics)):
        detail += f" clinics={','.join(before) or '-'}->{','.join(sorted(set(clinics))) or '-'}"
    record(by, "user-changed", user.username, before + clinics, detail)
    return True


def set_password(user, password: str, *, must_change: bool, by, event: str) -> None:
    """A new password (`event` 'password-reset' for a one-time one, 'password-set' from a terminal). The
    account's other sessions end: Django ties a session to the password it was opened with."""
    with transaction.atomic():
        user.set_password(password)
        user.save(update_fields=["password"])
        account, _ = Account.objects.get_or_create(user=user)
        account.must_change_password = must_change
        account.save(update_fields=["must_change_password"])
    record(by, event, user.username, clinics_of(user))


def set_active(user, active: bool, *, by) -> None:
    """Deactivate (the account can no longer sign in; its sessions stop working) or reactivate."""
    user.is_active = active
    user.save(update_fields=["is_active"])
    record(by, "user-reactivated" if active else "user-deactivated", user.username, clinics_of(user))


def remove(user, *, by) -> None:
    clinics = clinics_of(user)
    name = user.username
    user.delete()
    record(by, "user-removed", name, clinics)
