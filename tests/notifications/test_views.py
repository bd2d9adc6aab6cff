"""The notifications page, opening and marking read, the bell in the header, what each says."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse
from django.utils import timezone

from notifications.models import Kind, Notification, Target
from tests.factories import UserFactory
from tests.notifications.core_helpers import circle, mine, notify

pytestmark = pytest.mark.django_db

LIST = reverse("notifications:list")


@pytest.fixture
def c():
    return circle()


def page(client, url=LIST) -> str:
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


def bell(html: str) -> str:
    return re.search(r"<a class=\"bell\"[^>]*>.*?</a>", html, re.S).group(0)


# --- What each kind says ---------------------------------------------------------------------

SAYS = [
    (Kind.REPLY, "sam", "Sam replied to your reflection in Mothers &amp; Daughters"),
    (Kind.REPLY, None, "Someone replied to your reflection in Mothers &amp; Daughters"),
    (Kind.ENCOURAGEMENT, "sam", "Sam sent you encouragement in Mothers &amp; Daughters"),
    (Kind.REQUEST_APPROVED, None, "Your request to join Mothers &amp; Daughters was approved"),
    (
        Kind.REQUEST_DECLINED,
        None,
        "Your request to join Mothers &amp; Daughters wasn&#x27;t accepted",
    ),
    (Kind.INVITATION, None, "You&#x27;re invited to join Mothers &amp; Daughters"),
    # Whoever wrote the note, it is "a moderator".
    (Kind.MODERATOR_NOTE, "sam", "A moderator left you a note in Mothers &amp; Daughters"),
    (Kind.THEME, None, "A new weekly theme is up in Mothers &amp; Daughters"),
    (Kind.REPORT, None, "New report to review in Mothers &amp; Daughters"),
    (Kind.JOIN_REQUEST, "alex", "Alex asked to join Mothers &amp; Daughters"),
]


@pytest.mark.parametrize("kind,actor,text", SAYS, ids=[f"{k}-{a}" for k, a, _ in SAYS])
def test_each_kind_reads_warm_and_plain(client, c, kind, actor, text):
    notify(c.author, kind=kind, actor=getattr(c, actor) if actor else None)
    client.force_login(c.author.user)
    assert text in page(client)


def test_many_encouragements_read_as_a_count(client, c):
    for who in (c.sam, c.alex, c.bea):
        notify(c.author, kind=Kind.ENCOURAGEMENT, actor=who, target_id=3)
    client.force_login(c.author.user)
    html = page(client)
    assert "3 members sent you encouragement in Mothers &amp; Daughters" in html
    assert "Sam" not in html and "Bea" not in html


# --- The page --------------------------------------------------------------------------------


def test_newest_first_with_new_ones_marked_in_words(client, c):
    notify(c.author, kind=Kind.THEME, target=Target.THEME, target_id=1)
    notify(c.author, actor=c.sam, target=Target.REPLY, target_id=2)
    Notification.objects.filter(kind=Kind.THEME).update(read_at=timezone.now())
    client.force_login(c.author.user)
    html = page(client)
    assert html.index("Sam replied") < html.index("A new weekly theme")
    assert html.count('class="notification-new"') == 1  # only the unread one says "New"


def test_pages_of_twenty(client, c):
    for i in range(25):
        notify(c.author, kind=Kind.THEME, target=Target.THEME, target_id=i + 1)
    client.force_login(c.author.user)
    first = page(client)
    assert first.count("data-notification=") == 20 and "Page 1 of 2" in first
    assert page(client, LIST + "?page=2").count("data-notification=") == 5


def test_an_empty_page_says_what_will_come(client, user):
    client.force_login(user)
    assert "Nothing yet" in page(client)


def test_signed_out_people_are_sent_to_sign_in(client):
    assert client.get(LIST).status_code == 302


# --- Opening and marking read ---------------------------------------------------------------


def test_opening_marks_it_read_and_goes_to_what_it_points_to(client, c):
    notify(c.author, actor=c.sam, target_id=12)
    row = mine(c.author).get()
    client.force_login(c.author.user)
    response = client.post(reverse("notifications:open", args=[row.pk]))
    assert response.status_code == 302 and response.url == row.url
    row.refresh_from_db()
    assert row.read_at is not None
    assert 'class="bell-count" data-bell-count hidden' in bell(page(client))


def test_opening_never_sends_anyone_off_the_site(client, c):
    for url in ("https://evil.example/x", "//evil.example/x", "javascript:alert(1)"):
        Notification.objects.all().delete()
        notify(c.author, actor=c.sam, url=url)
        row = mine(c.author).get()
        client.force_login(c.author.user)
        response = client.post(reverse("notifications:open", args=[row.pk]))
        assert response.url == LIST, url


def test_opening_is_a_post(client, c):
    notify(c.author, actor=c.sam)
    row = mine(c.author).get()
    client.force_login(c.author.user)
    assert client.get(reverse("notifications:open", args=[row.pk])).status_code == 405
    row.refresh_from_db()
    assert row.read_at is None


@pytest.mark.parametrize("name", ["notifications:open", "notifications:read"])
def test_someone_elses_notification_is_a_404(client, c, name):
    notify(c.author, actor=c.sam)
    row = mine(c.author).get()
    client.force_login(c.bea.user)
    assert client.post(reverse(name, args=[row.pk])).status_code == 404
    assert client.post(reverse(name, args=[row.pk + 1000])).status_code == 404
    row.refresh_from_db()
    assert row.read_at is None


def test_mark_one_read_stays_on_the_page_it_was_on(client, c):
    for i in range(22):
        notify(c.author, kind=Kind.THEME, target=Target.THEME, target_id=i + 1)
    last = mine(c.author).order_by("pk").first()  # the oldest: on page 2
    client.force_login(c.author.user)
    response = client.post(reverse("notifications:read", args=[last.pk]), {"page": "2"})
    assert response.url == LIST + "?page=2#notification-list"  # back at the list, not the top
    last.refresh_from_db()
    assert last.read_at is not None
    assert mine(c.author).unread().count() == 21


def test_mark_all_read(client, c):
    notify(c.author, actor=c.sam, target_id=1)
    notify(c.author, actor=c.alex, target_id=2)
    notify(c.bea, actor=c.alex, target_id=2)
    client.force_login(c.author.user)
    assert "Mark all as read" in page(client)
    response = client.post(reverse("notifications:read_all"), follow=True)
    assert "everything is marked as read" in response.content.decode()
    assert not mine(c.author).unread().exists()
    assert mine(c.bea).unread().count() == 1
    assert "Mark all as read" not in page(client)


# --- The bell --------------------------------------------------------------------------------


def test_the_bell_shows_the_unread_count_on_every_page(client, c):
    notify(c.author, actor=c.sam, target_id=1)
    notify(c.author, actor=c.alex, target_id=2)
    client.force_login(c.author.user)
    for url in ("/", reverse("groups:mine"), reverse("groups:home", args=[c.group.slug])):
        ring = bell(page(client, url))
        assert 'aria-label="Notifications, 2 unread"' in ring, url
        assert "data-bell-count>2</span>" in ring, url
        assert f'href="{LIST}"' in ring


def test_at_zero_the_badge_is_hidden_and_the_label_says_no_number(client, user):
    client.force_login(user)
    ring = bell(page(client, "/"))
    assert 'aria-label="Notifications"' in ring
    assert "data-bell-count hidden" in ring


def test_a_large_count_fits_the_badge(client, c):
    from django.db import transaction

    from notifications import services

    with transaction.atomic():
        for i in range(120):
            services.notify(
                recipients=[c.author.user_id],
                group=c.group,
                kind=Kind.THEME,
                target=Target.THEME,
                target_id=i,
                url="/",
            )
    client.force_login(c.author.user)
    ring = bell(page(client, "/"))
    assert "data-bell-count>99+</span>" in ring and "120 unread" in ring


def test_signed_out_pages_have_no_bell_and_pay_no_query_for_it(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        html = client.get(reverse("privacy")).content.decode()
    assert "data-bell" not in html


def test_the_bell_costs_one_query_on_a_signed_in_page(client, django_assert_num_queries):
    client.force_login(UserFactory())
    client.get("/")  # the session's first request of the day writes it
    # session, user, and the bell's count
    with django_assert_num_queries(3):
        html = client.get(reverse("privacy")).content.decode()
    assert "data-bell" in html


def test_the_notifications_page_links_to_preferences_and_the_account_pages_link_to_it(client, user):
    client.force_login(user)
    prefs = reverse("notifications:preferences")
    assert f'href="{prefs}"' in page(client)
    assert f'href="{prefs}"' in page(client, reverse("profile"))


def test_the_count_for_a_page_that_reconnected_is_the_persons_own(client, c):
    notify(c.author, actor=c.sam, target_id=1)
    notify(c.bea, actor=c.sam, target_id=1)
    client.force_login(c.author.user)
    response = client.get(reverse("notifications:unread_count"))
    assert response.json() == {"count": 1}
    assert "no-store" in response["Cache-Control"]
