"""Accounts' roles and clinics, and the audit log. Patient details have no place here."""

from __future__ import annotations

from django.conf import settings
from django.db import models

STAFF, REVIEWER, CLINIC_ADMIN, PRINT_SHOP, ADMIN = "staff", "reviewer", "clinic-admin", "print-shop", "admin"
ROLES = [
    (STAFF, "Clinic staff"),
    (REVIEWER, "Clinical reviewer"),
    (CLINIC_ADMIN, "Clinic administrator"),
    (PRINT_SHOP, "Print shop"),
    (ADMIN, "Global administrator"),
]
# Roles whose work is tied to named clinics; a reviewer and a global administrator see every clinic.
CLINIC_ROLES = {STAFF, CLINIC_ADMIN, PRINT_SHOP}


class Account(models.Model):
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="account")
    role = models.CharField(max_length=20, choices=ROLES, default=STAFF)
    must_change_password = models.BooleanField(default=False)

    def __str__(self) -> str:
        return f"{self.user.username} ({self.get_role_display()})"


class ClinicAccess(models.Model):
    """One clinic an account works for (its folder name under content/clinics/)."""
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="clinics")
    clinic = models.CharField(max_length=100)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["account", "clinic"], name="one_access_per_clinic")]
        ordering = ["clinic"]

    def __str__(self) -> str:
        return self.clinic


class AuditEvent(models.Model):
    """Who did what and when. Never a patient's details, a form's body or a file name made from them."""
    at = models.DateTimeField(auto_now_add=True, db_index=True)
    user = models.CharField(max_length=150)           # the username, kept when the account is deleted
    event = models.CharField(max_length=40)
    clinic = models.CharField(max_length=100, blank=True)
    document = models.CharField(max_length=200, blank=True)   # the catalogue's path of the document
    version = models.CharField(max_length=20, blank=True)
    language = models.CharField(max_length=20, blank=True)
    variant = models.CharField(max_length=20, blank=True)
    detail = models.CharField(max_length=200, blank=True)     # sizes, durations, the account changed

    class Meta:
        ordering = ["-at"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.user} {self.event} {self.document}"
