"""Reads about groups, built for a constant number of queries per page."""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import EmptyResultSet
from django.db import connections, router
from django.db.models import (
    Case,
    Count,
    FilteredRelation,
    IntegerField,
    Model,
    Q,
    QuerySet,
    Value,
    When,
)
from django.db.models.query import get_related_populators

from . import permissions
from .models import (
    FORMER_MEMBER_EMAIL,
    STAFF_ONLY_ACTIONS,
    AuditEvent,
    Group,
    Invitation,
    Membership,
)

# --- Queries compiled once per shape -----------------------------------------------------


@dataclass(frozen=True)
class _Slot:
    name: str


@dataclass
class _Compiled:
    sql: str | None  # None: the shape matches no row (``EmptyResultSet``)
    params: tuple
    compiler: Any = None
    converters: dict | None = None
    db: str = "default"


class PreparedQuery:
    """A read whose SQL Django builds and compiles once per shape, then runs with each
    call's values: for the hottest pages, where compiling the same query on every request
    cost more than running it.

    ``build(shape, **values)`` returns the queryset (with ``select_related`` and
    annotations, or ``values_list()``; no ``prefetch_related`` or ``extra()``).
    It is called once per ``shape`` (everything that changes the SQL's text: which
    filters apply, a role, a page size) with a stand-in for each value (ints for
    ``ints``, strings for ``strings``), each distinct, which must reach the compiled query
    as parameters of their own, unchanged (never written into its text); later calls put
    their own values in those places. The rows
    become objects as ``ModelIterable`` makes them (same fields, related objects and
    annotations), or tuples for a ``values_list()`` query (``run_values``); one query,
    through Django's cursor (counted and logged like any other).
    """

    _INT_BASE = 2_147_000_000  # within a 32-bit integer column's range: compared, not cut

    def __init__(
        self,
        model: type[Model],
        build: Callable[..., QuerySet],
        *,
        ints: tuple[str, ...] = (),
        strings: tuple[str, ...] = (),
    ) -> None:
        self._model, self._build = model, build
        self._stand_ins: dict[str, Any] = {
            name: self._INT_BASE + i for i, name in enumerate(ints, start=1)
        } | {name: f"\x1fprepared:{name}\x1f" for name in strings}
        self._compiled: dict[Hashable, _Compiled] = {}
        self._lock = threading.Lock()

    def _compile(self, shape: Hashable) -> _Compiled:
        qs = self._build(shape, **self._stand_ins)
        compiler = qs.query.get_compiler(using=qs.db)
        try:
            sql, params = compiler.as_sql()
        except EmptyResultSet:
            return _Compiled(sql=None, params=(), db=qs.db)
        names = {value: name for name, value in self._stand_ins.items()}
        slots = tuple(
            _Slot(names[p]) if isinstance(p, Hashable) and p in names else p for p in params
        )
        if any(str(v) in sql for v in self._stand_ins.values()):
            # A value that is not a parameter of its own (written into the SQL, or
            # transformed on the way): this query cannot be prepared this way.
            raise ValueError(f"PreparedQuery: values {sorted(self._stand_ins)} became {params!r}")
        fields = [s[0] for s in compiler.select[0 : compiler.col_count]]
        return _Compiled(
            sql=sql,
            params=slots,
            compiler=compiler,
            converters=compiler.get_converters(fields),
            db=qs.db,
        )

    def _fetch(self, shape: Hashable, values: dict[str, Any]) -> tuple[_Compiled, list]:
        alias = router.db_for_read(self._model)
        key = (alias, connections[alias].vendor, shape)
        compiled = self._compiled.get(key)
        if compiled is None:
            compiled = self._compile(shape)
            with self._lock:
                self._compiled[key] = compiled
        if compiled.sql is None:
            return compiled, []
        params = tuple(values[p.name] if isinstance(p, _Slot) else p for p in compiled.params)
        with connections[compiled.db].cursor() as cursor:
            cursor.execute(compiled.sql, params)
            rows = cursor.fetchall()
        return compiled, _converted(compiled, rows)

    def run(self, shape: Hashable, **values: Any) -> list[Model]:
        """The objects the queryset would give."""
        compiled, rows = self._fetch(shape, values)
        return _objects(compiled, rows) if rows else []

    def run_values(self, shape: Hashable, **values: Any) -> list[tuple]:
        """The rows a ``values_list()`` queryset would give."""
        return [tuple(row) for row in self._fetch(shape, values)[1]]


def _converted(compiled: _Compiled, rows: list) -> list:
    """``SQLCompiler.apply_converters`` (the database values as the fields read them)."""
    if not compiled.converters:
        return rows
    connection, converters = connections[compiled.db], list(compiled.converters.items())
    rows = [list(row) for row in rows]
    for row in rows:
        for pos, (convs, expression) in converters:
            value = row[pos]
            for converter in convs:
                value = converter(value, expression, connection)
            row[pos] = value
    return rows


def _objects(compiled: _Compiled, rows: list) -> list[Model]:
    """``ModelIterable.__iter__`` for rows fetched and converted already."""
    compiler = compiled.compiler
    select, klass_info = compiler.select, compiler.klass_info
    annotation_col_map = compiler.annotation_col_map
    model_cls = klass_info["model"]
    select_fields = klass_info["select_fields"]
    start, end = select_fields[0], select_fields[-1] + 1
    init_list = [f[0].target.attname for f in select[start:end]]
    related_populators = get_related_populators(klass_info, select, compiled.db)
    objects = []
    for row in rows:
        obj = model_cls.from_db(compiled.db, init_list, row[start:end])
        for populator in related_populators:
            populator.populate(row, obj)
        for attr_name, col_pos in (annotation_col_map or {}).items():
            setattr(obj, attr_name, row[col_pos])
        objects.append(obj)
    return objects


def group_directory(*, query: str = "") -> QuerySet[Group]:
    groups = Group.objects.listed().annotate(
        member_count=Count("memberships", filter=Q(memberships__status=Membership.Status.ACTIVE))
    )
    if query:
        groups = groups.filter(name__icontains=query.strip())
    return groups.order_by("name", "pk")


def groups_of_user(*, user) -> QuerySet[Membership]:
    """The user's active and pending memberships, with their groups."""
    return (
        Membership.objects.filter(
            user=user, status__in=[Membership.Status.ACTIVE, Membership.Status.PENDING]
        )
        .select_related("group")
        .order_by("group__archived_at", "group__name")
    )


def member_list(*, group: Group, include_inactive: bool) -> QuerySet[Membership]:
    """Active members for everyone; moderators also see pending, removed and banned."""
    members = Membership.objects.filter(group=group).only(
        "id", "group_id", "user_id", "display_name", "role", "status", "joined_at", "requested_at"
    )
    if not include_inactive:
        members = members.filter(status=Membership.Status.ACTIVE)
    else:
        # The identity-less holder of posts kept by people who deleted their account is
        # nobody a moderator can act on (groups/services/erasure.py).
        members = members.exclude(user__email=FORMER_MEMBER_EMAIL)
    role_order = {"owner": 0, "moderator": 1, "member": 2}
    return members.annotate(
        role_rank=Case(
            *[When(role=r, then=Value(i)) for r, i in role_order.items()],
            output_field=IntegerField(),
        )
    ).order_by("status", "role_rank", "display_name")


def moderators_of(*, group: Group) -> QuerySet[Membership]:
    """The group's active owners and moderators, owners first."""
    return (
        Membership.objects.moderators()
        .filter(group=group)
        .order_by("-role", "display_name")  # "owner" sorts after "moderator"
    )


def pending_requests(*, group: Group) -> QuerySet[Membership]:
    return Membership.objects.filter(group=group, status=Membership.Status.PENDING).order_by(
        "requested_at"
    )


def invitations_of_group(*, group: Group) -> QuerySet[Invitation]:
    return (
        Invitation.objects.filter(group=group).select_related("created_by").order_by("-created_at")
    )


def _active_membership_query(shape, *, user_id: int, slug: str) -> QuerySet[Membership]:
    return (
        Membership.objects.select_related("group", "user")
        .filter(user_id=user_id, group__slug=slug, status=Membership.Status.ACTIVE)
        .order_by("pk")[:1]
    )


# Read by every socket's connect (P7): compiled once.
_ACTIVE_MEMBERSHIP = PreparedQuery(
    Membership, _active_membership_query, ints=("user_id",), strings=("slug",)
)


def active_membership(*, user, slug: str) -> Membership | None:
    """The user's active membership in the group ``slug``, with group and user, or None."""
    if user is None or not user.is_authenticated:
        return None
    found = _ACTIVE_MEMBERSHIP.run(None, user_id=user.pk, slug=slug)
    return found[0] if found else None


def groups_for_viewer(*, slug: str, user_id: int | None, **annotations) -> QuerySet[Group]:
    """The query of ``group_for_viewer``: the group ``slug``, with the membership of the user
    ``user_id`` (if not None) as ``viewer_membership`` and ``annotations``, first row only."""
    groups = Group.objects.filter(slug=slug)
    if user_id is not None:
        groups = groups.annotate(
            viewer_membership=FilteredRelation(
                "memberships", condition=Q(memberships__user_id=user_id)
            )
        ).select_related("viewer_membership")
    groups = groups.annotate(**annotations)
    return (groups if groups.ordered else groups.order_by("pk"))[:1]


def viewer_group(group: Group | None, user) -> Group | None:
    """A row of ``groups_for_viewer`` for ``user``: their membership (or None) remembered
    for ``permissions.membership_for``."""
    if group is not None and user is not None and user.is_authenticated:
        membership = group.__dict__.pop("viewer_membership", None)
        if membership is not None:
            membership.group, membership.user = group, user  # already in hand: no re-read
        permissions.remember_membership(group, membership, user)
    return group


def group_for_viewer(*, slug: str, user, **annotations) -> Group | None:
    """The group ``slug`` with ``user``'s membership (any status, or None) read in the same
    query and remembered for ``permissions.membership_for``; ``annotations`` are added to
    the group (one query in all)."""
    signed_in = user is not None and user.is_authenticated
    rows = groups_for_viewer(slug=slug, user_id=user.pk if signed_in else None, **annotations)
    return viewer_group(next(iter(rows), None), user)


def refreshed_membership(*, membership_id: int) -> Membership | None:
    """Re-read a membership (still active?) for a long-lived connection."""
    return (
        Membership.objects.select_related("group", "user")
        .filter(pk=membership_id, status=Membership.Status.ACTIVE)
        .first()
    )


def audit_log(*, group: Group) -> QuerySet[AuditEvent]:
    """The group's audit entries for its moderators, newest first (labels are stored on
    each entry: no joins). Staff-only entries stay out (``STAFF_ONLY_ACTIONS``)."""
    return (
        AuditEvent.objects.filter(group=group)
        .exclude(action__in=STAFF_ONLY_ACTIONS)
        .order_by("-created_at", "-id")
    )
