"""Sign-ins, sign-outs and refused sign-ins on the audit log (the username tried, never the password)."""

from __future__ import annotations

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from . import audit


@receiver(user_logged_in)
def _in(sender, request, user, **kwargs) -> None:
    audit.record(user, "login")


@receiver(user_logged_out)
def _out(sender, request, user, **kwargs) -> None:
    if user is not None:
        audit.record(user, "logout")


@receiver(user_login_failed)
def _failed(sender, credentials, request=None, **kwargs) -> None:
    audit.record(credentials.get("username") or "anonymous", "login-failed")
