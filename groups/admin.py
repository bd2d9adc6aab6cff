from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest

from . import services
from .models import AuditEvent, Ban, Group, Invitation, Membership, StaffReport


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    fields = ["display_name", "user", "role", "status", "joined_at"]
    raw_id_fields = ["user"]


@admin.register(Group)
class GroupAdmin(admin.ModelAdmin):
    ordering = ["name"]  # a stable order for the list and for autocomplete (its pagination)
    list_display = [
        "name",
        "slug",
        "is_listed",
        "join_policy",
        "archived_at",
        "suspended_at",
        "created_at",
    ]
    list_filter = ["is_listed", "join_policy", ("suspended_at", admin.EmptyFieldListFilter)]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    raw_id_fields = ["created_by"]
    # Suspension changes only through the actions (each writes an audit entry).
    readonly_fields = ["suspended_at"]
    inlines = [MembershipInline]
    actions = ["suspend_groups", "lift_group_suspensions"]

    @admin.action(description="Suspend the selected groups (read-only and hidden)")
    def suspend_groups(self, request: HttpRequest, queryset: QuerySet[Group]) -> None:
        for group in queryset:
            services.group_suspend(group=group, by=request.user)
        self.message_user(request, f"Suspended {len(queryset)} group(s).")

    @admin.action(description="Lift the suspension of the selected groups")
    def lift_group_suspensions(self, request: HttpRequest, queryset: QuerySet[Group]) -> None:
        for group in queryset:
            services.group_unsuspend(group=group, by=request.user)
        self.message_user(request, f"Lifted the suspension of {len(queryset)} group(s).")


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


class StaffReportStatusFilter(admin.SimpleListFilter):
    """Open reports unless asked otherwise: the queue is what still needs someone."""

    title = "status"
    parameter_name = "status"
    ALL = "all"

    def lookups(self, request, model_admin):
        return [*StaffReport.Status.choices, (self.ALL, "All")]

    def choices(self, changelist):
        current = self.value() or StaffReport.Status.OPEN
        for value, label in self.lookup_choices:
            yield {
                "selected": current == value,
                "query_string": changelist.get_query_string({self.parameter_name: value}),
                "display": label,
            }

    def queryset(self, request, queryset):
        value = self.value() or StaffReport.Status.OPEN
        return queryset if value == self.ALL else queryset.filter(status=value)


@admin.register(StaffReport)
class StaffReportAdmin(admin.ModelAdmin):
    """The staff queue: members' reports about a group, its moderators or its owners.

    Read only; staff act through the actions, which go through groups/services/staff.py
    and write the audit entries.
    """

    list_display = ["created_at", "group", "about", "reason", "status", "handled_at"]
    list_filter = [StaffReportStatusFilter, "reason"]
    list_select_related = ["group", "target_membership"]
    search_fields = ["group__name", "group__slug"]
    fields = [
        "created_at",
        "group",
        "target_membership",
        "reason",
        "note",
        "reporter",
        "status",
        "handled_at",
        "handled_by",
    ]
    readonly_fields = fields
    actions = [
        "suspend_group",
        "suspend_user",
        "dismiss",
        "lift_group_suspension",
        "lift_user_suspension",
    ]

    @admin.display(description="about")
    def about(self, report: StaffReport) -> str:
        m = report.target_membership
        if m is None:
            return "The whole group"
        return f"{m.display_name} ({m.get_role_display().lower()}, member #{m.pk})"

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def _each(self, request, queryset, act, done: str) -> None:
        count = 0
        for report in queryset.select_related("group", "target_membership__user"):
            try:
                if act(report) is not False:
                    count += 1
            except (PermissionDenied, ValidationError) as exc:
                self.message_user(request, f"Report #{report.pk}: {exc}", messages.ERROR)
        if count:
            self.message_user(request, done.format(count=count))

    def _each_person(self, request, queryset, act, done: str) -> None:
        """``_each`` on the person each report names: ``act(report, user)``."""

        def on_person(report):
            if report.target_membership is None:
                self.message_user(
                    request,
                    f"Report #{report.pk} is about the whole group: there is no one to act on.",
                    messages.WARNING,
                )
                return False
            act(report, report.target_membership.user)

        self._each(request, queryset, on_person, done)

    @admin.action(description="Suspend the group (read-only and hidden)")
    def suspend_group(self, request, queryset) -> None:
        self._each(
            request,
            queryset,
            lambda r: services.group_suspend(group=r.group, by=request.user, report=r),
            "Suspended the group of {count} report(s).",
        )

    @admin.action(description="Suspend the reported person (site-wide: can read, can't post)")
    def suspend_user(self, request, queryset) -> None:
        self._each_person(
            request,
            queryset,
            lambda r, user: services.user_suspend(
                user=user, by=request.user, membership=r.target_membership, report=r
            ),
            "Suspended the person named in {count} report(s).",
        )

    @admin.action(description="Dismiss (nothing to act on)")
    def dismiss(self, request, queryset) -> None:
        self._each(
            request,
            queryset,
            lambda r: services.staff_report_dismiss(report=r, by=request.user),
            "Dismissed {count} report(s).",
        )

    @admin.action(description="Lift the group's suspension")
    def lift_group_suspension(self, request, queryset) -> None:
        self._each(
            request,
            queryset,
            lambda r: services.group_unsuspend(group=r.group, by=request.user),
            "Lifted the group suspension of {count} report(s).",
        )

    @admin.action(description="Lift the reported person's suspension")
    def lift_user_suspension(self, request, queryset) -> None:
        self._each_person(
            request,
            queryset,
            lambda r, user: services.user_unsuspend(
                user=user, by=request.user, membership=r.target_membership
            ),
            "Lifted the suspension in {count} report(s).",
        )
