"""Signing in and out, choosing a new password, and the not-found page."""

from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse, HttpResponseNotFound
from django.template import loader
from django.urls import reverse_lazy

from .. import audit
from ..access import account


class LoginView(auth_views.LoginView):
    template_name = "web/login.html"
    redirect_authenticated_user = True


class PasswordChangeView(auth_views.PasswordChangeView):
    template_name = "web/password.html"
    success_url = reverse_lazy("library")

    def form_valid(self, form):
        response = super().form_valid(form)
        found = account(self.request.user)
        if found and found.must_change_password:
            found.must_change_password = False
            found.save(update_fields=["must_change_password"])
        audit.record(self.request.user, "password-changed")
        return response


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return HttpResponseNotFound(loader.render_to_string("web/404.html", request=request))
