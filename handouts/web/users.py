"""`python build.py users add|list|set|passwd|remove`: accounts from a terminal. Problems are one line on standard
error and exit status 2; the audit log names the terminal's user as `cli:NAME`."""

from __future__ import annotations

import argparse
import getpass
import logging
import sys


class _Parser(argparse.ArgumentParser):
    """argparse, with a usage problem said in one line (the usage itself is under --help)."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: {message} (see {self.prog} --help)\n")


def parser() -> argparse.ArgumentParser:
    from .models import ROLES      # after django_ready(): the models need the settings
    role_names = [r for r, _ in ROLES]
    top = _Parser(prog="build.py users", description="Manage the staff app's accounts.")
    sub = top.add_subparsers(dest="action", required=True, parser_class=_Parser)
    add = sub.add_parser("add", help="add an account; its password is read from standard input when that is not "
                                     "a terminal, else asked for twice")
    add.add_argument("name")
    add.add_argument("--role", required=True, choices=role_names)
    add.add_argument("--clinic", action="append", default=[], metavar="ID",
                     help="a clinic the account works for (folder name under content/clinics/); repeat for more")
    add.add_argument("--one-time", action="store_true",
                     help="the password must be changed at the first sign-in")
    sub.add_parser("list", help="every account with its role, clinics and state")
    change = sub.add_parser("set", help="change an account's role or clinics")
    change.add_argument("name")
    change.add_argument("--role", choices=role_names)
    change.add_argument("--clinic", action="append", default=None, metavar="ID",
                        help="the account's clinics (replacing the ones it has); repeat for more")
    change.add_argument("--active", choices=["yes", "no"], help="reactivate or deactivate the account")
    pw = sub.add_parser("passwd", help="set an account's password (read like add's)")
    pw.add_argument("name")
    pw.add_argument("--one-time", action="store_true",
                    help="the password must be changed at the next sign-in")
    remove = sub.add_parser("remove", help="delete an account (its audit rows stay)")
    remove.add_argument("name")
    return top


class Refused(Exception):
    """A request that cannot be carried out, said in one line."""


def _password(name: str) -> str:
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass(f"Password for {name}: ")
    if getpass.getpass("The same again: ") != first:
        raise Refused("the two passwords differ; nothing changed")
    return first


def _good_password(name: str, user=None) -> str:
    from django.contrib.auth import get_user_model
    from .accounts import password_problems
    password = _password(name)
    problems = password_problems(password, user or get_user_model()(username=name))
    if problems:
        raise Refused("the password: " + " ".join(problems) + " Nothing changed.")
    return password


def _clinics(role: str, clinics: list[str]) -> list[str]:
    from . import pipeline
    from .models import CLINIC_ROLES
    known = pipeline.clinic_ids()
    unknown = [c for c in clinics if c not in known]
    if unknown:
        raise Refused(f"--clinic: no clinic '{unknown[0]}' under content/clinics/ (there are: {', '.join(known)})")
    if role in CLINIC_ROLES and not clinics:
        raise Refused(f"--clinic: a {role} account needs at least one clinic")
    return list(dict.fromkeys(clinics))


def _operator() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (OSError, KeyError):
        return "cli"


def main(argv: list[str]) -> int:
    from .setup import django_ready, migrate
    django_ready()
    args = parser().parse_args(argv)
    migrate()
    # The audit rows go to the database; the terminal gets this command's own one-line answer.
    logging.getLogger("handouts.audit").setLevel(logging.WARNING)
    try:
        print(_run(args))
    except Refused as exc:
        print(f"build.py users: {exc}", file=sys.stderr)
        return 2
    return 0


def _run(args: argparse.Namespace) -> str:
    from django.contrib.auth import get_user_model
    from . import accounts
    User = get_user_model()
    by = _operator()

    if args.action == "list":
        rows = []
        for user in User.objects.order_by("username"):
            state = "active" if user.is_active else "inactive"
            rows.append(f"{user.username}\t{accounts.role_of(user)}\t{','.join(accounts.clinics_of(user)) or '-'}"
                        f"\t{state}")
        return "\n".join(rows) if rows else "no accounts yet"
    if args.action == "add":
        problems = accounts.name_problems(args.name)
        if problems:
            raise Refused(f"{args.name!r}: {' '.join(problems)}")
        clinics = _clinics(args.role, args.clinic)
        password = _good_password(args.name)
        accounts.create(args.name, args.role, clinics, password, must_change=args.one_time, by=by)
        return f"added {args.name} ({args.role}{': ' + ','.join(clinics) if clinics else ''})"
    user = User.objects.filter(username=args.name).first()
    if user is None:
        raise Refused(f"no account named '{args.name}' (build.py users list shows them)")
    if args.action == "remove":
        accounts.remove(user, by=by)
        return f"removed {args.name}"
    if args.action == "passwd":
        password = _good_password(args.name, user)
        accounts.set_password(user, password, must_change=args.one_time, by=by, event="password-set")
        return f"password set for {args.name}"
    # set
    role = args.role or accounts.role_of(user)
    from .models import ROLES
    if role not in dict(ROLES):
        raise Refused(f"{args.name} has no role yet: give one with --role")
    clinics = _clinics(role, args.clinic if args.clinic is not None else accounts.clinics_of(user))
    accounts.change(user, role, clinics, by=by)
    if args.active is not None and user.is_active != (args.active == "yes"):
        accounts.set_active(user, args.active == "yes", by=by)
    return f"{args.name}: {role} {','.join(clinics) or '-'} {'active' if user.is_active else 'inactive'}"
