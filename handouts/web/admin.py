"""The Django admin (/admin/, global administrators only): accounts with their role and clinics on the user's own
page, and the audit log read-only. The role decides the admin flags: a global administrator is staff and
superuser in Django's terms, every other role neither."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin

from . import accounts
from .models import ADMIN, Account, AuditEvent, ClinicAccess

admin.site.site_header = "Handouts administration"
admin.site.site_title = "Handouts"
admin.site.index_title = "Accounts and audit log"

User = get_user_model()


class AccountInline(admin.StackedInline):
    model = Account
    can_delete = False
    verbose_name = verbose_name_plural = "role in the staff app"
    fields = ("role", "must_change_password")


class ClinicAccessInline(admin.TabularInline):
    model = ClinicAccess
    extra = 1
    verbose_name = "clinic"
    verbose_name_plural = "Clinics (folder names under content/clinics/)"


def _sync_flags(user) -> None:
    """is_staff and is_superuser follow the account's role."""
    try:
        is_admin = user.account.role == ADMIN
    except Account.DoesNotExist:
        return
    if (user.is_staff, user.is_superuser) != (is_admin, is_admin):
        user.is_staff = user.is_superuser = is_admin
        user.save(update_fields=["is_staff", "is_superuser"])


class Audited:
    """Changes made here reach the app's audit log too (Django's own history keeps them as well): the account's
    name and the fields changed, never a value."""

    def account_of(self, obj):
        return obj

    def _audit(self, request, event: str, obj, message=None) -> None:
        user = self.account_of(obj)
        fields = sorted({f for part in message or [] if isinstance(part, dict)
                         for entry in part.values() if isinstance(entry, dict) for f in entry.get("fields", [])})
        detail = f" via admin site{': ' + ', '.join(fields).lower() if fields else ''}"
        accounts.record(request.user, event, user.username, accounts.clinics_of(user), detail[:150])

    def log_addition(self, request, obj, message):
        self._audit(request, "user-added" if obj is self.account_of(obj) else "user-changed", obj, message)
        return super().log_addition(request, obj, message)

    def log_change(self, request, obj, message):
        self._audit(request, "user-changed", obj, message)
        return super().log_change(request, obj, message)

    def log_deletions(self, request, queryset):
        for obj in queryset:
            self._audit(request, "user-removed" if obj is self.account_of(obj) else "user-changed", obj)
        return super().log_deletions(request, queryset)


admin.site.unregister(User)


@admin.register(User)
class HandoutsUserAdmin(Audited, UserAdmin):
    inlines = [AccountInline]
    list_display = ("username", "role", "clinics", "is_active", "last_login")
    list_filter = ("account__role", "is_active")
    list_select_related = ("account",)
    # The role (on this page, below) is the one switch for administrator rights.
    fieldsets = (
        (None, {"fields": ("username", "password")}),
        ("Person", {"fields": ("first_name", "last_name", "email")}),
        ("Signing in", {"fields": ("is_active", "last_login", "date_joined")}),
    )
    readonly_fields = ("last_login", "date_joined")

    @admin.display(description="role", ordering="account__role")
    def role(self, user) -> str:
        try:
            return user.account.get_role_display()
        except Account.DoesNotExist:
            return "Global administrator" if user.is_superuser else "-"

    @admin.display(description="clinics")
    def clinics(self, user) -> str:
        try:
            return ", ".join(user.account.clinics.values_list("clinic", flat=True)) or "-"
        except Account.DoesNotExist:
            return "-"

    def save_related(self, request, form, formsets, change) -> None:
        super().save_related(request, form, formsets, change)
        _sync_flags(form.instance)


@admin.register(Account)
class AccountAdmin(Audited, admin.ModelAdmin):
    list_display = ("user", "role", "must_change_password")
    list_filter = ("role", "must_change_password")
    search_fields = ("user__username",)
    inlines = [ClinicAccessInline]
    autocomplete_fields = ("user",)

    def account_of(self, obj):
        return obj.user

    def save_model(self, request, obj, form, change) -> None:
        super().save_model(request, obj, form, change)
        _sync_flags(obj.user)


@admin.register(ClinicAccess)
class ClinicAccessAdmin(Audited, admin.ModelAdmin):
    list_display = ("account", "clinic")
    list_filter = ("clinic",)
    search_fields = ("account__user__username", "clinic")
    autocomplete_fields = ("account",)

    def account_of(self, obj):
        return obj.account.user


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """Read-only: an audit log that an administrator could edit would prove nothing."""
    list_display = ("at", "user", "event", "clinic", "document", "version", "language", "variant", "detail")
    list_filter = ("event", "clinic")
    search_fields = ("user", "event", "document", "detail")
    date_hierarchy = "at"

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
