"""Crisis resources (managed in the admin), the "Need help now?" link and "Leave quickly"."""

import re

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from supportgroup.models import CrisisResource, dial_string
from tests.factories import (
    GroupFactory,
    MembershipFactory,
    ReflectionFactory,
    UserFactory,
    WeeklyThemeFactory,
    staff_login,
)
from tests.services import run_django

pytestmark = pytest.mark.django_db

HELP_LINK = re.compile(r'<a [^>]*href="([^"]*)"[^>]*>Need help now\?</a>')


def help_links(html: str) -> list[str]:
    return HELP_LINK.findall(html)


def resource_names(html: str) -> list[str]:
    """The resources a help page lists, in order."""
    return re.findall(r'<li class="card resource">.*?<h2>(.*?)</h2>', html, re.S)


# --- The list -------------------------------------------------------------------------


def test_a_fresh_install_shows_the_starter_list_without_signing_in(client):
    """Loaded by supportgroup/migrations/0002 (the test database is built by the migrations)."""
    response = client.get(reverse("crisis_help"))

    assert response.status_code == 200
    html = response.content.decode()
    for name in ("Emergency services", "988 Suicide &amp; Crisis Lifeline", "Samaritans"):
        assert name in html
    assert "Find A Helpline" in html and 'href="https://findahelpline.com/"' in html
    for link in ("tel:112", "tel:911", "tel:999", "tel:988", "sms:988", "tel:116123"):
        assert f'href="{link}"' in html, link
    assert ">Call 116 123</a>" in html and ">Text 988</a>" in html


def test_resources_from_the_admin_show_with_tappable_numbers(client):
    CrisisResource.objects.create(
        name="Harbour Line",
        phone="+44 (0)20 7946-0000",
        text_number="85 258",
        url="https://harbour.example/",
        region="Somewhere",
        hours="Evenings, 6pm to midnight",
        description="A listening line run by volunteers.",
        order=1,
    )
    CrisisResource.objects.create(name="Retired Line", phone="0800 000 000", is_active=False)

    html = client.get(reverse("crisis_help")).content.decode()

    assert resource_names(html)[0] == "Harbour Line"
    assert '<a class="button" href="tel:+442079460000">Call +44 (0)20 7946-0000</a>' in html
    assert 'href="sms:85258">Text 85 258</a>' in html
    assert "Somewhere · Evenings, 6pm to midnight" in html
    assert "A listening line run by volunteers." in html
    assert "Retired Line" not in html


def test_numbers_dial_as_digits_and_a_leading_plus():
    assert dial_string("Call 116 123") == "116123"
    assert dial_string(" +1 (555) 010-9999 ") == "+15550109999"
    assert dial_string("1+2") == "12"
    assert dial_string("+44 (0)20 7946 0000") == "+442079460000"
    assert dial_string("020 7946 0000") == "02079460000"
    assert dial_string("none") == ""
    with pytest.raises(ValidationError) as exc:
        CrisisResource(name="Typo", phone="ask at the desk").full_clean()
    assert "phone" in exc.value.message_dict


def test_with_nothing_active_the_page_still_says_what_to_do(client):
    CrisisResource.objects.update(is_active=False)
    html = client.get(reverse("crisis_help")).content.decode()
    assert "call your local emergency number" in html


# --- A group's own additions ------------------------------------------------------------


def test_a_group_help_lists_its_own_resources_first(client, django_assert_max_num_queries):
    group = GroupFactory(name="Evening Circle")
    CrisisResource.objects.create(name="Circle Warmline", phone="0300 123 4567", group=group)
    other = GroupFactory()
    CrisisResource.objects.create(name="Elsewhere Line", phone="0300 999 9999", group=other)

    with django_assert_max_num_queries(3):
        response = client.get(reverse("group_help", args=[group.slug]))

    html = response.content.decode()
    names = resource_names(html)
    assert names[0] == "Circle Warmline"
    assert "Samaritans" in names[1:]
    assert "For Evening Circle" in html
    assert "Elsewhere Line" not in html
    site_wide = client.get(reverse("crisis_help")).content.decode()
    assert "Circle Warmline" not in site_wide


def test_an_unseen_group_help_is_the_site_list_and_never_an_error(client, outsider):
    hidden = GroupFactory(is_listed=False, name="Quiet Room")
    CrisisResource.objects.create(name="Quiet Room Line", phone="0300 111 2222", group=hidden)
    client.force_login(outsider)

    for slug in (hidden.slug, "no-such-group"):
        response = client.get(reverse("group_help", args=[slug]))
        assert response.status_code == 200
        html = response.content.decode()
        assert "Samaritans" in html
        assert "Quiet Room" not in html

    MembershipFactory(group=hidden, user=outsider)
    assert (
        "Quiet Room Line" in client.get(reverse("group_help", args=[hidden.slug])).content.decode()
    )


def test_staff_manage_resources_in_the_admin(client):
    staff = UserFactory(
        email="staff@example.com",
        display_name="Staff",
        is_staff=True,
        is_superuser=True,
        two_factor=True,
    )
    staff_login(client, staff)
    group = GroupFactory()

    listing = client.get(reverse("admin:supportgroup_crisisresource_changelist"))
    assert listing.status_code == 200 and "Samaritans" in listing.content.decode()
    added = client.post(
        reverse("admin:supportgroup_crisisresource_add"),
        {
            "name": "Circle Warmline",
            "phone": "0300 123 4567",
            "group": group.pk,
            "order": 5,
            "is_active": "on",
        },
    )
    assert added.status_code == 302
    assert CrisisResource.objects.get(name="Circle Warmline").group == group


# --- "Need help now?" everywhere ----------------------------------------------------------


def test_every_page_links_need_help_now(client):
    group = GroupFactory()
    MembershipFactory(group=group, role="owner")
    member = MembershipFactory(group=group)
    theme = WeeklyThemeFactory(group=group)
    reflection = ReflectionFactory(theme=theme, author=member)
    group_help = reverse("group_help", args=[group.slug])

    assert help_links(client.get(reverse("home")).content.decode()) == ["/help/"]
    assert help_links(client.get(reverse("account_login")).content.decode()) == ["/help/"]
    assert help_links(client.get(reverse("crisis_help")).content.decode()) == ["/help/"]
    visitor = client.get(reverse("groups:home", args=[group.slug])).content.decode()
    assert help_links(visitor) == [group_help]

    client.force_login(member.user)
    home = client.get(reverse("groups:home", args=[group.slug])).content.decode()
    # The header, and the reflection box.
    assert help_links(home) == [group_help, group_help]
    assert "Crisis lines and urgent support are one tap away." in home
    page = client.get(reverse("journeys:reflection", args=[group.slug, reflection.pk]))
    assert help_links(page.content.decode()) == [group_help]
    assert help_links(client.get(reverse("account_email")).content.decode()) == ["/help/"]


# --- Leave quickly ------------------------------------------------------------------------


def test_leave_quickly_is_a_plain_link_on_every_page(client, settings, member, group):
    settings.QUICK_EXIT_URL = "https://weather.example/today"
    link = (
        '<a class="quick-exit" href="https://weather.example/today" rel="noreferrer" '
        "data-quick-exit>Leave quickly</a>"
    )
    assert link in client.get(reverse("home")).content.decode()
    assert link in client.get(reverse("account_login")).content.decode()
    client.force_login(member)
    html = client.get(reverse("groups:home", args=[group.slug])).content.decode()
    assert link in html
    assert 'src="/static/js/quick-exit.js"' in html


def test_quick_exit_url_comes_from_the_environment():
    code = "from django.conf import settings as s\nprint(s.QUICK_EXIT_URL)\n"
    default = run_django(code, {"DJANGO_SETTINGS_MODULE": "supportgroup.settings.dev"})
    chosen = run_django(
        code,
        {"DJANGO_SETTINGS_MODULE": "supportgroup.settings.dev", "QUICK_EXIT_URL": "/healthz"},
    )
    assert default.returncode == chosen.returncode == 0, default.stderr + chosen.stderr
    assert default.stdout.strip() == "https://www.bbc.com/weather"
    assert chosen.stdout.strip() == "/healthz"


def test_signed_in_pages_carry_the_alerts_placeholder(client, member):
    alerts = '<div id="site-alerts" class="site-alerts" data-ws-path="/ws/me/" hidden></div>'
    assert alerts not in client.get(reverse("home")).content.decode()
    client.force_login(member)
    html = client.get(reverse("home")).content.decode()
    assert alerts in html and 'src="/static/js/alerts.js"' in html
