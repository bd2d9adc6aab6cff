from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

from .forms import StaffSetPasswordForm
from .models import User
from .permissions import allow_erase_account, can_erase_accounts


def site_password_change(request: HttpRequest, extra_context=None) -> HttpResponse:
    """The admin's own "Change password" link: allauth's page, the one that ends the
    person's other sessions and closes their sockets (wired in supportgroup/urls.py)."""
    return redirect("account_change_password")


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    ordering = ["email"]
    list_display = ["email", "display_name", "is_staff", "is_active", "suspended_at", "date_joined"]
    list_filter = [*BaseUserAdmin.list_filter, ("suspended_at", admin.EmptyFieldListFilter)]
    # Set and lifted from the staff report queue (groups admin), which writes the audit entries.
    readonly_fields = ["suspended_at", "sensitive_data_consent_at", "age_confirmed_at"]
    search_fields = ["email", "display_name"]
    actions = ["erase_accounts"]
    # Setting someone's password here ends all their sessions and closes their sockets.
    change_password_form = StaffSetPasswordForm

    # The admin's own delete would cascade past everything erasure promises (bans keep a
    # hash, audit entries a label, sockets close, owners hand over first): staff erase an
    # account the way the member would, through the same service.
    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    # Anyone who can open the user list sees the actions it offers: erasing is for
    # superusers only (Django leaves out the action for everyone else).
    def has_erase_permission(self, request) -> bool:
        return can_erase_accounts(request.user)

    @admin.action(
        description="Erase the selected accounts (as “Delete my account” does)",
        permissions=["erase"],
    )
    def erase_accounts(self, request, queryset) -> None:
        from journeys.services.data_rights import account_erase

        for user in queryset:
            pk = user.pk  # gone from the instance once the row is deleted
            try:
                allow_erase_account(request.user, user)
                account_erase(user=user, keep_posts=False)
            except (PermissionDenied, ValidationError) as exc:
                self.message_user(request, f"#{pk}: {' '.join(_messages(exc))}", messages.ERROR)
            else:
                self.message_user(request, f"Account #{pk} erased.", messages.SUCCESS)

    fieldsets = (
        (None, {"fields": ("email", "password")}),
        (
            "Profile",
            {
                "fields": (
                    "display_name",
                    "time_zone",
                    "sensitive_data_consent_at",
                    "age_confirmed_at",
                )
            },
        ),
        (
            "Permissions",
            {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")},
        ),
        ("Dates", {"fields": ("last_login", "date_joined", "suspended_at")}),
    )
    add_fieldsets = (
        (
            None,
            {"classes": ("wide",), "fields": ("email", "display_name", "password1", "password2")},
        ),
    )


def _messages(exc: PermissionDenied | ValidationError) -> list[str]:
    return exc.messages if isinstance(exc, ValidationError) else [str(exc)]
