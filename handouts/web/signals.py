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


UNKNOWN = "(unknown name)"


@receiver(user_login_failed)
def _failed(sender, credentials, request=None, **kwargs) -> None:
    """The name tried, when it is an account's; any other text could be a password typed into the wrong field,
    and is not kept (CWE-532)."""
    from django.contrib.auth import get_user_model
    tried = credentials.get("username") or ""
    known = tried and get_user_model().objects.filter(username=tried).exists()
    audit.record(tried if known else UNKNOWN, "login-failed")
