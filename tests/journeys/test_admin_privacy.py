"""Site staff in the admin: "just me" entries are never readable, reading what only the
moderators could see is written in the group's log, and what the group shares reads as usual."""

from __future__ import annotations

import pytest
from allauth.mfa.models import Authenticator
from django.urls import reverse

from groups import selectors as group_selectors
from groups.models import AuditAction, AuditEvent
from journeys.models import ModeratorNote, Reply, Report
from tests.factories import MembershipFactory, ReflectionFactory, UserFactory, staff_login

# The audit actions only this module's paths write (tests/groups/services/test_audit.py).
ADMIN_ONLY = [AuditAction.STAFF_READ_RESTRICTED]

pytestmark = pytest.mark.django_db

PRIVATE_WORDS = "Marigoldsecret journal about my mother"
PRIVATE_PROMPT = "Larkspurprompt"
PRIVATE_NOTE = "Foxglovenote"
PRIVATE_REPLY = "Snapdragonreply to myself"
MOD_WORDS = "Hollyhockwords for the moderators"
SHARED_WORDS = "Sunflowerwords shared with everyone"


@pytest.fixture
def staff(client):
    user = UserFactory(is_staff=True, is_superuser=True)
    # Staff need two-factor sign-in set up before any admin page opens.
    Authenticator.objects.create(user=user, type=Authenticator.Type.TOTP, data={"secret": "x"})
    staff_login(client, user)
    return user


@pytest.fixture
def posts():
    shared = ReflectionFactory(body=SHARED_WORDS)
    group, theme = shared.group, shared.theme
    MembershipFactory(group=group, role="owner")
    private = ReflectionFactory(
        theme=theme,
        visibility="private",
        body=PRIVATE_WORDS,
        prompt=PRIVATE_PROMPT,
        content_note=PRIVATE_NOTE,
    )
    own_reply = Reply.objects.create(reflection=private, author=private.author, body=PRIVATE_REPLY)
    for_moderators = ReflectionFactory(theme=theme, visibility="moderators", body=MOD_WORDS)
    return {
        "shared": shared,
        "private": private,
        "private_reply": own_reply,
        "moderators": for_moderators,
    }


def admin_url(obj, view: str = "change") -> str:
    meta = obj._meta
    return reverse(f"admin:{meta.app_label}_{meta.model_name}_{view}", args=[obj.pk])


def changelist(model: str, **query) -> str:
    return reverse(f"admin:journeys_{model}_changelist") + (
        "?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else ""
    )


def page(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, url
    return response.content.decode()


PRIVATE_TEXTS = ["Marigoldsecret", PRIVATE_PROMPT, PRIVATE_NOTE, "Snapdragonreply"]


def test_just_me_entries_are_nowhere_in_the_admin(client, staff, posts):
    private, reply = posts["private"], posts["private_reply"]
    pages = [
        changelist("reflection"),
        changelist("reflection", visibility="private"),
        changelist("reply"),
        admin_url(private),
        admin_url(private, "history"),
        admin_url(reply),
        admin_url(reply, "history"),
        reverse("admin:index"),
    ]
    for url in pages:
        html = page(client, url)
        for text in PRIVATE_TEXTS:
            assert text not in html, (text, url)
    assert "only its author can read it" in page(client, admin_url(private))
    # The shared post reads as any member would read it: the check above can fail.
    assert SHARED_WORDS in page(client, admin_url(posts["shared"]))
    assert "Sunflowerwords" in page(client, changelist("reflection"))


def test_searching_never_finds_words_inside_a_private_entry(client, staff, posts):
    for model, word in [
        ("reflection", "Marigoldsecret"),
        ("reflection", PRIVATE_PROMPT),
        ("reflection", PRIVATE_NOTE),
        ("reply", "Snapdragonreply"),
        ("reflection", "Hollyhockwords"),  # nor inside what only moderators could see
    ]:
        response = client.get(changelist(model, q=word))
        assert response.context["cl"].result_count == 0, word
        html = response.content.decode()
        assert "journal about my mother" not in html and "for the moderators" not in html
    found = client.get(changelist("reflection", q="Sunflowerwords"))
    assert list(found.context["cl"].result_list) == [posts["shared"]]
    by_group = client.get(changelist("reflection", q=posts["shared"].group.name))
    assert by_group.context["cl"].result_count == 3  # the private one is listed, not readable


@pytest.mark.parametrize(
    ("model", "lookup"),
    [
        ("reflection", "body__icontains=Marigold"),
        ("reflection", "body__startswith=M"),
        ("reflection", "content_note__icontains=" + PRIVATE_NOTE[:4]),
        ("reply", "body__icontains=Snapdragon"),
        ("moderatornote", "body__icontains=a"),
        ("report", "note__icontains=a"),
    ],
)
def test_the_change_list_url_cannot_filter_inside_text(client, staff, posts, model, lookup):
    """?body__icontains=… would answer "does a private entry hold this word?" one guess
    at a time: the admin refuses any filter it does not offer."""
    url = reverse(f"admin:journeys_{model}_changelist") + "?" + lookup
    response = client.get(url)
    # Django refuses a lookup the admin does not allow with a 400: no rows, no count.
    assert response.status_code == 400
    assert "Marigoldsecret" not in response.content.decode()


def test_the_offered_filters_still_work(client, staff, posts):
    response = client.get(changelist("reflection", visibility__exact="moderators"))
    assert list(response.context["cl"].result_list) == [posts["moderators"]]


def test_the_admin_cannot_change_or_delete_member_posts(client, staff, posts):
    private = posts["private"]
    response = client.post(admin_url(private), {"body": "Changed by staff"})
    assert response.status_code == 403
    assert client.get(admin_url(private, "delete")).status_code == 403
    private.refresh_from_db()
    assert private.body == PRIVATE_WORDS
    listing = client.get(changelist("reflection"))
    assert listing.context["action_form"] is None  # no bulk actions, no exports


def test_opening_a_moderators_only_post_writes_one_entry_its_moderators_see(client, staff, posts):
    post = posts["moderators"]
    assert "Hollyhockwords" not in page(client, changelist("reflection"))
    assert not AuditEvent.objects.exists()
    html = page(client, admin_url(post))
    assert MOD_WORDS in html
    entry = AuditEvent.objects.get()
    assert entry.action == AuditAction.STAFF_READ_RESTRICTED
    assert (entry.group_id, entry.target_id, entry.actor_id) == (post.group_id, post.pk, staff.pk)
    assert (
        entry.target_label == f"reflection #{post.pk}" and entry.actor_label == f"user #{staff.pk}"
    )
    assert entry.data == {"because": "moderators_only"}
    assert list(group_selectors.audit_log(group=post.group)) == [entry]
    # Opening the list, the history or a shared post writes nothing more.
    page(client, changelist("reflection"))
    page(client, admin_url(post, "history"))
    page(client, admin_url(posts["shared"]))
    assert AuditEvent.objects.count() == 1
    page(client, admin_url(post))  # each reading is one entry
    assert AuditEvent.objects.count() == 2


def test_replies_under_a_moderators_only_post_and_hidden_posts_are_audited_too(
    client, staff, posts
):
    post = posts["moderators"]
    reply = Reply.objects.create(
        reflection=post, author=MembershipFactory(group=post.group), body="Yarrowreply"
    )
    shared = posts["shared"]
    type(shared).objects.filter(pk=shared.pk).update(hidden_at=post.created_at)
    assert "Yarrowreply" not in page(client, changelist("reply"))
    assert "Sunflowerwords" not in page(client, changelist("reflection"))  # hidden now
    assert "Yarrowreply" in page(client, admin_url(reply))
    assert SHARED_WORDS in page(client, admin_url(shared))
    reasons = dict(AuditEvent.objects.values_list("target_id", "data__because"))
    assert reasons == {reply.pk: "moderators_only", shared.pk: "hidden"}


def test_report_notes_and_notes_to_authors_are_audited_when_opened(client, staff, posts):
    post = posts["shared"]
    report = Report.objects.create(
        group=post.group,
        reporter=MembershipFactory(group=post.group),
        reflection=post,
        reason="other",
        note="Bluebellnote about this post",
    )
    note = ModeratorNote.objects.create(
        group=post.group, recipient=post.author, body="Primrosenote to the author"
    )
    assert "Bluebellnote" not in page(client, changelist("report"))
    assert "Primrosenote" not in page(client, changelist("moderatornote"))
    assert "Bluebellnote" in page(client, admin_url(report))
    assert "Primrosenote" in page(client, admin_url(note))
    assert sorted(AuditEvent.objects.values_list("data__because", flat=True)) == [
        "moderator_note",
        "report_note",
    ]
    # Who reported is not shown to staff either: moderators never see it.
    assert report.reporter.display_name not in page(client, admin_url(report))


def test_list_pages_cost_the_same_whatever_their_length(
    client, staff, posts, django_assert_max_num_queries
):
    theme = posts["shared"].theme
    for _ in range(20):
        r = ReflectionFactory(theme=theme)
        Reply.objects.create(reflection=r, author=r.author, body="A reply.")
    for model in ["reflection", "reply"]:
        with django_assert_max_num_queries(12):
            page(client, changelist(model))
