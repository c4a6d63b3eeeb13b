"""A clinic's accounts in the browser, and the audit log.

A global administrator manages every account. A clinic administrator manages the staff and clinic
administrators of their own clinics only: accounts that also work for another clinic, print shops, reviewers and
global administrators are shown read-only or not at all, and an account they may not see answers 404. Nobody
changes their own account here (their password has its own page), so nobody locks themselves out."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.paginator import Paginator
from django.db.models import Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from .. import accounts, pipeline
from ..access import clinics_for, require, role
from ..models import ADMIN, CLINIC_ADMIN, CLINIC_ROLES, ROLES, STAFF, AuditEvent, ClinicAccess

ROLE_HELP = {
    "staff": "Finds, prints and personalises the documents of their clinics.",
    "reviewer": "Sees every clinic's documents and the review report.",
    "clinic-admin": "Everything staff do, and manages the accounts of their clinics.",
    "print-shop": "Downloads the print deliveries of the clinics it serves.",
    "admin": "Everything, for every clinic, including every account.",
}
AUDIT_PAGE = 50


# --- who may manage whom -----------------------------------------------------------------------------------------

@dataclass
class Scope:
    """What the signed-in administrator may see and change."""
    request: HttpRequest

    @property
    def me(self):
        return self.request.user

    @cached_property
    def is_admin(self) -> bool:
        return role(self.me) == ADMIN

    @cached_property
    def clinic_names(self) -> dict[str, str]:
        """Every clinic of the content, id -> name."""
        library, _ = pipeline.loaded()
        return {cid: library.clinics[cid].clinic.name for cid in sorted(library.clinics)}

    @cached_property
    def clinics(self) -> list[str]:
        """The clinics this administrator manages."""
        return clinics_for(self.me, list(self.clinic_names))

    @property
    def clinic_list(self) -> str:
        """This administrator's clinics by name, as a phrase: 'A', 'A and B', 'A, B and C'."""
        names = [self.clinic_names[c] for c in self.clinics]
        return " and ".join([", ".join(names[:-1]), names[-1]]) if len(names) > 1 else "".join(names)

    @property
    def roles(self) -> list[tuple[str, str]]:
        """The roles this administrator may give."""
        return list(ROLES) if self.is_admin else [r for r in ROLES if r[0] in (STAFF, CLINIC_ADMIN)]

    def accounts(self) -> QuerySet:
        """The accounts this administrator may see."""
        users = get_user_model().objects.select_related("account").prefetch_related("account__clinics")
        if self.is_admin:
            return users.order_by("username")
        return (users.filter(account__clinics__clinic__in=self.clinics, is_superuser=False)
                .exclude(account__role=ADMIN).distinct().order_by("username"))

    def account(self, pk: int):
        found = self.accounts().filter(pk=pk).first()
        if found is None:
            raise Http404()
        return found

    def why_not(self, user) -> str:
        """Why this administrator may not change `user` here ('' when they may)."""
        if user.pk == self.me.pk:
            return "This is your own account: change your password on the password page."
        if self.is_admin:
            return ""
        if role(user) not in (STAFF, CLINIC_ADMIN):
            return "Only a global administrator changes this kind of account."
        if set(accounts.clinics_of(user)) - set(self.clinics):
            return "This account also works for another clinic: a global administrator changes it."
        return ""

    def manageable(self, pk: int):
        """The account `pk` if this administrator may change it; 404 otherwise."""
        user = self.account(pk)
        if self.why_not(user):
            raise Http404()
        return user

    def shown_clinics(self, user) -> tuple[list[str], bool]:
        """The account's clinics this administrator may see (names), and whether it has others."""
        theirs = accounts.clinics_of(user)
        if self.is_admin:
            return [self.clinic_names.get(c, c) for c in theirs], False
        mine = [self.clinic_names.get(c, c) for c in theirs if c in self.clinics]
        return mine, len(mine) < len(theirs)


# --- forms -------------------------------------------------------------------------------------------------------

class _Described(forms.Form):
    """Field errors are announced with their field: the input points at its error message."""

    def add_error(self, field, error) -> None:
        super().add_error(field, error)
        names = [field] if field else []
        if isinstance(error, dict):
            names = list(error)
        for name in names:
            if name in self.fields:
                widget = self.fields[name].widget
                widget.attrs["aria-describedby"] = f"id_{name}-error"
                widget.attrs["aria-invalid"] = "true"


class AccessForm(_Described):
    role = forms.ChoiceField(label="Role", widget=forms.RadioSelect)
    clinics = forms.MultipleChoiceField(label="Clinics", required=False, widget=forms.CheckboxSelectMultiple,
                                        help_text="Staff, clinic administrators and print shops work for the "
                                                  "clinics ticked here. Reviewers and global administrators see "
                                                  "every clinic.")

    def __init__(self, scope: Scope, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.scope = scope
        self.fields["role"].choices = scope.roles
        self.fields["clinics"].choices = [(c, scope.clinic_names[c]) for c in scope.clinics]
        if not scope.is_admin and len(scope.clinics) == 1:
            self.fields["clinics"].initial = scope.clinics

    def role_choices(self):
        """The role radios with a line on what each role does."""
        return [(radio, ROLE_HELP.get(radio.data["value"], "")) for radio in self["role"]]

    def clean(self) -> dict:
        data = super().clean()
        if data.get("role") in CLINIC_ROLES and not data.get("clinics"):
            self.add_error("clinics", "Tick at least one clinic for this role.")
        elif data.get("role") and data["role"] not in CLINIC_ROLES:
            data["clinics"] = []
        return data


class NewAccountForm(AccessForm):
    username = forms.CharField(label="Username", max_length=150,
                               help_text="Letters, digits and @ . + - _ only; the person signs in with it.",
                               widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "none",
                                                             "spellcheck": "false"}))
    field_order = ["username", "role", "clinics"]

    def clean_username(self) -> str:
        name = self.cleaned_data["username"].strip()
        problems = accounts.name_problems(name)
        if problems:
            raise forms.ValidationError(problems)
        return name


# --- pages -------------------------------------------------------------------------------------------------------

@require(CLINIC_ADMIN, ADMIN)
def page(request: HttpRequest) -> HttpResponse:
    scope = Scope(request)
    rows = []
    for user in scope.accounts():
        shown, others = scope.shown_clinics(user)
        account = getattr(user, "account", None)
        rows.append({"user": user, "role": dict(ROLES).get(role(user), "No role"), "clinics": shown,
                     "others": others, "one_time": bool(account and account.must_change_password),
                     "me": user.pk == request.user.pk})
    return render(request, "web/users.html", {"rows": rows, "scope": scope})


@require(CLINIC_ADMIN, ADMIN)
@never_cache
def add(request: HttpRequest) -> HttpResponse:
    scope = Scope(request)
    form = NewAccountForm(scope, request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        password = accounts.one_time_password()
        user = accounts.create(data["username"], data["role"], data["clinics"], password, must_change=True,
                               by=request.user)
        return _one_time(request, user, password, added=True)
    return render(request, "web/user_add.html", {"form": form, "scope": scope})


@require(CLINIC_ADMIN, ADMIN)
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    scope = Scope(request)
    user = scope.account(pk)
    why_not = scope.why_not(user)
    form = None
    if not why_not:
        current = {"role": role(user), "clinics": accounts.clinics_of(user)}
        form = AccessForm(scope, request.POST or None, initial=current)
        if request.method == "POST" and form.is_valid():
            changed = accounts.change(user, form.cleaned_data["role"], form.cleaned_data["clinics"],
                                      by=request.user)
            messages.success(request, f"Saved {user.username}'s role and clinics." if changed
                             else f"Nothing to save: {user.username}'s role and clinics are as they were.")
            return redirect("users")
    elif request.method == "POST":
        raise Http404()
    shown, others = scope.shown_clinics(user)
    account = getattr(user, "account", None)
    return render(request, "web/user.html", {
        "form": form, "target": user, "why_not": why_not, "scope": scope, "clinics": shown, "others": others,
        "role_name": dict(ROLES).get(role(user), "No role"),
        "one_time": bool(account and account.must_change_password)})


@require(CLINIC_ADMIN, ADMIN)
@require_POST
@never_cache
def reset_password(request: HttpRequest, pk: int) -> HttpResponse:
    user = Scope(request).manageable(pk)
    password = accounts.one_time_password()
    accounts.set_password(user, password, must_change=True, by=request.user, event="password-reset")
    return _one_time(request, user, password, added=False)


@require(CLINIC_ADMIN, ADMIN)
@require_POST
def set_active(request: HttpRequest, pk: int) -> HttpResponse:
    user = Scope(request).manageable(pk)
    active = request.POST.get("active") == "yes"
    if user.is_active != active:
        accounts.set_active(user, active, by=request.user)
    messages.success(request, f"{user.username} can sign in again." if active
                     else f"{user.username} can no longer sign in.")
    return redirect("user", pk=user.pk)


def _one_time(request: HttpRequest, user, password: str, added: bool) -> HttpResponse:
    """The one-time password, shown in this response only (it is in no URL, session or log); the account must
    choose its own at the first sign-in."""
    response = render(request, "web/user_password.html", {"target": user, "password": password, "added": added})
    response["Cache-Control"] = "no-store"
    return response


# --- the audit log -----------------------------------------------------------------------------------------------

class AuditFilter(forms.Form):
    event = forms.ChoiceField(label="Event", required=False)
    user = forms.CharField(label="User", required=False, max_length=150,
                           widget=forms.TextInput(attrs={"type": "search", "autocomplete": "off"}))

    def __init__(self, events: list[str], *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["event"].choices = [("", "All events")] + [(e, e) for e in events]


def audit_rows(scope: Scope) -> QuerySet:
    """The audit rows this administrator may read: all for a global administrator; for a clinic administrator
    the rows of their clinics, and the clinic-free rows (signing in and out, passwords) of their clinics' users."""
    rows = AuditEvent.objects.all()
    if scope.is_admin:
        return rows
    if not scope.clinics:
        return rows.none()
    ours = Q()
    for clinic in scope.clinics:      # a row about accounts lists every clinic it touched: "a,b"
        ours |= (Q(clinic=clinic) | Q(clinic__startswith=f"{clinic},") | Q(clinic__endswith=f",{clinic}")
                 | Q(clinic__contains=f",{clinic},"))
    users = ClinicAccess.objects.filter(clinic__in=scope.clinics).values_list("account__user__username", flat=True)
    return rows.filter(ours | (Q(clinic="") & Q(user__in=list(users))))


@require(CLINIC_ADMIN, ADMIN)
def audit(request: HttpRequest) -> HttpResponse:
    scope = Scope(request)
    rows = audit_rows(scope)
    events = sorted(rows.order_by().values_list("event", flat=True).distinct())
    form = AuditFilter(events, request.GET or None)
    filters = {}
    if form.is_valid():
        if form.cleaned_data["event"]:
            rows = rows.filter(event=form.cleaned_data["event"])
            filters["event"] = form.cleaned_data["event"]
        if form.cleaned_data["user"].strip():
            rows = rows.filter(user__icontains=form.cleaned_data["user"].strip())
            filters["user"] = form.cleaned_data["user"].strip()
    page_obj = Paginator(rows.order_by("-at", "-pk"), AUDIT_PAGE).get_page(request.GET.get("page"))
    return render(request, "web/audit.html", {
        "form": form, "page": page_obj, "filters": filters, "query": urlencode(filters),
        "scope": scope, "filtered": bool(filters), "audit_url": reverse("audit")})
