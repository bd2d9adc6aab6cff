from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.core.exceptions import ValidationError

from .models import User


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    ordering = ["email"]
    list_display = ["email", "display_name", "is_staff", "is_active", "suspended_at", "date_joined"]
    list_filter = [*BaseUserAdmin.list_filter, ("suspended_at", admin.EmptyFieldListFilter)]
    # Set and lifted from the staff report queue (groups admin), which writes the audit entries.
    readonly_fields = ["suspended_at", "sensitive_data_consent_at", "age_confirmed_at"]
    search_fields = ["email", "display_name"]
    actions = ["erase_accounts"]

    # The admin's own delete would cascade past everything erasure promises (bans keep a
    # hash, audit entries a label, sockets close, owners hand over first): staff erase an
    # account the way the member would, through the same service.
    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.action(description="Erase the selected accounts (as “Delete my account” does)")
    def erase_accounts(self, request, queryset) -> None:
        from journeys.services.data_rights import account_erase

        for user in queryset:
            pk = user.pk  # gone from the instance once the row is deleted
            try:
                account_erase(user=user, keep_posts=False)
            except ValidationError as exc:
                self.message_user(request, f"#{pk}: {' '.join(exc.messages)}", messages.ERROR)
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
