from django.contrib import admin

from .models import AuditEvent, Ban, Group, Invitation, Membership


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    fields = ["display_name", "user", "role", "status", "joined_at"]
    raw_id_fields = ["user"]


@admin.register(Group)
class GroupAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "is_listed", "join_policy", "archived_at", "created_at"]
    list_filter = ["is_listed", "join_policy"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    raw_id_fields = ["created_by"]
    inlines = [MembershipInline]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["display_name", "group", "role", "status", "joined_at"]
    list_filter = ["role", "status"]
    search_fields = ["display_name", "group__name", "user__email"]
    list_select_related = ["group"]
    raw_id_fields = ["user", "group"]


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    list_display = [
        "group",
        "email",
        "created_at",
        "expires_at",
        "use_count",
        "max_uses",
        "revoked_at",
    ]
    raw_id_fields = ["group", "created_by"]


@admin.register(Ban)
class BanAdmin(admin.ModelAdmin):
    list_display = ["group", "email_hash", "created_at"]
    raw_id_fields = ["group", "user", "created_by"]


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """Read only: an entry is a record of what happened, and its labels were fixed when written."""

    list_display = ["created_at", "group", "actor_label", "action", "target_label", "reason"]
    list_filter = ["action"]
    list_select_related = ["group"]
    search_fields = ["group__name", "actor_label", "target_label"]
    fields = [
        "created_at",
        "group",
        "action",
        "actor",
        "actor_label",
        "target_type",
        "target_id",
        "target_label",
        "reason",
        "data",
    ]
    readonly_fields = fields

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
