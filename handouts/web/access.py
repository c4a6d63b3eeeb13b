"""Who may see what: roles, the clinics of an account, and the checks every view makes."""

from __future__ import annotations

from functools import wraps
from typing import Callable

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse

from .models import ADMIN, CLINIC_ADMIN, CLINIC_ROLES, PRINT_SHOP, REVIEWER, ROLES, STAFF, Account


def account(user) -> Account | None:
    if not user.is_authenticated:
        return None
    try:
        return user.account
    except Account.DoesNotExist:
        return None


def role(user) -> str | None:
    if user.is_authenticated and user.is_superuser:
        return ADMIN
    found = account(user)
    return found.role if found else None


def clinics_for(user, all_clinics: list[str]) -> list[str]:
    """The clinics whose documents `user` may see, in catalogue order."""
    found = role(user)
    if found in (ADMIN, REVIEWER):
        return list(all_clinics)
    if found in CLINIC_ROLES:
        mine = set(account(user).clinics.values_list("clinic", flat=True))
        return [c for c in all_clinics if c in mine]
    return []


def may_see_clinic(user, clinic: str, all_clinics: list[str]) -> bool:
    return clinic in clinics_for(user, all_clinics)


def require(*roles: str) -> Callable:
    """The view needs a signed-in user of one of `roles`; anyone else gets 404 (a page they may not use does not
    exist for them), and no one signed in is sent to the login page."""
    def decorate(view: Callable) -> Callable:
        @wraps(view)
        def checked(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            if not request.user.is_authenticated:
                from django.contrib.auth.views import redirect_to_login
                return redirect_to_login(request.get_full_path())
            if role(request.user) not in roles:
                raise Http404()
            return view(request, *args, **kwargs)
        return checked
    return decorate


LIBRARY_ROLES = (STAFF, REVIEWER, CLINIC_ADMIN, PRINT_SHOP, ADMIN)
PERSONALISE_ROLES = (STAFF, CLINIC_ADMIN, ADMIN)


class PasswordChangeRequired:
    """An account with a one-time password (the first administrator, a reset) must choose its own before
    anything else."""

    def __init__(self, get_response: Callable):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        found = account(request.user)
        if found and found.must_change_password and request.path not in _allowed_while_changing():
            return redirect("password_change")
        return self.get_response(request)


def _allowed_while_changing() -> set[str]:
    return {reverse("password_change"), reverse("logout")}


def navigation(request: HttpRequest) -> dict:
    """The links of the header, by role."""
    if not request.user.is_authenticated:
        return {"nav": []}
    mine = role(request.user)
    links = [("library", "Documents", LIBRARY_ROLES), ("review", "Review", (REVIEWER, ADMIN)),
             ("deliveries", "Deliveries", (PRINT_SHOP, ADMIN)), ("users", "Users", (CLINIC_ADMIN, ADMIN)),
             ("audit", "Audit log", (CLINIC_ADMIN, ADMIN))]
    return {"nav": [{"url": reverse(name), "label": label, "current": request.resolver_match is not None
                     and request.resolver_match.url_name == name}
                    for name, label, roles in links if mine in roles],
            "user_role": dict(ROLES).get(mine, "")}
