"""Reflection rules: each written once, each can_ derived from its allow_, and the see-rule
agrees with the query every list uses (``Reflection.objects.visible_to``)."""

from __future__ import annotations

import inspect
import itertools

import pytest
from django.utils import timezone

from journeys import live, permissions
from journeys.models import Reflection, Reply, Visibility
from tests.factories import MembershipFactory, WeeklyThemeFactory

pytestmark = pytest.mark.django_db


def test_every_can_is_derived_from_its_allow_and_every_allow_has_a_can():
    allows = {n[6:] for n, f in inspect.getmembers(permissions) if n.startswith("allow_")}
    cans = {n[4:] for n, f in inspect.getmembers(permissions) if n.startswith("can_")}
    assert allows == cans
    for rule in allows:
        assert getattr(permissions, f"can_{rule}").__name__ == f"can_{rule}"
        assert "def can(" in inspect.getsource(getattr(permissions, f"can_{rule}"))


@pytest.fixture
def people(group, owner):
    return {
        "author": MembershipFactory(group=group, display_name="Alma"),
        "member": MembershipFactory(group=group),
        "moderator": MembershipFactory(group=group, role="moderator"),
        "removed": MembershipFactory(group=group, status="removed"),
    }


def _reflection(group, author, visibility, hidden=False, anonymous=False) -> Reflection:
    return Reflection.objects.create(
        group=group,
        theme=WeeklyThemeFactory(group=group),
        author=author,
        body="x",
        visibility=visibility,
        hidden_at=timezone.now() if hidden else None,
        is_anonymous=anonymous,
    )


def test_the_see_rule_agrees_with_visible_to_for_every_case(group, people):
    viewers = {**people, "members": live.MEMBERS, "moderators": live.MODERATORS}
    for visibility, hidden in itertools.product(Visibility.values, [False, True]):
        r = _reflection(group, people["author"], visibility, hidden)
        for name, viewer in viewers.items():
            if name in ("members", "moderators"):  # a stand-in: compare with a real one
                real = people["member" if name == "members" else "moderator"]
                expected = Reflection.objects.visible_to(real).filter(pk=r.pk).exists()
            else:
                expected = Reflection.objects.visible_to(viewer).filter(pk=r.pk).exists()
            assert permissions.can_see_reflection(viewer, r) is expected, (visibility, hidden, name)


# Rows: the rule; columns: who asks about a shared post, a moderators-only one, a private one.
T, F = True, False
TABLE = {
    #                      author         member         moderator
    "edit_reflection": {"author": (T, T, T), "member": (F, F, F), "moderator": (F, F, F)},
    "delete_reflection": {"author": (T, T, T), "member": (F, F, F), "moderator": (F, F, F)},
    "reply": {"author": (T, T, F), "member": (T, F, F), "moderator": (T, T, F)},
    "encourage": {"author": (F, F, F), "member": (T, F, F), "moderator": (T, T, F)},
    "see_encouragement": {"author": (T, T, F), "member": (T, F, F), "moderator": (T, T, F)},
    "see_replies": {"author": (T, T, F), "member": (T, F, F), "moderator": (T, T, F)},
}


@pytest.mark.parametrize("rule", list(TABLE))
def test_reflection_rules_as_the_table_says(group, people, rule):
    posts = [_reflection(group, people["author"], v) for v in ("group", "moderators", "private")]
    for who, expected in TABLE[rule].items():
        got = tuple(getattr(permissions, f"can_{rule}")(people[who], r) for r in posts)
        assert got == expected, (rule, who)
        # A removed member may do none of it.
        assert not any(getattr(permissions, f"can_{rule}")(people["removed"], r) for r in posts)


def test_an_anonymous_author_is_named_to_moderators_and_themselves_only(group, people):
    r = _reflection(group, people["author"], "group", anonymous=True)
    assert permissions.can_see_author(people["moderator"], r)
    assert permissions.can_see_author(people["author"], r)
    assert not permissions.can_see_author(people["member"], r)
    assert not permissions.can_see_author(live.MEMBERS, r)


def test_a_hidden_reply_is_seen_by_moderators_and_its_author_only(group, people):
    r = _reflection(group, people["author"], "group")
    reply = Reply.objects.create(
        reflection=r, author=people["member"], body="y", hidden_at=timezone.now()
    )
    assert permissions.can_see_reply(people["moderator"], reply)
    assert permissions.can_see_reply(people["member"], reply)
    assert not permissions.can_see_reply(people["author"], reply)
