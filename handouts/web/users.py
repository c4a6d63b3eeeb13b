"""`python build.py users add|list|set|passwd|remove`: accounts from a terminal."""

from __future__ import annotations

import argparse
import getpass
import sys


def parser() -> argparse.ArgumentParser:
    from .models import ROLES      # after django_ready(): models need the settings
    role_names = [r for r, _ in ROLES]
    top = argparse.ArgumentParser(prog="build.py users", description="Manage the staff app's accounts.")
    sub = top.add_subparsers(dest="action", required=True)
    add = sub.add_parser("add", help="add an account; its password is read from standard input when that is not "
                                     "a terminal, else asked for twice")
    add.add_argument("name")
    add.add_argument("--role", required=True, choices=role_names)
    add.add_argument("--clinic", action="append", default=[], metavar="ID",
                     help="a clinic the account works for (folder name under content/clinics/); repeat for more")
    sub.add_parser("list", help="every account with its role and clinics")
    change = sub.add_parser("set", help="change an account's role or clinics")
    change.add_argument("name")
    change.add_argument("--role", choices=role_names)
    change.add_argument("--clinic", action="append", default=None, metavar="ID")
    pw = sub.add_parser("passwd", help="set an account's password (read like add's)")
    pw.add_argument("name")
    remove = sub.add_parser("remove", help="delete an account")
    remove.add_argument("name")
    return top


def _password(name: str) -> str | None:
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass(f"Password for {name}: ")
    if getpass.getpass("The same again: ") != first:
        print("build.py users: the two passwords differ; nothing changed", file=sys.stderr)
        return None
    return first


def _checked(password: str, user=None) -> list[str]:
    from django.contrib.auth.password_validation import validate_password
    from django.core.exceptions import ValidationError
    try:
        validate_password(password, user)
    except ValidationError as exc:
        return list(exc.messages)
    return []


def _clinics_known(clinics: list[str]) -> list[str]:
    from . import pipeline
    known = pipeline.clinic_ids()
    return [c for c in clinics if c not in known]


def main(argv: list[str]) -> int:
    from .setup import django_ready, migrate
    django_ready()
    args = parser().parse_args(argv)
    migrate()
    from django.contrib.auth import get_user_model
    from django.db import transaction
    from . import audit
    from .models import ADMIN, CLINIC_ROLES, Account, ClinicAccess
    User = get_user_model()

    def fail(message: str) -> int:
        print(f"build.py users: {message}", file=sys.stderr)
        return 2

    if args.action == "list":
        for user in User.objects.order_by("username"):
            account = getattr(user, "account", None)
            role = ADMIN if user.is_superuser else (account.role if account else "-")
            clinics = ",".join(account.clinics.values_list("clinic", flat=True)) if account else ""
            state = "" if user.is_active else " (inactive)"
            print(f"{user.username}\t{role}\t{clinics or '-'}{state}")
        return 0
    user = User.objects.filter(username=args.name).first()
    if args.action == "add":
        if user is not None:
            return fail(f"an account named '{args.name}' exists already")
        if args.role in CLINIC_ROLES and not args.clinic:
            return fail(f"--clinic: a {args.role} account needs at least one clinic")
        unknown = _clinics_known(args.clinic)
        if unknown:
            return fail(f"--clinic: no clinic '{unknown[0]}' under content/clinics/")
        password = _password(args.name)
        if password is None:
            return 2
        problems = _checked(password, User(username=args.name))
        if problems:
            return fail("the password: " + " ".join(problems))
        with transaction.atomic():
            user = User.objects.create_user(args.name, password=password, is_staff=args.role == ADMIN,
                                            is_superuser=args.role == ADMIN)
            account = Account.objects.create(user=user, role=args.role)
            for clinic in args.clinic:
                ClinicAccess.objects.create(account=account, clinic=clinic)
        audit.record("cli", "user-added", detail=f"{args.name} role={args.role} clinics={','.join(args.clinic)}")
        print(f"added {args.name} ({args.role})")
        return 0
    if user is None:
        return fail(f"no account named '{args.name}'")
    if args.action == "remove":
        user.delete()
        audit.record("cli", "user-removed", detail=args.name)
        print(f"removed {args.name}")
        return 0
    if args.action == "passwd":
        password = _password(args.name)
        if password is None:
            return 2
        problems = _checked(password, user)
        if problems:
            return fail("the password: " + " ".join(problems))
        user.set_password(password)
        user.save()
        audit.record("cli", "password-set", detail=args.name)
        print(f"password set for {args.name}")
        return 0
    # set
    account, _ = Account.objects.get_or_create(user=user)
    role = args.role or account.role
    clinics = args.clinic if args.clinic is not None else list(account.clinics.values_list("clinic", flat=True))
    unknown = _clinics_known(clinics)
    if unknown:
        return fail(f"--clinic: no clinic '{unknown[0]}' under content/clinics/")
    if role in CLINIC_ROLES and not clinics:
        return fail(f"--clinic: a {role} account needs at least one clinic")
    with transaction.atomic():
        account.role = role
        account.save()
        user.is_superuser = user.is_staff = role == ADMIN
        user.save()
        account.clinics.all().delete()
        for clinic in clinics:
            ClinicAccess.objects.create(account=account, clinic=clinic)
    audit.record("cli", "user-changed", detail=f"{args.name} role={role} clinics={','.join(clinics)}")
    print(f"{args.name}: {role} {','.join(clinics)}")
    return 0
