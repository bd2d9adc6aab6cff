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
    list_display = ["created_at", "group", "actor", "action", "target"]
    list_filter = ["action"]
    raw_id_fields = ["group", "actor", "target"]
