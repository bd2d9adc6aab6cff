"""The group's guidelines on its home: rendered from Markdown, sanitised, and current after an edit
(rendered once per text and process, groups.views._guidelines_html)."""

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_the_home_shows_the_guidelines_as_written_and_an_edit_at_once(client, group, member):
    group.guidelines = "Be **gentle** with each other.\n\n[x](javascript:alert(1))"
    group.save(update_fields=["guidelines"])
    client.force_login(member)
    url = reverse("groups:home", kwargs={"slug": group.slug})

    page = client.get(url).content.decode()
    assert "<strong>gentle</strong>" in page
    assert 'href="javascript:' not in page  # left as text, never a link

    group.guidelines = "Listen first."
    group.save(update_fields=["guidelines"])
    page = client.get(url).content.decode()
    assert "Listen first." in page and "gentle" not in page
