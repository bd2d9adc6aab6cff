import contextlib
import re
import threading
import uuid

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection
from django.urls import reverse

from groups.models import Membership
from journeys.models import Encouragement, PracticeCheckIn, Reflection, Reply
from journeys.services import reflections as svc
from tests.factories import MembershipFactory, ReflectionFactory, WeeklyThemeFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def theme(group, owner):
    return WeeklyThemeFactory(group=group, prompts=["What did you hope for?", "What helps?"])


def _m(user, group):
    return Membership.objects.get(user=user, group=group)


def test_member_posts_with_options(client, member, group, theme):
    client.force_login(member)
    response = client.post(
        reverse("journeys:reflect", args=[group.slug, theme.pk]),
        {
            "body": "First line.\n\nSecond paragraph with https://example.org",
            "prompt": "What helps?",
            "visibility": "group",
            "content_note": "family conflict",
            "witness_only": "on",
        },
    )
    assert response.status_code == 302
    r = Reflection.objects.get()
    assert (r.prompt, r.content_note, r.witness_only, r.is_anonymous) == (
        "What helps?",
        "family conflict",
        True,
        False,
    )
    html = client.get(reverse("journeys:theme", args=[group.slug, theme.pk])).content.decode()
    assert "<p>First line.</p><p>Second paragraph with" in html
    assert '<a href="https://example.org" rel="nofollow noopener noreferrer ugc">' in html
    assert "Content note: family conflict" in html and "<details" in html
    assert "Witness only, please no advice" in html


def test_markup_is_sanitised(client, member, group, theme):
    client.force_login(member)
    client.post(
        reverse("journeys:reflect", args=[group.slug, theme.pk]),
        {"body": "<script>alert(1)</script><img src=x onerror=alert(1)>", "visibility": "group"},
    )
    html = client.get(reverse("journeys:theme", args=[group.slug, theme.pk])).content.decode()
    assert "<script>alert(1)" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_too_long_keeps_the_text_and_says_why(client, member, group, theme):
    client.force_login(member)
    long_text = "I have a lot to say. " * 300  # > 5,000 characters
    response = client.post(
        reverse("journeys:reflect", args=[group.slug, theme.pk]),
        {"body": long_text, "visibility": "group", "content_note": "kept note"},
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "the limit is 5,000" in html
    assert "Nothing you wrote has been lost" in html
    assert long_text.strip()[:200] in html
    assert 'value="kept note"' in html
    assert not Reflection.objects.exists()


def test_empty_reflection_is_refused_clearly(member, group, theme):
    with pytest.raises(ValidationError, match="empty"):
        svc.reflection_create(member=_m(member, group), theme=theme, body="   \n ")


def test_unknown_prompt_is_refused(member, group, theme):
    with pytest.raises(ValidationError, match="questions"):
        svc.reflection_create(member=_m(member, group), theme=theme, body="x", prompt="Made up?")


def test_duplicate_client_id_is_stored_once(member, group, theme):
    cid = uuid.uuid4()
    first, created1 = svc.reflection_create(
        member=_m(member, group), theme=theme, body="hello", client_id=cid
    )
    again, created2 = svc.reflection_create(
        member=_m(member, group), theme=theme, body="hello", client_id=cid
    )
    assert (created1, created2) == (True, False)
    assert first.pk == again.pk
    assert Reflection.objects.count() == 1


def test_removed_member_cannot_post(member, group, theme):
    m = _m(member, group)
    Membership.objects.filter(pk=m.pk).update(status="removed")
    # Callers read the membership once per request or socket message (the service trusts it).
    m = Membership.objects.get(pk=m.pk)
    with pytest.raises(PermissionDenied):
        svc.reflection_create(member=m, theme=theme, body="still here?")


def test_archived_group_is_read_only(member, group, theme):
    from django.utils import timezone

    type(group).objects.filter(pk=group.pk).update(archived_at=timezone.now())
    with pytest.raises(PermissionDenied):
        svc.reflection_create(member=_m(member, group), theme=theme, body="hello")


def test_late_joiner_can_reflect_on_an_earlier_week(client, group, owner):
    week1 = WeeklyThemeFactory(group=group, title="Week one")
    WeeklyThemeFactory(group=group, title="Week two")
    late = MembershipFactory(group=group).user
    client.force_login(late)
    html = client.get(reverse("journeys:themes", args=[group.slug])).content.decode()
    assert "Week one" in html and "Week two" in html
    response = client.post(
        reverse("journeys:reflect", args=[group.slug, week1.pk]),
        {"body": "Catching up.", "visibility": "group"},
    )
    assert response.status_code == 302
    assert Reflection.objects.get().theme == week1


def test_anonymous_post_hides_the_author_from_members(client, group, owner, theme):
    author = MembershipFactory(group=group, display_name="Unique Author Name")
    r = ReflectionFactory(theme=theme, author=author, is_anonymous=True, body="anonymous words")
    member = MembershipFactory(group=group).user
    moderator = MembershipFactory(group=group, role="moderator").user

    client.force_login(member)
    for url in [
        reverse("journeys:theme", args=[group.slug, theme.pk]),
        reverse("journeys:reflection", args=[group.slug, r.pk]),
        reverse("groups:home", args=[group.slug]),
    ]:
        html = client.get(url).content.decode()
        assert "anonymous words" in html
        assert "Unique Author Name" not in html, url
        assert author.user.email not in html
        assert "A member" in html

    client.force_login(moderator)
    html = client.get(reverse("journeys:reflection", args=[group.slug, r.pk])).content.decode()
    assert "Unique Author Name (anonymous to members)" in html


def test_edit_and_delete_own_only(client, member, group, theme):
    mine = ReflectionFactory(theme=theme, author=_m(member, group), body="before")
    other = ReflectionFactory(theme=theme, body="not mine")
    client.force_login(member)
    response = client.post(
        reverse("journeys:reflection_edit", args=[group.slug, mine.pk]),
        {"body": "after", "visibility": "moderators"},
    )
    assert response.status_code == 302
    mine.refresh_from_db()
    assert (mine.body, mine.visibility, mine.edited_at is not None) == ("after", "moderators", True)
    assert (
        client.post(
            reverse("journeys:reflection_edit", args=[group.slug, other.pk]),
            {"body": "x", "visibility": "group"},
        ).status_code
        == 403
    )
    assert (
        client.post(
            reverse("journeys:reflection_delete", args=[group.slug, other.pk]), {"confirm": "yes"}
        ).status_code
        == 403
    )
    assert (
        client.post(
            reverse("journeys:reflection_delete", args=[group.slug, mine.pk]), {"confirm": "yes"}
        ).status_code
        == 302
    )
    assert list(Reflection.objects.all()) == [other]


def test_encouragement_toggles_one_per_kind(group, owner, theme):
    r = ReflectionFactory(theme=theme)
    giver = MembershipFactory(group=group)
    on, counts = svc.encouragement_toggle(member=giver, reflection=r, kind="hear")
    assert on and counts["hear"] == 1
    on, counts = svc.encouragement_toggle(member=giver, reflection=r, kind="metoo")
    assert on and counts == {"hear": 1, "metoo": 1, "strength": 0, "thanks": 0}
    on, counts = svc.encouragement_toggle(member=giver, reflection=r, kind="hear")
    assert not on and counts["hear"] == 0
    assert Encouragement.objects.filter(member=giver).count() == 1


def test_cannot_encourage_own_or_invisible(group, owner, theme):
    author = MembershipFactory(group=group)
    r = ReflectionFactory(theme=theme, author=author)
    with pytest.raises(ValidationError):
        svc.encouragement_toggle(member=author, reflection=r, kind="hear")
    private = ReflectionFactory(theme=theme, author=author, visibility="private")
    with pytest.raises(PermissionDenied):
        svc.encouragement_toggle(
            member=MembershipFactory(group=group), reflection=private, kind="hear"
        )


def test_counts_and_who_encouraged(client, group, owner, theme):
    author = MembershipFactory(group=group)
    r = ReflectionFactory(theme=theme, author=author)
    a = MembershipFactory(group=group, display_name="Giver A")
    b = MembershipFactory(group=group, display_name="Giver B")
    client.force_login(a.user)
    client.post(reverse("journeys:encourage", args=[group.slug, r.pk]), {"kind": "strength"})
    svc.encouragement_toggle(member=b, reflection=r, kind="strength")
    html = client.get(reverse("journeys:reflection", args=[group.slug, r.pk])).content.decode()
    assert 'aria-pressed="true"' in html and 'Sending strength <span class="count">2</span>' in html
    assert "Who encouraged you" not in html  # only the author sees who
    client.force_login(author.user)
    html = client.get(reverse("journeys:reflection", args=[group.slug, r.pk])).content.decode()
    assert (
        "Who encouraged you" in html and "Giver A: Sending strength" in html and "Giver B" in html
    )


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_toggles_keep_counts_right(group, owner, theme):
    r = ReflectionFactory(theme=theme)
    givers = [MembershipFactory(group=group) for _ in range(8)]
    barrier = threading.Barrier(len(givers) + 1)
    errors = []

    def give(m):
        try:
            barrier.wait()
            svc.encouragement_toggle(member=m, reflection=r, kind="hear")
            # The same member clicks again at once from another tab: a second add races the first.
            svc.encouragement_toggle(member=m, reflection=r, kind="hear")
            svc.encouragement_toggle(member=m, reflection=r, kind="hear")
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=give, args=(m,)) for m in givers]
    for t in threads:
        t.start()
    barrier.wait()
    for t in threads:
        t.join()
    assert not errors
    assert Encouragement.objects.filter(reflection=r, kind="hear").count() == 8
    assert svc.encouragement_counts(r)["hear"] == 8


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_same_member_racing_the_same_kind_stores_one(group, owner, theme):
    r = ReflectionFactory(theme=theme)
    giver = MembershipFactory(group=group)
    barrier = threading.Barrier(4)

    def add():
        barrier.wait()
        try:
            with contextlib.suppress(IntegrityError):  # the unique constraint refuses the others
                Encouragement.objects.create(reflection=r, member=giver, kind="thanks")
        finally:
            connection.close()

    threads = [threading.Thread(target=add) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert Encouragement.objects.filter(reflection=r, member=giver, kind="thanks").count() == 1


def test_replies_one_level_with_witness_note(client, group, owner, theme):
    r = ReflectionFactory(theme=theme, witness_only=True)
    replier = MembershipFactory(group=group, display_name="Kind Soul")
    client.force_login(replier.user)
    page = client.get(reverse("journeys:reflection", args=[group.slug, r.pk])).content.decode()
    assert page.index("The author asked for witness only") < page.index('name="body"')
    response = client.post(
        reverse("journeys:reply", args=[group.slug, r.pk]), {"body": "I hear you."}
    )
    assert response.status_code == 302
    reply = Reply.objects.get()
    assert reply.reflection == r
    page = client.get(reverse("journeys:reflection", args=[group.slug, r.pk])).content.decode()
    assert "I hear you." in page and "Kind Soul" in page
    too_long = client.post(reverse("journeys:reply", args=[group.slug, r.pk]), {"body": "y" * 1001})
    assert too_long.status_code == 400 and "y" * 1001 in too_long.content.decode()


def test_practice_checkin_with_private_note(client, member, group, theme):
    client.force_login(member)
    client.post(
        reverse("journeys:checkin", args=[group.slug, theme.pk]), {"note": "It was hard but ok"}
    )
    assert PracticeCheckIn.objects.get().note == "It was hard but ok"
    html = client.get(reverse("journeys:my_journey", args=[group.slug])).content.decode()
    assert "You tried this" in html and "It was hard but ok" in html
    other = MembershipFactory(group=group).user
    client.force_login(other)
    html = client.get(reverse("journeys:theme", args=[group.slug, theme.pk])).content.decode()
    assert "It was hard but ok" not in html


def test_my_journey_summary(client, group, owner):
    themes = [WeeklyThemeFactory(group=group) for _ in range(3)]
    me = MembershipFactory(group=group)
    ReflectionFactory(theme=themes[0], author=me, visibility="private", body="just mine")
    ReflectionFactory(theme=themes[2], author=me)
    r = ReflectionFactory(theme=themes[2], author=me, visibility="moderators")
    Encouragement.objects.create(reflection=r, member=MembershipFactory(group=group), kind="hear")
    client.force_login(me.user)
    html = client.get(reverse("journeys:my_journey", args=[group.slug])).content.decode()
    assert "You reflected on 2 of 3 weeks" in html
    assert "just mine" in html
    assert "You received 1 encouragement" in html
    assert "streak" not in html.lower() and "points" not in html.lower()


def test_a_write_reads_the_membership_once_its_caller_did(member, group, theme):
    """One membership read per request or socket message: the caller's, not the service's."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from groups.selectors import refreshed_membership

    m = refreshed_membership(membership_id=_m(member, group).pk)
    other = MembershipFactory(group=group)
    r, _ = svc.reflection_create(member=other, theme=theme, body="theirs")
    with CaptureQueriesContext(connection) as ctx:
        svc.reflection_create(member=m, theme=theme, body="mine")
        svc.encouragement_toggle(member=m, reflection=r.pk, kind="hear")
        svc.reply_create(member=m, reflection=r.pk, body="I hear you")
    reads = [q["sql"] for q in ctx if 'FROM "groups_membership"' in q["sql"]]
    caller = re.compile(rf'"groups_membership"\."id" = {m.pk}\b')
    assert [sql for sql in reads if caller.search(sql)] == []
    # The reflection's author is read once per response, to know whether to notify them.
    assert len(reads) == 2


def test_deleting_without_javascript_asks_on_a_page_first(client, member, group, theme):
    mine = ReflectionFactory(theme=theme, author=_m(member, group), body="Still here.")
    client.force_login(member)
    url = reverse("journeys:reflection_delete", args=[group.slug, mine.pk])

    asked = client.post(url)

    assert asked.status_code == 200
    html = asked.content.decode()
    assert "Delete this reflection for good?" in html and "This cannot be undone." in html
    assert f'<form method="post" action="{url}" class="confirm-actions">' in html
    assert '<input type="hidden" name="confirm" value="yes">' in html
    assert ">Delete my reflection</button>" in html
    keep = reverse("journeys:reflection", args=[group.slug, mine.pk])
    assert f'href="{keep}">Keep it</a>' in html
    assert Reflection.objects.filter(pk=mine.pk).exists()

    assert client.post(url, {"confirm": "yes"}).status_code == 302
    assert not Reflection.objects.filter(pk=mine.pk).exists()


def test_nobody_is_asked_to_delete_what_is_not_theirs(client, member, group, theme):
    theirs = ReflectionFactory(theme=theme)
    client.force_login(member)
    url = reverse("journeys:reflection_delete", args=[group.slug, theirs.pk])
    assert client.post(url).status_code == 403
    assert Reflection.objects.filter(pk=theirs.pk).exists()
