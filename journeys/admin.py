"""Reflections, replies, reports, moderators' notes and posting pauses in the admin.

Site staff look here to review what members reported to them; they are not the audience
of what members write, so:

- a "just me" entry (and a reply under one) is never shown: lists and pages show a
  placeholder instead of its body, prompt and content note, and the search never matches
  inside it (a search that finds a word is a way of reading it);
- what the group as a whole can't see (moderators-only posts and replies under them,
  hidden posts, a report's note, a moderator's note to an author) is not shown in the
  lists, and opening it writes an entry in the group's audit log, which its moderators
  see (``AuditAction.STAFF_READ_RESTRICTED``);
- what is shared with the group is readable, and searchable, as any member could read it.

Everything here is read-only and has no actions or exports: hiding, deleting and notes go
through the moderators' services, which audit and announce them.
"""

from __future__ import annotations

from django.contrib import admin
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils.text import Truncator, smart_split, unescape_string_literal

from groups.models import AuditAction
from groups.services.audit import audit_record

from .models import ModeratorNote, PostingSuspension, Reflection, Reply, Report, Visibility

PRIVATE = "A private journal entry: only its author can read it."
RESTRICTED = "Not shown in the list. Opening it is recorded in the group's log."
EXCERPT = 80


def _words(search_term: str) -> list[str]:
    """The admin's own split: words, or "quoted phrases"."""
    words = []
    for bit in smart_split(search_term):
        if bit.startswith(('"', "'")) and bit[0] == bit[-1]:
            bit = unescape_string_literal(bit)
        if bit:
            words.append(bit)
    return words


def _search(
    queryset: QuerySet, search_term: str, *, group: str, readable: Q, text: str = "body"
) -> QuerySet:
    """Every word in the group's name or slug (``group`` is the path to it), or in the
    ``text`` of rows matching ``readable``.

    Replaces the admin's own search, which would look inside every row's text alike.
    """
    for word in _words(search_term):
        queryset = queryset.filter(
            Q(**{f"{group}__name__icontains": word})
            | Q(**{f"{group}__slug__icontains": word})
            | (readable & Q(**{f"{text}__icontains": word}))
        )
    return queryset


class ReadOnlyAdmin(admin.ModelAdmin):
    actions = None  # no bulk delete, no exports

    # The change list's URL may filter on any field of the model (?body__icontains=…): a
    # way to read private text one guess at a time, unaudited. Only the offered filters.
    FILTER_LOOKUPS = {"exact", "isnull", "isempty", "in"}

    def lookup_allowed(self, lookup, value, request=None) -> bool:
        field, _, rest = lookup.partition("__")
        offered = {f if isinstance(f, str) else f[0] for f in self.list_filter}
        return field in offered and (not rest or rest in self.FILTER_LOOKUPS)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


class RecordsStaffReadingAdmin(ReadOnlyAdmin):
    """Opening a restricted item's page writes one audit entry in its group."""

    def restricted(self, obj) -> str:
        """Why the group as a whole can't see ``obj`` (an identifier), or "" when it can."""
        raise NotImplementedError

    def group_of(self, obj):
        return obj.group

    def change_view(self, request, object_id, form_url="", extra_context=None):
        response = super().change_view(request, object_id, form_url, extra_context)
        obj = getattr(response, "context_data", {}).get("original")
        if request.method == "GET" and response.status_code == 200 and obj is not None:
            because = self.restricted(obj)
            if because:
                audit_record(
                    group=self.group_of(obj),
                    actor=request.user,
                    action=AuditAction.STAFF_READ_RESTRICTED,
                    target=obj,
                    data={"because": because},
                )
        return response


def _reflection_restricted(reflection: Reflection) -> str:
    if reflection.visibility == Visibility.MODERATORS:
        return "moderators_only"
    if reflection.hidden_at is not None:
        return "hidden"
    return ""


@admin.register(Reflection)
class ReflectionAdmin(RecordsStaffReadingAdmin):
    list_display = ["__str__", "group", "theme", "visibility", "created_at", "hidden", "excerpt"]
    list_filter = ["visibility", ("hidden_at", admin.EmptyFieldListFilter)]
    list_select_related = ["group", "theme"]
    search_fields = ["group__name"]  # shows the search box; the search itself is below
    search_help_text = "Group names, and the words of posts shared with the whole group."
    fields = [
        "group",
        "theme",
        "author",
        "visibility",
        "is_anonymous",
        "witness_only",
        "created_at",
        "edited_at",
        "hidden_at",
        "hidden_by",
        "hidden_reason",
        "shown_prompt",
        "shown_content_note",
        "shown_body",
    ]
    readonly_fields = fields

    def restricted(self, obj: Reflection) -> str:
        return _reflection_restricted(obj)

    def get_search_results(self, request, queryset, search_term):
        shared = Q(visibility=Visibility.GROUP, hidden_at__isnull=True)
        return _search(queryset, search_term, group="group", readable=shared), False

    @admin.display(boolean=True, description="hidden")
    def hidden(self, obj: Reflection) -> bool:
        return obj.hidden_at is not None

    @admin.display(description="text")
    def excerpt(self, obj: Reflection) -> str:
        if obj.visibility == Visibility.PRIVATE:
            return PRIVATE
        if _reflection_restricted(obj):
            return RESTRICTED
        return Truncator(obj.body).chars(EXCERPT)

    @admin.display(description="prompt")
    def shown_prompt(self, obj: Reflection) -> str:
        return PRIVATE if obj.visibility == Visibility.PRIVATE else obj.prompt

    @admin.display(description="content note")
    def shown_content_note(self, obj: Reflection) -> str:
        return PRIVATE if obj.visibility == Visibility.PRIVATE else obj.content_note

    @admin.display(description="body")
    def shown_body(self, obj: Reflection) -> str:
        return PRIVATE if obj.visibility == Visibility.PRIVATE else obj.body


def _reply_restricted(reply: Reply) -> str:
    if reply.hidden_at is not None:
        return "hidden"
    return _reflection_restricted(reply.reflection)


@admin.register(Reply)
class ReplyAdmin(RecordsStaffReadingAdmin):
    """A reply is as private as the post it answers."""

    list_display = ["__str__", "reflection", "group", "created_at", "hidden", "excerpt"]
    list_filter = [("hidden_at", admin.EmptyFieldListFilter)]
    list_select_related = ["reflection__group"]
    search_fields = ["reflection__group__name"]
    search_help_text = "Group names, and the words of replies shared with the whole group."
    fields = [
        "reflection",
        "author",
        "created_at",
        "hidden_at",
        "hidden_by",
        "hidden_reason",
        "shown_body",
    ]
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("reflection__group")

    def restricted(self, obj: Reply) -> str:
        return _reply_restricted(obj)

    def group_of(self, obj: Reply):
        return obj.reflection.group

    def get_search_results(self, request, queryset, search_term):
        shared = Q(
            hidden_at__isnull=True,
            reflection__visibility=Visibility.GROUP,
            reflection__hidden_at__isnull=True,
        )
        return _search(queryset, search_term, group="reflection__group", readable=shared), False

    @admin.display(description="group")
    def group(self, obj: Reply):
        return obj.reflection.group

    @admin.display(boolean=True, description="hidden")
    def hidden(self, obj: Reply) -> bool:
        return obj.hidden_at is not None

    @admin.display(description="text")
    def excerpt(self, obj: Reply) -> str:
        if obj.reflection.visibility == Visibility.PRIVATE:
            return PRIVATE
        if _reply_restricted(obj):
            return RESTRICTED
        return Truncator(obj.body).chars(EXCERPT)

    @admin.display(description="body")
    def shown_body(self, obj: Reply) -> str:
        return PRIVATE if obj.reflection.visibility == Visibility.PRIVATE else obj.body


@admin.register(Report)
class ReportAdmin(RecordsStaffReadingAdmin):
    """Members' reports to their group's moderators. The reporter is not shown: moderators
    don't see who reported either, and what staff review is the post."""

    list_display = ["__str__", "group", "reason", "status", "created_at", "handled_at"]
    list_filter = ["status", "reason"]
    list_select_related = ["group"]
    search_fields = ["group__name", "group__slug"]
    fields = [
        "group",
        "reflection",
        "reply",
        "reason",
        "note",
        "status",
        "created_at",
        "handled_by",
        "handled_at",
        "escalated_at",
    ]
    readonly_fields = fields

    def restricted(self, obj: Report) -> str:
        return "report_note" if obj.note else ""


@admin.register(ModeratorNote)
class ModeratorNoteAdmin(RecordsStaffReadingAdmin):
    """A note from the moderators to one author: for the two of them, so opening it is audited."""

    list_display = ["__str__", "group", "recipient", "created_at"]
    list_select_related = ["group", "recipient"]
    search_fields = ["group__name", "group__slug"]
    fields = ["group", "recipient", "sent_by", "reflection", "reply", "body", "created_at"]
    readonly_fields = fields

    def restricted(self, obj: ModeratorNote) -> str:
        return "moderator_note"


@admin.register(PostingSuspension)
class PostingSuspensionAdmin(ReadOnlyAdmin):
    """A pause on someone's posting; its reason is the moderator's, as in the audit log."""

    list_display = ["__str__", "membership", "until", "by", "created_at"]
    list_select_related = ["membership", "by"]
    search_fields = ["membership__group__name"]
    fields = ["membership", "until", "by", "reason", "created_at"]
    readonly_fields = fields
